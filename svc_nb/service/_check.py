"""``check()``: start the app (or reach the URL), then every service check, within one time budget."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import scrub
from svc_nb._report import Finding, Report, Status
from svc_nb._runtime import Deadline
from svc_nb._validate import DEFAULT_HTTP_TIMEOUT_S, check_timeout
from svc_nb.cors._rules import parse_origins_env
from svc_nb.service._auth import check_auth
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._client import ServiceClient
from svc_nb.service._cookie import session_cookie_finding
from svc_nb.service._cors import CorsPlan, check_cors, check_cors_errors, plan_cors, raising_route
from svc_nb.service._errors import ServiceTypeError
from svc_nb.service._health import check_health
from svc_nb.service._lifespan import Lifespan, Outcome, StartupResult
from svc_nb.service._oauth import OAuthPlan, observe_logins, plan_providers, redirect_uri_finding
from svc_nb.service._startup import STARTUP_EXPLAIN, classify_exception
from svc_nb.service._target import Target, resolve_target_async
from svc_nb.service._wiring import Wiring, is_health_path, read_wiring, unwrap

__all__ = ["CHECK_IDS", "check", "check_in_one_budget"]

CHECK_IDS = (
    "service.startup",
    "service.health",
    "service.cors",
    "service.cors.errors",
    "service.oauth.redirect_uri",
    "service.session_cookie",
    "service.auth",
)
STARTUP = "service.startup"
# The shutdown gets what is left of the budget, but at least this much to close its pools.
_SHUTDOWN_FLOOR_S = 0.2
# What the checks get at least when a slow import used up the budget they share with it.
_MIN_LEFT_S = 0.1
_TRACEBACK_CHARS = 2000

_STARTUP: dict[C, Explanation] = {
    C.STARTUP_TIMEOUT: Explanation(
        Status.FAIL,
        "start-up did not finish within {timeout:g} s",
        "The lifespan start-up is still waiting: usually on a dependency that accepts the "
        "connection but never answers (a database or Redis behind a firewall, a wrong port that "
        "a proxy holds open), or a start-up task that never returns.",
        "Check the service's dependencies (await svc_nb.diagnose()), or raise timeout= if the "
        "start-up is merely slow.",
    ),
    C.NOT_IN_PROCESS: Explanation(
        Status.SKIP,
        "start-up not observed: the service runs elsewhere",
        "Over HTTP only what a client sees is checked; service.health shows whether it is up.",
        "Pass the app itself ('package.module:app') to watch its start-up in process.",
    ),
}
_SKIPPED = {
    C.NOT_STARTED: ("not checked: the app did not start", "Fix {first} first (see above)."),
    C.UNREACHABLE: ("not checked: the service does not answer", "Fix service.health first."),
}


def _skipped(checks: Sequence[str], cause: C, first: str) -> list[Finding]:
    summary, fix = _SKIPPED[cause]
    return [
        Finding(c, Status.SKIP, summary, fix=fix.format(first=first), cause=cause) for c in checks
    ]


def startup_finding(result: StartupResult, timeout: float) -> Finding:
    """The service.startup verdict, its failure classified like the start-up rehearsal."""
    data: dict[str, Any] = {
        "outcome": result.outcome.value,
        "elapsed_s": round(result.elapsed_s, 3),
    }
    if result.outcome is Outcome.STARTED:
        return Finding(
            STARTUP, Status.OK, f"start-up finished in {result.elapsed_s:.2f} s", data=data
        )
    if result.outcome is Outcome.UNSUPPORTED:
        note = f" ({type(result.error).__name__} on the lifespan scope)" if result.error else ""
        summary = f"the app does not use the lifespan protocol{note}: nothing to start"
        return Finding(
            STARTUP, Status.OK, summary, "uvicorn's lifespan='auto' goes on without it.", data=data
        )
    if result.outcome is Outcome.TIMEOUT:
        return explain(STARTUP, C.STARTUP_TIMEOUT, _STARTUP, data=data, timeout=timeout)
    if result.message:
        data["traceback"] = scrub(result.message[-_TRACEBACK_CHARS:])
    if result.error is None:
        last = (result.message.strip().splitlines() or ["(no message)"])[-1]
        fields: dict[str, Any] = {"error": scrub(last), "error_type": "start-up failed"}
        return explain(
            STARTUP, C.STARTUP_FAILED, STARTUP_EXPLAIN, data=data, when="start-up", **fields
        )
    cause, fields = classify_exception(result.error)
    data["exception_type"] = type(result.error).__name__
    return explain(STARTUP, cause, STARTUP_EXPLAIN, data=data, when="start-up", **fields)


@dataclass(frozen=True)
class _Options:
    origin: str | None
    registered: list[str]
    error_path: str | None
    create_user: bool


def _options(origin: Any, redirect_uris: Any, error_path: Any, create_user: Any) -> _Options:
    if origin is not None and not isinstance(origin, str):
        raise ServiceTypeError(
            f"origin must be a string such as 'http://localhost:3000', not {type(origin).__name__}"
        )
    if error_path is not None and (
        not isinstance(error_path, str) or not error_path.startswith("/")
    ):
        raise ServiceTypeError(
            f"error_path must be a path such as '/items/missing', not {error_path!r:.60}"
        )
    return _Options(origin, _registered(redirect_uris), error_path, bool(create_user))


def _registered(redirect_uris: Any) -> list[str]:
    if redirect_uris is None:
        return []
    if isinstance(redirect_uris, str):
        return [redirect_uris.strip()]
    if isinstance(redirect_uris, Sequence) and all(isinstance(u, str) for u in redirect_uris):
        return [u.strip() for u in redirect_uris if u.strip()]
    raise ServiceTypeError(
        "redirect_uris must be the redirect URI registered at the provider, or a list of them, "
        "e.g. ['https://api.example.com/auth/oauth/github/callback']"
    )


def _origins(wiring: Wiring | None) -> tuple[list[str], bool]:
    """Configured origins (exact entries) and whether any origin is allowed by * or a regex."""
    if wiring is None:
        entries = parse_origins_env(os.environ.get("CORS_ALLOW_ORIGINS"))
        return entries, "*" in entries
    entries = [str(o) for c in wiring.cors for o in (c.get("allow_origins") or ())]
    wildcard = "*" in entries or any(c.get("allow_origin_regex") for c in wiring.cors)
    return entries, wildcard


def _probe_path(wiring: Wiring | None, answered: dict[str, int]) -> str:
    """A real route to send CORS requests to: /ping, another health route, else /."""
    if wiring is not None:
        paths = [p.rstrip("/") or "/" for p in wiring.paths("GET") if "{" not in p]
        preferred = [p for p in paths if p.endswith("/ping")] + [
            p for p in paths if is_health_path(p)
        ]
        return (preferred or ["/"])[0]
    found = [p for p, code in answered.items() if code != 404]
    return (found or ["/"])[0]


async def _cors(
    client: ServiceClient, plan: CorsPlan | Finding, in_process_app: Any, error_path: str | None
) -> list[Finding]:
    if isinstance(plan, Finding):
        skip = Finding(
            "service.cors.errors",
            Status.SKIP,
            "not checked: no origin to probe with",
            cause=C.NO_ORIGIN,
        )
        return [plan, skip]
    finding, allowed = await check_cors(client, plan)
    root = unwrap(in_process_app)[0] if in_process_app is not None else None
    with raising_route(root) as raise_path:
        errors = await check_cors_errors(client, plan, allowed, raise_path, error_path)
    return [finding, errors]


async def _oauth(
    client: ServiceClient, plan: OAuthPlan | Finding, wiring: Wiring | None
) -> list[Finding]:
    if isinstance(plan, Finding):
        skip = Finding(
            "service.session_cookie",
            Status.SKIP,
            "not checked: no OAuth login route",
            cause=C.NO_PROVIDER,
        )
        return [plan, skip]
    redirects: list[Finding] = []
    cookies: list[Finding] = []
    for provider, path in plan.logins.items():
        seen = await observe_logins(client, path, plan)
        redirect = redirect_uri_finding(provider, path, plan, seen)
        redirects.append(redirect)
        cookie = session_cookie_finding(
            provider, plan, seen,
            cookie_name=wiring.session_cookie if wiring else None,
            secret=wiring.session_secret if wiring else None,
        )  # fmt: skip
        if cookie is None:
            summary = f"{provider}: not checked: the login route did not redirect"
            cookie = Finding("service.session_cookie", Status.SKIP, summary, cause=redirect.cause)
        cookies.append(cookie)
    return redirects + cookies


async def _checks(client: ServiceClient, wiring: Wiring | None, options: _Options) -> list[Finding]:
    health = await check_health(client, wiring)
    if not health.reachable:
        return [health.finding, *_skipped(CHECK_IDS[2:], C.UNREACHABLE, "service.health")]
    entries, wildcard = _origins(wiring)
    path = _probe_path(wiring, dict(health.finding.data.get("status_codes", {})))
    cors_plan = plan_cors(options.origin, entries, wildcard, path)
    oauth_plan = plan_providers(
        wiring.providers if wiring else [],
        wiring.oauth_login if wiring else None,
        options.registered,
        in_process=client.in_process,
    )
    app = client.target.app if client.in_process else None
    cors, oauth, auth = await asyncio.gather(
        _cors(client, cors_plan, app, options.error_path),
        _oauth(client, oauth_plan, wiring),
        check_auth(client, wiring, create_user=options.create_user),
    )
    return [health.finding, *cors, *oauth, auth]


async def _in_process(
    target: Target, deadline: Deadline, run: Callable[[ServiceClient], Awaitable[list[Finding]]]
) -> list[Finding]:
    lifespan = Lifespan(target.app)
    try:
        result = await lifespan.start(deadline.left())
        first = startup_finding(result, deadline.timeout)
        if result.outcome in (Outcome.FAILED, Outcome.TIMEOUT):
            return [first, *_skipped(CHECK_IDS[1:], C.NOT_STARTED, STARTUP)]
        async with ServiceClient(target, deadline, lifespan.state) as client:
            return [first, *await run(client)]
    finally:
        await lifespan.stop(max(deadline.left(), _SHUTDOWN_FLOOR_S))


async def check(
    target: Any,
    *,
    origin: str | None = None,
    redirect_uris: str | Sequence[str] | None = None,
    timeout: float = DEFAULT_HTTP_TIMEOUT_S,
    error_path: str | None = None,
    create_user: bool = False,
) -> Report:
    """Is it the service or its dependencies? Start it, then check what its clients meet.

    ``target`` is an ASGI app, ``"package.module:attr"`` (imported here, with
    this environment) or a running service's base URL (then only what a client
    can see is checked; the report says which checks were skipped and why).
    ``origin`` is the front end's origin (default: the first configured one);
    ``redirect_uris`` what is registered at the OAuth provider. ``error_path``
    is a route known to fail (in process svc_nb adds one that raises; over
    HTTP it cannot). ``create_user``
    registers and logs in a throwaway user for ``service.auth`` — only against
    a scratch database. The whole check returns within about ``timeout``
    seconds (an import string's import is bounded by ``timeout`` too, before
    that). Check ids: :data:`CHECK_IDS`.
    """
    timeout = check_timeout(timeout)
    options = _options(origin, redirect_uris, error_path, create_user)
    resolved = await resolve_target_async(target, timeout)
    return await _check_resolved(resolved, options, Deadline(timeout))


async def check_in_one_budget(
    target: str, *, origin: str | None, redirect_uris: Sequence[str], timeout: float
) -> Report:
    """:func:`check` with the import and everything after it sharing one ``timeout``.

    For ``diagnose()``, whose guard cancels a check at its timeout: a slow import
    leaves the start-up less time (its finding says how much) instead of the
    guard's bare "did not finish".
    """
    timeout = check_timeout(timeout)
    options = _options(origin, redirect_uris, None, False)
    budget = Deadline(timeout)
    resolved = await resolve_target_async(target, timeout)
    return await _check_resolved(resolved, options, Deadline(max(budget.left(), _MIN_LEFT_S)))


async def _check_resolved(
    resolved: Target | Finding, options: _Options, deadline: Deadline
) -> Report:
    if isinstance(resolved, Finding):
        return Report(
            [resolved, *_skipped(CHECK_IDS, C.NOT_STARTED, resolved.check)], title="svc_nb service"
        )
    title = f"svc_nb service {resolved.label}"
    wiring = read_wiring(resolved.app) if resolved.in_process else None

    async def run(client: ServiceClient) -> list[Finding]:
        return await _checks(client, wiring, options)

    if resolved.in_process:
        return Report(await _in_process(resolved, deadline, run), title=title)
    async with ServiceClient(resolved, deadline) as client:
        findings = [explain(STARTUP, C.NOT_IN_PROCESS, _STARTUP), *await run(client)]
    return Report(findings, title=title)
