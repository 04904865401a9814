"""Quick diagnostics: which variables svc-infra will actually read, masked.

The resolution functions here follow svc-infra's real precedence (DESIGN §1);
every other section uses them to find its default target.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CACHE_URL_VARS",
    "DATABASE_URL_VARS",
    "DEFAULT_SECRETS_FILE",
    "JWT_SECRET_VARS",
    "PROD_LIKE_ENVS",
    "Resolved",
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


def resolve_jwt_secret(environ: Mapping[str, str] | None = None) -> Resolved | None:
    """``AUTH_JWT__SECRET``, ``AUTH_JWT_SECRET``, ``JWT_SECRET``; never ``JWT_SECRET_KEY``."""
    env = _env(environ)
    for name in JWT_SECRET_VARS:
        value = env.get(name, "")
        if value.strip():
            return Resolved(name, value)
    return None
