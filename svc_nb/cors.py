"""CORS: send the real preflight and request, and judge them like a browser.

The guide's fix for "CORS errors in the browser" is an ``add_security`` call
with a ``cors_credentials=True`` argument that does not exist (a TypeError).
svc-infra's real knobs are ``add_security(app, cors_origins=[…],
allow_credentials=True)`` and the env variables ``CORS_ALLOW_ORIGINS``,
``CORS_ALLOW_CREDENTIALS``, ``CORS_ALLOW_METHODS``, ``CORS_ALLOW_HEADERS`` and
``CORS_ALLOW_ORIGIN_REGEX``; with no origins at all svc-infra adds no CORS
middleware. :func:`preflight` applies the Fetch standard's CORS checks to what
the server really answers and names the knob to turn.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from svc_nb._diagnose import register_check
from svc_nb._http import tls_context
from svc_nb._redact import mask_url, register_secret
from svc_nb._report import Finding, Report, Status

__all__ = [
    "BROWSER_MAX_AGE_CAP",
    "check_origin",
    "needs_preflight",
    "parse_origins_env",
    "preflight",
    "preflight_reasons",
    "split_header_list",
    "unsafe_header_names",
]

SIMPLE_METHODS = frozenset({"GET", "HEAD", "POST"})
# Fetch normalises only these method names to upper case; "patch" stays "patch".
_NORMALISED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
_FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
_SAFELISTED_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
# Headers a page cannot set: the browser drops them, so they never need a preflight.
_FORBIDDEN_HEADERS = frozenset(
    {
        "accept-charset", "accept-encoding", "access-control-request-headers",
        "access-control-request-method", "connection", "content-length", "cookie", "cookie2",
        "date", "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te",
        "trailer", "transfer-encoding", "upgrade", "via",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_UNSAFE_BYTE = re.compile(r'[\x00-\x08\x0a-\x1f"():<>?@\[\\\]{}\x7f]')
_LANGUAGE_VALUE = re.compile(r"^[0-9A-Za-z *,\-.;=]*$")
_SIMPLE_RANGE = re.compile(r"^bytes=\d+-\d*$")
# What browsers cap Access-Control-Max-Age to (seconds); the default when absent is 5 s.
BROWSER_MAX_AGE_CAP = {"Chromium": 7200, "Firefox": 86400}
DEFAULT_MAX_AGE = 5

_FIX_ORIGIN = (
    "Allow the origin in svc-infra: CORS_ALLOW_ORIGINS={origin}  (comma-separated exact origins: "
    "scheme://host[:port], no path, no trailing slash)\n"
    'or in code: add_security(app, cors_origins=["{origin}"])\n'
    "or a pattern: CORS_ALLOW_ORIGIN_REGEX='https://.*\\.example\\.com'\n"
    "With no origins at all svc-infra adds no CORS middleware."
)
_FIX_CREDENTIALS = (
    "CORS_ALLOW_CREDENTIALS=true, or add_security(app, cors_origins=[…], allow_credentials=True) "
    "— not the guide's cors_credentials=True, which add_security rejects with a TypeError."
)


# -- pure parsers ----------------------------------------------------------------


def split_header_list(value: str | None) -> list[str]:
    """A comma-separated header value as trimmed, non-empty items (never raises)."""
    if not value or not isinstance(value, str):
        return []
    return [item.strip(" \t") for item in value.split(",") if item.strip(" \t")]


def _normalise_method(method: str) -> str:
    upper = method.upper()
    return upper if upper in _NORMALISED_METHODS else method


def _header_items(headers: Any) -> list[tuple[str, str | None]]:
    """Headers given as a mapping, ``"Name: value"`` strings, names, or pairs."""
    if headers is None:
        return []
    if isinstance(headers, str):
        headers = [headers] if ":" in headers else split_header_list(headers)
    if isinstance(headers, Mapping):
        return [(str(k).strip(), None if v is None else str(v)) for k, v in headers.items()]
    items: list[tuple[str, str | None]] = []
    for item in headers:
        if isinstance(item, tuple | list) and len(item) == 2:
            items.append((str(item[0]).strip(), None if item[1] is None else str(item[1])))
        elif isinstance(item, str):
            name, sep, value = item.partition(":")
            items.append((name.strip(), value.strip() if sep else None))
        else:
            items.append((str(item).strip(), None))
    return [(n, v) for n, v in items if n]


def _header_reason(name: str, value: str | None) -> str | None:
    """Why one header makes the request non-simple, or None when it is safelisted."""
    lower = name.lower()
    if value is not None and len(value.encode("utf-8", "surrogatepass")) > 128:
        return f"{name} is longer than 128 bytes, so it is not CORS-safelisted"
    if lower == "accept":
        if value is not None and _UNSAFE_BYTE.search(value):
            return f"Accept contains characters browsers treat as unsafe ({value!r})"
        return None
    if lower in ("accept-language", "content-language"):
        if value is not None and not _LANGUAGE_VALUE.match(value):
            return f"{name} has characters outside the safelisted set ({value!r})"
        return None
    if lower == "content-type":
        if value is None:
            return (
                "Content-Type without a value is assumed to be application/json; only "
                "application/x-www-form-urlencoded, multipart/form-data and text/plain avoid a preflight"
            )
        essence = value.split(";", 1)[0].strip().lower()
        if _UNSAFE_BYTE.search(value) or essence not in _SAFELISTED_CONTENT_TYPES:
            return (
                f"Content-Type {essence or value!r} is not one of application/x-www-form-urlencoded, "
                "multipart/form-data, text/plain (fetch(…, {body: JSON.stringify(…)}) with "
                "application/json always triggers a preflight)"
            )
        return None
    if lower == "range":
        if value is not None and _SIMPLE_RANGE.match(value):
            return None
        return f"Range {value!r} is not a simple bytes=N-[M] range"
    if lower == "authorization":
        return "Authorization is never CORS-safelisted (a bearer token always triggers a preflight)"
    return f"{name} is not a CORS-safelisted header"


def _is_forbidden_header(name: str) -> bool:
    lower = name.lower()
    return lower in _FORBIDDEN_HEADERS or lower.startswith(("proxy-", "sec-"))


def unsafe_header_names(headers: Any = ()) -> list[str]:
    """The names a browser lists in Access-Control-Request-Headers: lowercase, sorted."""
    try:
        items = _header_items(headers)
    except Exception:
        return []
    names = {
        n.lower()
        for n, v in items
        if not _is_forbidden_header(n) and _header_reason(n, v) is not None
    }
    return sorted(names)


def preflight_reasons(method: str = "GET", headers: Any = ()) -> list[str]:
    """Why a request from a page needs a CORS preflight; empty when it is a simple request.

    ``headers`` may be a mapping, ``"Name: value"`` strings or bare names. Never
    raises on arbitrary text.
    """
    reasons: list[str] = []
    if not isinstance(method, str):
        method = str(method)
    norm = _normalise_method(method.strip())
    if norm not in SIMPLE_METHODS:
        hint = ""
        if norm.upper() == "PATCH" and norm != "PATCH":
            hint = " (browsers send 'patch' as written: it must match Access-Control-Allow-Methods exactly)"
        reasons.append(f"method {norm or '(empty)'} is not GET, HEAD or POST{hint}")
    try:
        items = _header_items(headers)
    except Exception:
        items = []
    safelisted_size = 0
    for name, value in items:
        if _is_forbidden_header(name):
            continue  # the browser never sends what a page sets here
        reason = _header_reason(name, value)
        if reason is not None:
            reasons.append(reason)
        elif value is not None:
            safelisted_size += len(value.encode("utf-8", "surrogatepass"))
    if safelisted_size > 1024:
        reasons.append("the safelisted headers' values total more than 1024 bytes")
    return reasons


def needs_preflight(method: str = "GET", headers: Any = ()) -> bool:
    """Whether a browser sends an OPTIONS preflight before this request."""
    return bool(preflight_reasons(method, headers))


def _origin_of(url: str) -> tuple[str | None, str | None]:
    """The serialised origin of a URL, or (None, why it is not usable)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return None, f"cannot parse it ({exc})"
    if parts.scheme not in ("http", "https"):
        return None, "the scheme must be http or https"
    if not parts.hostname:
        return None, "it has no host"
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{host}{suffix}", None


