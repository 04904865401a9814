"""``service.cors`` and ``service.cors.errors``: a real preflight and requests on the app's routes.

The answers are judged with ``svc_nb.cors``'s rules (the Fetch standard's
CORS check), from the first configured origin, and from a foreign origin that
must not be allowed. ``service.cors.errors`` repeats the request on error
answers — a 404 and, in process, a route that raises — because a 500 without
CORS headers reaches the page as a CORS error and hides the real failure.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from svc_nb._exceptions import SvcNbError
from svc_nb._explain import Explanation, explain
from svc_nb._http import transport_failure
from svc_nb._report import Finding, Status
from svc_nb.cors._judge import (
    allow_origin_findings,
    headers_finding,
    methods_finding,
    preflight_status_finding,
    request_findings,
)
from svc_nb.cors._rules import check_origin, origin_of
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._client import ServiceClient

__all__ = [
    "FOREIGN_ORIGIN",
    "CorsPlan",
    "check_cors",
    "check_cors_errors",
    "plan_cors",
    "raising_route",
]

CHECK = "service.cors"
ERRORS = "service.cors.errors"
# A syntactically real origin no service allows; only ever sent as a header, never resolved.
FOREIGN_ORIGIN = "https://svc-nb-foreign-origin.example"
_REQUESTED_HEADERS = ["authorization", "content-type"]
# scheme + a 253-character host + a port: nothing longer is an origin a browser sends.
_MAX_ORIGIN_CHARS = 300
_F = Status.FAIL
_ON_ERROR_FIX = (
    "Make the CORS middleware the outermost one, so it also wraps svc-infra's error handling: "
    "call add_security(app, cors_origins=[…]) after easy_service_app(…) and give "
    "easy_service_app no origins (no public_cors_origins, no CORS_ALLOW_ORIGINS). Then fix the "
    "error itself (see the service log)."
)

_CORS: dict[C, Explanation] = {
    C.NO_ORIGIN: Explanation(
        Status.SKIP,
        "no origin to probe with",
        "{detail}",
        "Pass the page's origin: service.check(target, origin='https://app.example.com').",
    ),
    C.BAD_ORIGIN: Explanation(
        _F,
        "the origin {origin!r} never matches: {problem}",
        "Browsers send Origin as scheme://host[:port] exactly ({sent}); the CORS middleware "
        "compares strings, so this entry allows nothing.",
        "Write it as the browser sends it: CORS_ALLOW_ORIGINS={sent} (or add_security(app, "
        'cors_origins=["{sent}"])).',
    ),
    C.WILDCARD_WITH_CREDENTIALS: Explanation(
        _F,
        "any origin may make credentialed requests: {foreign} is allowed with credentials",
        "The answer to a page on {foreign} carried Access-Control-Allow-Origin: {allowed} and "
        "Access-Control-Allow-Credentials: true, so any web site can call this API with the "
        "user's cookies. svc-infra does this for CORS_ALLOW_ORIGINS=* (it turns * into an "
        "origin regex, and Starlette then echoes every origin).",
        "List the front-end origins explicitly: CORS_ALLOW_ORIGINS=https://app.example.com "
        "(never * together with credentials).",
    ),
    C.MISSING_ON_ERROR: Explanation(
        _F,
        "{shown} without CORS headers: the browser reports a CORS error instead",
        "The normal answer from {origin} carries Access-Control-Allow-Origin, these error answers "
        "do not: they are produced outside the CORS middleware (svc-infra's catch-all error "
        "middleware and Starlette's ServerErrorMiddleware sit outside a CORS middleware added "
        "by easy_service_app). The page sees 'blocked by CORS policy' and never the real status.",
        _ON_ERROR_FIX,
    ),
    C.ORIGIN_NOT_ALLOWED: Explanation(
        Status.SKIP,
        "not checked: {origin} is not allowed even on a normal answer",
        "See service.cors: CORS fails on every answer, not only on errors.",
        "Fix service.cors first.",
    ),
}


@dataclass(frozen=True)
class CorsPlan:
    """The origin to probe with, where it came from, and the route to call."""

    origin: str | None
    configured: str | None  # the configured entry, as written, when it differs from what is sent
    path: str
    wildcard: bool


class ProbeError(SvcNbError, RuntimeError):
    """Raised by the route svc_nb adds for a moment, to see what a 500 carries."""


class _QuietProbe(logging.Filter):
    """Hides the log records of svc_nb's own deliberate error, and only those."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ProbeError)


