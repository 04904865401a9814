"""The database side: the version table's rows, read with asyncpg within a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError, SvcNbError
from svc_nb._explain import explain
from svc_nb._redact import scrub
from svc_nb._report import Finding
from svc_nb.migrations._causes import EXPLAIN, MigrationsCause

__all__ = ["DbState", "asyncpg_dsn", "read_version_table"]

C = MigrationsCause

# asyncpg's exception classes by name (checked along the MRO, so subclasses count);
# anything else that is an OSError could not connect, the rest failed reading.
_ERROR_CAUSES = {
    "InvalidPasswordError": C.AUTH_FAILED,
    "InvalidAuthorizationSpecificationError": C.AUTH_FAILED,
    "InvalidCatalogNameError": C.UNKNOWN_DATABASE,
    "InsufficientPrivilegeError": C.PERMISSION_DENIED,
}


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy-style PostgreSQL URL rewritten for asyncpg.

    ``postgresql+asyncpg://``, ``postgresql+psycopg://`` and ``postgres://`` become
    ``postgresql://``; SQLAlchemy's ``ssl=`` query parameter becomes asyncpg's
    ``sslmode=``. Raises :class:`svc_nb.ArgumentValueError` (a ``ValueError``) for a
    URL that is not PostgreSQL.
    """
    if not isinstance(url, str):
        raise ArgumentTypeError(f"url must be a database URL string, not {type(url).__name__}")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ArgumentValueError("not a URL: expected postgresql://user:password@host:port/db")
    base = scheme.split("+", 1)[0].lower()
    if base not in ("postgresql", "postgres"):
        raise ArgumentValueError(f"scheme {scheme[:40]!r} is not PostgreSQL")
    parts = urllib.parse.urlsplit("postgresql://" + rest)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = [("sslmode" if k == "ssl" else k, v) for k, v in query]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


@dataclass
class DbState:
    """What the database says: does the version table exist, and which revisions it holds."""

    exists: bool
    rows: list[str]
    qualified: str
    user_tables: int
    latency_ms: float


class DbProblem(SvcNbError):
    """A database-side diagnosis, carried to ``check`` as a Finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.summary)
        self.finding = finding


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _error_cause(exc: BaseException) -> MigrationsCause:
    for klass in type(exc).__mro__:
        cause = _ERROR_CAUSES.get(klass.__name__)
        if cause is not None:
            return cause
    return C.CONNECT_FAILED if isinstance(exc, OSError) else C.READ_FAILED


def _failure(exc: BaseException, shown: str, timeout: float) -> Finding:
    data: dict[str, Any] = {"timeout_s": timeout, "version_table": shown}
    if isinstance(exc, TimeoutError):
        return explain("migrations.database", C.TIMEOUT, EXPLAIN, data=data, timeout=timeout)
    name = type(exc).__name__
    text = scrub(str(exc)).strip()
    first_line = text.splitlines()[0][:200] if text else ""
    return explain(
        "migrations.database",
        _error_cause(exc),
        EXPLAIN,
        data={**data, "exception_type": name},
        version_table=shown,
        error=f"{name}: {first_line}" if first_line else name,
    )


async def _query(conn: Any, qualified: str, table: str) -> tuple[bool, list[str], int]:
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", qualified)
    rows: list[str] = []
    if exists:
        records = await conn.fetch(f"SELECT version_num FROM {qualified}")
        rows = [str(r[0]) for r in records]
    user_tables = await conn.fetchval(
        "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN "
        "('pg_catalog', 'information_schema') AND tablename <> $1",
        table,
    )
    return bool(exists), rows, int(user_tables or 0)


async def _close(conn: Any) -> None:
    try:
        await asyncio.wait_for(conn.close(), 1.0)
    except Exception:
        conn.terminate()


async def read_version_table(dsn: str, table: str, schema: str | None, timeout: float) -> DbState:
    """The version table's rows; raises :class:`DbProblem` carrying the diagnosis."""
    import asyncpg

    started = time.perf_counter()
    qualified = f"{_quote_ident(schema)}.{_quote_ident(table)}" if schema else _quote_ident(table)
    shown = f"{schema}.{table}" if schema else table
    conn = None
    try:
        async with asyncio.timeout(timeout):
            conn = await asyncpg.connect(dsn, timeout=timeout)
            exists, rows, user_tables = await _query(conn, qualified, table)
    except Exception as exc:  # asyncpg, OS and protocol errors are all diagnoses here
        raise DbProblem(_failure(exc, shown, timeout)) from None
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                await _close(conn)
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return DbState(exists, rows, shown, user_tables, latency_ms)