def check_origin(origin: str) -> str | None:
    """Why ``origin`` is not what a browser sends in ``Origin``, or None when it is."""
    if origin == "null":
        return None
    serialised, problem = _origin_of(origin)
    if problem is not None:
        return problem
    if origin.endswith("/"):
        return "an origin has no trailing slash (browsers send scheme://host[:port] only)"
    parts = urllib.parse.urlsplit(origin)
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return "an origin is scheme://host[:port] only: no path, query or user"
    if serialised != origin:
        return f"browsers send it as {serialised} (lowercase, default port omitted)"
    return None


def parse_origins_env(value: str | None) -> list[str]:
    """``CORS_ALLOW_ORIGINS`` as svc-infra reads it: comma-separated (a JSON list also works)."""
    if not value or not value.strip():
        return []
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v).strip() for v in parsed if str(v).strip()]
    return split_header_list(text)


# -- judging responses ---------------------------------------------------------


def _allow_origin_findings(
    prefix: str,
    headers: Any,
    origin: str,
    credentials: bool,
    soft: bool,
) -> list[Finding]:
    """The CORS check (ACAO, ACAC) and Vary on one response's headers."""
    findings: list[Finding] = []
    values = headers.get_list("access-control-allow-origin")
    fail = Status.WARN if soft else Status.FAIL
    fix_origin = _FIX_ORIGIN.format(origin=origin)
    check = f"{prefix}.origin"
    if not values:
        findings.append(
            Finding(
                check,
                fail,
                "no Access-Control-Allow-Origin: the browser blocks the response",
                detail=(
                    f"The server did not allow {origin}. Either the origin is not in the allowed "
                    "list, or no CORS middleware runs at all (svc-infra adds none when "
                    "CORS_ALLOW_ORIGINS is empty), or the response came from outside it (a proxy, "
                    "an error page). The comparison is exact: http vs https, the port, or a "
                    "trailing slash in CORS_ALLOW_ORIGINS all make it fail."
                ),
                fix=fix_origin,
            )
        )
    elif len(values) > 1 or "," in values[0]:
        shown = ", ".join(values)
        findings.append(
            Finding(
                check,
                fail,
                f"Access-Control-Allow-Origin holds several origins ({shown})",
                detail=(
                    "The header must carry exactly one origin (or *); browsers reject a list. "
                    "Servers that allow several origins must echo the one in the request's Origin."
                ),
                fix=(
                    "Let the CORS middleware echo the request origin: list them in "
                    f"CORS_ALLOW_ORIGINS, and remove any hand-set Access-Control-Allow-Origin "
                    f"header (proxy config, add_header, a custom middleware).\n{fix_origin}"
                ),
                data={"values": values},
            )
        )
    else:
        value = values[0].strip()
        if value == "*":
            if credentials:
                findings.append(
                    Finding(
                        check,
                        fail,
                        "Access-Control-Allow-Origin is * but the request sends credentials",
                        detail=(
                            "With cookies or HTTP auth the browser requires the exact origin; * "
                            "is rejected."
                        ),
                        fix=(
                            f"List the origin explicitly: CORS_ALLOW_ORIGINS={origin} (not *), "
                            "with CORS_ALLOW_CREDENTIALS=true."
                        ),
                    )
                )
            else:
                findings.append(Finding(check, Status.OK, "any origin allowed (*)"))
        elif value == "null":
            if origin == "null":
                findings.append(
                    Finding(
                        check,
                        Status.WARN,
                        "Access-Control-Allow-Origin: null matches, but it is unsafe",
                        detail=(
                            "Every sandboxed iframe, data: URL and file:// page sends Origin: "
                            "null, so allowing null allows all of them."
                        ),
                        fix="Serve the page from a real origin and allow that one instead of null.",
                    )
                )
            else:
                findings.append(
                    Finding(
                        check,
                        fail,
                        f"Access-Control-Allow-Origin is null, not {origin}",
                        detail="'null' only matches opaque origins (sandboxed iframes, file://), and is unsafe.",
                        fix=fix_origin,
                    )
                )
        elif value == origin:
            findings.append(Finding(check, Status.OK, f"origin {origin} allowed"))
            vary = {v.lower() for line in headers.get_list("vary") for v in split_header_list(line)}
            if "origin" not in vary and "*" not in vary:
                findings.append(
                    Finding(
                        f"{prefix}.vary",
                        Status.WARN,
                        "origin echoed without Vary: Origin",
                        detail=(
                            "A cache (CDN, proxy, the browser) may serve this answer to another "
                            "origin, which then fails CORS intermittently."
                        ),
                        fix=(
                            "Add Vary: Origin where the header is set (Starlette's CORSMiddleware, "
                            "which svc-infra uses, does this itself)."
                        ),
                    )
                )
        else:
            findings.append(
                Finding(
                    check,
                    fail,
                    f"Access-Control-Allow-Origin is {value}, not {origin}",
                    detail=_mismatch_hint(value, origin),
                    fix=fix_origin,
                    data={"allowed": value},
                )
            )
    if credentials:
        acac = headers.get_list("access-control-allow-credentials")
        if acac == ["true"]:
            findings.append(Finding(f"{prefix}.credentials", Status.OK, "credentials allowed"))
        else:
            shown = ", ".join(acac) if acac else "absent"
            findings.append(
                Finding(
                    f"{prefix}.credentials",
                    fail,
                    f"Access-Control-Allow-Credentials is {shown}; with credentials it must be exactly 'true'",
                    detail="Without it the browser hides the response from a fetch(…, {credentials: 'include'}).",
                    fix=_FIX_CREDENTIALS,
                )
            )
    return findings


