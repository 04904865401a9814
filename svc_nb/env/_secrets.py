"""Secrets and auth settings: the JWT secret and its block, AUTH_*, session and webhook keys."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Mapping
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._fmt import format_duration
from svc_nb._redact import fingerprint, is_secret_name, mask_secret, register_secret
from svc_nb._report import Finding, Status
from svc_nb.env._auth import AuthCheck, SettingProblem, check_auth_settings, pydantic_int
from svc_nb.env._causes import EnvCause
from svc_nb.env._explanations import clip, combine, finding, new_value, ok
from svc_nb.env._read import (
    JWT_SECRET_VARS,
    MAX_JSON_DEPTH,
    env_get_nocase,
    load_json,
    resolve_jwt_secret,
)
from svc_nb.tokens import HMAC_MIN_KEY_BYTES

__all__ = ["SECRET_CHECKS", "fernet_key_error"]

C = EnvCause
# What svc-infra falls back to when no secret is set outside production (public values).
_DEV_JWT_DEFAULTS = (
    "dev-only-jwt-secret-not-for-production",
    "dev-only-session-jwt-secret-not-for-production",
)
_SET_TO_DEFAULT = {
    C.JWT_SECRET_DEV_DEFAULT: Explanation(
        Status.WARN,
        "the value is svc-infra's public development default",
        "Anyone can read it in svc-infra's source and sign tokens your service accepts.",
        new_value("AUTH_JWT__SECRET"),
    )
}
_WEAK_HMAC_WHY = (
    "HS256 wants a key of at least {n} bytes (RFC 7518 §3.2); PyJWT warns about shorter HMAC keys."
)
# Reported by their own checks (env.jwt_old_secrets, env.jwt_lifetime), not env.auth_settings.
_OWN_CHECK = frozenset({"auth_jwt__old_secrets", "auth_jwt__lifetime_seconds"})
_FIELD_FIXES = {
    "password_clients": (
        'Write AUTH_PASSWORD_CLIENTS as a JSON list, e.g. [{"client_id": "web", "client_secret": "..."}]'
    ),
    "oidc_providers": (
        'Write AUTH_OIDC_PROVIDERS as a JSON list, e.g. [{"name": "okta", "issuer": "https://ISSUER", '
        '"client_id": "...", "client_secret": "..."}]'
    ),
    "mfa_enforce_for_tenants": 'Write AUTH_MFA_ENFORCE_FOR_TENANTS as a JSON list, e.g. ["tenant-a"]',
    "jwt": 'AUTH_JWT must be a JSON object with a "secret" (or set AUTH_JWT__SECRET instead)',
    "jwt.secret": "Set AUTH_JWT__SECRET next to {name}, or unset {name}",
}


def _weak(
    what: str, fix: str, minimum: int = HMAC_MIN_KEY_BYTES, *, plural: bool = False
) -> Finding:
    why = (
        _WEAK_HMAC_WHY.format(n=minimum)
        if minimum == HMAC_MIN_KEY_BYTES
        else "It is short enough to guess."
    )
    is_are = "are" if plural else "is"
    return finding(
        "env.secret", C.WEAK_SECRET, what=what, is_are=is_are, minimum=minimum, why=why, fix=fix
    )


def _nbytes(secret: str) -> int:
    return len(secret.encode("utf-8", "surrogatepass"))


@functools.lru_cache(maxsize=4)
def _auth_cached(items: tuple[tuple[str, str], ...]) -> AuthCheck:
    return check_auth_settings(dict(items))


def _auth(env: Mapping[str, str]) -> AuthCheck:
    """One AuthSettings verdict per environment, shared by the three checks that read it."""
    return _auth_cached(tuple((k, v) for k, v in env.items() if k[:5].lower() == "auth_"))


# -- the JWT secret -----------------------------------------------------------------


def _check_jwt_secret(env: dict[str, str], prod_like: bool) -> Finding:
    resolved = resolve_jwt_secret(env)
    guide = [n for n in ("JWT_SECRET_KEY", "SECRET_KEY") if env.get(n, "").strip()]
    if resolved is None:
        hint = (
            f"{guide[0]} is set, but svc-infra never reads it (the guide's name). " if guide else ""
        )
        fix = (
            f"Rename {guide[0]} to AUTH_JWT__SECRET (same value): svc-infra reads AUTH_JWT__SECRET"
            if guide
            else new_value("AUTH_JWT__SECRET")
        )
        cause = C.JWT_SECRET_MISSING if prod_like else C.JWT_SECRET_DEV_DEFAULT
        return finding(
            "env.jwt_secret", cause, hint=hint, fix=fix, data={"source": None, "ignored": guide}
        )
    register_secret(resolved.value)
    problems = _jwt_secret_problems(env, resolved.source, resolved.value, prod_like)
    problems.extend(
        finding(
            "env.jwt_secret",
            C.GUIDE_NAME_IGNORED,
            summary=f"{name} is set to a different value; svc-infra never reads it",
            why="Code or tools that use it verify with the wrong key.",
            fix=f"Unset {name}; use AUTH_JWT__SECRET everywhere.",
        )
        for name in guide
        if env.get(name) != resolved.value
    )
    data = {"source": resolved.source, "fingerprint": fingerprint(resolved.value)}
    summary = f"JWT secret from {resolved.source}: {mask_secret(resolved.value)}"
    if not problems:
        return ok(
            "env.jwt_secret", summary, "svc-infra signs and verifies HS256 tokens with it.", **data
        )
    return combine("env.jwt_secret", summary, problems, **data)


def _jwt_secret_problems(
    env: dict[str, str], source: str, secret: str, prod_like: bool
) -> list[Finding]:
    """What is wrong with the secret svc-infra uses: public, padded, short or shadowed."""
    problems: list[Finding] = []
    if secret in _DEV_JWT_DEFAULTS:
        status = Status.FAIL if prod_like else Status.WARN
        problems.append(
            explain("env.jwt_secret", C.JWT_SECRET_DEV_DEFAULT, _SET_TO_DEFAULT, status=status)
        )
    if secret != secret.strip():
        problems.append(finding("env.jwt_secret", C.JWT_SECRET_WHITESPACE))
    if _nbytes(secret) < HMAC_MIN_KEY_BYTES:
        problems.append(_weak("the secret", new_value("AUTH_JWT__SECRET")))
    shadowed = [
        n
        for n in JWT_SECRET_VARS
        if n != source and env.get(n, "").strip() and env.get(n) != secret
    ]
    if shadowed:
        names = ", ".join(shadowed)
        problems.append(
            finding("env.jwt_secret", C.JWT_SECRET_SHADOWED, names=names, source=source)
        )
    return problems


# -- the jwt settings block ---------------------------------------------------------


def _too_deep(name: str, example: str) -> Finding:
    return finding(
        "env.jwt_old_secrets", C.JSON_TOO_DEEP, name=name, limit=MAX_JSON_DEPTH, example=example
    )


def _check_jwt_old_secrets(env: dict[str, str], prod_like: bool) -> Finding | None:
    """AUTH_JWT__OLD_SECRETS as svc-infra's settings model parses it."""
    found = env_get_nocase(env, "AUTH_JWT__OLD_SECRETS")
    if found is None:
        return None
    name, raw = found
    check = "env.jwt_old_secrets"
    auth = _auth(env)
    problems = auth.for_variable(name)
    parsed, _ = load_json(raw)
    # Whatever its shape, each part is a secret: keep every one masked.
    register_secret(raw, *list(dict.fromkeys(p.strip() for p in raw.split(",")))[:100])
    if any(p.kind == "too_deep" for p in problems):
        return _too_deep(name, ": a JSON list of strings, e.g. '[\"previous-secret\"]'")
    if any(p.kind == "not_json" for p in problems):
        return finding(check, C.JWT_OLD_SECRETS_NOT_JSON)
    if problems:
        first = problems[0]
        return finding(
            check, C.JWT_OLD_SECRETS_NOT_STRINGS, field=first.field, message=first.message
        )
    if auth.jwt_secret_missing:
        return finding(check, C.JWT_BLOCK_WITHOUT_SECRET, name=name)
    old = [s for s in parsed if isinstance(s, str)] if isinstance(parsed, list) else []
    register_secret(*old[:1000])
    current = resolve_jwt_secret(env)
    issues: list[Finding] = []
    if current is not None and current.value in old:
        issues.append(finding(check, C.JWT_OLD_SECRET_IS_CURRENT))
    short = [i for i, s in enumerate(old[:1000]) if _nbytes(s) < HMAC_MIN_KEY_BYTES]
    if short:
        issues.append(
            _weak(
                f"the old secret at position {short[0]}"
                if len(short) == 1
                else f"the old secrets at positions {short[:10]}",
                "Drop weak old secrets once their tokens expire.",
                plural=len(short) > 1,
            )
        )
    summary = f"{len(old)} old JWT secret(s) accepted for verification during rotation"
    data: dict[str, Any] = {"count": len(old), "fingerprints": [fingerprint(s) for s in old[:10]]}
    if not issues:
        return ok(
            check,
            summary,
            "Tokens signed with these still verify; new tokens use the current secret. Drop them "
            "once tokens signed with them have expired (AUTH_JWT__LIFETIME_SECONDS, default 7 days).",
            **data,
        )
    return combine(check, summary, issues, **data)


