"""After login: server version and latency, the session's TLS, and connection capacity."""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb.db._causes import DbCause
from svc_nb.db._model import Parsed
from svc_nb.db._probe import elapsed_ms, tcp_targets

__all__ = [
    "SERVER_EXPLAIN",
    "Capacity",
    "ServerFacts",
    "capacity",
    "headroom_finding",
    "read_server",
    "server_findings",
]

C = DbCause
# How many round trips the latency median is taken over (the batch's two and bare pings).
_LATENCY_SAMPLES = 3
# Above this a request's handful of queries adds up to a visibly slow page.
_SLOW_ROUND_TRIP_MS = 50

SERVER_EXPLAIN: Mapping[DbCause, Explanation] = {
    C.SLOW_ROUND_TRIP: Explanation(
        Status.WARN,
        "PostgreSQL {short}, round trip {latency:g} ms (median of {samples})",
        "{version}",
        "Over 50 ms per round trip: run the app in the database's region/network.",
    ),
    C.TLS_NOT_USED: Explanation(
        Status.WARN,
        "session not encrypted although the server offers TLS (ssl={sslmode})",
        "{why}",
        "Use ssl=require (or verify-full with sslrootcert).",
    ),
    C.SERVER_TLS_OFF: Explanation(
        Status.WARN,
        "the server has no TLS (ssl = off)",
        "The app connects (asyncpg's default 'prefer' falls back to plain), but svc-infra's "
        "build_engine — used by `svc-infra sql upgrade` and the migrations — forces ssl=require "
        "and fails with 'rejected SSL upgrade'.",
        "Enable TLS on the server (postgresql.conf: ssl = on, ssl_cert_file, ssl_key_file; a "
        "self-signed certificate is enough locally), then SELECT pg_reload_conf();",
    ),
    C.OVERFLOW_EXCEEDS_CAPACITY: Explanation(
        Status.WARN,
        "{processes} process(es) fit only without overflow: {needed} needed at peak, "
        "{available} free",
        "{detail} Under load the overflow connections will be refused: 'sorry, too many "
        "clients already'.",
        "{scale}",
    ),
    C.POOL_EXCEEDS_CAPACITY: Explanation(
        Status.FAIL,
        "{processes} process(es) need {needed} connections, only {available} free "
        "({processes_fit} process(es) fit)",
        "{detail}",
        "{scale}",
    ),
    C.QUERY_TIMEOUT: Explanation(
        Status.FAIL,
        "the server stopped answering queries within {timeout:g} s",
        "Connected, but a simple query did not come back: an overloaded server, lock waits at "
        "start-up, or a proxy stalling.",
        "Check the server's load and log; retry with a larger timeout.",
    ),
    C.QUERY_FAILED: Explanation(
        Status.FAIL,
        "query failed: {exception_type}: {message}",
        "",
        "Check the role's privileges and the server log.",
    ),
}


@dataclass(frozen=True)
class Capacity:
    max_connections: int
    superuser_reserved: int
    reserved: int
    in_use: int

    @property
    def available(self) -> int:
        """Slots still free for ordinary (non-superuser) roles."""
        return self.max_connections - self.superuser_reserved - self.reserved - self.in_use


async def capacity(conn: Any) -> Capacity:
    row = await conn.fetchrow(
        """
        SELECT current_setting('max_connections')::int AS max_connections,
               current_setting('superuser_reserved_connections')::int AS superuser_reserved,
               coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int
                   AS reserved,
               (SELECT count(*) FROM pg_stat_activity
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())::int AS in_use
        """
    )
    return Capacity(
        row["max_connections"], row["superuser_reserved"], row["reserved"], row["in_use"]
    )


@dataclass(frozen=True)
class ServerFacts:
    """What one batch of queries after login read: version, this session's TLS, capacity."""

    version: str
    short: str
    server_ssl: str
    session_ssl: bool
    tls_version: str | None
    cipher: str | None
    capacity: Capacity
    samples_ms: list[float]
    elapsed_ms: float


# Everything the checks after login read, in one statement: each query is a round trip a
# remote user waits for. The LEFT JOIN keeps the row where pg_stat_ssl shows no session.
_FACTS_SQL = """
SELECT version() AS version,
       current_setting('server_version') AS server_version,
       current_setting('ssl') AS server_ssl,
       coalesce(s.ssl, false) AS session_ssl, s.version AS tls_version, s.cipher AS cipher,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved,
       coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int AS reserved,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())::int AS in_use
FROM (SELECT pg_backend_pid() AS pid) AS me LEFT JOIN pg_stat_ssl AS s ON s.pid = me.pid
"""


async def read_server(conn: Any) -> ServerFacts:
    """One batch of queries, timed: its round trips are the latency samples.

    Preparing the statement and running it are one round trip each; a bare
    ``SELECT 1`` in the simple protocol tops them up to :data:`_LATENCY_SAMPLES`.
    """
    start = time.perf_counter()
    samples = []
    t0 = time.perf_counter()
    statement = await conn.prepare(_FACTS_SQL)
    samples.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    row = await statement.fetchrow()
    samples.append((time.perf_counter() - t0) * 1000)
    for _ in range(_LATENCY_SAMPLES - len(samples)):
        t0 = time.perf_counter()
        await conn.execute("SELECT 1")
        samples.append((time.perf_counter() - t0) * 1000)
    cap = Capacity(
        row["max_connections"], row["superuser_reserved"], row["reserved"], row["in_use"]
    )
    return ServerFacts(
        version=str(row["version"]),
        short=str(row["server_version"]),
        server_ssl=str(row["server_ssl"]),
        session_ssl=bool(row["session_ssl"]),
        tls_version=row["tls_version"],
        cipher=row["cipher"],
        capacity=cap,
        samples_ms=samples,
        elapsed_ms=elapsed_ms(start),
    )