def _mismatch_hint(allowed: str, origin: str) -> str:
    a, o = allowed.rstrip("/").lower(), origin.lower()
    if a == o:
        return "They differ only in case or a trailing slash; the comparison is exact."
    try:
        pa, po = urllib.parse.urlsplit(a), urllib.parse.urlsplit(o)
        pa.port, po.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "The server's value is not a valid origin at all."
    if pa.hostname == po.hostname and pa.scheme != po.scheme:
        return "The scheme differs (http vs https): an origin includes the scheme."
    if pa.hostname == po.hostname and pa.port != po.port:
        return "The port differs: an origin includes the port."
    return "The comparison is exact: scheme, host and port must all match."


def _methods_finding(headers: Any, method: str, credentials: bool, soft: bool) -> Finding:
    fail = Status.WARN if soft else Status.FAIL
    allowed = [m for line in headers.get_list("access-control-allow-methods") for m in split_header_list(line)]
    data = {"allowed": allowed, "method": method}
    check = "cors.preflight.methods"
    if method in SIMPLE_METHODS or method in allowed:
        return Finding(check, Status.OK, f"method {method} allowed", data=data)
    if "*" in allowed and not credentials:
        return Finding(check, Status.OK, f"method {method} allowed by *", data=data)
    fix = f"CORS_ALLOW_METHODS={','.join(sorted({*(a for a in allowed if a != '*'), method.upper()}))}"
    if "*" in allowed:
        return Finding(
            check,
            fail,
            f"method {method} not allowed: * is literal when credentials are sent",
            detail="With credentials, browsers read Access-Control-Allow-Methods: * as a method named '*'.",
            fix=f"List the methods explicitly: {fix}",
            data=data,
        )
    hint = ""
    if method.upper() in allowed:
        hint = f" The match is case-sensitive: the page sends {method!r}; write it as method: 'PATCH'."
    return Finding(
        check,
        fail,
        f"method {method} not in Access-Control-Allow-Methods ({', '.join(allowed) or 'absent'})",
        detail="The browser stops at the preflight and never sends the request." + hint,
        fix=fix,
        data=data,
    )