def _check_jwt_lifetime(env: dict[str, str], prod_like: bool) -> Finding | None:
    found = env_get_nocase(env, "AUTH_JWT__LIFETIME_SECONDS")
    if found is None:
        return None
    name, raw = found
    auth = _auth(env)
    problems = auth.for_variable(name)
    if problems:
        return finding(
            "env.jwt_lifetime",
            C.JWT_LIFETIME_NOT_INT,
            value=clip(raw, 40),
            message=problems[0].message,
        )
    if auth.jwt_secret_missing:
        return finding("env.jwt_lifetime", C.JWT_BLOCK_WITHOUT_SECRET, name=name)
    life = pydantic_int(raw)
    if life is None:  # the model accepted a form the table does not know: nothing more to say
        return ok("env.jwt_lifetime", f"AUTH_JWT__LIFETIME_SECONDS={clip(raw, 40)!r} loads")
    if life <= 0:
        from svc_nb.tokens._make import DEFAULT_LIFETIME  # the one place svc-infra's default lives

        return finding(
            "env.jwt_lifetime",
            C.JWT_LIFETIME_IGNORED,
            lifetime=life,
            data={"lifetime_seconds": DEFAULT_LIFETIME},
        )
    return ok(
        "env.jwt_lifetime",
        f"access tokens live {format_duration(life)} ({life} s)",
        lifetime_seconds=life,
    )


