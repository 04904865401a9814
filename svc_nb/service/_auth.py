"""``service.auth``: the JWT the app issues, inspected — audience, lifetime, and which secret signed it.

In process the token comes from the app's own JWT strategy (the one its login
routes call), for a stand-in user. With ``create_user=True`` it comes from the
real routes instead: a throwaway user is registered and logged in, which
writes to the app's database — only do that against a scratch database.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._fmt import format_duration
from svc_nb._http import transport_failure
from svc_nb._redact import register_secret, scrub
from svc_nb._report import Finding, Status
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._client import ServiceClient
from svc_nb.service._wiring import Wiring, unwrap

__all__ = ["check_auth"]

CHECK = "service.auth"
_DEFAULT_REGISTER = "/users/register"
_DEFAULT_LOGIN = "/users/login"
_F = Status.FAIL

_AUTH: dict[C, Explanation] = {
    C.AUTH_NOT_MOUNTED: Explanation(
        Status.SKIP,
        "no svc-infra auth in this app",
        "No JWT strategy behind its routes: add_auth_users(app, …) is not called.",
        "Nothing to check; call add_auth_users(...) if the app should issue JWTs.",
    ),
    C.NOT_IN_PROCESS: Explanation(
        Status.SKIP,
        "not checked over HTTP: issuing a JWT needs a user",
        "In process svc_nb asks the app's own JWT strategy; over HTTP only a real login issues one.",
        "Pass the app itself (service.check('pkg.module:app')), or create_user=True against a "
        "scratch database: svc_nb then registers and logs in a throwaway user.",
    ),
    C.LOGIN_REJECTED: Explanation(
        _F,
        "{step} of a scratch user failed: {path} answered {code}",
        "{body}{hint}",
        "Run it against a database with svc-infra's tables (svc-infra sql upgrade), in a local/dev "
        "APP_ENV (svc-infra verifies new users automatically only there).",
    ),
    C.DEV_SECRET: Explanation(
        Status.WARN,
        "the app signs JWTs with {name}",
        "That secret is public (it is in svc-infra's source): anyone can mint tokens this app "
        "accepts. svc-infra uses it when no AUTH_JWT__SECRET is set outside production.",
        "Set AUTH_JWT__SECRET to a long random value, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, and restart.",
    ),
    C.UNKNOWN_SIGNER: Explanation(
        Status.WARN,
        "the app signs JWTs with a secret this environment does not hold",
        "None of {names} verifies the token. svc-infra reads its settings when it is imported: "
        "the app started with another value than the environment has now.",
        "Restart the service after changing AUTH_JWT__SECRET, and give every instance the same "
        "value (compare with svc_nb.tokens.fingerprint).",
    ),
    C.TOKEN_INVALID: Explanation(
        _F,
        "the token the app issued fails its own checks: {problem}",
        "{detail}",
        "{fix}",
    ),
}


@dataclass(frozen=True)
class _StandIn:
    """The fields svc-infra's JWT strategy reads from a user."""

    id: uuid.UUID
    email: str = "svc-nb-stand-in@example.com"


def _dependency_calls(dependant: Any, depth: int = 0) -> list[Any]:
    if dependant is None or depth > 6:
        return []
    calls = [getattr(dependant, "call", None)]
    for sub in getattr(dependant, "dependencies", ()) or ():
        calls += _dependency_calls(sub, depth + 1)
    return calls


def _strategy_factory(call: Any) -> bool:
    """fastapi-users' ``get_strategy``: a plain function of no arguments named for a strategy."""
    if not callable(call) or "strategy" not in str(getattr(call, "__name__", "")).lower():
        return False
    if inspect.iscoroutinefunction(call):
        return False
    try:
        parameters = inspect.signature(call).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters
    )


def _strategy(app: Any) -> Any:
    """The JWT strategy the app's auth routes depend on (fastapi-users' get_strategy)."""
    root, _ = unwrap(app)
    stack = list(getattr(root, "routes", ()) or ())
    for _ in range(5000):
        if not stack:
            break
        route = stack.pop()
        inner = getattr(route, "original_router", None)
        stack += list(getattr(inner, "routes", ()) or getattr(route, "routes", ()) or ())
        for call in _dependency_calls(getattr(route, "dependant", None)):
            if _strategy_factory(call):
                with contextlib.suppress(Exception):
                    strategy = call()
                    if hasattr(strategy, "write_token"):
                        return strategy
    return None