def _headers_finding(headers: Any, requested: list[str], credentials: bool, soft: bool) -> Finding:
    fail = Status.WARN if soft else Status.FAIL
    allowed = [
        h.lower() for line in headers.get_list("access-control-allow-headers") for h in split_header_list(line)
    ]
    check = "cors.preflight.headers"
    data = {"allowed": allowed, "requested": requested}
    if not requested:
        return Finding(check, Status.OK, "no non-safelisted request headers", data=data)
    wildcard = "*" in allowed and not credentials
    missing = [h for h in requested if h not in allowed and not (wildcard and h != "authorization")]
    if not missing:
        return Finding(check, Status.OK, f"headers allowed: {', '.join(requested)}", data=data)
    notes = []
    if "authorization" in missing and "*" in allowed:
        notes.append("Authorization is never covered by *: it must be listed by name.")
    if "*" in allowed and credentials:
        notes.append("With credentials, * in Access-Control-Allow-Headers is a literal header name.")
    # accept, accept-language and content-language are always safelisted: no need to list them.
    always = {"*", "accept", "accept-language", "content-language"}
    want = sorted({*(a for a in allowed if a not in always), *requested})
    return Finding(
        check,
        fail,
        f"header(s) not allowed: {', '.join(missing)}",
        detail=" ".join(notes) or "The browser stops at the preflight and never sends the request.",
        fix=f"CORS_ALLOW_HEADERS={','.join(want)}  (or add_security(…) with these headers allowed)",
        data={**data, "missing": missing},
    )