def _shown_setting(name: str, value: str) -> str:
    """A setting's value for a finding: never a secret's, never a JSON document."""
    if is_secret_name(name) or value.lstrip()[:1] in ("[", "{") or len(value) > 40:
        return name
    return f"{name}={value!r}"


def _setting_fix(problem: SettingProblem) -> str:
    template = _FIELD_FIXES.get(problem.field) or _FIELD_FIXES.get(
        problem.field.partition(".")[0].partition("[")[0]
    )
    if template:
        return template.replace("{name}", problem.variable)
    if "integer" in problem.message:
        return f"export {problem.variable}=<a whole number>"
    if "boolean" in problem.message:
        return f"export {problem.variable}=true   # or false"
    return f"Fix or unset {problem.variable}"


def _check_auth_settings(env: dict[str, str], prod_like: bool) -> Finding | None:
    """Every AUTH_* value by svc-infra's AuthSettings rule: one bad value stops `import svc_infra`."""
    auth = _auth(env)
    if not auth.variables:
        return None
    problems = [
        p
        for p in auth.problems
        if not {n.strip().lower() for n in p.variable.split(",")} & _OWN_CHECK
    ]
    if not problems:
        return ok(
            "env.auth_settings",
            f"{len(auth.variables)} AUTH_* setting(s) load as svc-infra's AuthSettings reads them",
            f"Judged by {auth.rule}.",
            variables=list(auth.variables),
            rule=auth.rule,
        )
    data = {"variables": [p.variable for p in problems], "rule": auth.rule}
    deep = [p for p in problems if p.kind == "too_deep"]
    if deep:
        return finding(
            "env.auth_settings",
            C.JSON_TOO_DEEP,
            name=deep[0].variable,
            limit=MAX_JSON_DEPTH,
            example="",
            data=data,
        )
    # Message first: whatever follows a secret-looking name and ':' or '=' is masked in every view.
    lines = [
        f"{p.message} (field {p.field}) — {_shown_setting(p.variable, env.get(p.variable, ''))}"
        for p in problems
    ]
    return finding(
        "env.auth_settings",
        C.AUTH_SETTING_INVALID,
        name=problems[0].variable,
        more=f" (+{len(problems) - 1} more)" if len(problems) > 1 else "",
        lines="\n".join(lines[:20]),
        rule=auth.rule,
        fixes="\n".join(dict.fromkeys(_setting_fix(p) for p in problems)),
        data=data,
    )


# -- session and webhook keys -------------------------------------------------------


def _check_session_secret(env: dict[str, str], prod_like: bool) -> Finding:
    value = env.get("SESSION_SECRET", "")
    if value.strip():
        register_secret(value)
        summary = f"SESSION_SECRET is set ({mask_secret(value)})"
        detail = (
            "Used by add_security(install_session_middleware=True) to sign the svc_session cookie."
        )
        if _nbytes(value) < HMAC_MIN_KEY_BYTES:
            weak = _weak("SESSION_SECRET", new_value("SESSION_SECRET"))
            return combine("env.session_secret", summary, [weak], fingerprint=fingerprint(value))
        return ok("env.session_secret", summary, detail, fingerprint=fingerprint(value))
    guide = [n for n in ("SESSION_SECRET_KEY", "SECRET_KEY") if env.get(n, "").strip()]
    if guide:
        return finding(
            "env.session_secret",
            C.GUIDE_NAME_IGNORED,
            summary=f"{guide[0]} is set but svc-infra reads SESSION_SECRET",
            why="add_security(install_session_middleware=True) signs the svc_session cookie with SESSION_SECRET.",
            fix=f"Rename {guide[0]} to SESSION_SECRET (same value)",
            data={"ignored": guide},
        )
    if prod_like:
        return finding("env.session_secret", C.SESSION_SECRET_MISSING)
    return ok(
        "env.session_secret",
        "SESSION_SECRET not set (only needed with add_security(install_session_middleware=True))",
        "add_auth_users() signs its svc_session cookie with the JWT secret; outside production "
        "add_security uses a public development default.",
    )