async def _from_login(
    client: ServiceClient, wiring: Wiring | None
) -> tuple[str | None, Finding | None]:
    """Register and log in a throwaway user through the app's routes; the access token."""
    register = next(
        (r.path for r in (wiring.routes if wiring else []) if r.name == "register:register"),
        _DEFAULT_REGISTER,
    )
    login = wiring.password_login if wiring and wiring.password_login else _DEFAULT_LOGIN
    email = f"svc-nb-{secrets.token_hex(6)}@example.com"
    password = secrets.token_urlsafe(18)
    register_secret(password)
    steps: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("registering", register, {"json": {"email": email, "password": password}}),
        ("logging in", login, {"data": {"username": email, "password": password}}),
    )
    response: Any = None
    for step, path, body in steps:
        try:
            response = await client.request(
                "POST", path, json=body.get("json"), data=body.get("data")
            )
        except client.errors as exc:
            return None, transport_failure(CHECK, exc, client.url(path), client.deadline.timeout)
        if response.status_code >= 300:
            text = scrub(response.text[:200])
            hint = " svc-infra refuses unverified users." if "NOT_VERIFIED" in text else ""
            return None, explain(
                CHECK, C.LOGIN_REJECTED, _AUTH, data={"status_code": response.status_code},
                step=step.capitalize(), path=path, code=response.status_code, body=text, hint=hint,
            )  # fmt: skip
    token = response.json().get("access_token") if response is not None else None
    return (str(token), None) if token else (None, None)


_APP_KEY = "the app's JWT strategy"


def _candidates(key: Any) -> dict[str, str | bytes | None]:
    """The secrets this environment names, svc-infra's public defaults, and the app's own key."""
    from svc_nb.tokens import candidates_from_env
    from svc_nb.tokens._find_key import DEV_DEFAULTS

    candidates: dict[str, str | bytes | None] = dict(candidates_from_env(os.environ))
    for name, value in DEV_DEFAULTS.items():
        if value not in candidates.values():
            candidates[name] = value
    if key is not None and key not in candidates.values():
        candidates[_APP_KEY] = key
    return candidates


def _judge(token: str, key: Any, source: str) -> Finding:
    from svc_nb.env import app_environment
    from svc_nb.tokens import ACCESS_AUDIENCE, find_key, inspect

    register_secret(token)
    report = inspect(token, key=key, audience=ACCESS_AUDIENCE)
    problem = next((f for f in report if f.status is Status.FAIL), None)
    claims = dict(report.claims or {})
    exp = claims.get("exp")
    lifetime = format_duration(exp - time.time()) if isinstance(exp, int | float) else "no exp"
    data: dict[str, Any] = {
        "source": source,
        "alg": (report.header or {}).get("alg"),
        "aud": claims.get("aud"),
        "lifetime": lifetime,
    }
    if problem is not None:
        return explain(
            CHECK, C.TOKEN_INVALID, _AUTH, data=data,
            problem=problem.summary, detail=problem.detail, fix=problem.fix,
        )  # fmt: skip
    candidates = _candidates(key)
    verdict = find_key(token, candidates).get("tokens.find_key")
    signer = verdict.data.get("match") if verdict is not None else None
    data["signed_with"] = signer
    if verdict is not None and verdict.data.get("role") == "dev_default":
        prod_like = app_environment(os.environ)[2]
        return explain(
            CHECK, C.DEV_SECRET, _AUTH, data=data, status=_F if prod_like else None, name=signer
        )
    if signer is None or signer == _APP_KEY:
        names = ", ".join(n for n in candidates if n != _APP_KEY)
        return explain(CHECK, C.UNKNOWN_SIGNER, _AUTH, data=data, names=names)
    audience = (
        ", ".join(claims.get("aud") or [])
        if isinstance(claims.get("aud"), list)
        else claims.get("aud")
    )
    summary = (
        f"issues {data['alg']} JWTs for aud {audience}, valid {lifetime}, signed with {signer}"
    )
    return Finding(CHECK, Status.OK, summary, detail=f"token from {source}", data=data)


async def check_auth(client: ServiceClient, wiring: Wiring | None, *, create_user: bool) -> Finding:
    """The service.auth finding: mint (or log in for) a token and inspect it."""
    strategy = _strategy(client.target.app) if client.in_process else None
    key = getattr(strategy, "encode_key", None)
    if key is not None:
        register_secret(key)
    if create_user:
        token, failure = await _from_login(client, wiring)
        if failure is not None:
            return failure
        source = "the login route, for a scratch user"
    elif strategy is not None:
        token = await strategy.write_token(_StandIn(uuid.uuid4()))
        source = "the app's JWT strategy (what its login routes call)"
    else:
        cause = C.AUTH_NOT_MOUNTED if client.in_process else C.NOT_IN_PROCESS
        return explain(CHECK, cause, _AUTH)
    if not token:
        return explain(
            CHECK, C.LOGIN_REJECTED, _AUTH, step="Logging in", path=_DEFAULT_LOGIN,
            code="no access_token", body="", hint="",
        )  # fmt: skip
    return _judge(str(token), key, source)
