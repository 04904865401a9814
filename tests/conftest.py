"""Shared fixtures: the machine's PostgreSQL and Redis, loopback fault servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests._support import (
    LOCAL_PG_URL,
    LOCAL_REDIS_URL,
    SilentServer,
    closed_port,
)


@pytest.fixture
def pg_url() -> str:
    """The machine's PostgreSQL (trust auth, database ``test``)."""
    return LOCAL_PG_URL


@pytest.fixture
def engine(pg_url: str) -> Iterator[Any]:
    """A SQLAlchemy engine (psycopg 3) on the machine's PostgreSQL, disposed after the test."""
    import sqlalchemy as sa

    eng = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield eng
    eng.dispose()


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis."""
    return LOCAL_REDIS_URL


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A loopback TCP server that accepts and never answers."""
    with SilentServer() as server:
        yield server


@pytest.fixture
def refused_port() -> int:
    """A loopback port where connections are refused."""
    return closed_port()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every variable svc-infra reads, so tests see only what they set."""
    import os

    prefixes = (
        "SQL_",
        "DB_",
        "DATABASE_",
        "PRIVATE_SQL",
        "CACHE_",
        "REDIS_",
        "AUTH_JWT",
        "JWT_",
        "WEBHOOK",
        "CORS_",
        "APP_ENV",
        "SESSION_",
        "ALEMBIC_",
        "SVC_NB_",
    )
    for name in list(os.environ):
        if name.startswith(prefixes):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def isolated_secret_registry() -> Iterator[None]:
    """Every test starts and ends with the secret registry as it found it.

    Parsers register every password they read: a fuzzed "password" such as
    'postgresql' must not stay registered and mask ordinary words in later tests.
    """
    from svc_nb import _redact

    with _redact.isolated_registry():
        yield