def _max_age_finding(headers: Any) -> Finding:
    raw = headers.get("access-control-max-age")
    check = "cors.preflight.max_age"
    if raw is None:
        return Finding(
            check,
            Status.OK,
            f"no Access-Control-Max-Age: browsers cache the preflight for {DEFAULT_MAX_AGE} s",
            detail="Every request after that pays a preflight round trip again.",
            fix="Optional: set max_age on the CORS middleware (Starlette's default is 600 s).",
            data={"max_age": None, "effective_s": dict.fromkeys(BROWSER_MAX_AGE_CAP, DEFAULT_MAX_AGE)},
        )
    text = raw.strip()
    if not text.isdigit():
        return Finding(
            check,
            Status.WARN,
            f"Access-Control-Max-Age {raw!r} is not a number of seconds: browsers ignore it",
            fix="Send a non-negative integer, e.g. Access-Control-Max-Age: 600.",
            data={"max_age": raw},
        )
    value = int(text)
    effective = {browser: min(value, cap) for browser, cap in BROWSER_MAX_AGE_CAP.items()}
    capped = [f"{b} caps it at {cap} s" for b, cap in BROWSER_MAX_AGE_CAP.items() if value > cap]
    summary = f"preflight cached for {value} s"
    if capped:
        summary += " (" + "; ".join(capped) + ")"
    if value == 0:
        summary = "Access-Control-Max-Age is 0: every request is preflighted"
    return Finding(check, Status.OK, summary, data={"max_age": value, "effective_s": effective})


