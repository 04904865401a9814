"""OAuth after the callback, and the credential names svc-infra reads for its providers.

After a successful provider login svc-infra redirects to ``AUTH_POST_LOGIN_REDIRECT``
(default ``http://localhost:3000/app``, unless ``add_auth_users(post_login_redirect=)``
says otherwise) and first validates it: its host must be in the allow-list
(localhost, 127.0.0.1 and ``AUTH_REDIRECT_ALLOW_HOSTS_RAW``, else the hosts of
``CORS_ORIGINS``/``CORS_ALLOW_ORIGINS``), and with ``AUTH_SESSION_COOKIE_SECURE`` it
must be https. Otherwise every callback answers 400 ``redirect_not_allowed`` or
``https_required``.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._explanations import clip, combine, ok

__all__ = ["OAUTH_SETTING_CHECKS", "allowed_redirect_hosts", "configured_providers"]

C = EnvCause
FAIL, WARN = Status.FAIL, Status.WARN
DEFAULT_POST_LOGIN_REDIRECT = "http://localhost:3000/app"
_BASE_HOSTS = ("localhost", "127.0.0.1")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
# AuthSettings' own provider fields (AUTH_<FIELD>_CLIENT_ID).
_AUTH_FIELDS = {"google": "GOOGLE", "github": "GITHUB", "microsoft": "MS", "linkedin": "LI"}
# svc_infra.connect's legacy names for its login providers (CONNECT_<NAME>_* always works);
# get_auth_settings() falls back to GITHUB_/GOOGLE_/MICROSOFT_ as well.
_CONNECT_LEGACY = {
    "github": ("GITHUB",),
    "google": ("GOOGLE_CONNECT", "GOOGLE"),
    "microsoft": ("MICROSOFT_CONNECT", "MICROSOFT"),
    "linkedin": ("LINKEDIN",),
}
# Names that look right and are never read: the field is ms_/li_, not microsoft_/linkedin_.
_IGNORED = {
    "AUTH_MICROSOFT_CLIENT_ID": "AUTH_MS_CLIENT_ID",
    "AUTH_MICROSOFT_CLIENT_SECRET": "AUTH_MS_CLIENT_SECRET",
    "AUTH_LINKEDIN_CLIENT_ID": "AUTH_LI_CLIENT_ID",
    "AUTH_LINKEDIN_CLIENT_SECRET": "AUTH_LI_CLIENT_SECRET",
}

EXPLAIN: dict[EnvCause, Explanation] = {
    C.REDIRECT_NOT_ALLOWED: Explanation(
        FAIL,
        "the post-login redirect {url} is not an allowed host: every OAuth callback answers "
        "400 redirect_not_allowed",
        "svc-infra validates the redirect before it sends the user back. Allowed hosts: "
        "{hosts} (localhost and 127.0.0.1, plus AUTH_REDIRECT_ALLOW_HOSTS_RAW, else the hosts "
        "of CORS_ORIGINS / CORS_ALLOW_ORIGINS). Code that passes add_auth_users("
        "post_login_redirect=...) replaces AUTH_POST_LOGIN_REDIRECT.",
        "export AUTH_REDIRECT_ALLOW_HOSTS_RAW={host}",
    ),
    C.REDIRECT_HTTPS_REQUIRED: Explanation(
        FAIL,
        "AUTH_SESSION_COOKIE_SECURE is on and the post-login redirect {url} is not https: "
        "every OAuth callback answers 400 https_required",
        "svc-infra requires an https redirect whenever the session cookie is Secure; the "
        "default AUTH_POST_LOGIN_REDIRECT is http://localhost:3000/app.",
        "export AUTH_POST_LOGIN_REDIRECT=https://app.example.com/app   # your front-end, https",
    ),
    C.COOKIE_NOT_SECURE: Explanation(
        WARN,
        "AUTH_SESSION_COOKIE_SECURE is off in a production-like APP_ENV",
        "The svc_session cookie (OAuth state, PKCE verifier) is then sent over plain http too.",
        "export AUTH_SESSION_COOKIE_SECURE=true   # and an https AUTH_POST_LOGIN_REDIRECT",
    ),
    C.PROVIDER_CREDENTIALS_INCOMPLETE: Explanation(
        WARN,
        "{provider}: {present} is set but not {missing}: svc-infra does not offer that login",
        "svc-infra registers a provider only with both its client id and secret.",
        "Set {missing} (the secret from the provider's console), or unset {present}.",
    ),
    C.PROVIDER_NAME_IGNORED: Explanation(
        WARN,
        "{name} is never read: svc-infra's setting is {right}",
        "AuthSettings names the Microsoft and LinkedIn fields ms_* and li_*; "
        "svc_infra.connect reads MICROSOFT_CLIENT_ID / LINKEDIN_CLIENT_ID (or CONNECT_<NAME>_*).",
        "Rename {name} to {right} (same value).",
    ),
}


def _get(env: Mapping[str, str], name: str) -> str:
    """A value pydantic-settings reads case-insensitively (AUTH_*), or an exact name."""
    if name in env:
        return env[name]
    lowered = name.lower()
    return next((v for k, v in env.items() if k.lower() == lowered), "")


def _names(provider: str) -> list[tuple[str, str]]:
    """(client id variable, client secret variable) pairs svc-infra reads for a provider."""
    pairs = [
        (f"AUTH_{_AUTH_FIELDS[provider]}_CLIENT_ID", f"AUTH_{_AUTH_FIELDS[provider]}_CLIENT_SECRET")
    ]
    prefixes = [f"CONNECT_{provider.upper()}", *_CONNECT_LEGACY[provider]]
    pairs += [(f"{p}_CLIENT_ID", f"{p}_CLIENT_SECRET") for p in prefixes]
    return pairs


def configured_providers(env: Mapping[str, str]) -> list[str]:
    """Login providers svc-infra registers: a client id AND a secret under names it reads.

    Ids and secrets may come from different names (AUTH_GOOGLE_CLIENT_ID with
    GOOGLE_CLIENT_SECRET): ``get_auth_settings`` fills each field on its own. Plus
    ``oidc`` when AUTH_OIDC_PROVIDERS lists any.
    """
    found = [
        p
        for p in _AUTH_FIELDS
        if any(_get(env, i) for i, _ in _names(p)) and any(_get(env, s) for _, s in _names(p))
    ]
    if _get(env, "AUTH_OIDC_PROVIDERS").strip() not in ("", "[]"):
        found.append("oidc")
    return found


def allowed_redirect_hosts(env: Mapping[str, str]) -> list[str]:
    """``parse_redirect_allow_hosts``: localhost, 127.0.0.1 and the configured hosts."""
    raw = _get(env, "AUTH_REDIRECT_ALLOW_HOSTS_RAW").strip()
    if raw:
        if raw.startswith("["):
            try:
                parsed = json.loads(raw)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, list):
                return [*_BASE_HOSTS, *(str(x).strip() for x in parsed if str(x).strip())]
        return [*_BASE_HOSTS, *(h.strip() for h in raw.split(",") if h.strip())]
    cors = env.get("CORS_ORIGINS") or env.get("CORS_ALLOW_ORIGINS") or ""
    hosts = []
    for origin in (o.strip() for o in cors.split(",")):
        if origin and origin != "*":
            try:
                hostname = urllib.parse.urlparse(origin).hostname
            except ValueError:
                hostname = None
            if hostname:
                hosts.append(hostname)
    return [*_BASE_HOSTS, *hosts]


def _redirect_problem(env: Mapping[str, str]) -> Finding | None:
    """``_validate_redirect`` on AUTH_POST_LOGIN_REDIRECT, as every callback runs it."""
    url = _get(env, "AUTH_POST_LOGIN_REDIRECT") or DEFAULT_POST_LOGIN_REDIRECT
    try:
        parts = urllib.parse.urlparse(url)
        port = parts.port
    except ValueError:
        return None  # AuthSettings or the browser refuses it first
    if not parts.netloc:
        return None  # a relative redirect is always allowed
    hosts = allowed_redirect_hosts(env)
    allowed = {h.lower() for h in hosts}
    hostname = (parts.hostname or "").lower()
    host_port = hostname + (f":{port}" if port else "")
    shown = clip(url, 80)
    if not hostname or (host_port not in allowed and hostname not in allowed):
        return explain(
            "env.oauth_redirect",
            C.REDIRECT_NOT_ALLOWED,
            EXPLAIN,
            url=shown,
            hosts=", ".join(hosts[:10]),
            host=hostname or "HOST",
        )
    if _get(env, "AUTH_SESSION_COOKIE_SECURE").strip().lower() in _TRUE and parts.scheme != "https":
        return explain("env.oauth_redirect", C.REDIRECT_HTTPS_REQUIRED, EXPLAIN, url=shown)
    return None


def _check_oauth_redirect(env: dict[str, str], prod_like: bool) -> Finding | None:
    providers = configured_providers(env)
    if not providers:
        return None  # no provider login: the callback never runs
    problems = []
    redirect = _redirect_problem(env)
    if redirect is not None:
        problems.append(redirect)
    if prod_like and _get(env, "AUTH_SESSION_COOKIE_SECURE").strip().lower() not in _TRUE:
        problems.append(explain("env.oauth_redirect", C.COOKIE_NOT_SECURE, EXPLAIN))
    url = _get(env, "AUTH_POST_LOGIN_REDIRECT") or DEFAULT_POST_LOGIN_REDIRECT
    summary = f"after OAuth login ({', '.join(providers)}) svc-infra redirects to {clip(url, 80)}"
    data = {"providers": providers, "allowed_hosts": allowed_redirect_hosts(env)[:20]}
    if not problems:
        return ok("env.oauth_redirect", summary, "", **data)
    return combine("env.oauth_redirect", summary, problems, **data)


def _check_oauth_providers(env: dict[str, str], prod_like: bool) -> Finding | None:
    problems = [
        explain("env.oauth_providers", C.PROVIDER_NAME_IGNORED, EXPLAIN, name=name, right=right)
        for name, right in _IGNORED.items()
        if _get(env, name)
    ]
    for provider in _AUTH_FIELDS:
        # Names mix: AUTH_GOOGLE_CLIENT_ID with GOOGLE_CLIENT_SECRET works (the fallback).
        ids = [i for i, _ in _names(provider) if _get(env, i)]
        secrets = [s for _, s in _names(provider) if _get(env, s)]
        if bool(ids) != bool(secrets):
            present = (ids or secrets)[0]
            missing = _names(provider)[0][1 if ids else 0]
            problems.append(
                explain(
                    "env.oauth_providers",
                    C.PROVIDER_CREDENTIALS_INCOMPLETE,
                    EXPLAIN,
                    provider=provider,
                    present=present,
                    missing=missing,
                )
            )
    providers = configured_providers(env)
    if not problems and not providers:
        return None
    summary = f"OAuth login providers: {', '.join(providers) or 'none'}"
    if not problems:
        return ok("env.oauth_providers", summary, providers=providers)
    return combine("env.oauth_providers", summary, problems, providers=providers)


OAUTH_SETTING_CHECKS = [
    ("env.oauth_redirect", _check_oauth_redirect),
    ("env.oauth_providers", _check_oauth_providers),
]
