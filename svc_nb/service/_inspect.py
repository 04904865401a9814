"""``inspect()``: the app's wiring read without running it, and what is wrong with it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import check_timeout
from svc_nb.cors._rules import check_origin
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._target import resolve_target_within
from svc_nb.service._wiring import MiddlewareRow, RouteRow, Wiring, features, read_wiring

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ServiceReport", "inspect"]

ROUTE_COLUMNS = ("path", "methods", "name", "kind", "endpoint", "app")
MIDDLEWARE_COLUMNS = ("position", "app", "middleware", "source", "config")
_F = Status.FAIL

_WIRING: dict[C, Explanation] = {
    C.NOT_IN_PROCESS: Explanation(
        Status.SKIP,
        "the wiring of a service reached by URL cannot be read",
        "inspect() reads routes and middleware from the app object.",
        "Pass the app itself ('package.module:app'), or use service.check(url) for what a "
        "client sees.",
    ),
    C.WILDCARD_WITH_CREDENTIALS: Explanation(
        _F,
        "CORS allows any origin together with credentials",
        "{how}: every web site can call the API with the user's cookies (Starlette echoes the "
        "page's origin when credentials are on).",
        "List the front-end origins explicitly: CORS_ALLOW_ORIGINS=https://app.example.com.",
    ),
    C.BAD_ORIGIN: Explanation(
        _F,
        "the allowed origin {origin!r} never matches: {problem}",
        "CORS compares the Origin header as a string; browsers never send this form.",
        "Write it as scheme://host[:port], no trailing slash: CORS_ALLOW_ORIGINS={sent}",
    ),
    C.DUPLICATE_CORS: Explanation(
        Status.WARN,
        "two CORS middlewares: {count} are installed",
        "The outer one answers every preflight, so the inner one's settings never apply to them; "
        "on other requests both set headers. Typical: easy_service_app(...) with "
        "CORS_ALLOW_ORIGINS / public_cors_origins, and add_security(app, cors_origins=...).",
        "Keep one: give easy_service_app no origins and configure CORS in add_security (it is "
        "outermost, so error answers keep their CORS headers too).",
    ),
    C.MISSING_ON_ERROR: Explanation(
        Status.WARN,
        "CORS runs inside {inner}: error answers will lack CORS headers",
        "{inner} turns exceptions into 500s outside the CORS middleware, so a failing request "
        "reaches the page as a CORS error (service.check confirms it on a real 500).",
        "Add CORS outermost: add_security(app, cors_origins=[…]) after easy_service_app(…), and "
        "no origins for easy_service_app.",
    ),
    C.SESSION_MIDDLEWARE_MISSING: Explanation(
        _F,
        "OAuth login is mounted but no SessionMiddleware wraps it",
        "svc-infra's login route keeps the state, PKCE verifier and nonce in request.session; "
        "without Starlette's SessionMiddleware it fails with a 500.",
        "add_security(app, install_session_middleware=True) before add_auth_users, or let "
        "add_auth_users add it.",
    ),
    C.SAMESITE_STRICT: Explanation(
        _F,
        "SessionMiddleware uses same_site='strict': OAuth callbacks lose the session",
        "The provider's redirect back is a cross-site navigation; a Strict cookie is not sent, "
        "so the callback answers 400 invalid_state.",
        "SESSION_COOKIE_SAMESITE=lax (svc-infra's default).",
    ),
    C.DOCS_IN_PRODUCTION: Explanation(
        Status.WARN,
        "API docs are served in APP_ENV={env}: {paths}",
        "The OpenAPI schema and Swagger UI list every route to anyone who asks. easy_service_app "
        "mounts /docs, /redoc and /openapi.json in every environment.",
        "Pass docs_url=None, redoc_url=None, openapi_url=None to easy_service_app(...) in "
        "production, or put the docs behind auth.",
    ),
}


class ServiceReport(Report):
    """A Report of the app's wiring, with ``.routes`` and ``.middleware`` as DataFrames."""

    def __init__(
        self,
        findings: Iterable[Finding] = (),
        *,
        title: str = "svc_nb service wiring",
        routes: Iterable[RouteRow] = (),
        middleware: Iterable[MiddlewareRow] = (),
    ) -> None:
        super().__init__(findings, title=title)
        self._routes = tuple(routes)
        self._middleware = tuple(middleware)

    @property
    def routes(self) -> pd.DataFrame:
        """One row per route: path, methods, name, kind (route/websocket/mount), endpoint, app."""
        import pandas as pd

        rows = [{**r.__dict__, "methods": ",".join(r.methods)} for r in self._routes]
        return pd.DataFrame(rows, columns=list(ROUTE_COLUMNS))

    @property
    def middleware(self) -> pd.DataFrame:
        """The middleware stack outermost first, each with its effective settings (secrets as fingerprints)."""
        import pandas as pd

        rows = [{**m.__dict__, "config": dict(m.config)} for m in self._middleware]
        return pd.DataFrame(rows, columns=list(MIDDLEWARE_COLUMNS))