def server_findings(facts: ServerFacts, p: Parsed) -> list[Finding]:
    """``db.server`` (version, median round trip) and ``db.ssl`` (this session's TLS)."""
    return [_server(facts), _tls(facts, p)]


def _server(facts: ServerFacts) -> Finding:
    samples = facts.samples_ms
    latency = round(statistics.median(samples), 2)
    data = {
        "server_version": facts.short,
        "version": facts.version,
        "latency_ms": latency,
        "latency_samples_ms": [round(s, 2) for s in samples],
        "elapsed_ms": facts.elapsed_ms,
    }
    if latency >= _SLOW_ROUND_TRIP_MS:
        return explain(
            "db.server",
            C.SLOW_ROUND_TRIP,
            SERVER_EXPLAIN,
            data=data,
            short=facts.short,
            latency=latency,
            samples=len(samples),
            version=facts.version,
        )
    summary = f"PostgreSQL {facts.short}, round trip {latency:g} ms (median of {len(samples)})"
    return Finding("db.server", Status.OK, summary, facts.version, data=data)


def _tls(facts: ServerFacts, p: Parsed) -> Finding:
    in_use = facts.session_ssl
    sslmode = p.sslmode or "prefer"
    data = {
        "session_ssl": in_use,
        "server_ssl": facts.server_ssl,
        "sslmode": sslmode,
        "tls_version": facts.tls_version,
        "cipher": facts.cipher,
    }
    local = all(h.is_local for h in tcp_targets(p))
    if in_use:
        verified = p.sslmode in ("verify-ca", "verify-full")
        if verified:
            detail = "The certificate was verified."
        else:
            detail = (
                "The certificate was not verified (ssl=require/prefer): encryption without "
                "protection against an impostor server."
            )
        fix = (
            ""
            if verified or local
            else "Use ssl=verify-full&sslrootcert=/path/ca.pem for remote servers."
        )
        summary = f"session encrypted: {facts.tls_version} {facts.cipher}"
        return Finding("db.ssl", Status.OK, summary, detail, fix, data)
    if facts.server_ssl == "on":
        why = (
            "The URL disables TLS." if p.sslmode == "disable" else "The client did not ask for TLS."
        )
        if local:  # plain text over loopback or a socket crosses no network
            summary = f"session not encrypted although the server offers TLS (ssl={sslmode})"
            return Finding("db.ssl", Status.OK, summary, why, data=data)
        return explain(
            "db.ssl", C.TLS_NOT_USED, SERVER_EXPLAIN, data=data, sslmode=sslmode, why=why
        )
    return explain("db.ssl", C.SERVER_TLS_OFF, SERVER_EXPLAIN, data=data)


def headroom_finding(
    cap: Capacity, pool_size: int, max_overflow: int, processes: int, check_id: str
) -> Finding:
    """How many worker processes with this pool fit in the server's free slots."""
    per_process = pool_size + max_overflow
    fit = cap.available // per_process if per_process else 0
    need = per_process * processes
    data: dict[str, Any] = {
        "max_connections": cap.max_connections,
        "superuser_reserved_connections": cap.superuser_reserved,
        "reserved_connections": cap.reserved,
        "in_use": cap.in_use,
        "available": cap.available,
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "per_process": per_process,
        "processes": processes,
        "needed": need,
        "processes_fit": fit,
        "processes_fit_pool_only": cap.available // pool_size if pool_size else 0,
    }
    detail = (
        f"max_connections {cap.max_connections} − {cap.superuser_reserved} superuser-reserved − "
        f"{cap.reserved} reserved − {cap.in_use} in use by others = {cap.available} free slots. "
        f"Each worker process may open pool_size {pool_size} + max_overflow {max_overflow} = "
        f"{per_process} connections."
    )
    if need <= cap.available:
        summary = (
            f"{fit} worker process(es) fit at {per_process} connections each "
            f"({processes} planned need {need} of {cap.available} free)"
        )
        return Finding(check_id, Status.OK, summary, detail, data=data)
    scale = (
        "Lower the pool per process (create_async_engine(url, pool_size=…, max_overflow=…)), run "
        "fewer workers, raise max_connections (ALTER SYSTEM SET max_connections = "
        f"{cap.max_connections + need - cap.available}; then restart), or use pgbouncer."
    )
    fits_without_overflow = pool_size * processes <= cap.available
    cause = C.OVERFLOW_EXCEEDS_CAPACITY if fits_without_overflow else C.POOL_EXCEEDS_CAPACITY
    return explain(
        check_id,
        cause,
        SERVER_EXPLAIN,
        data=data,
        processes=processes,
        needed=need,
        available=cap.available,
        processes_fit=fit,
        detail=detail,
        scale=scale,
    )
