"""PostgreSQL and Redis server versions for the report, each probe bounded by a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from svc_nb._redact import scrub
from svc_nb._validate import check_timeout

__all__ = ["DEFAULT_PROBE_TIMEOUT_S", "describe_error", "server_versions"]

# A bug report should come out quickly even when a server hangs.
DEFAULT_PROBE_TIMEOUT_S = 1.5


def describe_error(exc: BaseException) -> str:
    """Why a server could not be asked, in a few words, secrets scrubbed."""
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    text = scrub(str(exc)).strip()
    message = text.splitlines()[0][:200] if text else ""
    return f"unreachable ({type(exc).__name__}{': ' + message if message else ''})"


async def _close_pg(conn: Any, timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await conn.close()
    except Exception:
        conn.terminate()


async def _postgres_version(url: str, timeout: float) -> str:
    import asyncpg

    from svc_nb.migrations import asyncpg_dsn

    try:
        dsn = asyncpg_dsn(url)
    except ValueError as exc:
        return f"invalid URL ({scrub(str(exc))})"
    conn = None
    try:
        async with asyncio.timeout(timeout):
            conn = await asyncpg.connect(dsn, timeout=timeout)
            version = await conn.fetchval("SHOW server_version")
    except Exception as exc:
        return describe_error(exc)
    finally:
        if conn is not None:
            await _close_pg(conn, timeout)
    return f"PostgreSQL {version}"


async def _redis_version(url: str, timeout: float) -> str:
    from svc_nb.cache import client as redis_client

    if url.startswith("mem://"):
        return "in-process memory cache (no Redis configured)"
    try:
        client = redis_client(url, timeout=timeout)
    except Exception as exc:
        return f"invalid URL ({type(exc).__name__}: {scrub(str(exc))[:200]})"
    try:
        async with asyncio.timeout(timeout):
            info = await client.info("server")
    except Exception as exc:
        return describe_error(exc)
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate redis 5
    return f"Redis {info.get('redis_version', '?')}"


async def _not_configured() -> str:
    return "not configured (no SQL_URL / DATABASE_URL)"


async def server_versions(
    environ: Mapping[str, str] | None = None, *, timeout: float = DEFAULT_PROBE_TIMEOUT_S
) -> dict[str, str]:
    """PostgreSQL and Redis server versions at the URLs svc-infra would use (or why not).

    Both are asked concurrently, each within ``timeout`` seconds; a NaN, infinite
    or non-positive ``timeout`` raises :class:`svc_nb.ArgumentValueError` at once.
    """
    from svc_nb.env import resolve_cache_url, resolve_database_url

    timeout = check_timeout(timeout)
    db = resolve_database_url(environ)
    cache = resolve_cache_url(environ)
    pg_probe = _postgres_version(db.value, timeout) if db else _not_configured()
    pg, rd = await asyncio.gather(pg_probe, _redis_version(cache.value, timeout))
    return {"postgresql": pg, "redis": rd}
