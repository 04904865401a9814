"""Fault matrix: each row is a real fault and the classification a user relies on.

Every row asserts, for the section's probe under that fault:

- the right classification (check id, status, and the cause/reason word);
- it returned within ``timeout + 0.3`` s;
- no exception escaped (a raise fails the row) and nothing was logged as an
  unhandled task error;
- no ``ResourceWarning`` / "unclosed" warning, even after ``gc.collect()``;
- no connection left open: this process's file descriptors are back to what
  they were, and on PostgreSQL rows ``pg_stat_activity`` has no ``svc_nb``
  session left and the same number of client sessions as before the fault.

Faults are real: extra PostgreSQL clusters (password auth with 4 slots, TLS
only) stopped, restarted and filled; extra redis-servers stopped, killed while
blocked, password-protected, out of memory; HTTP peers (in their own process,
see ``tests/_fault_support.py``) that refuse, never answer, trickle bytes, close
mid-response, or present a self-signed / expired certificate — for the webhook
probe, the JWKS fetch of ``tokens.inspect``, ``cors.preflight`` and
``oauth.check_provider``; and dead or silent peers behind ``migrations.check``
and ``webhooks.queue_snapshot``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import threading
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import pytest
import redis.asyncio as aioredis

from svc_nb import Report, Status, cache, causes, cors, db, migrations, oauth, tokens
from svc_nb.webhooks import probe, queue_snapshot
from tests._certs import make_self_signed
from tests._fault_support import Peer
from tests._support import PostgresCluster, RedisServer, _as_postgres, closed_port, pg_bin

pytestmark = pytest.mark.slow

PG_PASSWORD = "fault-matrix-Pg-pass"
REDIS_PASSWORD = "fault-matrix-Redis-pass"
SLOTS = 4
MARGIN_S = 0.3


# -- shared infrastructure (module-scoped: initdb takes seconds) --------------------------------


@pytest.fixture(scope="module")
def pg_password_cluster() -> Iterator[PostgresCluster]:
    """scram-sha-256 password auth, no TLS, only SLOTS connection slots."""
    cluster = PostgresCluster(
        hba=["host all all 127.0.0.1/32 scram-sha-256"],
        password=PG_PASSWORD,
        settings={"max_connections": str(SLOTS), "superuser_reserved_connections": "0"},
    )
    with cluster:
        yield cluster


@pytest.fixture(scope="module")
def pg_tls_cluster() -> Iterator[PostgresCluster]:
    """Accepts only TLS connections (hostssl), self-signed certificate."""
    cluster = PostgresCluster(ssl=True, hba=["hostssl all all 127.0.0.1/32 trust"])
    with cluster:
        yield cluster


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PEM files: a self-signed pair, an expired self-signed pair, an unrelated CA."""
    import datetime as dt

    folder = tmp_path_factory.mktemp("fault-certs")
    now = dt.datetime.now(dt.UTC)
    out: dict[str, Path] = {}
    for name, kwargs in {
        "self_signed": {},
        "expired": {
            "not_before": now - dt.timedelta(days=30),
            "not_after": now - dt.timedelta(days=2),
        },
        "other_ca": {},
    }.items():
        cert, key = make_self_signed(["localhost", "127.0.0.1"], **kwargs)
        (folder / f"{name}.crt").write_bytes(cert)
        (folder / f"{name}.key").write_bytes(key)
        out[name] = folder / f"{name}.crt"
        out[name + "_key"] = folder / f"{name}.key"
    return out


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-revision Alembic scripts folder for migrations.check."""
    folder = tmp_path_factory.mktemp("fault-migrations")
    (folder / "versions").mkdir()
    (folder / "versions" / "a1_first.py").write_text(
        '"""first"""\nrevision = "a1"\ndown_revision = None\n'
    )
    return folder


class Ctx:
    """What a row's arrangement may use: lazily started module fixtures."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.request = request

    @property
    def pw(self) -> PostgresCluster:
        return self.request.getfixturevalue("pg_password_cluster")

    @property
    def tls(self) -> PostgresCluster:
        return self.request.getfixturevalue("pg_tls_cluster")

    @property
    def scripts(self) -> Path:
        return self.request.getfixturevalue("scripts")

    @property
    def certs(self) -> dict[str, Path]:
        return self.request.getfixturevalue("certs")


