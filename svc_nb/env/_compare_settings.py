"""The settings of one service in a group, masked and comparable: the model of a comparison.

Each setting becomes a :class:`Cell`: the text a view shows (URLs with their
password masked, secrets only as fingerprints) and the key two services are
compared on. ``_compare_environ`` fills the cells from variables (through
``effective()`` and the resolvers), ``_compare_doctor`` from a doctor report.

Passwords inside URLs are not part of the comparison: two services that reach
the same database or Redis under different passwords are one target, and a
wrong password is each service's own check (``db.auth``, ``cache.auth``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from svc_nb.env._explanations import shown_url

__all__ = [
    "DEV_DEFAULTS",
    "MISSING_TEXT",
    "ROWS",
    "SHOWN_URL_CHARS",
    "UNKNOWN_CELL",
    "Cell",
    "RowSpec",
    "ServiceSettings",
    "database_key",
    "database_view",
    "redis_key",
    "redis_view",
    "with_old_secrets",
]

# What svc-infra falls back to outside production when a secret is unset (public values):
# api/fastapi/auth/settings.py, security/add.py, webhooks/encryption.py.
DEV_DEFAULTS = {
    "jwt_secret": "dev-only-jwt-secret-not-for-production",
    "session_secret": "dev-only-session-secret-not-for-production",
    "webhook_key": "dev-only-webhook-encryption-key-not-for-production",
}
# An unset secret in a production-like environment: when svc-infra raises MissingSecretError.
MISSING_TEXT = {
    "jwt_secret": "(missing: svc-infra refuses to start)",
    "session_secret": "(unset: add_security sessions refuse to start)",
    "webhook_key": "(missing: subscriptions fail)",
}
SHOWN_URL_CHARS = 80


@dataclass(frozen=True)
class RowSpec:
    """One setting of the grid: its key, its label and what svc-infra does with it."""

    key: str
    label: str
    meaning: str


ROWS: tuple[RowSpec, ...] = (
    RowSpec(
        "app_env",
        "environment (APP_ENV)",
        "svc-infra's environment; production-like ones require every secret",
    ),
    RowSpec(
        "database",
        "database (SQL_URL)",
        "the database the running app connects to (add_sql_db reads only SQL_URL)",
    ),
    RowSpec(
        "cache_url",
        "cache (CACHE_URL, REDIS_URL)",
        "add_cache's backend: CACHE_URL, then REDIS_URL, else mem://",
    ),
    RowSpec(
        "cache_namespace",
        "cache prefix:version",
        "CACHE_PREFIX (svc) and CACHE_VERSION (v1): the key namespace",
    ),
    RowSpec(
        "job_queue",
        "job queue (JOBS_DRIVER + Redis)",
        "where easy_jobs() queues webhook deliveries",
    ),
    RowSpec(
        "outbox",
        "webhook outbox (WEBHOOKS_OUTBOX)",
        "where published events wait for the outbox tick",
    ),
    RowSpec(
        "jwt_secret",
        "JWT signing key",
        "AUTH_JWT__SECRET, AUTH_JWT_SECRET, then JWT_SECRET (fingerprint)",
    ),
    RowSpec(
        "jwt_old_secrets",
        "JWT old keys (rotation)",
        "AUTH_JWT__OLD_SECRETS: still accepted for verification (fingerprints)",
    ),
    RowSpec(
        "jwt_lifetime", "JWT lifetime", "AUTH_JWT__LIFETIME_SECONDS (7 days when unset or <= 0)"
    ),
    RowSpec(
        "session_secret",
        "session key (SESSION_SECRET)",
        "signs add_security's session cookie (fingerprint)",
    ),
    RowSpec(
        "webhook_key",
        "webhook encryption key",
        "WEBHOOK_ENCRYPTION_KEY: encrypts subscription secrets at rest (fingerprint)",
    ),
    RowSpec(
        "webhook_timeout",
        "webhook delivery timeout",
        "WEBHOOK_DELIVERY_TIMEOUT_SECONDS, HTTP_CLIENT_TIMEOUT_SECONDS, else 10 s",
    ),
    RowSpec("cors_origins", "CORS origins", "CORS_ALLOW_ORIGINS (comma-separated)"),
)


@dataclass(frozen=True)
class Cell:
    """One setting of one service: what a view shows and what comparisons use.

    ``state`` is ``set`` (from a variable), ``default`` (svc-infra's default),
    ``missing`` (svc-infra refuses to run without it), ``invalid`` (svc-infra
    cannot use it) or ``unknown`` (the input does not carry it: left out of
    comparisons). ``extra`` holds a few more comparable values (the old JWT
    secrets' fingerprints).
    """

    shown: str
    key: Hashable = None
    state: str = "set"
    extra: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.state != "unknown"


UNKNOWN_CELL = Cell("(not in this input)", None, "unknown")


@dataclass(frozen=True)
class ServiceSettings:
    """Every setting of one service; ``prod_like`` is None when the input does not say."""

    origin: str
    cells: Mapping[str, Cell] = field(default_factory=dict)
    prod_like: bool | None = None
    empty: bool = False

    def cell(self, key: str) -> Cell:
        return self.cells.get(key, UNKNOWN_CELL)


# -- comparison keys of URLs ------------------------------------------------------
#
# A URL is shown rebuilt from the parts it is compared on (never its password), not
# masked as a whole: a value under a secret-looking name (REDIS_URL_PRIVATE) is masked
# entirely by the redaction registry, and would then read "****" on every service.


def _opaque(url: str) -> tuple[str, Hashable]:
    """A URL that does not parse: compared as a digest of its text, shown masked."""
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
    return shown_url(url, SHOWN_URL_CHARS), ("text", digest)


def _clip(text: str | None, limit: int = 60) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def database_view(url: str) -> tuple[str, Hashable]:
    """(text, key): key (user, hosts, host parameter, database) as libpq/asyncpg read the URL."""
    from svc_nb.db._parse import parse

    try:
        parsed = parse(url)
    except Exception:  # a parser bug: compare the text rather than fail the comparison
        return _opaque(url)
    if parsed.fatal or not parsed.hosts:
        return _opaque(url)
    hosts = tuple((h.host, h.port or 5432) for h in parsed.hosts)
    host_param = parsed.params.get("host")
    # libpq's default database is the user's name.
    database = parsed.database or parsed.user
    scheme = parsed.scheme + (f"+{parsed.driver}" if parsed.driver else "")
    user = _clip(parsed.user, 40) + (":****" if parsed.password else "")
    where = ",".join(f"{_clip(h, 60)}:{p}" for h, p in hosts[:3])
    text = f"{_clip(scheme, 30)}://{user + '@' if user else ''}{where}/{_clip(database)}"
    if host_param:
        text += f"?host={_clip(host_param)}"
    return text, ("db", parsed.user, hosts, host_param, database)


def redis_view(url: str) -> tuple[str, Hashable]:
    """(text, key): key (scheme, host, port, socket path, db, user) as redis-py reads the URL."""
    from svc_nb.cache._parse import parse

    try:
        _, target = parse(url)
    except Exception:  # a parser bug: compare the text rather than fail the comparison
        target = None
    if target is None:
        return _opaque(url)
    if target.memory_backend:
        return "mem://", ("mem",)
    port = None if target.path else (target.port or 6379)
    user = _clip(target.username, 40) + (":****" if target.password else "")
    auth = f"{user}@" if user else ""
    if target.path:
        text = f"unix://{auth}{_clip(target.path)}?db={target.db}"
    else:
        text = f"{target.scheme}://{auth}{_clip(target.host)}:{port}/{target.db}"
    return text, (target.scheme, target.host, port, target.path, target.db, target.username)


def database_key(url: str) -> Hashable:
    return database_view(url)[1]


def redis_key(url: str) -> Hashable:
    return redis_view(url)[1]


def with_old_secrets(cells: dict[str, Cell]) -> dict[str, Cell]:
    """The JWT cell also carries the old secrets: verification accepts any of them."""
    old = cells.get("jwt_old_secrets", UNKNOWN_CELL)
    cells["jwt_secret"] = dataclasses.replace(cells["jwt_secret"], extra=old.extra)
    return cells
