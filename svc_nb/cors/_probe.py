"""``preflight``: send the browser's preflight and then the request itself, and judge both."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._explain import Explanation, explain
from svc_nb._http import tls_context, transport_failure
from svc_nb._redact import is_secret_name, mask_url, register_secret
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import DEFAULT_HTTP_TIMEOUT_S, check_timeout
from svc_nb.cors._causes import CorsCause as C
from svc_nb.cors._judge import (
    allow_origin_findings,
    headers_finding,
    max_age_finding,
    methods_finding,
    preflight_status_finding,
    request_findings,
)
from svc_nb.cors._rules import (
    FORBIDDEN_METHODS,
    TOKEN,
    check_origin,
    header_items,
    is_forbidden_header,
    normalise_method,
    origin_of,
    preflight_reasons,
    unsafe_header_names,
)

__all__ = ["MAX_URL_CHARS", "preflight"]

TITLE = "svc_nb CORS"
# httpx refuses longer URLs outright; most servers already refuse past 8 KB.
MAX_URL_CHARS = 65_536
_SHOWN_CHARS = 120
# Values sent for headers given by name only: a plausible SPA request.
_DEFAULT_VALUES = {"authorization": "Bearer svc-nb-cors-probe", "content-type": "application/json"}
_CONTROL_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

_F = Status.FAIL
_INPUT: dict[C, Explanation] = {
    C.BAD_URL: Explanation(
        _F,
        "cannot probe {url}: {problem}",
        fix="Pass the API URL the page calls, e.g. http://127.0.0.1:8000/api/items.",
    ),
    C.BAD_ORIGIN: Explanation(
        _F,
        "{origin} is not an origin: {problem}",
        fix="Pass the page's origin as the browser sends it, e.g. http://localhost:3000.",
    ),
    C.BAD_METHOD: Explanation(
        _F, "{method} is not a method a page can send", fix="Use GET, POST, PUT, PATCH, DELETE…"
    ),
    C.BAD_HEADER: Explanation(_F, "{problem}", fix="{fix}"),
    C.REQUEST_NOT_SENT: Explanation(
        Status.SKIP,
        "the {method} request itself was not sent (it may change data)",
        fix="Pass send_actual=True to send it too.",
    ),
}


def _clipped(text: str) -> str:
    """User text for a summary line: masked first, then cut in the middle."""
    masked = mask_url(text)
    if len(masked) <= _SHOWN_CHARS:
        return masked
    keep = _SHOWN_CHARS // 2
    return f"{masked[:keep]}…(+{len(masked) - 2 * keep} chars)…{masked[-keep:]}"


def _shown(text: str) -> str:
    return repr(_clipped(text))


@dataclass(frozen=True)
class _Plan:
    """What the probe sends, decided before any request."""

    url: str
    origin: str
    method: str
    items: list[tuple[str, str | None]]
    reasons: list[str]
    requested: list[str]
    credentials: bool
    send_actual: bool
    timeout: float

    @property
    def needed(self) -> bool:
        return bool(self.reasons)


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL_CHARS:
        return (
            f"it is {len(url):,} characters long; HTTP clients refuse URLs over 65,536 characters "
            "and most servers over 8 KB"
        )
    return origin_of(url)[1]


def _header_problem(items: list[tuple[str, str | None]]) -> tuple[str, str] | None:
    """(what is wrong, the fix) for the first header a page could not send, or None."""
    for name, value in items:
        if not TOKEN.fullmatch(name):
            return (
                f"{_shown(name)} is not a valid header name",
                "Header names are tokens like X-Request-Id.",
            )
        if value is not None and _CONTROL_IN_VALUE.search(value):
            return (
                f"the value of {name} contains a control character (CR, LF, NUL...)",
                "Send the value on one line: a newline in a header value is refused by browsers and HTTP clients.",
            )
        if value is not None and not value.isascii():
            return (
                f"the value of {name} has non-ASCII characters",
                "Encode it (percent-encoding or base64): fetch() refuses characters beyond Latin-1 "
                "and HTTP clients send header values as ASCII.",
            )
    return None


def _input_finding(
    url: str, origin: str, method: str, items: list[tuple[str, str | None]]
) -> Finding | None:
    """The cors.input finding for the first argument no browser could send, or None."""
    problem = _url_problem(url)
    if problem is not None:
        return explain("cors.input", C.BAD_URL, _INPUT, url=_shown(url), problem=problem)
    problem = check_origin(origin)
    if problem is not None:
        return explain("cors.input", C.BAD_ORIGIN, _INPUT, origin=_shown(origin), problem=problem)
    if not TOKEN.fullmatch(method) or method.upper() in FORBIDDEN_METHODS:
        return explain("cors.input", C.BAD_METHOD, _INPUT, method=_shown(method))
    header = _header_problem(items)
    if header is not None:
        return explain("cors.input", C.BAD_HEADER, _INPUT, problem=header[0], fix=header[1])
    return None


def _need_finding(plan: _Plan) -> Finding:
    if plan.needed:
        return Finding(
            "cors.need",
            Status.OK,
            f"{plan.method} with these headers needs a preflight",
            detail="; ".join(plan.reasons) + ".",
            data={
                "needs_preflight": True,
                "reasons": plan.reasons,
                "request_headers": plan.requested,
            },
        )
    return Finding(
        "cors.need",
        Status.OK,
        f"{plan.method} with these headers is a simple request: no preflight",
        detail="Only the response's Access-Control-Allow-Origin decides; the preflight below is "
        "sent for information.",
        data={"needs_preflight": False, "reasons": [], "request_headers": []},
    )


def _failure(stage: str, exc: BaseException, plan: _Plan) -> Finding:
    return transport_failure(
        stage,
        exc,
        _clipped(plan.url),
        plan.timeout,
        peer="the service",
        data={"exception_type": type(exc).__name__},
    )


async def _send_preflight(client: Any, plan: _Plan) -> tuple[list[Finding], bool]:
    """The OPTIONS request a browser sends, judged; and whether it passed."""
    import httpx

    soft = not plan.needed  # a preflight the browser will not send cannot block anything
    headers = {"Origin": plan.origin, "Access-Control-Request-Method": plan.method}
    if plan.requested:
        headers["Access-Control-Request-Headers"] = ",".join(plan.requested)
    started = time.perf_counter()
    try:
        response = await client.request("OPTIONS", plan.url, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        return [_failure("cors.preflight", exc, plan)], False
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    findings = [
        preflight_status_finding(response, soft, latency_ms),
        *allow_origin_findings(
            "cors.preflight", response.headers, plan.origin, plan.credentials, soft
        ),
        methods_finding(response.headers, plan.method, plan.credentials, soft),
        headers_finding(response.headers, plan.requested, plan.credentials, soft),
        max_age_finding(response.headers),
    ]
    passed = all(f.status is Status.OK for f in findings if f.check != "cors.preflight.vary")
    return findings, passed


async def _send_request(client: Any, plan: _Plan, preflight_ok: bool) -> list[Finding]:
    import httpx

    if not plan.send_actual:
        return [explain("cors.request", C.REQUEST_NOT_SENT, _INPUT, method=plan.method)]
    values = {
        n: v if v is not None else _DEFAULT_VALUES.get(n.lower(), "svc-nb")
        for n, v in plan.items
        if not is_forbidden_header(n)
    }
    try:
        response = await client.request(
            plan.method,
            plan.url,
            headers={"Origin": plan.origin, **values},
            content=b"{}" if plan.method in _BODY_METHODS else None,
        )
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        return [_failure("cors.request", exc, plan)]
    return request_findings(response, plan.origin, plan.credentials, plan.needed, preflight_ok)


async def _probe(plan: _Plan) -> list[Finding]:
    import httpx

    findings: list[Finding] = []
    stage = "cors.preflight"
    try:
        async with (
            asyncio.timeout(plan.timeout),
            httpx.AsyncClient(
                follow_redirects=False, timeout=plan.timeout, trust_env=False, verify=tls_context()
            ) as client,
        ):
            sent, preflight_ok = await _send_preflight(client, plan)
            findings += sent
            stage = "cors.request"
            findings += await _send_request(client, plan, preflight_ok)
    except TimeoutError as exc:  # the whole probe's bound, past httpx's per-phase timeouts
        findings.append(_failure(stage, exc, plan))
    return findings


def _check_types(url: object, origin: object, method: object) -> None:
    if not isinstance(url, str) or not isinstance(origin, str):
        raise ArgumentTypeError(
            "preflight(url, origin): both must be strings, e.g. "
            "preflight('http://127.0.0.1:8000/api', 'http://localhost:3000')"
        )
    if not isinstance(method, str):
        raise ArgumentTypeError(
            f"method must be a string such as 'POST', not {type(method).__name__}"
        )


async def preflight(
    url: str,
    origin: str,
    *,
    method: str = "GET",
    headers: Any = (),
    credentials: bool = False,
    timeout: float = DEFAULT_HTTP_TIMEOUT_S,
    send_actual: bool | None = None,
) -> Report:
    """Send the browser's preflight and then the request itself, and judge both.

    ``headers`` are the headers the page sets (a mapping, ``"Name: value"``
    strings or bare names). ``credentials`` is ``fetch(…, {credentials:
    'include'})``. The request itself is sent for GET/HEAD/OPTIONS; for other
    methods only with ``send_actual=True`` (it could change data). Redirects are
    never followed. Returns within about ``timeout`` seconds (positive, finite).
    Input no browser could send (a URL with CR/LF/NUL or over 64 KB, a
    non-serialised origin, a header value with a newline) is a ``cors.input``
    finding; wrong argument types raise :class:`svc_nb.SvcNbError` subclasses.
    """
    _check_types(url, origin, method)
    timeout = check_timeout(timeout)
    items = header_items(headers)
    origin = origin.strip()
    norm_method = normalise_method(method.strip())
    bad_input = _input_finding(url, origin, norm_method, items)
    if bad_input is not None:
        return Report([bad_input], title=TITLE)
    for name, value in items:
        if value is not None and (name.lower() == "authorization" or is_secret_name(name)):
            register_secret(value.split(" ", 1)[-1])
    plan = _Plan(
        url=url,
        origin=origin,
        method=norm_method,
        items=items,
        reasons=preflight_reasons(norm_method, items),
        requested=unsafe_header_names(items),
        credentials=bool(credentials),
        send_actual=send_actual
        if send_actual is not None
        else norm_method in ("GET", "HEAD", "OPTIONS"),
        timeout=timeout,
    )
    findings = [_need_finding(plan)]
    if origin_of(url)[0] == origin:
        same = f"the page and the API share the origin {origin}: CORS does not apply"
        return Report([*findings, Finding("cors.same_origin", Status.OK, same)], title=TITLE)
    return Report(findings + await _probe(plan), title=TITLE)