# A probe returns the report and how long the section's call itself took.
Probe = Callable[[], Awaitable[tuple[Any, float]]]
Arrange = Callable[[Ctx], contextlib.AbstractAsyncContextManager[Probe]]


async def timed(awaitable: Awaitable[Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = await awaitable
    return result, time.monotonic() - started


def timed_sync(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


@dataclass(frozen=True)
class Row:
    id: str
    arrange: Arrange
    check: str
    status: Status
    cause: str  # the finding's stable cause code (svc_nb.causes)
    timeout: float
    pg: str | None = None  # which cluster's pg_stat_activity to account ("pw" / "tls")
    bug: str | None = None  # a known, reported section bug: the row is xfail(strict) until fixed
    listed: tuple[str, str] | None = None  # (data key, an item its list must hold)


# -- PostgreSQL faults -----------------------------------------------------------------------------


def _pg_ctl(cluster: PostgresCluster, *args: str) -> None:
    _as_postgres(
        [
            str(pg_bin() / "pg_ctl"),
            "-D",
            str(cluster.data),
            "-l",
            str(cluster.base / "log"),
            "-w",
            "-t",
            "30",
            *args,
        ]
    )


@contextlib.asynccontextmanager
async def pg_stopped(ctx: Ctx) -> AsyncIterator[Probe]:
    cluster = ctx.tls
    _pg_ctl(cluster, "-m", "fast", "stop")
    try:
        yield lambda: timed(db.check(cluster.url(query="?ssl=require"), timeout=1.0))
    finally:
        _pg_ctl(cluster, "start")


@contextlib.asynccontextmanager
async def pg_restarted_mid_check(ctx: Ctx) -> AsyncIterator[Probe]:
    """The check waits inside the server's start-up when the server restarts (immediate mode).

    A session holding ACCESS EXCLUSIVE on pg_stat_activity also holds pg_authid and
    pg_database (views lock what they read), so a new login blocks until the restart
    cuts it off: the check is deterministically mid-flight.
    """
    cluster = ctx.tls
    url = cluster.url(query="?ssl=require")

    async def run() -> tuple[Any, float]:
        locker = await asyncpg.connect(cluster.url(query="?sslmode=require"))
        try:
            await locker.execute(
                "BEGIN; LOCK TABLE pg_catalog.pg_stat_activity IN ACCESS EXCLUSIVE MODE"
            )
            started = time.monotonic()
            task = asyncio.create_task(db.check(url, timeout=4.0))
            for _ in range(200):  # until the check waits for the lock
                waiting = await locker.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if waiting or task.done():
                    break
                await asyncio.sleep(0.01)
            restart = asyncio.create_task(
                asyncio.to_thread(_pg_ctl, cluster, "-m", "immediate", "restart")
            )
            report = await task
            elapsed = time.monotonic() - started
            await restart
        finally:
            locker.terminate()
        return report, elapsed

    yield run


@contextlib.asynccontextmanager
async def pg_wrong_password(ctx: Ctx) -> AsyncIterator[Probe]:
    url = ctx.pw.url("postgres", "not-the-password")
    yield lambda: timed(db.check(url, timeout=2.0))


@contextlib.asynccontextmanager
async def pg_tls_client_disabled(ctx: Ctx) -> AsyncIterator[Probe]:
    url = ctx.tls.url(query="?ssl=disable")
    yield lambda: timed(db.check(url, timeout=2.0))


@contextlib.asynccontextmanager
async def pg_tls_server_has_none(ctx: Ctx) -> AsyncIterator[Probe]:
    url = ctx.pw.url("postgres", PG_PASSWORD, query="?ssl=require")
    yield lambda: timed(db.check(url, timeout=2.0))


@contextlib.asynccontextmanager
async def pg_tls_untrusted_cert(ctx: Ctx) -> AsyncIterator[Probe]:
    url = ctx.tls.url(query=f"?ssl=verify-full&sslrootcert={ctx.certs['other_ca']}")
    yield lambda: timed(db.check(url, timeout=2.0))


@contextlib.asynccontextmanager
async def pg_slots_full(ctx: Ctx) -> AsyncIterator[Probe]:
    url = ctx.pw.url("postgres", PG_PASSWORD)
    holders: list[asyncpg.Connection] = []
    try:
        while len(holders) < SLOTS:
            holders.append(
                await asyncpg.connect(url, server_settings={"application_name": "holder"})
            )
        yield lambda: timed(db.check(url, timeout=2.0))
    finally:
        for conn in holders:
            await conn.close()


@contextlib.asynccontextmanager
async def pg_port_silent(ctx: Ctx) -> AsyncIterator[Probe]:
    with Peer("silent") as peer:
        yield lambda: timed(
            db.check(f"postgresql://postgres@127.0.0.1:{peer.port}/db", timeout=1.0)
        )


# -- Redis faults ----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def redis_stopped(ctx: Ctx) -> AsyncIterator[Probe]:
    server = RedisServer().start()
    server.stop()
    yield lambda: timed(cache.check(server.url, timeout=1.0))


@contextlib.asynccontextmanager
async def redis_killed_mid_check(ctx: Ctx) -> AsyncIterator[Probe]:
    """Another client blocks the server (DEBUG SLEEP); it is killed while the check waits."""
    server = RedisServer("--enable-debug-command", "yes").start()

    async def run() -> tuple[Any, float]:
        with socket.create_connection(("127.0.0.1", server.port)) as blocker:
            blocker.sendall(b"DEBUG SLEEP 30\r\n")
            await asyncio.sleep(0.1)
            started = time.monotonic()
            task = asyncio.create_task(cache.check(server.url, timeout=3.0))
            await asyncio.sleep(0.4)
            assert not task.done(), "the check should be waiting on the blocked server"
            server.kill()
            report = await task
            return report, time.monotonic() - started

    try:
        yield run
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def redis_wrong_password(ctx: Ctx) -> AsyncIterator[Probe]:
    with RedisServer("--requirepass", REDIS_PASSWORD) as server:
        url = f"redis://:wrong-{REDIS_PASSWORD}@127.0.0.1:{server.port}/0"
        yield lambda: timed(cache.check(url, timeout=2.0))


@contextlib.asynccontextmanager
async def redis_oom(ctx: Ctx) -> AsyncIterator[Probe]:
    with RedisServer("--maxmemory-policy", "noeviction") as server:
        client = aioredis.from_url(server.url)
        try:
            await client.set("ballast", b"x" * 100_000)
            used = int((await client.info("memory"))["used_memory"])
            await client.config_set("maxmemory", str(used // 2))  # now every write is refused
        finally:
            await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose
        yield lambda: timed(cache.check(server.url, timeout=2.0))


@contextlib.asynccontextmanager
async def redis_port_silent(ctx: Ctx) -> AsyncIterator[Probe]:
    with Peer("silent") as peer:
        yield lambda: timed(cache.check(f"redis://127.0.0.1:{peer.port}/0", timeout=1.0))


# -- HTTP peers (webhook probe) and JWKS -----------------------------------------------------------


@contextlib.asynccontextmanager
async def http_refused(ctx: Ctx) -> AsyncIterator[Probe]:
    yield lambda: timed(probe(f"http://127.0.0.1:{closed_port()}/hook", timeout=1.0))


def _http_peer(kind: str, timeout: float, delay: float = 0.05, **kw: Any) -> Arrange:
    @contextlib.asynccontextmanager
    async def arrange(ctx: Ctx) -> AsyncIterator[Probe]:
        with Peer(kind, delay=delay) as peer:
            yield lambda: timed(probe(peer.url, timeout=timeout, **kw))

    return arrange


def _tls_peer(cert: str) -> Arrange:
    @contextlib.asynccontextmanager
    async def arrange(ctx: Ctx) -> AsyncIterator[Probe]:
        with Peer("tls", cert=ctx.certs[cert], key=ctx.certs[cert + "_key"]) as peer:
            yield lambda: timed(probe(peer.url, timeout=2.0))

    return arrange


_JWKS_TOKEN = jwt.encode({"sub": "fault"}, "k" * 32, algorithm="HS256", headers={"kid": "k1"})


def _jwks(url_of: Callable[[], contextlib.AbstractContextManager[str]], timeout: float) -> Arrange:
    @contextlib.asynccontextmanager
    async def arrange(ctx: Ctx) -> AsyncIterator[Probe]:
        tokens.clear_jwks_cache()
        with url_of() as url:

            async def run() -> tuple[Any, float]:
                return timed_sync(
                    lambda: tokens.inspect(_JWKS_TOKEN, jwks_url=url, timeout=timeout)
                )

            yield run

    return arrange


@contextlib.contextmanager
def _refused_url() -> Iterator[str]:
    yield f"http://127.0.0.1:{closed_port()}/.well-known/jwks.json"


@contextlib.contextmanager
def _peer_url(kind: str) -> Iterator[str]:
    with Peer(kind) as peer:
        yield peer.url


# -- the other sections that talk to a peer: Alembic state, svc-infra's queue, CORS, OAuth provider


def _peer_or_refused(kind: str | None) -> contextlib.AbstractContextManager[int]:
    @contextlib.contextmanager
    def port() -> Iterator[int]:
        if kind is None:
            yield closed_port()
        else:
            with Peer(kind) as peer:
                yield peer.port

    return port()


def _section(call: Callable[[Ctx, int], Awaitable[Any]], kind: str | None) -> Arrange:
    @contextlib.asynccontextmanager
    async def arrange(ctx: Ctx) -> AsyncIterator[Probe]:
        with _peer_or_refused(kind) as port:
            yield lambda: timed(call(ctx, port))

    return arrange


async def _migrations(ctx: Ctx, port: int) -> Report:
    return await migrations.check(
        f"postgresql://postgres@127.0.0.1:{port}/db", script_location=ctx.scripts, timeout=1.0
    )


async def _queue(ctx: Ctx, port: int) -> Report:
    return (await queue_snapshot(f"redis://127.0.0.1:{port}/0", timeout=1.0)).report


async def _cors(ctx: Ctx, port: int) -> Report:
    return await cors.preflight(
        f"http://127.0.0.1:{port}/api", "http://localhost:3000", method="PUT", timeout=1.0
    )


async def _oauth(ctx: Ctx, port: int) -> Report:
    return await oauth.check_provider(f"http://127.0.0.1:{port}", timeout=1.0)


ROWS = [
    # PostgreSQL
    Row("pg-stopped", pg_stopped, "db.tcp", Status.FAIL, "refused", 1.0),
    Row(
        "pg-restarted-mid-check",
        pg_restarted_mid_check,
        "db.auth",
        Status.FAIL,
        "connection_lost",
        4.0,
        pg="tls",
    ),
    Row(
        "pg-wrong-password",
        pg_wrong_password,
        "db.auth",
        Status.FAIL,
        "wrong_password",
        2.0,
        pg="pw",
    ),
    Row(
        "pg-tls-required-client-disabled",
        pg_tls_client_disabled,
        "db.auth",
        Status.FAIL,
        "ssl_required",
        2.0,
        pg="tls",
    ),
    Row(
        "pg-tls-requested-server-has-none",
        pg_tls_server_has_none,
        "db.auth",
        Status.FAIL,
        "server_no_ssl",
        2.0,
        pg="pw",
    ),
    Row(
        "pg-tls-untrusted-certificate",
        pg_tls_untrusted_cert,
        "db.auth",
        Status.FAIL,
        "cert_verify",
        2.0,
        pg="tls",
    ),
    Row(
        "pg-connection-slots-full",
        pg_slots_full,
        "db.auth",
        Status.FAIL,
        "too_many_connections",
        2.0,
        pg="pw",
    ),
    Row("pg-port-never-answers", pg_port_silent, "db.auth", Status.FAIL, "timeout", 1.0),
    # Redis
    Row("redis-stopped", redis_stopped, "cache.connect", Status.FAIL, "refused", 1.0),
    Row(
        "redis-killed-mid-check",
        redis_killed_mid_check,
        "cache.connect",
        Status.FAIL,
        "connection_lost",
        3.0,
    ),
    Row(
        "redis-wrong-password",
        redis_wrong_password,
        "cache.auth",
        Status.FAIL,
        "wrong_password",
        2.0,
    ),
    Row("redis-oom", redis_oom, "cache.write", Status.FAIL, "oom", 2.0),
    Row(
        "redis-port-never-answers", redis_port_silent, "cache.connect", Status.FAIL, "timeout", 1.0
    ),
    # HTTP peers, through the webhook endpoint probe
    Row("http-refused", http_refused, "webhooks.tcp", Status.FAIL, "refused", 1.0),
    Row(
        "http-never-answers",
        _http_peer("silent", 1.0),
        "webhooks.http",
        Status.FAIL,
        "http_timeout",
        1.0,
    ),
    Row(
        "http-slow-byte-by-byte",
        _http_peer("trickle", 1.0),
        "webhooks.http",
        Status.FAIL,
        "http_timeout",
        1.0,
    ),
    # ~100 bytes at 10 ms each: answered in about 1 s, over half of a 1.5 s delivery timeout
    Row(
        "http-slow-within-timeout",
        _http_peer("trickle", 3.0, delay=0.01, delivery_timeout_s=1.5),
        "webhooks.latency",
        Status.WARN,
        "slow",
        3.0,
    ),
    Row(
        "http-closes-mid-response",
        _http_peer("halfclose", 2.0),
        "webhooks.http",
        Status.FAIL,
        "protocol",
        2.0,
    ),
    Row(
        "https-self-signed",
        _tls_peer("self_signed"),
        "webhooks.tls",
        Status.FAIL,
        "self_signed",
        2.0,
    ),
    # an expired self-signed certificate: self-signed is the primary problem, expiry is listed too
    Row(
        "https-expired",
        _tls_peer("expired"),
        "webhooks.tls",
        Status.FAIL,
        "self_signed",
        2.0,
        listed=("problems", "expired"),
    ),
    # Alembic state, svc-infra's Redis queue, CORS preflight, OAuth provider metadata
    Row(
        "migrations-db-down",
        _section(_migrations, None),
        "migrations.database",
        Status.FAIL,
        "connect_failed",
        1.0,
    ),
    Row(
        "migrations-db-never-answers",
        _section(_migrations, "silent"),
        "migrations.database",
        Status.FAIL,
        "timeout",
        1.0,
    ),
    Row(
        "queue-redis-down",
        _section(_queue, None),
        "webhooks.queue.connect",
        Status.FAIL,
        "connect_failed",
        1.0,
    ),
    Row(
        "queue-redis-never-answers",
        _section(_queue, "silent"),
        "webhooks.queue.connect",
        Status.FAIL,
        "timeout",
        1.0,
    ),
    Row(
        "cors-service-down",
        _section(_cors, None),
        "cors.preflight",
        Status.FAIL,
        "connect_failed",
        1.0,
    ),
    Row(
        "cors-never-answers",
        _section(_cors, "silent"),
        "cors.preflight",
        Status.FAIL,
        "timeout",
        1.0,
    ),
    Row(
        "cors-slow-byte-by-byte",
        _section(_cors, "trickle"),
        "cors.preflight",
        Status.FAIL,
        "timeout",
        1.0,
    ),
    Row(
        "cors-closes-mid-response",
        _section(_cors, "halfclose"),
        "cors.preflight",
        Status.FAIL,
        "request_failed",
        1.0,
    ),
    Row(
        "oauth-provider-down",
        _section(_oauth, None),
        "oauth.provider.metadata",
        Status.FAIL,
        "connect_failed",
        1.0,
    ),
    Row(
        "oauth-provider-never-answers",
        _section(_oauth, "silent"),
        "oauth.provider.metadata",
        Status.FAIL,
        "timeout",
        1.0,
    ),
    Row(
        "oauth-provider-slow-byte-by-byte",
        _section(_oauth, "trickle"),
        "oauth.provider.metadata",
        Status.FAIL,
        "timeout",
        1.0,
    ),
    # JWKS endpoint of tokens.inspect
    Row("jwks-down", _jwks(_refused_url, 1.0), "tokens.key", Status.FAIL, "connect_failed", 1.0),
    Row(
        "jwks-never-answers",
        _jwks(lambda: _peer_url("silent"), 1.0),
        "tokens.key",
        Status.FAIL,
        "timeout",
        1.0,
    ),
    Row(
        "jwks-slow-byte-by-byte",
        _jwks(lambda: _peer_url("trickle"), 1.0),
        "tokens.key",
        Status.FAIL,
        "timeout",
        1.0,
    ),
]


# -- accounting ------------------------------------------------------------------------------------


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _fd_targets(fds: set[str]) -> list[str]:
    out = []
    for fd in sorted(fds):
        with contextlib.suppress(OSError):
            out.append(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
    return out


async def settled_fd_leak(before: set[str], wait: float = 1.0) -> list[str]:
    """File descriptors open now that were not before, after a short settle loop."""
    deadline = time.monotonic() + wait
    while True:
        gc.collect()
        extra = open_fds() - before
        if not extra or time.monotonic() > deadline:
            return _fd_targets(extra)
        await asyncio.sleep(0.02)


def pg_sessions(cluster: PostgresCluster) -> tuple[int, int]:
    """(svc_nb sessions, all client sessions) on the cluster, via its Unix socket."""
    out = cluster.psql(
        "SELECT count(*) FILTER (WHERE application_name = 'svc_nb'), count(*) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    ).strip()
    mine, total = out.split("|")
    return int(mine), int(total)


def settled_pg_sessions(cluster: PostgresCluster, baseline: tuple[int, int]) -> tuple[int, int]:
    deadline = time.monotonic() + 3.0
    while True:
        now = pg_sessions(cluster)
        if now == (0, baseline[1]) or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            row,
            id=row.id,
            marks=[pytest.mark.xfail(strict=True, reason=row.bug)] if row.bug else [],
        )
        for row in ROWS
    ],
)
async def test_fault(
    row: Row, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = Ctx(request)
    cluster = getattr(ctx, row.pg) if row.pg else None
    pg_before = pg_sessions(cluster) if cluster is not None else None
    caplog.set_level(logging.ERROR, logger="asyncio")
    threads_before = threading.active_count()
    async with row.arrange(ctx) as run_probe:
        gc.collect()
        fds_before = open_fds()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report, elapsed = await run_probe()
            del run_probe
            leaked_fds = await settled_fd_leak(fds_before)
            gc.collect()

    # 1. the classification the user relies on
    assert isinstance(report, Report), f"{row.id}: got {type(report).__name__}, not a Report"
    finding = report.get(row.check)
    assert finding is not None, f"{row.id}: no {row.check} finding in:\n{report}"
    assert finding.status is row.status, f"{row.id}: {row.check} is {finding.status}:\n{report}"
    assert finding.cause == row.cause, (
        f"{row.id}: cause {finding.cause!r}, expected {row.cause!r}:\n{report}"
    )
    if row.listed:
        key, item = row.listed
        assert item in finding.data.get(key, ()), f"{row.id}: {item!r} not in data[{key!r}]"
    assert finding.fix, f"{row.id}: a failure without a fix"
    # every non-ok finding of the report names a cause of its section's vocabulary
    section = row.check.split(".")[0]
    for other in report:
        if other.status is not Status.OK:
            assert other.cause in causes.codes(section), (
                f"{row.id}: {other.check} cause {other.cause!r}"
            )
    # 2. bounded in time
    assert elapsed <= row.timeout + MARGIN_S, (
        f"{row.id}: took {elapsed:.2f} s (timeout {row.timeout} s)"
    )
    # 3. nothing unclosed, nothing unhandled
    unclosed = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) or "unclosed" in str(w.message).lower()
    ]
    assert not unclosed, f"{row.id}: {unclosed}"
    unhandled = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not unhandled, f"{row.id}: asyncio logged {unhandled}"
    # 4. no connection left open
    assert not leaked_fds, f"{row.id}: file descriptors left open: {leaked_fds}"
    if cluster is not None and pg_before is not None:
        after = settled_pg_sessions(cluster, pg_before)
        assert after == (0, pg_before[1]), (
            f"{row.id}: pg_stat_activity svc_nb/total sessions {after}, before {pg_before}"
        )
    assert threading.active_count() <= threads_before + 1, f"{row.id}: threads left running"


def test_matrix_covers_every_issue_fault() -> None:
    """The matrix names every fault issue 13 lists (a row removed must fail here)."""
    wanted = {
        "pg-stopped",
        "pg-restarted-mid-check",
        "pg-wrong-password",
        "pg-tls-required-client-disabled",
        "pg-connection-slots-full",
        "redis-stopped",
        "redis-killed-mid-check",
        "redis-wrong-password",
        "redis-oom",
        "http-refused",
        "http-never-answers",
        "http-slow-byte-by-byte",
        "http-closes-mid-response",
        "https-self-signed",
        "https-expired",
        "jwks-down",
    }
    assert wanted <= {row.id for row in ROWS}
    assert len({row.id for row in ROWS}) == len(ROWS)