def _preflight_status_finding(response: Any, soft: bool) -> Finding:
    fail = Status.WARN if soft else Status.FAIL
    code = response.status_code
    data = {"status_code": code}
    if 300 <= code < 400:
        location = response.headers.get("location", "")
        return Finding(
            "cors.preflight",
            fail,
            f"preflight answered with a redirect ({code} → {mask_url(location) or '?'})",
            detail=(
                "Browsers treat a redirected preflight as a network error. Common causes: a missing "
                "or extra trailing slash (FastAPI's redirect_slashes), http → https, or a login redirect."
            ),
            fix="Call the final URL directly from the page (the Location above), without a redirect.",
            data={**data, "location": location},
        )
    if 200 <= code < 300:
        return Finding("cors.preflight", Status.OK, f"preflight answered {code}", data=data)
    body = ""
    try:
        body = response.text[:200]
    except Exception:
        body = ""
    if body.startswith("Disallowed CORS"):
        parts = [p.strip() for p in body[len("Disallowed CORS") :].split(",") if p.strip()]
        return Finding(
            "cors.preflight",
            fail,
            f"preflight rejected by the CORS middleware: {', '.join(parts)} not allowed",
            detail=f"Starlette's CORSMiddleware (svc-infra's) answered {code} {body!r}.",
            fix="See the findings below for the exact knob to change.",
            data={**data, "rejected": parts},
        )
    if code in (404, 405) and not response.headers.get("access-control-allow-origin"):
        return Finding(
            "cors.preflight",
            fail,
            f"preflight answered {code}: no CORS middleware handled the OPTIONS request",
            detail=(
                "The route itself answered the OPTIONS request. svc-infra installs its CORS "
                "middleware only when there are origins to allow: with CORS_ALLOW_ORIGINS empty "
                "(and no cors_origins=… in add_security) there is none."
            ),
            fix="Set CORS_ALLOW_ORIGINS=<your front-end origin>, or add_security(app, cors_origins=[…]).",
            data=data,
        )
    return Finding(
        "cors.preflight",
        fail,
        f"preflight answered {code}: browsers need a 2xx",
        detail=(
            "An OPTIONS request failing with this status (an auth middleware before CORS, a crash, "
            "a proxy) makes the browser report a CORS error."
        ),
        fix="Make OPTIONS reach the CORS middleware first: add it last (outermost), and let "
        "proxies/auth pass OPTIONS through unauthenticated.",
        data=data,
    )


# -- the probe ------------------------------------------------------------------


def _input_error(summary: str, fix: str) -> Report:
    return Report([Finding("cors.input", Status.FAIL, summary, fix=fix)], title="svc_nb CORS")


def _transport_finding(check: str, exc: BaseException, url: str, timeout: float) -> Finding:
    import httpx

    shown = mask_url(url)
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Finding(
            check,
            Status.FAIL,
            f"no answer from {shown} within {timeout:g} s",
            fix="Check the service is up and reachable, or raise timeout=.",
            data={"timeout_s": timeout},
        )
    if isinstance(exc, httpx.ConnectError):
        return Finding(
            check,
            Status.FAIL,
            f"cannot connect to {shown}: {str(exc)[:150] or type(exc).__name__}",
            fix="Start the service, or check host and port (the browser would also fail here, "
            "and report it as a CORS error).",
        )
    return Finding(
        check,
        Status.FAIL,
        f"request to {shown} failed: {type(exc).__name__}: {str(exc)[:150]}",
        fix="Check the URL and that the service speaks HTTP on it.",
        data={"exception": type(exc).__name__},
    )


_DEFAULT_VALUES = {"authorization": "Bearer svc-nb-cors-probe", "content-type": "application/json"}