def _cors_findings(wiring: Wiring, stack: list[str]) -> list[Finding]:
    findings: list[Finding] = []
    if len(wiring.cors) > 1:
        findings.append(
            explain("service.cors.config", C.DUPLICATE_CORS, _WIRING, count=len(wiring.cors))
        )
    reported: set[str] = set()
    for settings in wiring.cors:
        origins = [str(o) for o in settings.get("allow_origins") or ()]
        regex = settings.get("allow_origin_regex")
        if settings.get("allow_credentials") and ("*" in origins or regex in (".*", "^.*$")):
            how = "allow_origins=['*']" if "*" in origins else f"allow_origin_regex={regex!r}"
            findings.append(
                explain("service.cors.config", C.WILDCARD_WITH_CREDENTIALS, _WIRING, how=how)
            )
        for origin in origins:
            problem = None if origin == "*" or origin in reported else check_origin(origin)
            if problem is not None:
                reported.add(origin)
                sent = origin.rstrip("/")
                findings.append(
                    explain(
                        "service.cors.config",
                        C.BAD_ORIGIN,
                        _WIRING,
                        origin=origin,
                        problem=problem,
                        sent=sent,
                    )
                )
    if wiring.cors and "CORSMiddleware" in stack:
        outer = stack.index("CORSMiddleware")
        if not any(_catches(m) for m in stack[outer + 1 :]):
            catcher = next((m for m in stack[:outer] if _catches(m)), "ServerErrorMiddleware")
            findings.append(
                explain("service.cors.config", C.MISSING_ON_ERROR, _WIRING, inner=catcher)
            )
    if not findings:
        summary = (
            f"CORS: {len(wiring.cors)} middleware, origins {_origins_text(wiring)}"
            if wiring.cors
            else "no CORS middleware (svc-infra adds none without origins): browsers block cross-origin calls"
        )
        findings.append(Finding("service.cors.config", Status.OK, summary))
    return findings


def _catches(middleware: str) -> bool:
    """Turns any exception into a response (ExceptionMiddleware handles HTTPException only)."""
    return "Exception" in middleware and middleware != "ExceptionMiddleware"


def _origins_text(wiring: Wiring) -> str:
    settings = wiring.cors[0]
    origins = ", ".join(str(o) for o in settings.get("allow_origins") or ()) or "none"
    regex = settings.get("allow_origin_regex")
    return (
        origins
        + (f", regex {regex}" if regex else "")
        + (", credentials" if settings.get("allow_credentials") else "")
    )


def _session_findings(wiring: Wiring) -> list[Finding]:
    if wiring.session is None:
        if wiring.oauth_login is not None:
            return [explain("service.session.config", C.SESSION_MIDDLEWARE_MISSING, _WIRING)]
        return []
    same_site = str(wiring.session.get("same_site", "lax")).lower()
    if same_site == "strict" and wiring.oauth_login is not None:
        return [explain("service.session.config", C.SAMESITE_STRICT, _WIRING)]
    summary = (
        f"SessionMiddleware: cookie {wiring.session_cookie}, max_age {wiring.session.get('max_age')} s, "
        f"same_site {same_site}, https_only {wiring.session.get('https_only')}"
    )
    return [Finding("service.session.config", Status.OK, summary)]


def _docs_findings(found: dict[str, list[str]]) -> list[Finding]:
    from svc_nb.env import app_environment

    docs = found.get("docs")
    if not docs:
        return []
    raw, _, prod_like = app_environment(os.environ)
    if prod_like:
        return [
            explain("service.docs", C.DOCS_IN_PRODUCTION, _WIRING, env=raw, paths=", ".join(docs))
        ]
    return [
        Finding(
            "service.docs",
            Status.OK,
            f"docs served at {', '.join(docs)} (APP_ENV not production-like)",
        )
    ]


def _overview(wiring: Wiring, found: dict[str, list[str]]) -> list[Finding]:
    names = ", ".join(f"{k} ({', '.join(v)})" for k, v in found.items()) or "none of svc-infra's"
    stack = [m.middleware for m in wiring.middleware if m.app in ("/", "(wrapper)")]
    by_name = {m.middleware: m.config for m in wiring.middleware}
    timeout = by_name.get("HandlerTimeoutMiddleware")
    headers = by_name.get("SecurityHeadersMiddleware")
    shown_headers = ", ".join(headers.get("headers") or ["overrides only"]) if headers else ""
    detail = [
        f"request timeout: {timeout.get('timeout_seconds')} s"
        if timeout
        else "request timeout: none",
        f"security headers: {shown_headers}"
        if headers
        else "security headers: none (add_security adds them)",
    ]
    return [
        Finding("service.features", Status.OK, f"mounted: {names}", data={"features": found}),
        Finding(
            "service.middleware", Status.OK, "outermost first: " + " → ".join(stack),
            detail="\n".join(detail), data={"middleware": stack},
        ),
    ]  # fmt: skip


# Importing an app runs its module (and svc-infra's): seconds on a cold start, not a probe's 5.
IMPORT_TIMEOUT_S = 30.0


def inspect(target: Any, *, timeout: float = IMPORT_TIMEOUT_S) -> ServiceReport:
    """Read the app's routes and middleware without starting it, and report its wiring mistakes.

    Shows which svc-infra features are mounted (auth/users, each OAuth
    provider, MFA, webhooks, ops/health, docs) and the middleware stack in
    order with each one's effective settings (``.middleware``), and finds:
    wildcard origins with credentials, an origin no browser sends, two CORS
    middlewares, CORS inside the error handling, OAuth without a session
    middleware, and docs served in a production-like environment. An import
    string's import is bounded by ``timeout`` seconds (the app is never started).
    """
    resolved = resolve_target_within(target, check_timeout(timeout))
    if isinstance(resolved, Finding):
        return ServiceReport([resolved])
    if not resolved.in_process:
        return ServiceReport(
            [explain("service.wiring", C.NOT_IN_PROCESS, _WIRING)],
            title=f"svc_nb service {resolved.label}",
        )
    wiring = read_wiring(resolved.app)
    found = features(wiring)
    stack = [m.middleware for m in wiring.middleware if m.app in ("/", "(wrapper)")]
    findings = [
        *_overview(wiring, found),
        *_cors_findings(wiring, stack),
        *_session_findings(wiring),
        *_docs_findings(found),
    ]
    return ServiceReport(
        findings,
        title=f"svc_nb service {resolved.label}",
        routes=wiring.routes,
        middleware=wiring.middleware,
    )