def fernet_key_error(key: str) -> tuple[str, str] | None:
    """(exception type, message) svc-infra raises when it first uses this key, or None.

    Mirrors svc_infra.webhooks.encryption: a 44-character value ending in '=' is
    decoded with the *non-validating* urlsafe_b64decode (stray characters are
    dropped, not refused) and must give Fernet's 32 bytes; any other value is
    hashed with SHA-256 after ``str.encode()``. So b64decode_lenient, which
    validates, would judge some keys differently from svc-infra.
    """
    try:
        if len(key) == 44 and key.endswith("="):
            if len(base64.urlsafe_b64decode(key)) != 32:
                return "ValueError", "Fernet key must be 32 url-safe base64-encoded bytes."
        else:
            key.encode()
    except ValueError as exc:  # binascii.Error, UnicodeEncodeError and ValueError itself
        name = "binascii.Error" if isinstance(exc, binascii.Error) else type(exc).__name__
        return name, str(exc)
    return None


def _check_webhook_key(env: dict[str, str], prod_like: bool) -> Finding:
    key = env.get("WEBHOOK_ENCRYPTION_KEY", "")
    check = "env.webhook_encryption_key"
    if not key:
        if prod_like:
            return finding(check, C.WEBHOOK_KEY_MISSING)
        return ok(
            check,
            "WEBHOOK_ENCRYPTION_KEY not set: subscription secrets are encrypted with a public development key",
            "Only needed when the service stores webhook subscriptions. Secrets encrypted with "
            "the development key cannot be decrypted after you set a real one.",
        )
    register_secret(key)
    data = {"fingerprint": fingerprint(key)}
    error = fernet_key_error(key)
    if error is not None:
        return finding(
            check, C.WEBHOOK_KEY_INVALID, error_type=error[0], error=error[1].rstrip("."), data=data
        )
    if len(key) == 44 and key.endswith("="):
        return ok(
            check,
            f"WEBHOOK_ENCRYPTION_KEY is a Fernet key ({mask_secret(key)})",
            "Subscription secrets are stored encrypted (enc:v1:...). Changing the key makes "
            "existing ones undecryptable (InvalidToken).",
            **data,
        )
    summary = f"WEBHOOK_ENCRYPTION_KEY is a passphrase ({mask_secret(key)}); the key is derived with SHA-256"
    if _nbytes(key) < 16:
        weak = _weak("the passphrase", new_value("WEBHOOK_ENCRYPTION_KEY", "fernet"), minimum=16)
        return combine(check, summary, [weak], **data)
    return ok(check, summary, "svc-infra derives the Fernet key as SHA-256 of this value.", **data)


def _check_webhook_secret(env: dict[str, str], prod_like: bool) -> Finding | None:
    """The guide's WEBHOOK_SECRET: svc-infra signs with each subscription's own secret."""
    legacy = env.get("WEBHOOK_SECRET", "")
    if not legacy:
        return None
    register_secret(legacy)
    return finding(
        "env.webhook_secret",
        C.GUIDE_NAME_IGNORED,
        summary="WEBHOOK_SECRET is set but svc-infra never reads it (the guide's name)",
        why="svc-infra signs each delivery with the secret of its subscription (stored in the "
        "database, encrypted with WEBHOOK_ENCRYPTION_KEY) and sends it as X-Signature: "
        "lowercase hex HMAC-SHA256, no prefix, no timestamp.",
        fix="Pass the secret when you create the subscription; unset WEBHOOK_SECRET.",
    )


SECRET_CHECKS = [
    ("env.jwt_secret", _check_jwt_secret),
    ("env.jwt_old_secrets", _check_jwt_old_secrets),
    ("env.jwt_lifetime", _check_jwt_lifetime),
    ("env.auth_settings", _check_auth_settings),
    ("env.session_secret", _check_session_secret),
    ("env.webhook_encryption_key", _check_webhook_key),
    ("env.webhook_secret", _check_webhook_secret),
]