async def preflight(
    url: str,
    origin: str,
    *,
    method: str = "GET",
    headers: Any = (),
    credentials: bool = False,
    timeout: float = 5.0,
    send_actual: bool | None = None,
) -> Report:
    """Send the browser's preflight and then the request itself, and judge both.

    ``headers`` are the headers the page sets (a mapping, ``"Name: value"``
    strings or bare names). ``credentials`` is ``fetch(…, {credentials:
    'include'})``. The request itself is sent for GET/HEAD/OPTIONS; for other
    methods only with ``send_actual=True`` (it could change data). Redirects are
    never followed. Returns within about ``timeout`` seconds.
    """
    import httpx

    if not isinstance(url, str) or not isinstance(origin, str):
        raise TypeError("preflight(url, origin): both must be strings, e.g. preflight('http://127.0.0.1:8000/api', 'http://localhost:3000')")
    if not isinstance(method, str):
        raise TypeError(f"method must be a string such as 'POST', not {type(method).__name__}")
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    target_origin, problem = _origin_of(url)
    if problem is not None:
        return _input_error(
            f"cannot probe {mask_url(url)!r}: {problem}",
            "Pass the API URL the page calls, e.g. http://127.0.0.1:8000/api/items.",
        )
    origin = origin.strip()
    problem = check_origin(origin)
    if problem is not None:
        return _input_error(
            f"{origin!r} is not an origin: {problem}",
            "Pass the page's origin as the browser sends it, e.g. http://localhost:3000.",
        )
    norm_method = _normalise_method(method.strip())
    if not _TOKEN.match(norm_method) or norm_method.upper() in _FORBIDDEN_METHODS:
        return _input_error(
            f"{method!r} is not a method a page can send",
            "Use GET, POST, PUT, PATCH, DELETE…",
        )
    items = _header_items(headers)
    for name, value in items:
        if not _TOKEN.match(name):
            return _input_error(f"{name!r} is not a valid header name", "Header names are tokens like X-Request-Id.")
        if value is not None and name.lower() == "authorization":
            register_secret(value.split(" ", 1)[-1])

    reasons = preflight_reasons(norm_method, items)
    requested = unsafe_header_names(items)
    needed = bool(reasons)
    findings: list[Finding] = []
    if needed:
        need = Finding(
            "cors.need",
            Status.OK,
            f"{norm_method} with these headers needs a preflight",
            detail="; ".join(reasons) + ".",
            data={"needs_preflight": True, "reasons": reasons, "request_headers": requested},
        )
    else:
        need = Finding(
            "cors.need",
            Status.OK,
            f"{norm_method} with these headers is a simple request: no preflight",
            detail="Only the response's Access-Control-Allow-Origin decides; the preflight below is sent for information.",
            data={"needs_preflight": False, "reasons": [], "request_headers": []},
        )
    findings.append(need)
    if target_origin == origin:
        findings.append(
            Finding(
                "cors.same_origin",
                Status.OK,
                f"the page and the API share the origin {origin}: CORS does not apply",
            )
        )
        return Report(findings, title="svc_nb CORS")

    soft = not needed  # a preflight the browser will not send cannot block anything
    pre_headers = {"Origin": origin, "Access-Control-Request-Method": norm_method}
    if requested:
        pre_headers["Access-Control-Request-Headers"] = ",".join(requested)
    sent_values = {
        n: (v if v is not None else _DEFAULT_VALUES.get(n.lower(), "svc-nb"))
        for n, v in items
        if not _is_forbidden_header(n)
    }
    do_actual = send_actual if send_actual is not None else norm_method in ("GET", "HEAD", "OPTIONS")
    started = time.perf_counter()
    preflight_ok = False
    stage = "cors.preflight"
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(
                follow_redirects=False, timeout=timeout, trust_env=False, verify=tls_context()
            ) as client,
        ):
            try:
                response = await client.request("OPTIONS", url, headers=pre_headers)
            except (httpx.HTTPError, OSError) as exc:
                findings.append(_transport_finding("cors.preflight", exc, url, timeout))
            else:
                status = _preflight_status_finding(response, soft)
                findings.append(
                    Finding(
                        status.check, status.status, status.summary, status.detail, status.fix,
                        {**status.data, "latency_ms": round((time.perf_counter() - started) * 1000, 1)},
                    )
                )
                judged = _allow_origin_findings("cors.preflight", response.headers, origin, credentials, soft)
                findings.extend(judged)
                findings.append(_methods_finding(response.headers, norm_method, credentials, soft))
                findings.append(_headers_finding(response.headers, requested, credentials, soft))
                findings.append(_max_age_finding(response.headers))
                preflight_ok = all(
                    f.status is Status.OK for f in findings if f.check.startswith("cors.preflight")
                    and f.check != "cors.preflight.vary"
                )
            stage = "cors.request"
            if not do_actual:
                findings.append(
                    Finding(
                        "cors.request",
                        Status.SKIP,
                        f"the {norm_method} request itself was not sent (it may change data)",
                        fix="Pass send_actual=True to send it too.",
                    )
                )
            else:
                try:
                    actual = await client.request(
                        norm_method,
                        url,
                        headers={"Origin": origin, **sent_values},
                        content=b"{}" if norm_method in ("POST", "PUT", "PATCH") else None,
                    )
                except (httpx.HTTPError, OSError) as exc:
                    findings.append(_transport_finding("cors.request", exc, url, timeout))
                else:
                    findings.extend(_actual_findings(actual, origin, credentials, needed, preflight_ok))
    except TimeoutError as exc:
        findings.append(_transport_finding(stage, exc, url, timeout))
    return Report(findings, title="svc_nb CORS")