@contextlib.contextmanager
def raising_route(app: Any) -> Iterator[str | None]:
    """A GET route that raises, added to ``app`` for the duration (None if it takes no routes)."""
    router = getattr(app, "router", None)
    routes = getattr(router, "routes", None)
    if not isinstance(routes, list):
        yield None
        return
    from starlette.routing import Route

    async def deliberate_error(request: Any) -> Any:
        raise ProbeError("svc_nb probe: a deliberate error, to see which headers a 500 carries")

    path = f"/__svc_nb_probe_error_{secrets.token_hex(4)}"
    route = Route(path, deliberate_error, methods=["GET"])
    quiet = _QuietProbe()
    handlers = [h for logger in _loggers() for h in logger.handlers]
    for handler in handlers:
        handler.addFilter(quiet)
    routes.insert(0, route)
    try:
        yield path
    finally:
        with contextlib.suppress(ValueError):
            routes.remove(route)
        for handler in handlers:
            handler.removeFilter(quiet)


def _loggers() -> list[logging.Logger]:
    found = [logging.getLogger()]
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            found.append(logger)
    return found


def _too_long(origin: str) -> str | None:
    if len(origin) <= _MAX_ORIGIN_CHARS:
        return None
    return f"it is {len(origin):,} characters long; a host name has at most 253"


def plan_cors(
    origin: str | None, configured: Sequence[str], wildcard: bool, path: str
) -> CorsPlan | Finding:
    """Which origin to probe with: the one given, else the first configured (as a browser sends it)."""
    if origin is not None:
        problem = _too_long(origin) or check_origin(origin)
        if problem is not None:
            origin = origin if len(origin) <= _MAX_ORIGIN_CHARS else origin[:60] + "…"
            shown = (
                origin_of(origin)[0] if len(origin) <= _MAX_ORIGIN_CHARS else None
            ) or "scheme://host[:port]"
            return explain(CHECK, C.BAD_ORIGIN, _CORS, origin=origin, problem=problem, sent=shown)
        return CorsPlan(origin, None, path, wildcard)
    for entry in configured:
        if entry == "*":
            continue
        sent = origin_of(entry)[0]
        if sent is not None:
            return CorsPlan(sent, entry if entry != sent else None, path, wildcard)
    if wildcard:
        return CorsPlan(None, None, path, wildcard)
    detail = (
        "The app has no CORS middleware with an origin (svc-infra adds none when "
        "CORS_ALLOW_ORIGINS is empty), and no origin= was given."
    )
    return explain(CHECK, C.NO_ORIGIN, _CORS, detail=detail)


def _failure(check: str, exc: BaseException, client: ServiceClient, path: str) -> Finding:
    return transport_failure(check, exc, client.url(path), client.deadline.timeout)


async def _preflight(
    client: ServiceClient, plan: CorsPlan, origin: str
) -> tuple[list[Finding], bool]:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": ",".join(_REQUESTED_HEADERS),
    }
    started = time.perf_counter()
    response = await client.request("OPTIONS", plan.path, headers=headers)
    latency = round((time.perf_counter() - started) * 1000, 1)
    judged = [
        preflight_status_finding(response, False, latency),
        *allow_origin_findings("cors.preflight", response.headers, origin, True, False),
        methods_finding(response.headers, "GET", True, False),
        headers_finding(response.headers, _REQUESTED_HEADERS, True, False),
    ]
    passed = all(f.status is Status.OK for f in judged if f.check != "cors.preflight.vary")
    return judged, passed


async def _foreign(client: ServiceClient, path: str) -> Finding | None:
    response = await client.request("GET", path, headers={"Origin": FOREIGN_ORIGIN})
    allowed = response.headers.get("access-control-allow-origin", "")
    credentials = response.headers.get("access-control-allow-credentials", "") == "true"
    if allowed in (FOREIGN_ORIGIN, "*") and credentials:
        return explain(
            CHECK, C.WILDCARD_WITH_CREDENTIALS, _CORS,
            data={"foreign_origin": FOREIGN_ORIGIN, "allowed": allowed},
            foreign=FOREIGN_ORIGIN, allowed=allowed,
        )  # fmt: skip
    return None


