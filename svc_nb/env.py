"""Quick diagnostics: which variables svc-infra will actually read, masked.

The resolution functions here follow svc-infra's real precedence (DESIGN §1);
every other section uses them to find its default target.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import importlib
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import sys
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svc_nb._diagnose import register_check
from svc_nb._redact import (
    fingerprint,
    is_secret_name,
    mask_secret,
    mask_url,
    register_secret,
    scrub,
)
from svc_nb._report import Finding, Report, Status
from svc_nb._runtime import _running_loop, is_patched, patchable

__all__ = [
    "CACHE_URL_VARS",
    "DATABASE_URL_VARS",
    "DEFAULT_SECRETS_FILE",
    "JWT_SECRET_VARS",
    "KEY_PACKAGES",
    "PROD_LIKE_ENVS",
    "EnvFileError",
    "Resolved",
    "app_environment",
    "check_env",
    "check_event_loop",
    "check_python",
    "install_command",
    "package_versions",
    "read_env_file",
    "register_env_secrets",
    "resolve_cache_url",
    "resolve_database_url",
    "resolve_jwt_secret",
]

# svc-infra's runtime (add_sql_db) reads only SQL_URL; its URL helper tries these in order.
DATABASE_URL_VARS = ("SQL_URL", "DB_URL", "DATABASE_URL", "DATABASE_URL_PRIVATE", "PRIVATE_SQL_URL")
DEFAULT_SECRETS_FILE = "/run/secrets/database_url"
CACHE_URL_VARS = ("CACHE_URL", "REDIS_URL")
JWT_SECRET_VARS = ("AUTH_JWT__SECRET", "AUTH_JWT_SECRET", "JWT_SECRET")
PROD_LIKE_ENVS = ("prod", "production", "staging", "test", "uat", "preview")


@dataclass(frozen=True)
class Resolved:
    """A value svc-infra would use and where it came from (a variable or a file)."""

    source: str
    value: str
    from_file: bool = False

    def __repr__(self) -> str:  # the value may be secret: never show it here
        return f"Resolved(source={self.source!r}, from_file={self.from_file})"


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _read_file(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def resolve_database_url(
    environ: Mapping[str, str] | None = None,
    *,
    runtime_only: bool = False,
    secrets_file: str = DEFAULT_SECRETS_FILE,
) -> Resolved | None:
    """The database URL svc-infra would use, or None when none is configured.

    ``runtime_only`` restricts to what the running app reads (``SQL_URL``); by
    default the URL helper's full chain is followed (each name, then its
    ``*_FILE`` variant, then the Docker secret file). ``postgres://`` is
    rewritten to ``postgresql://`` as svc-infra does.
    """
    env = _env(environ)
    names = DATABASE_URL_VARS[:1] if runtime_only else DATABASE_URL_VARS
    found: Resolved | None = None
    for name in names:
        value = env.get(name, "").strip()
        if value:
            found = Resolved(name, value)
            break
        file_name = env.get(f"{name}_FILE", "").strip()
        if file_name and not runtime_only:
            content = _read_file(file_name)
            if content:
                found = Resolved(f"{name}_FILE", content, from_file=True)
                break
    if found is None and not runtime_only:
        content = _read_file(secrets_file)
        if content:
            found = Resolved(secrets_file, content, from_file=True)
    if found is None:
        return None
    value = found.value
    if value.startswith("postgres://"):
        value = "postgresql://" + value[len("postgres://") :]
    return Resolved(found.source, value, found.from_file)


def resolve_cache_url(environ: Mapping[str, str] | None = None) -> Resolved:
    """``CACHE_URL``, then ``REDIS_URL``, else svc-infra's in-memory ``mem://``."""
    env = _env(environ)
    for name in CACHE_URL_VARS:
        value = env.get(name, "").strip()
        if value:
            return Resolved(name, value)
    return Resolved("(default)", "mem://")


def _jwt_json_secret(env: Mapping[str, str]) -> str | None:
    """The ``secret`` of ``AUTH_JWT='{"secret": ...}'`` (pydantic-settings reads that form too)."""
    raw = env.get("AUTH_JWT", "").strip()
    if not raw.startswith("{"):
        return None
    try:
        block = json.loads(raw)
    except ValueError:
        return None
    secret = block.get("secret") if isinstance(block, dict) else None
    return secret if isinstance(secret, str) and secret.strip() else None


def resolve_jwt_secret(environ: Mapping[str, str] | None = None) -> Resolved | None:
    """``AUTH_JWT__SECRET`` (or ``AUTH_JWT`` JSON), ``AUTH_JWT_SECRET``, ``JWT_SECRET``; never ``JWT_SECRET_KEY``."""
    env = _env(environ)
    for name in JWT_SECRET_VARS:
        value = env.get(name, "")
        if value.strip():
            return Resolved(name, value)
        if name == "AUTH_JWT__SECRET":
            # svc-infra's settings block: AUTH_JWT__SECRET overrides the JSON form.
            block_secret = _jwt_json_secret(env)
            if block_secret is not None:
                return Resolved("AUTH_JWT", block_secret)
    return None


# --------------------------------------------------------------------------
# check_env: what svc-infra will read, validated without I/O
# --------------------------------------------------------------------------