def _actual_findings(
    response: Any, origin: str, credentials: bool, needed: bool, preflight_ok: bool
) -> list[Finding]:
    code = response.status_code
    note = ""
    if needed and not preflight_ok:
        note = " A browser would have stopped at the failed preflight; svc_nb sent it anyway to show the answer."
    judged = _allow_origin_findings("cors.request", response.headers, origin, credentials, False)
    head = Finding(
        "cors.request",
        Status.OK if code < 500 else Status.WARN,
        f"request answered {code}",
        detail=note.strip(),
        data={"status_code": code},
    )
    if code >= 500 and not response.headers.get_list("access-control-allow-origin"):
        head = Finding(
            "cors.request",
            Status.FAIL,
            f"request answered {code} without CORS headers: the browser shows a CORS error for a server error",
            detail=(
                "Unhandled exceptions are answered outside the CORS middleware, so the 500 has no "
                "Access-Control-Allow-Origin and the real error is hidden from the page." + note
            ),
            fix="Fix the server error first (see the service logs); the CORS error will go away with it.",
            data={"status_code": code},
        )
        return [head]
    if code >= 300 and code < 400:
        head = Finding(
            "cors.request",
            Status.WARN,
            f"request answered with a redirect ({code})",
            detail="The browser follows it and needs CORS headers on every hop; call the final URL.",
            data={"status_code": code, "location": response.headers.get("location", "")},
        )
    return [head, *judged]


# -- diagnose ---------------------------------------------------------------------


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


async def _diagnose(environ: Mapping[str, str], timeout: float) -> Report | Finding:
    url = environ.get("SVC_NB_SERVICE_URL", "").strip()
    origins = [o for o in parse_origins_env(environ.get("CORS_ALLOW_ORIGINS")) if o != "*"]
    if not url:
        return Finding(
            "cors",
            Status.SKIP,
            "SVC_NB_SERVICE_URL not set, CORS not probed",
            detail="Set SVC_NB_SERVICE_URL to the API URL a page calls to send a real preflight.",
        )
    if not origins:
        regex = environ.get("CORS_ALLOW_ORIGIN_REGEX", "").strip()
        detail = (
            "CORS_ALLOW_ORIGINS is empty: unless add_security(cors_origins=…) sets origins in code, "
            "svc-infra adds no CORS middleware at all and every cross-origin call fails."
        )
        if regex:
            detail = "Only CORS_ALLOW_ORIGIN_REGEX is set; give an explicit origin to probe."
        return Finding(
            "cors",
            Status.SKIP,
            "no origin in CORS_ALLOW_ORIGINS to probe with",
            detail=detail,
            fix="Probe by hand: await svc_nb.cors.preflight(url, 'https://your-front-end')",
        )
    # The typical SPA call: a bearer token and a JSON body, which always need a preflight.
    return await preflight(
        url,
        origins[0],
        method="GET",
        headers={"Authorization": None, "Content-Type": "application/json"},
        credentials=_truthy(environ.get("CORS_ALLOW_CREDENTIALS")),
        timeout=max(timeout - 0.1, 0.1),
    )


register_check("cors", _diagnose, order=80, waits=True)
