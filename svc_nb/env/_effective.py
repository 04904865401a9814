"""What svc-infra really uses with an environment: the values its helpers compute.

Each function follows one svc-infra code path (named in its docstring) and nothing
else, so the result can be compared with the objects svc-infra builds (the fidelity
suite does exactly that). ``effective()`` gathers them; the checks in ``check_env``
judge the same values. Secrets are given as fingerprints, URLs with the password
masked: the result can be shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from svc_nb._redact import fingerprint, mask_url
from svc_nb.env._auth import pydantic_int
from svc_nb.env._cors_rules import CORS_ENTRY_POINTS, cors_settings
from svc_nb.env._oauth_settings import configured_providers
from svc_nb.env._read import (
    app_environment,
    load_json,
    resolve_job_queue,
    resolve_jwt_secret,
    text_environ,
)
from svc_nb.env._services import delivery_timeout

__all__ = [
    "DEFAULT_JWT_LIFETIME_S",
    "DEV_JWT_SECRET",
    "DEV_SESSION_JWT_SECRET",
    "JOB_VISIBILITY_TIMEOUT_S",
    "effective",
    "jwt_lifetime_seconds",
    "outbox_store",
    "runtime_database_url",
    "session_secret",
]

# Public development defaults svc-infra falls back to outside production.
DEV_JWT_SECRET = "dev-only-jwt-secret-not-for-production"
DEV_SESSION_JWT_SECRET = "dev-only-session-jwt-secret-not-for-production"
DEV_SESSION_SECRET = "dev-only-session-secret-not-for-production"
DEFAULT_JWT_LIFETIME_S = 60 * 60 * 24 * 7
# RedisJobQueue(visibility_timeout=60): easy_jobs() never passes another value.
JOB_VISIBILITY_TIMEOUT_S = 60
DEFAULT_REDIS_URL = "redis://localhost:6379/0"


def runtime_database_url(env: Mapping[str, str]) -> str | None:
    """The URL ``add_sql_db(app)`` hands to SQLAlchemy at start-up, or None (start-up fails).

    ``os.getenv("SQL_URL")`` as it is (not stripped), then ``_coerce_to_async_url``:
    ``postgres``/``postgresql``/``+psycopg``/``+psycopg2`` become ``postgresql+asyncpg``.
    """
    url = env.get("SQL_URL") or ""
    if not url:
        return None
    low = url.lower()
    if "+asyncpg" in low or "+aiomysql" in low or "+aiosqlite" in low:
        return url
    rest = url.split("://", 1)[1] if "://" in url else url
    for prefix, target in (
        ("postgresql+psycopg2://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("mysql+pymysql://", "mysql+aiomysql://"),
        ("mysql://", "mysql+aiomysql://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if low.startswith(prefix):
            return target + rest
    return url


def cache_url(env: Mapping[str, str]) -> str:
    """``add_cache``: ``CACHE_URL or REDIS_URL or "mem://"`` (empty values skipped, not stripped)."""
    return env.get("CACHE_URL") or env.get("REDIS_URL") or "mem://"


def jwt_secret(env: Mapping[str, str], dev_default: str = DEV_JWT_SECRET) -> str | None:
    """``resolve_jwt_secret``: the secret, the dev default, or None where svc-infra raises."""
    resolved = resolve_jwt_secret(env)
    if resolved is not None:
        return resolved.value
    _, _, prod_like = app_environment(env)
    return None if prod_like else dev_default


def session_secret(env: Mapping[str, str], *, add_security_session: bool = False) -> str | None:
    """The key that signs the ``svc_session`` cookie, or None where svc-infra raises.

    ``add_auth_users`` installs the session middleware with the JWT secret (its own
    dev default ``dev-only-session-jwt-secret-…``), unless
    ``add_security(install_session_middleware=True)`` installed one first, keyed by
    ``SESSION_SECRET`` (dev default ``dev-only-session-secret-…``).
    """
    if not add_security_session:
        return jwt_secret(env, DEV_SESSION_JWT_SECRET)
    value = env.get("SESSION_SECRET") or ""
    if value:
        return value
    _, _, prod_like = app_environment(env)
    return None if prod_like else DEV_SESSION_SECRET


def jwt_lifetime_seconds(env: Mapping[str, str]) -> int:
    """``get_jwt_strategy``: the jwt block's lifetime when it is a positive int, else 7 days."""
    nested = next((v for k, v in env.items() if k.upper() == "AUTH_JWT__LIFETIME_SECONDS"), None)
    raw: Any = nested
    if raw is None:
        block = next((v for k, v in env.items() if k.upper() == "AUTH_JWT"), None)
        parsed, _ = load_json(block) if block else (None, None)
        raw = parsed.get("lifetime_seconds") if isinstance(parsed, dict) else None
    if isinstance(raw, bool):
        raw = int(raw)
    lifetime = raw if isinstance(raw, int) else pydantic_int(raw) if isinstance(raw, str) else None
    if lifetime is None and isinstance(raw, float) and raw.is_integer():
        lifetime = int(raw)
    if lifetime is None or lifetime <= 0:
        return DEFAULT_JWT_LIFETIME_S
    return lifetime