def _verdict(plan: CorsPlan, origin: str | None, judged: list[Finding]) -> Finding:
    worst = next((f for f in judged if f.status is Status.FAIL), None) or next(
        (f for f in judged if f.status is Status.WARN), None
    )
    data: dict[str, Any] = {
        "origin": origin,
        "path": plan.path,
        "judged": [{"check": f.check, "status": f.status.value, "cause": f.cause} for f in judged],
    }
    if worst is None:
        shown = f"origin {origin} allowed" if origin else "no origin configured besides *"
        return Finding(
            CHECK, Status.OK, f"{shown} on {plan.path}: preflight and request pass", data=data
        )
    if worst.check == CHECK:  # our own finding (the foreign origin)
        return Finding(
            worst.check,
            worst.status,
            worst.summary,
            worst.detail,
            worst.fix,
            {**data, **worst.data},
            cause=worst.cause,
        )
    if plan.configured is not None and worst.cause in (
        "origin_not_allowed",
        "preflight_rejected",
        "origin_mismatch",
    ):
        problem = check_origin(plan.configured) or "it is not how browsers send it"
        return explain(
            CHECK,
            C.BAD_ORIGIN,
            _CORS,
            data=data,
            origin=plan.configured,
            problem=problem,
            sent=origin,
        )
    summary = f"from {origin} on {plan.path}: {worst.summary}"
    return Finding(
        CHECK, worst.status, summary, worst.detail, worst.fix, data, cause=C(str(worst.cause))
    )


async def check_cors(client: ServiceClient, plan: CorsPlan) -> tuple[Finding, bool]:
    """The service.cors finding, and whether the origin got Access-Control-Allow-Origin on a normal answer."""
    origin = plan.origin
    judged: list[Finding] = []
    allowed = False
    try:
        if origin is not None:
            judged, preflight_ok = await _preflight(client, plan, origin)
            response = await client.request("GET", plan.path, headers={"Origin": origin})
            judged += request_findings(response, origin, True, True, preflight_ok)
            allowed = response.headers.get("access-control-allow-origin") in (origin, "*")
        foreign = await _foreign(client, plan.path)
    except client.errors as exc:
        return _failure(CHECK, exc, client, plan.path), False
    if foreign is not None:
        judged.append(foreign)
    return _verdict(plan, origin, judged), allowed


async def check_cors_errors(
    client: ServiceClient,
    plan: CorsPlan,
    allowed: bool,
    raise_path: str | None,
    error_path: str | None = None,
) -> Finding:
    """The same origin on error answers: a 404, (in process) a route that raises, ``error_path``."""
    origin = plan.origin
    if origin is None:
        return explain(
            ERRORS, C.NO_ORIGIN, _CORS, detail="Only a wildcard is configured; pass origin=."
        )
    if not allowed:
        return explain(ERRORS, C.ORIGIN_NOT_ALLOWED, _CORS, origin=origin)
    paths = [f"/__svc_nb_no_such_route_{secrets.token_hex(4)}"]
    paths += [p for p in (raise_path, error_path) if p is not None]
    answers: list[tuple[str, int, bool]] = []
    try:
        for path in paths:
            response = await client.request("GET", path, headers={"Origin": origin})
            has_cors = response.headers.get("access-control-allow-origin") in (origin, "*")
            answers.append((path, response.status_code, has_cors))
    except client.errors as exc:
        return _failure(ERRORS, exc, client, paths[len(answers)])
    data: dict[str, Any] = {
        "origin": origin,
        "answers": [{"status_code": code, "cors_headers": ok} for _, code, ok in answers],
        "raising_route": "sent" if raise_path else "not sent: only in process can svc_nb add one",
        "error_path": error_path,
    }
    missing = [(p, code) for p, code, ok in answers if not ok]
    if missing:
        shown = " and ".join(f"a {code}" for _, code in missing)
        return explain(
            ERRORS, C.MISSING_ON_ERROR, _CORS, data=data, shown=shown.capitalize(), origin=origin
        )
    codes = " and ".join(str(code) for _, code, _ in answers)
    note = "" if raise_path or error_path else " (over HTTP only a 404; pass error_path= for a 500)"
    return Finding(
        ERRORS, Status.OK, f"error answers ({codes}) keep their CORS headers{note}", data=data
    )