# svc-infra's app/env.py: APP_ENV (then RAILWAY_ENVIRONMENT_NAME), case-insensitive.
_ENV_SYNONYMS = {
    "local": "local",
    "dev": "dev",
    "development": "dev",
    "test": "test",
    "uat": "test",
    "preview": "test",
    "staging": "test",
    "prod": "prod",
    "production": "prod",
}
# What svc-infra falls back to when no secret is set outside production (public values).
_DEV_JWT_DEFAULTS = (
    "dev-only-jwt-secret-not-for-production",
    "dev-only-session-jwt-secret-not-for-production",
)
_MIN_HMAC_BYTES = 32  # RFC 7518 §3.2: an HS256 key must be at least 256 bits
_NEW_SECRET_CMD = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
_NEW_FERNET_CMD = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


def _finding(check: str, status: str, summary: str, detail: str = "", fix: str = "", **data: Any) -> Finding:
    return Finding(check=check, status=Status(status), summary=summary, detail=detail, fix=fix, data=data)


# Shell variables whose names look secret to the pattern but hold the working directory.
_NOT_SECRET_ENV = frozenset({"PWD", "OLDPWD"})


def _strings_in(value: Any) -> list[str]:
    """Every string inside a parsed JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings_in(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings_in(item)]
    return []


def register_env_secrets(env: Mapping[str, str]) -> None:
    """Register every secret value and URL password of ``env`` so scrub() masks it everywhere."""
    for name, value in env.items():
        if not value or name in _NOT_SECRET_ENV:
            continue
        if is_secret_name(name):
            register_secret(value)
            # AUTH_JWT__OLD_SECRETS='["a","b"]' and AUTH_JWT='{"secret": …}': each one is a secret.
            if value.lstrip()[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    register_secret(*_strings_in(json.loads(value)))
        if "://" in value:
            with contextlib.suppress(ValueError):
                password = urllib.parse.urlsplit(value.strip()).password
                if password:
                    register_secret(password, urllib.parse.unquote(password))


def app_environment(environ: Mapping[str, str] | None = None) -> tuple[str, str, bool]:
    """(raw value, svc-infra's normalised environment, prod-like?) as svc-infra decides them."""
    env = _env(environ)
    raw = env.get("APP_ENV") or env.get("RAILWAY_ENVIRONMENT_NAME") or ""
    normalised = _ENV_SYNONYMS.get(raw.strip().casefold(), "local" if not raw else "")
    prod_like = normalised in ("prod", "test") or raw.strip().lower() in PROD_LIKE_ENVS
    return raw, normalised or "local", prod_like


def _check_app_env(env: Mapping[str, str]) -> Finding:
    raw, normalised, prod_like = app_environment(env)
    source = "APP_ENV" if env.get("APP_ENV") else "RAILWAY_ENVIRONMENT_NAME" if raw else "(default)"
    data: dict[str, Any] = {"source": source, "environment": normalised, "prod_like": prod_like}
    if raw and raw.strip().casefold() not in _ENV_SYNONYMS:
        return _finding(
            "env.app_env", "warn",
            f"{source}={raw!r} is not an environment svc-infra knows; it runs as 'local'",
            "svc-infra accepts local, dev/development, test/uat/preview/staging, prod/production "
            "(case-insensitive) and treats anything else as local with a RuntimeWarning, so "
            "missing secrets are silently replaced by public development defaults.",
            "Set APP_ENV to one of: local, dev, staging, prod.", **data,
        )
    kind = "production-like: missing secrets stop start-up" if prod_like else "development: missing secrets fall back to public dev defaults"
    return _finding("env.app_env", "ok", f"environment {normalised!r} from {source} ({kind})", **data)


def _url_validation(kind: str, url: str) -> Report | None:
    """db.parse_url / cache.parse_url when those sections exist (they do no I/O)."""
    try:
        module = importlib.import_module(f"svc_nb.{kind}")
    except ModuleNotFoundError as exc:
        if exc.name != f"svc_nb.{kind}":
            raise
        return None
    parse = getattr(module, "parse_url", None)
    if not callable(parse):
        return None
    result = parse(url)
    return result if isinstance(result, Report) else None


def _merge_validation(finding: Finding, report: Report | None) -> Finding:
    """Fold a URL parser's warnings/failures into the env finding (same check id, one row)."""
    if report is None:
        return finding
    bad = [f for f in report if f.status in (Status.WARN, Status.FAIL)]
    if not bad:
        return finding
    worst = max((f.status for f in bad), key=lambda s: s.rank)
    if worst.rank < finding.status.rank:
        worst = finding.status
    # The parser's own roll-up row ("2 problems…", "see below") adds nothing here: keep the specifics.
    specific = [f for f in bad if f.check.count(".") >= 2] or bad
    lines = [f"{f.check}: {f.summary}" for f in specific]
    fixes = [f.fix for f in specific if f.fix and "below" not in f.fix]
    return Finding(
        check=finding.check,
        status=worst,
        summary=f"{finding.summary}; the URL has problems: {specific[0].summary}",
        detail="\n".join(filter(None, [finding.detail, *lines])),
        fix="\n".join(dict.fromkeys(filter(None, [*fixes, finding.fix]))),
        data={**finding.data, "url_checks": [f.check for f in bad]},
    )


def _file_status(path: str) -> str | None:
    """Why a ``*_FILE`` path gives no value, or None when it does."""
    file = Path(path)
    if not file.exists():
        return "does not exist"
    if file.is_dir():
        return "is a directory"
    try:
        content = file.read_text(encoding="utf-8")
    except PermissionError:
        return "is not readable by this process"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read ({type(exc).__name__})"
    return None if content.strip() else "is empty"


def _check_files(env: Mapping[str, str], resolved: Resolved | None) -> Finding | None:
    """``*_FILE`` variables of the database-URL chain that point nowhere."""
    chain = [(n, f"{n}_FILE") for n in DATABASE_URL_VARS]
    order = [x for pair in chain for x in pair]
    used_at = order.index(resolved.source) if resolved and resolved.source in order else len(order)
    broken: list[tuple[str, str, str, bool]] = []
    for name in order:
        if not name.endswith("_FILE") or not env.get(name, "").strip():
            continue
        path = env[name].strip()
        problem = _file_status(path)
        if problem:
            # It matters when the chain fell past it (to a later source, or to nothing).
            broken.append((name, path, problem, order.index(name) < used_at))
    if not broken:
        return None
    matters = any(m for *_, m in broken)
    lines = [f"{name}={path} {problem}" for name, path, problem, _ in broken]
    after = f"svc-infra fell through to {resolved.source}" if resolved else "no database URL is left"
    return _finding(
        "env.files", "fail" if matters else "warn",
        f"{broken[0][0]} points to a file that {broken[0][2]}" + (f" (+{len(broken) - 1} more)" if len(broken) > 1 else ""),
        "\n".join(lines) + ("\n" + f"svc-infra skips such a file silently: {after}." if matters else
                            "\nA variable earlier in the chain is set, so this file is not used today."),
        "Point the variable at the mounted secret file (check the volume/secret mount), "
        "or unset it: " + ", ".join(name for name, *_ in broken),
        files=[name for name, *_ in broken],
    )


def _check_database_url(env: Mapping[str, str]) -> Finding:
    runtime = resolve_database_url(env, runtime_only=True)
    helper = resolve_database_url(env)
    if helper is None:
        return _finding(
            "env.database_url", "warn",
            "no database URL: svc-infra's add_sql_db has nothing to connect to",
            "Looked at SQL_URL, DB_URL, DATABASE_URL, DATABASE_URL_PRIVATE, PRIVATE_SQL_URL, "
            f"their *_FILE variants and {DEFAULT_SECRETS_FILE}.",
            "export SQL_URL='postgresql+asyncpg://USER@HOST:5432/DB'  # add :PASSWORD after USER, URL-encoded",
        )
    masked = mask_url(helper.value)
    if runtime is None:
        finding = _finding(
            "env.database_url", "warn",
            f"{helper.source} is set but the running app reads only SQL_URL",
            f"{helper.source} = {masked}\nsvc-infra's URL helper (CLI, migrations) finds "
            f"{helper.source}, but add_sql_db() at run time reads SQL_URL alone, so the app "
            "starts without a database. (The guide's DATABASE_URL is this trap.)",
            f"export SQL_URL=\"${helper.source.removesuffix('_FILE')}\"  # same value, the name the runtime reads",
            source=helper.source, runtime_source=None, url=masked,
        )
    else:
        notes = [f"SQL_URL = {masked} (the runtime and the CLI both use it)"]
        others = [n for n in DATABASE_URL_VARS[1:] if env.get(n, "").strip()]
        if others:
            notes.append(f"Also set but not used: {', '.join(others)}.")
        if runtime.value != env.get("SQL_URL", "").strip():
            notes.append("postgres:// is rewritten to postgresql:// as svc-infra does.")
        finding = _finding(
            "env.database_url", "ok", f"database URL from SQL_URL: {masked}", "\n".join(notes),
            source="SQL_URL", runtime_source="SQL_URL", url=masked,
        )
    return _merge_validation(finding, _url_validation("db", helper.value))


def _check_cache_url(env: Mapping[str, str], prod_like: bool) -> Finding:
    resolved = resolve_cache_url(env)
    if resolved.value == "mem://":
        status = "warn" if prod_like else "ok"
        return _finding(
            "env.cache_url", status,
            "no CACHE_URL or REDIS_URL: svc-infra's cache is in-process memory (mem://)",
            "Each worker then has its own cache; invalidation and rate limits are not shared. "
            "svc-infra never falls back from Redis to memory at run time: it fails fast.",
            "export CACHE_URL='redis://HOST:6379/0'" if prod_like else "",
            source="(default)", url="mem://",
        )
    masked = mask_url(resolved.value)
    detail = [f"{resolved.source} = {masked}"]
    redis_url = env.get("REDIS_URL", "").strip()
    if resolved.source == "CACHE_URL" and redis_url and redis_url != resolved.value:
        detail.append(
            f"REDIS_URL = {mask_url(redis_url)} differs: the cache uses CACHE_URL, while the job "
            "queue (webhook deliveries) uses REDIS_URL."
        )
    finding = _finding(
        "env.cache_url", "ok", f"cache URL from {resolved.source}: {masked}", "\n".join(detail),
        source=resolved.source, url=masked,
    )
    return _merge_validation(finding, _url_validation("cache", resolved.value))


def _check_jwt_secret(env: Mapping[str, str], prod_like: bool) -> Finding:
    resolved = resolve_jwt_secret(env)
    guide_names = [n for n in ("JWT_SECRET_KEY", "SECRET_KEY") if env.get(n, "").strip()]
    if resolved is None:
        hint = (
            f"{guide_names[0]} is set, but svc-infra never reads it (the guide's name). "
            if guide_names else ""
        )
        fix = (
            f'export AUTH_JWT__SECRET="${guide_names[0]}"  # rename: svc-infra reads AUTH_JWT__SECRET'
            if guide_names else f"export AUTH_JWT__SECRET=$({_NEW_SECRET_CMD})"
        )
        if prod_like:
            return _finding(
                "env.jwt_secret", "fail",
                "no JWT secret: svc-infra raises MissingSecretError at start-up in this environment",
                hint + "svc-infra reads AUTH_JWT__SECRET, then AUTH_JWT_SECRET, then JWT_SECRET.",
                fix, source=None, ignored=guide_names,
            )
        return _finding(
            "env.jwt_secret", "warn",
            "no JWT secret: svc-infra signs tokens with its public development default",
            hint + "Outside production svc-infra falls back to 'dev-only-jwt-secret-not-for-production', "
            "which anyone can read in its source: tokens are forgeable, and tokens issued by "
            "another service (with a real secret) fail with 'Signature verification failed'.",
            fix, source=None, ignored=guide_names,
        )
    secret = resolved.value
    register_secret(secret)
    size = len(secret.encode("utf-8"))
    data: dict[str, Any] = {"source": resolved.source, "length": size, "fingerprint": fingerprint(secret)}
    problems: list[tuple[str, str, str]] = []  # (status, detail, fix)
    if secret in _DEV_JWT_DEFAULTS:
        problems.append(("fail" if prod_like else "warn",
                         "The value is svc-infra's public development default.",
                         f"export AUTH_JWT__SECRET=$({_NEW_SECRET_CMD})"))
    if secret != secret.strip():
        problems.append(("warn",
                         "The value has leading/trailing whitespace (often a newline from a file or "
                         "a copy-paste); svc-infra uses it verbatim, other services may strip it and "
                         "then every token fails verification.",
                         "Remove the surrounding whitespace from the value."))
    if size < _MIN_HMAC_BYTES:
        problems.append(("warn",
                         f"It is {size} bytes; HS256 wants at least {_MIN_HMAC_BYTES} (RFC 7518), "
                         "and PyJWT warns about short HMAC keys.",
                         f"export AUTH_JWT__SECRET=$({_NEW_SECRET_CMD})"))
    shadowed = [
        n for n in JWT_SECRET_VARS
        if n != resolved.source and env.get(n, "").strip() and env.get(n) != secret
    ]
    if shadowed:
        problems.append(("warn",
                         f"{', '.join(shadowed)} also set with a different value and ignored "
                         f"({resolved.source} wins); a service reading the other name signs with "
                         "another key.",
                         f"Unset {', '.join(shadowed)} or give them the same value."))
    for name in guide_names:
        if env.get(name) != secret:
            problems.append(("warn",
                             f"{name} is set to a different value; svc-infra never reads it, so code "
                             "or tools that use it verify with the wrong key.",
                             f"Unset {name}; use AUTH_JWT__SECRET everywhere."))
    summary = f"JWT secret from {resolved.source}: {mask_secret(secret)}"
    if not problems:
        return _finding("env.jwt_secret", "ok", summary, "svc-infra signs and verifies HS256 tokens with it.", **data)
    worst = "fail" if any(p[0] == "fail" for p in problems) else "warn"
    return _finding(
        "env.jwt_secret", worst, summary + f" ({len(problems)} problem{'s' * (len(problems) > 1)})",
        "\n".join(p[1] for p in problems), "\n".join(dict.fromkeys(p[2] for p in problems)), **data,
    )


def _check_jwt_settings(env: Mapping[str, str]) -> list[Finding]:
    """AUTH_JWT__OLD_SECRETS / AUTH_JWT__LIFETIME_SECONDS as pydantic-settings parses them."""
    findings: list[Finding] = []
    has_nested_secret = bool(env.get("AUTH_JWT__SECRET", "").strip()) or _jwt_json_secret(env) is not None
    current = resolve_jwt_secret(env)
    raw_old = env.get("AUTH_JWT__OLD_SECRETS")
    if raw_old is not None:
        example = "export AUTH_JWT__OLD_SECRETS='[\"previous-secret\"]'"
        try:
            parsed = json.loads(raw_old)
        except ValueError:
            parsed = None
            # A comma-separated or bare value: register its parts so they stay masked.
            register_secret(raw_old, *[p.strip() for p in raw_old.split(",")])
            findings.append(_finding(
                "env.jwt_old_secrets", "fail",
                "AUTH_JWT__OLD_SECRETS is not a JSON list: svc-infra fails at start-up (SettingsError)",
                "pydantic-settings parses list fields from the environment as JSON; a comma-separated "
                "or bare value raises 'error parsing value for field \"jwt\"'.",
                example,
            ))
        if parsed is not None:
            if not isinstance(parsed, list) or not all(isinstance(s, str) for s in parsed):
                register_secret(*[str(s) for s in (parsed if isinstance(parsed, list) else [parsed])])
                findings.append(_finding(
                    "env.jwt_old_secrets", "fail",
                    "AUTH_JWT__OLD_SECRETS must be a JSON list of strings: svc-infra fails at start-up (ValidationError)",
                    f"Got a JSON {type(parsed).__name__}" + (" with non-string items." if isinstance(parsed, list) else "."),
                    example,
                ))
            elif not has_nested_secret:
                register_secret(*parsed)
                findings.append(_finding(
                    "env.jwt_old_secrets", "fail",
                    "AUTH_JWT__OLD_SECRETS is set without AUTH_JWT__SECRET: svc-infra fails at start-up (ValidationError: jwt.secret missing)",
                    "AUTH_JWT__* variables build one settings block whose 'secret' is required; "
                    "AUTH_JWT_SECRET/JWT_SECRET do not fill it.",
                    "Set AUTH_JWT__SECRET (instead of AUTH_JWT_SECRET/JWT_SECRET) next to AUTH_JWT__OLD_SECRETS.",
                ))
            else:
                register_secret(*parsed)
                notes, status = [], "ok"
                if current is not None and current.value in parsed:
                    status = "warn"
                    notes.append("The current secret is also listed as an old one; remove it from the list.")
                short = [i for i, s in enumerate(parsed) if len(s.encode()) < _MIN_HMAC_BYTES]
                if short:
                    notes.append(f"Old secret(s) at position {short} are shorter than {_MIN_HMAC_BYTES} bytes.")
                fps = [fingerprint(s) for s in parsed]
                findings.append(_finding(
                    "env.jwt_old_secrets", status,
                    f"{len(parsed)} old JWT secret(s) accepted for verification during rotation",
                    "\n".join(notes) or "Tokens signed with these still verify; new tokens use the current secret.",
                    "Drop old secrets once tokens signed with them have expired (AUTH_JWT__LIFETIME_SECONDS, default 7 days)." if status == "ok" else "",
                    count=len(parsed), fingerprints=fps,
                ))
    raw_life = env.get("AUTH_JWT__LIFETIME_SECONDS")
    if raw_life is not None:
        try:
            life = int(raw_life.strip())
        except ValueError:
            life = None
        if life is None:
            findings.append(_finding(
                "env.jwt_lifetime", "fail",
                f"AUTH_JWT__LIFETIME_SECONDS={raw_life!r} is not an integer: svc-infra fails at start-up",
                "pydantic validates it as int.", "export AUTH_JWT__LIFETIME_SECONDS=604800  # 7 days, svc-infra's default",
            ))
        elif not has_nested_secret:
            findings.append(_finding(
                "env.jwt_lifetime", "fail",
                "AUTH_JWT__LIFETIME_SECONDS is set without AUTH_JWT__SECRET: svc-infra fails at start-up (jwt.secret missing)",
                "AUTH_JWT__* variables build one settings block whose 'secret' is required.",
                "Set AUTH_JWT__SECRET as well.", lifetime_seconds=life,
            ))
        else:
            findings.append(_finding(
                "env.jwt_lifetime", "ok" if life > 0 else "warn",
                f"access tokens live {life} s" + ("" if life > 0 else ": every token is born expired"),
                fix="" if life > 0 else "export AUTH_JWT__LIFETIME_SECONDS=3600",
                lifetime_seconds=life,
            ))
    return findings


def _check_session_secret(env: Mapping[str, str], prod_like: bool) -> Finding:
    value = env.get("SESSION_SECRET", "")
    if value.strip():
        register_secret(value)
        short = len(value.encode()) < _MIN_HMAC_BYTES
        return _finding(
            "env.session_secret", "warn" if short else "ok",
            f"SESSION_SECRET: {mask_secret(value)}",
            "Used by add_security(install_session_middleware=True) to sign the svc_session cookie."
            + (f" It is shorter than {_MIN_HMAC_BYTES} bytes." if short else ""),
            f"export SESSION_SECRET=$({_NEW_SECRET_CMD})" if short else "",
            fingerprint=fingerprint(value),
        )
    guide = [n for n in ("SESSION_SECRET_KEY", "SECRET_KEY") if env.get(n, "").strip()]
    detail = (
        "add_auth_users() signs the svc_session cookie (OAuth state, PKCE verifier) with the JWT "
        "secret; add_security(install_session_middleware=True) needs SESSION_SECRET"
        + (" and raises MissingSecretError without it in this environment." if prod_like else
           " and otherwise uses a public development default.")
    )
    if guide:
        return _finding(
            "env.session_secret", "warn", f"{guide[0]} is set but svc-infra reads SESSION_SECRET",
            detail, f'export SESSION_SECRET="${guide[0]}"', ignored=guide,
        )
    return _finding(
        "env.session_secret", "warn" if prod_like else "ok",
        "SESSION_SECRET not set (only needed with add_security(install_session_middleware=True))",
        detail, f"export SESSION_SECRET=$({_NEW_SECRET_CMD})" if prod_like else "",
    )


def _check_webhook_key(env: Mapping[str, str], prod_like: bool) -> list[Finding]:
    findings: list[Finding] = []
    key = env.get("WEBHOOK_ENCRYPTION_KEY", "")
    if key:
        register_secret(key)
        if len(key) == 44 and key.endswith("="):
            # svc-infra uses such a value as a Fernet key directly: it must decode to 32 bytes.
            try:
                ok = len(base64.urlsafe_b64decode(key.encode())) == 32
            except (ValueError, binascii.Error):
                ok = False
            if not ok:
                findings.append(_finding(
                    "env.webhook_encryption_key", "fail",
                    "WEBHOOK_ENCRYPTION_KEY looks like a Fernet key but is not valid url-safe base64",
                    "svc-infra decodes a 44-character value ending in '=' as a Fernet key; this one "
                    "raises binascii.Error on the first subscription secret it encrypts.",
                    f"export WEBHOOK_ENCRYPTION_KEY=$({_NEW_FERNET_CMD})",
                ))
            else:
                findings.append(_finding(
                    "env.webhook_encryption_key", "ok",
                    f"WEBHOOK_ENCRYPTION_KEY: Fernet key {mask_secret(key)}",
                    "Subscription secrets are stored encrypted (enc:v1:...). Changing the key makes "
                    "existing ones undecryptable (InvalidToken).", fingerprint=fingerprint(key),
                ))
        else:
            weak = len(key.encode()) < 16
            findings.append(_finding(
                "env.webhook_encryption_key", "warn" if weak else "ok",
                f"WEBHOOK_ENCRYPTION_KEY: passphrase {mask_secret(key)} (key derived with SHA-256)",
                "svc-infra derives the Fernet key as SHA-256 of this value."
                + (" It is short enough to guess." if weak else ""),
                f"export WEBHOOK_ENCRYPTION_KEY=$({_NEW_FERNET_CMD})" if weak else "",
                fingerprint=fingerprint(key),
            ))
    else:
        findings.append(_finding(
            "env.webhook_encryption_key", "warn" if prod_like else "ok",
            "WEBHOOK_ENCRYPTION_KEY not set"
            + (": storing a webhook subscription secret raises MissingSecretError here" if prod_like
               else ": subscription secrets are encrypted with a public development key"),
            "Only needed when the service stores webhook subscriptions. Secrets encrypted with the "
            "development key cannot be decrypted after you set a real one.",
            f"export WEBHOOK_ENCRYPTION_KEY=$({_NEW_FERNET_CMD})" if prod_like else "",
        ))
    legacy = env.get("WEBHOOK_SECRET", "")
    if legacy:
        register_secret(legacy)
        findings.append(_finding(
            "env.webhook_secret", "warn",
            "WEBHOOK_SECRET is set but svc-infra never reads it (the guide's name)",
            "svc-infra signs each delivery with the secret of its subscription (stored in the "
            "database, encrypted with WEBHOOK_ENCRYPTION_KEY) and sends it as X-Signature: "
            "lowercase hex HMAC-SHA256, no prefix, no timestamp.",
            "Pass the secret when you create the subscription; unset WEBHOOK_SECRET.",
        ))
    return findings


def _bool_word(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    return None


def _check_cors(env: Mapping[str, str]) -> Finding:
    raw = env.get("CORS_ALLOW_ORIGINS", "")
    origins = [p.strip() for p in raw.split(",") if p.strip()]
    if not origins:
        if env.get("CORS_ORIGINS", "").strip():
            return _finding(
                "env.cors", "warn", "CORS_ORIGINS is set but add_security reads CORS_ALLOW_ORIGINS",
                "Only the OAuth redirect allow-list falls back to CORS_ORIGINS; without "
                "CORS_ALLOW_ORIGINS (or cors_origins= in code) no CORS middleware is installed "
                "and browsers block cross-origin calls.",
                'export CORS_ALLOW_ORIGINS="$CORS_ORIGINS"',
            )
        return _finding(
            "env.cors", "skip", "CORS_ALLOW_ORIGINS not set: no CORS middleware unless the code passes cors_origins=",
            "Empty origins mean add_security installs no CORS middleware at all.",
        )
    problems: list[str] = []
    fixes: list[str] = []
    credentials = True
    raw_cred = env.get("CORS_ALLOW_CREDENTIALS")
    if raw_cred is not None:
        parsed = _bool_word(raw_cred)
        if parsed is None:
            problems.append(f"CORS_ALLOW_CREDENTIALS={raw_cred!r} is not a boolean word; svc-infra ignores it (credentials stay on).")
            fixes.append("export CORS_ALLOW_CREDENTIALS=true   # or false")
        else:
            credentials = parsed
    for origin in origins:
        if origin == "*":
            if credentials:
                problems.append("'*' with credentials: svc-infra then reflects any origin (regex '.*') with cookies allowed.")
                fixes.append("List the exact origins, e.g. CORS_ALLOW_ORIGINS=https://app.example.com")
            continue
        try:
            parts = urllib.parse.urlsplit(origin)
        except ValueError as exc:
            problems.append(f"{origin!r} is not a valid origin ({exc}).")
            fixes.append("Write each origin as scheme://host[:port], e.g. http://localhost:3000")
            continue
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"{origin!r} is not an origin (scheme://host[:port]).")
            fixes.append("Write each origin as scheme://host[:port], e.g. http://localhost:3000")
        elif parts.path or parts.query or parts.fragment:
            problems.append(f"{origin!r} has a path or trailing slash; a browser's Origin header never does, so it never matches.")
            fixes.append(f"Use {parts.scheme}://{parts.netloc}")
    regex = env.get("CORS_ALLOW_ORIGIN_REGEX")
    status = "warn" if problems else "ok"
    if regex:
        try:
            re.compile(regex)
        except re.error as exc:
            problems.append(f"CORS_ALLOW_ORIGIN_REGEX does not compile ({exc}); the CORS middleware fails when built.")
            fixes.append("Fix the regular expression, e.g. https://.*\\.example\\.com")
            status = "fail"
    return _finding(
        "env.cors", status,
        f"CORS origins: {', '.join(origins)} (credentials {'on' if credentials else 'off'})",
        "\n".join(problems), "\n".join(dict.fromkeys(fixes)),
        origins=origins, credentials=credentials,
    )


class EnvFileError(ValueError):
    """A .env file that cannot be read: missing, unreadable or not UTF-8."""


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """A .env file's variables (python-dotenv's parser), without touching os.environ.

    Raises EnvFileError naming the problem when the file cannot be read.
    """
    import io

    from dotenv import dotenv_values

    file = Path(path)
    if not file.is_file():
        raise EnvFileError(f"env file {str(file)!r} does not exist or is not a file")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise EnvFileError(f"env file {str(file)!r} cannot be read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise EnvFileError(
            f"env file {str(file)!r} is not UTF-8 (byte {raw[exc.start]:#04x} on line {line}); "
            "save it as UTF-8 — svc-infra's dotenv loading reads UTF-8 too"
        ) from exc
    values = dotenv_values(stream=io.StringIO(text))
    return {k: v for k, v in values.items() if v is not None}


def _load_env_file(path: str | os.PathLike[str]) -> tuple[dict[str, str] | None, Finding]:
    """Read a .env file into a finding: its variables, or why it could not be read."""
    file = Path(path)
    try:
        values = read_env_file(file)
    except EnvFileError as exc:
        return None, _finding(
            "env.env_file", "fail", str(exc),
            fix="Pass the path of your .env file (svc-infra looks in the project root, or APP_ENV_FILE), saved as UTF-8.",
        )
    return values, _finding("env.env_file", "ok", f"read {len(values)} variable(s) from {file}", path=str(file))


def check_env(
    environ: Mapping[str, str] | None = None, *, env_file: str | os.PathLike[str] | None = None
) -> Report:
    """Which variables svc-infra will actually use, masked and validated (no I/O).

    ``environ`` defaults to ``os.environ``; ``env_file`` adds a ``.env`` file's
    values for names the environment does not set (as svc-infra's dotenv
    loading does), without changing ``os.environ``.
    """
    if environ is not None and not isinstance(environ, Mapping):
        raise TypeError(
            f"check_env() takes a mapping of variables (like os.environ), got {type(environ).__name__}"
        )
    env = dict(os.environ if environ is None else environ)
    findings: list[Finding] = []
    if env_file is not None:
        values, file_finding = _load_env_file(env_file)
        if values is not None:
            from_file = [k for k in values if k not in env]
            for key in from_file:
                env[key] = values[key]
            overridden = len(values) - len(from_file)
            if overridden:
                file_finding = Finding(
                    check=file_finding.check, status=file_finding.status,
                    summary=file_finding.summary + f" ({overridden} already set in the environment, which wins)",
                    data=file_finding.data,
                )
        findings.append(file_finding)
    register_env_secrets(env)
    _, _, prod_like = app_environment(env)
    findings.append(_check_app_env(env))
    findings.append(_check_database_url(env))
    files = _check_files(env, resolve_database_url(env))
    if files is not None:
        findings.append(files)
    findings.append(_check_cache_url(env, prod_like))
    findings.append(_check_jwt_secret(env, prod_like))
    findings.extend(_check_jwt_settings(env))
    findings.append(_check_session_secret(env, prod_like))
    findings.extend(_check_webhook_key(env, prod_like))
    findings.append(_check_cors(env))
    return Report(findings, title="svc-infra environment")


# --------------------------------------------------------------------------
# Python environment and event loop
# --------------------------------------------------------------------------

# Distribution names whose versions matter when svc-infra misbehaves.
KEY_PACKAGES = (
    "svc-nb", "svc-infra", "fastapi", "starlette", "pydantic", "pydantic-settings", "sqlalchemy",
    "asyncpg", "psycopg", "alembic", "redis", "pyjwt", "authlib", "httpx", "cryptography",
    "python-dotenv", "nest-asyncio2", "nest-asyncio", "uvloop", "ipykernel", "ipywidgets",
)


_versions_cache: dict[tuple[object, ...], dict[str, str | None]] = {}


def _install_state() -> tuple[object, ...]:
    """What changes when a package is installed or removed: sys.path and its folders' mtimes."""
    state: list[object] = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            state.append((entry, None))
    return tuple(state)


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str | None]:
    """Installed versions (importlib.metadata) of ``names``; None for those not installed.

    Scanning metadata costs milliseconds per package, so results are reused
    until an install or removal changes sys.path's folders (a %pip install does).
    """
    wanted = tuple(names)
    key = (wanted, *_install_state())
    cached = _versions_cache.get(key)
    if cached is not None:
        return dict(cached)
    result: dict[str, str | None] = {}
    for name in wanted:
        try:
            result[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            result[name] = None
    _versions_cache.clear()
    _versions_cache[key] = result
    return dict(result)


def in_notebook_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (ipykernel's shell)."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None) if ipython else None
    shell = get() if callable(get) else None
    return shell is not None and "ipykernel" in type(shell).__module__


def install_command(package: str = "svc-infra") -> str:
    """The command that installs ``package`` into *this* interpreter."""
    if in_notebook_kernel():
        return f"%pip install {package}"
    return f"{shlex.quote(sys.executable)} -m pip install {package}"


def _environment_kind() -> tuple[str, str]:
    if os.environ.get("CONDA_PREFIX") and Path(sys.prefix, "conda-meta").is_dir():
        return "conda", sys.prefix
    if sys.prefix != sys.base_prefix:
        return "virtualenv", sys.prefix
    return "system", sys.prefix


def _pip_on_path_target() -> tuple[str, str] | None:
    """(pip path, interpreter it installs into) for the ``pip`` on PATH, when it is a script."""
    pip = shutil.which("pip")
    if not pip:
        return None
    try:
        with open(pip, "rb") as fh:
            first = fh.readline(512).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if words and Path(words[0]).name == "env":  # #!/usr/bin/env python3
        words = [w for w in words[1:] if not w.startswith("-")]
        found = shutil.which(words[0]) if words else None
        words = [found] if found else []
    # A shell-script shim (pyenv, asdf) decides at run time: nothing to compare.
    if not words or "python" not in Path(words[0]).name:
        return None
    return pip, words[0]


def check_python() -> Report:
    """Interpreter, virtualenv/conda, svc-infra and key package versions, and pip traps."""
    kind, prefix = _environment_kind()
    version = platform.python_version()
    findings = [
        _finding(
            "python.interpreter", "ok", f"Python {version} ({platform.python_implementation()}), {kind} at {prefix}",
            f"Interpreter: {sys.executable}",
            executable=sys.executable, version=version, environment=kind, prefix=prefix,
            in_kernel=in_notebook_kernel(),
        )
    ]
    versions = package_versions()
    command = install_command("svc-infra")
    installed = versions.get("svc-infra")
    try:
        importlib.import_module("svc_infra")
        importable, error = True, ""
    except ImportError as exc:
        importable, error = False, f"{type(exc).__name__}: {exc}"
    if importable:
        findings.append(_finding("python.svc_infra", "ok", f"svc-infra {installed or '(version unknown)'} importable",
                                 version=installed))
    elif installed:
        findings.append(_finding(
            "python.svc_infra", "fail", f"svc-infra {installed} is installed but does not import",
            scrub(error), f"{command.replace('install', 'install --force-reinstall', 1)}", version=installed,
        ))
    else:
        findings.append(_finding(
            "python.svc_infra", "warn",
            "svc-infra is not installed in this interpreter ('No module named svc_infra')",
            f"This kernel runs {sys.executable}. A plain `pip install` in a terminal or `!pip` "
            "may install into another environment; install into this one. (svc_nb itself works "
            "without svc-infra: it reads the env, database and Redis the way svc-infra would.)",
            command + (f"\n# outside the notebook: {shlex.quote(sys.executable)} -m pip install svc-infra"
                       if command.startswith("%") else ""),
            version=None,
        ))
    pip = _pip_on_path_target()
    if pip is not None:
        pip_path, target = pip
        same = _same_interpreter(target, sys.executable)
        if not same:
            findings.append(_finding(
                "python.pip", "warn",
                f"the `pip` on PATH installs into another interpreter ({target})",
                f"{pip_path} runs {target}, but this code runs {sys.executable}: `pip install ...` "
                "there does not reach this kernel.",
                command.replace("svc-infra", "PACKAGE"), pip=pip_path, pip_python=target,
            ))
    present = {k: v for k, v in versions.items() if v}
    missing = [k for k, v in versions.items() if not v]
    findings.append(_finding(
        "python.packages", "ok",
        ", ".join(f"{k} {v}" for k, v in present.items() if k in ("svc-nb", "asyncpg", "redis", "pyjwt", "httpx")),
        "Installed: " + ", ".join(f"{k} {v}" for k, v in present.items())
        + (f"\nNot installed: {', '.join(missing)}" if missing else ""),
        versions=versions,
    ))
    return Report(findings, title="Python environment")


def _same_interpreter(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve() or Path(a).parent.resolve() == Path(b).parent.resolve()
    except OSError:
        return a == b


def check_event_loop() -> Report:
    """Is a loop running in this thread, which class, is it patched for nested runs, what to do."""
    loop = _running_loop()
    kernel = in_notebook_kernel()
    data: dict[str, Any] = {"in_kernel": kernel, "running": loop is not None}
    if loop is None:
        return Report([_finding(
            "loop.event_loop", "ok", "no event loop running in this thread",
            "asyncio.run(...) and svc_nb.run(...) both work here; `await` needs a running loop.",
            **data,
        )], title="Event loop")
    cls = f"{type(loop).__module__}.{type(loop).__qualname__}"
    data.update(loop_class=cls, patched=is_patched(loop), patchable=patchable(loop))
    if is_patched(loop):
        finding = _finding(
            "loop.event_loop", "ok", f"running loop {type(loop).__name__} accepts nested runs (patched)",
            f"{cls} is patched (nest-asyncio2), so the guide's asyncio.run(main()) works in a cell; "
            "`await main()` is still the better habit.", **data,
        )
    elif not patchable(loop):
        finding = _finding(
            "loop.event_loop", "warn",
            f"running loop {type(loop).__name__} cannot be patched: asyncio.run() here raises 'event loop is already running'",
            f"{cls} is not asyncio's own loop class (uvloop or similar); nest_asyncio.apply() raises "
            "ValueError on it, so the guide's fix does not apply.",
            "Use `await coro` in the cell, or svc_nb.run(coro) (it runs the coroutine on a worker thread's loop).",
            **data,
        )
    elif kernel:
        finding = _finding(
            "loop.event_loop", "warn",
            "the kernel's loop is running and not patched: asyncio.run() raises 'cannot be called from a running event loop'",
            f"{cls} in a Jupyter kernel.",
            "Use `await coro` in the cell, call svc_nb.run(coro), or `import svc_nb` (it patches the loop once).",
            **data,
        )
    else:
        finding = _finding(
            "loop.event_loop", "ok", f"running inside {type(loop).__name__} (not patched)",
            "Code here runs inside an event loop (asyncio.run, a server, a test); use `await`, "
            "not asyncio.run(). svc_nb.run() patches the loop when it must.", **data,
        )
    return Report([finding], title="Event loop")


# diagnose() runs these with every other section's checks.
register_check("env", lambda environ, timeout: check_env(environ), order=10)
# Reading package metadata is slow file I/O: keep it off the loop, beside the network probes.
register_check(
    "python", lambda environ, timeout: asyncio.to_thread(check_python), order=11, waits=True
)
register_check("loop", lambda environ, timeout: check_event_loop(), order=12)