def outbox_store(env: Mapping[str, str], name: str = "WEBHOOKS_OUTBOX") -> tuple[str, str | None]:
    """``add_webhooks``' default outbox (or inbox): ("redis", its REDIS_URL) or ("memory", None).

    Only ``redis`` (any case) selects Redis, at ``REDIS_URL`` (default localhost);
    ``sql`` and anything else fall back to memory.
    """
    if (env.get(name) or "memory").lower() != "redis":
        return "memory", None
    return "redis", env.get("REDIS_URL", DEFAULT_REDIS_URL)


def _masked(url: str | None) -> str | None:
    return None if url is None else mask_url(url)


def _fp(secret: str | None) -> str | None:
    return None if secret is None else fingerprint(secret)


def effective(environ: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What svc-infra really uses with ``environ`` (default ``os.environ``), no I/O.

    Keys: ``app_env``, ``prod_like``, ``database_url`` (what ``add_sql_db`` hands to
    SQLAlchemy; None: start-up fails), ``cache_url``, ``jwt_secret_source``,
    ``jwt_secret_fingerprint`` (None: svc-infra refuses to start),
    ``jwt_lifetime_seconds``, ``session_secret_fingerprint`` (``add_auth_users``'
    cookie key), ``session_cookie_secure``, ``cors`` (per entry point:
    ``add_security`` and ``easy_service_app``, each the ``CORSMiddleware`` arguments
    or None), ``jobs_driver``, ``jobs_redis_url``, ``jobs_visibility_timeout_s``,
    ``outbox``/``outbox_redis_url``, ``inbox``/``inbox_redis_url``,
    ``webhook_delivery_timeout_s`` and its ``webhook_delivery_timeout_source``,
    ``oauth_providers`` (the login providers with credentials).
    URLs have their password masked; secrets are fingerprints.
    """
    env, _ = text_environ(environ)
    _, normalised, prod_like = app_environment(env)
    resolved = resolve_jwt_secret(env)
    queue = resolve_job_queue(env)
    outbox, outbox_url = outbox_store(env, "WEBHOOKS_OUTBOX")
    inbox, inbox_url = outbox_store(env, "WEBHOOKS_INBOX")
    timeout_s, timeout_source = delivery_timeout(env)
    secure = _session_cookie_secure(env)
    return {
        "app_env": normalised,
        "prod_like": prod_like,
        "database_url": _masked(runtime_database_url(env)),
        "cache_url": mask_url(cache_url(env)),
        "jwt_secret_source": resolved.source if resolved else None,
        "jwt_secret_fingerprint": _fp(jwt_secret(env)),
        "jwt_lifetime_seconds": jwt_lifetime_seconds(env),
        "session_secret_fingerprint": _fp(session_secret(env)),
        "session_cookie_secure": secure,
        "cors": {entry: cors_settings(env, entry) for entry in CORS_ENTRY_POINTS},
        "jobs_driver": "memory" if queue is None else "redis",
        "jobs_redis_url": None if queue is None else mask_url(queue.value),
        "jobs_visibility_timeout_s": None if queue is None else JOB_VISIBILITY_TIMEOUT_S,
        "outbox": outbox,
        "outbox_redis_url": _masked(outbox_url),
        "inbox": inbox,
        "inbox_redis_url": _masked(inbox_url),
        "webhook_delivery_timeout_s": timeout_s,
        "webhook_delivery_timeout_source": timeout_source,
        "oauth_providers": configured_providers(env),
    }


_PYDANTIC_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})


def _session_cookie_secure(env: Mapping[str, str]) -> bool:
    """``AuthSettings.session_cookie_secure`` (pydantic's bool words; default False)."""
    value = next((v for k, v in env.items() if k.upper() == "AUTH_SESSION_COOKIE_SECURE"), None)
    return value is not None and value.strip().lower() in _PYDANTIC_TRUE
