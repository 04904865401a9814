"""svc_nb.db.check / pool_headroom / activity against real PostgreSQL servers.

The machine's PostgreSQL (trust, no TLS) plus two clusters started here: one
with scram-sha-256 password auth and a tiny max_connections, one that accepts
only TLS (hostssl, self-signed certificate). Every case asserts the
classification the user relies on, not just "fail".
"""

from __future__ import annotations

import asyncio
import math
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from svc_nb import Status, SvcNbError
from svc_nb._diagnose import _builders, registered_checks
from svc_nb.db import Activity, DbCause, activity, check, pool_headroom
from svc_nb.db._text import mask_sql_passwords
from tests._support import (
    NOTEBOOKS,
    PG_BIN,
    PostgresCluster,
    SilentServer,
    _as_postgres,
    assert_causes,
    closed_port,
    execute_notebook,
    notebook_text_outputs,
)

PASSWORD = "Scr@m-S3cret/42"  # deliberately full of characters that need encoding
ENCODED = "Scr%40m-S3cret%2F42"
MAX_CONN = 6


@pytest.fixture(scope="module")
def scram() -> Iterator[PostgresCluster]:
    """Password auth (scram-sha-256), a second role without a pg_hba entry, 6 slots."""
    cluster = PostgresCluster(
        hba=[
            "host all postgres 127.0.0.1/32 scram-sha-256",
            "host all app 127.0.0.1/32 scram-sha-256",
        ],
        password=PASSWORD,
        settings={"max_connections": str(MAX_CONN), "superuser_reserved_connections": "0"},
    )
    with cluster:
        cluster.psql(
            "CREATE ROLE app LOGIN PASSWORD 'app-pass-1'; CREATE ROLE nohba LOGIN PASSWORD 'nohba-pass';"
        )
        yield cluster


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PostgresCluster, Path]]:
    """Accepts only TLS connections; yields the cluster and a copy of its certificate."""
    cluster = PostgresCluster(ssl=True, hba=["hostssl all all 127.0.0.1/32 trust"])
    with cluster:
        cert = tmp_path_factory.mktemp("pgtls") / "server.crt"
        shutil.copy(cluster.data / "server.crt", cert)
        yield cluster, cert


def scram_url(
    cluster: PostgresCluster,
    user: str = "postgres",
    password: str | None = ENCODED,
    db: str = "postgres",
    query: str = "",
) -> str:
    return cluster.url(user, password, db, query)


def _statuses(report: object) -> dict[str, str]:
    return {f.check: f.status.value for f in report}  # type: ignore[attr-defined]


def assert_no_leftover(cluster: PostgresCluster) -> None:
    """svc_nb never leaves a connection open (its sessions are named svc_nb)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        left = cluster.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'svc_nb'"
        )
        if left.strip() == "0":
            return
        time.sleep(0.05)
    raise AssertionError(f"svc_nb left {left.strip()} connection(s) open")


# -- healthy ----------------------------------------------------------------------------------


async def test_healthy_local_server(pg_url: str) -> None:
    report = await check(pg_url, timeout=3.0)
    s = _statuses(report)
    assert s["db.tcp"] == s["db.auth"] == s["db.server"] == s["db.capacity"] == "ok"
    server = report["db.server"]
    assert server.data["server_version"] and server.data["latency_ms"] > 0
    assert len(server.data["latency_samples_ms"]) == 3  # the batch's two round trips and one ping
    # the machine's server has no TLS: the check says what that means for svc-infra
    ssl = report["db.ssl"]
    assert (
        ssl.status is Status.WARN
        and "build_engine" in ssl.detail
        and ssl.data["session_ssl"] is False
    )
    assert ssl.cause == DbCause.SERVER_TLS_OFF
    assert_causes(report, DbCause)
    cap = report["db.capacity"]
    assert (
        cap.data["per_process"] == 15 and cap.data["max_connections"] >= cap.data["available"] > 0
    )


async def test_password_auth_healthy_and_masked(scram: PostgresCluster) -> None:
    report = await check(scram_url(scram), timeout=3.0)
    assert report["db.auth"].status is Status.OK
    assert report["db.capacity"].data["max_connections"] == MAX_CONN
    assert PASSWORD not in report.to_json() and ENCODED not in report.to_json()
    assert report["db.url"].data["password"] == "****"
    assert_no_leftover(scram)


async def test_url_from_environment(
    monkeypatch: pytest.MonkeyPatch, clean_env: None, pg_url: str
) -> None:
    monkeypatch.setenv("SQL_URL", pg_url)
    report = await check(timeout=3.0)
    assert (
        report["db.url"].data["source"] == "SQL_URL" and "from SQL_URL" in report["db.url"].summary
    )
    assert report["db.auth"].status is Status.OK


# -- unreachable ------------------------------------------------------------------------------


async def test_refused_port() -> None:
    port = closed_port()
    report = await check(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test", timeout=2.0)
    tcp = report["db.tcp"]
    assert tcp.status is Status.FAIL and "connection refused" in tcp.summary
    assert tcp.cause == DbCause.REFUSED
    assert f"-p {port}" in tcp.fix
    assert report["db.auth"].status is Status.SKIP
    assert report["db.auth"].cause == DbCause.NOT_REACHED
    assert_causes(report, DbCause)


async def test_unusable_url_skips_every_stage() -> None:
    report = await check("mysql://root@127.0.0.1/app", timeout=2.0)
    assert report["db.url"].cause == DbCause.UNSUPPORTED_SCHEME
    for stage in ("db.tcp", "db.auth", "db.server", "db.ssl", "db.capacity"):
        assert report[stage].status is Status.SKIP and report[stage].cause == DbCause.URL_INVALID


async def test_no_url_configured_is_a_skip_with_its_cause() -> None:
    report = await check(environ={}, timeout=1.0)
    assert report["db.url"].status is Status.SKIP and report["db.url"].cause == DbCause.NO_URL


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0, -1.0])
async def test_non_finite_or_non_positive_timeout_is_refused_at_once(bad: float) -> None:
    started = time.monotonic()
    for call in (
        lambda: check("postgresql://postgres@127.0.0.1:5432/test", timeout=bad),
        lambda: pool_headroom("postgresql://postgres@127.0.0.1:5432/test", timeout=bad),
        lambda: activity("postgresql://postgres@127.0.0.1:5432/test", timeout=bad),
    ):
        with pytest.raises(ValueError, match="timeout") as raised:
            await call()
        assert isinstance(raised.value, SvcNbError)
    assert time.monotonic() - started < 0.5  # before any I/O: it used to wait "nan s"


@pytest.mark.parametrize("bad", ["3", None, True])
async def test_timeout_of_the_wrong_type_is_refused(bad: Any) -> None:
    with pytest.raises(TypeError, match="timeout"):
        await check("postgresql://postgres@127.0.0.1:5432/test", timeout=bad)


async def test_other_misuse_raises_svc_nb_errors() -> None:
    with pytest.raises(TypeError, match="url must be a str") as raised:
        await check(b"postgresql://x", timeout=1.0)  # type: ignore[arg-type]
    assert isinstance(raised.value, SvcNbError)
    with pytest.raises(ValueError, match="idle_in_transaction_after"):
        await activity(
            "postgresql://postgres@127.0.0.1:5432/test", idle_in_transaction_after=math.nan
        )
    with pytest.raises(TypeError, match="processes"):
        await pool_headroom("postgresql://postgres@127.0.0.1:5432/test", processes=True)


async def test_environ_is_keyword_only_and_read_by_every_helper(pg_url: str) -> None:
    env = {"DATABASE_URL": pg_url}
    assert (await pool_headroom(environ=env, timeout=3.0))["db.pool"].status is not Status.SKIP
    sessions = await activity(environ=env, timeout=3.0)
    assert sessions.report["db.activity"].status is Status.OK
    assert (await check(environ={}, timeout=1.0))["db.url"].cause == DbCause.NO_URL
    with pytest.raises(TypeError):
        await check(None, 3.0, env)  # type: ignore[misc]


async def test_silent_server_returns_within_timeout(silent_server: SilentServer) -> None:
    timeout = 1.0
    started = time.monotonic()
    report = await check(
        f"postgresql://postgres@127.0.0.1:{silent_server.port}/test", timeout=timeout
    )
    elapsed = time.monotonic() - started
    assert elapsed <= timeout + 0.3, elapsed
    assert report["db.tcp"].status is Status.OK  # it does accept...
    auth = report["db.auth"]  # ...but never speaks PostgreSQL
    assert auth.status is Status.FAIL and auth.cause == DbCause.TIMEOUT
    assert report["db.server"].cause == DbCause.NOT_CONNECTED
    assert_causes(report, DbCause)
    assert "did not complete the start-up" in auth.summary
    assert silent_server.accepted >= 1


async def test_one_dead_host_of_two(pg_url: str) -> None:
    port = closed_port()
    report = await check(f"postgresql://postgres@127.0.0.1:{port},127.0.0.1:5432/test", timeout=3.0)
    tcp = report["db.tcp"]
    assert tcp.status is Status.WARN and "1 of 2 hosts" in tcp.summary
    assert tcp.cause == DbCause.SOME_HOSTS_DOWN
    assert report["db.auth"].status is Status.OK  # only the live host is tried


# -- authentication ---------------------------------------------------------------------------


async def test_wrong_password(scram: PostgresCluster) -> None:
    report = await check(scram_url(scram, password="not-the-password"), timeout=3.0)
    auth = report["db.auth"]
    assert auth.status is Status.FAIL and auth.cause == DbCause.WRONG_PASSWORD
    assert (
        auth.data["sqlstate"] == "28P01" and auth.data["exception_type"] == "InvalidPasswordError"
    )
    assert "password authentication failed" in auth.summary and "ALTER ROLE" in auth.fix
    assert "not-the-password" not in report.to_json()
    assert report["db.server"].status is Status.SKIP
    assert_causes(report, DbCause)


async def test_missing_password(scram: PostgresCluster) -> None:
    auth = (await check(scram_url(scram, password=None), timeout=3.0))["db.auth"]
    assert auth.cause == DbCause.NO_PASSWORD and "has none" in auth.summary


async def test_no_pg_hba_entry(scram: PostgresCluster) -> None:
    auth = (await check(scram_url(scram, user="nohba", password="nohba-pass"), timeout=3.0))[
        "db.auth"
    ]
    assert auth.cause == DbCause.NO_HBA_ENTRY and auth.data["sqlstate"] == "28000"
    assert "pg_hba.conf" in auth.summary and "pg_reload_conf" in auth.fix


async def test_unknown_role(pg_url: str) -> None:
    auth = (await check(pg_url.replace("postgres@", "nosuchrole@"), timeout=3.0))["db.auth"]
    assert auth.cause == DbCause.UNKNOWN_ROLE and "does not exist" in auth.summary
    assert "CREATE ROLE" in auth.fix


async def test_unknown_database(scram: PostgresCluster) -> None:
    auth = (await check(scram_url(scram, db="nosuchdb"), timeout=3.0))["db.auth"]
    assert auth.cause == DbCause.UNKNOWN_DATABASE and auth.data["sqlstate"] == "3D000"
    assert "'nosuchdb' does not exist" in auth.summary and "createdb" in auth.fix


# -- TLS --------------------------------------------------------------------------------------


async def test_tls_required_but_disabled(tls: tuple[PostgresCluster, Path]) -> None:
    cluster, _ = tls
    auth = (await check(cluster.url(query="?ssl=disable"), timeout=3.0))["db.auth"]
    assert auth.cause == DbCause.SSL_REQUIRED
    assert "requires SSL" in auth.summary and "ssl=require" in auth.fix


async def test_tls_session_reported(tls: tuple[PostgresCluster, Path]) -> None:
    cluster, cert = tls
    report = await check(cluster.url(query=f"?ssl=verify-full&sslrootcert={cert}"), timeout=3.0)
    ssl = report["db.ssl"]
    assert ssl.status is Status.OK and ssl.data["session_ssl"] is True
    assert ssl.data["tls_version"].startswith("TLS") and "verified" in ssl.detail
    assert_no_leftover(cluster)


async def test_tls_certificate_not_trusted(tls: tuple[PostgresCluster, Path]) -> None:
    cluster, _ = tls
    system_bundle = "/etc/ssl/certs/ca-certificates.crt"
    auth = (
        await check(cluster.url(query=f"?ssl=verify-ca&sslrootcert={system_bundle}"), timeout=3.0)
    )["db.auth"]
    assert auth.cause == DbCause.CERT_VERIFY and "self-signed" in auth.summary
    assert "sslrootcert" in auth.fix


async def test_tls_verify_without_root_cert(
    tls: tuple[PostgresCluster, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.postgresql/root.crt
    cluster, _ = tls
    auth = (await check(cluster.url(query="?ssl=verify-full"), timeout=3.0))["db.auth"]
    assert auth.cause == DbCause.NO_ROOT_CERT and "sslrootcert=" in auth.fix


async def test_tls_requested_but_server_has_none(pg_url: str) -> None:
    auth = (await check(pg_url + "?ssl=require", timeout=3.0))["db.auth"]
    assert auth.cause == DbCause.SERVER_NO_SSL
    assert "server has none" in auth.summary and "build_engine" in auth.fix


# -- capacity ---------------------------------------------------------------------------------


async def test_pool_headroom_counts_worker_processes(scram: PostgresCluster, pg_url: str) -> None:
    tiny = (await pool_headroom(scram_url(scram), pool_size=2, max_overflow=1, processes=1))[
        "db.pool"
    ]
    assert tiny.status is Status.OK and tiny.data["processes_fit"] == MAX_CONN // 3
    svc_default = (await pool_headroom(scram_url(scram)))["db.pool"]  # 5 + 10 > 6 slots
    assert svc_default.status is Status.WARN and svc_default.data["needed"] == 15
    assert svc_default.cause == DbCause.OVERFLOW_EXCEEDS_CAPACITY
    assert svc_default.data["processes_fit"] == 0 and "overflow" in svc_default.summary
    many = (await pool_headroom(scram_url(scram), processes=4))["db.pool"]
    assert many.status is Status.FAIL and "max_connections" in many.fix
    assert many.cause == DbCause.POOL_EXCEEDS_CAPACITY
    local = (await pool_headroom(pg_url, processes=2))["db.pool"]
    assert local.data["processes_fit"] == local.data["available"] // 15
    with pytest.raises(ValueError, match="processes"):
        await pool_headroom(pg_url, processes=-1)


async def test_too_many_connections_and_activity(scram: PostgresCluster) -> None:
    url = scram_url(scram)
    holders = []
    try:
        # one session idle in a transaction, as a leaking request handler would leave it
        stuck = await asyncpg.connect(url, server_settings={"application_name": "leaky-worker"})
        holders.append(stuck)
        await stuck.execute("BEGIN; SELECT 1")
        await asyncio.sleep(0.3)
        sessions = await activity(url, idle_in_transaction_after=0.1)
        assert isinstance(sessions, Activity)
        frame = sessions.frame
        row = frame[frame["application_name"] == "leaky-worker"].iloc[0]
        assert row["state"] == "idle in transaction" and row["flag"] == "long idle in transaction"
        finding = sessions.report["db.activity"]
        assert finding.status is Status.WARN and finding.cause == DbCause.IDLE_IN_TRANSACTION
        assert int(row["pid"]) in finding.data["flagged_pids"]
        assert "pg_terminate_backend" in finding.fix
        assert list(sessions.flagged["pid"]) == [row["pid"]]
        assert "svc_nb" not in set(frame["application_name"])  # its own session is left out
        # one object, both views: the finding and the sessions table
        bundle = sessions._repr_mimebundle_()
        assert "db.activity" in bundle["text/plain"] and "leaky-worker" in bundle["text/plain"]
        assert "<table" in bundle["text/html"] and "leaky-worker" in bundle["text/html"]
        assert "idle in transaction" in bundle["text/html"]
        # fill every remaining slot
        while len(holders) < MAX_CONN:
            holders.append(await asyncpg.connect(url))
        report = await check(url, timeout=3.0)
        auth = report["db.auth"]
        assert auth.cause == DbCause.TOO_MANY_CONNECTIONS and auth.data["sqlstate"] == "53300"
        assert "too many connections" in auth.summary and "activity" in auth.fix
        full = await activity(url)
        assert full.frame.empty
        assert full.report["db.auth"].cause == DbCause.TOO_MANY_CONNECTIONS
        assert "too many connections" in str(full) and "too many connections" in full._repr_html_()
        headroom = await pool_headroom(url)
        assert headroom["db.auth"].cause == DbCause.TOO_MANY_CONNECTIONS
    finally:
        for conn in holders:
            await conn.close()
    assert_no_leftover(scram)


async def test_activity_masks_passwords_in_session_queries(pg_url: str) -> None:
    secret = "Role-Pw-8c1f2e"
    conn = await asyncpg.connect(pg_url, server_settings={"application_name": "role-admin"})
    try:
        await conn.execute("BEGIN")
        await conn.execute(f"CREATE ROLE svc_nb_activity_probe LOGIN PASSWORD '{secret}'")
        sessions = await activity(pg_url, timeout=3.0)
        row = sessions.frame[sessions.frame["application_name"] == "role-admin"].iloc[0]
        assert "PASSWORD '****'" in row["query"]
        assert secret not in str(sessions) and secret not in sessions._repr_html_()
    finally:
        await conn.execute("ROLLBACK")  # the role is never created
        await conn.close()


@pytest.mark.parametrize(
    ("sql", "masked"),
    [
        ("ALTER ROLE a PASSWORD 'it''s'", "ALTER ROLE a PASSWORD '****'"),
        (
            "create user b with password $$x y$$ valid until 'x'",
            "create user b with password '****' valid until 'x'",
        ),
        ("ALTER ROLE c ENCRYPTED PASSWORD $pw$a$b$pw$;", "ALTER ROLE c ENCRYPTED PASSWORD '****';"),
        ("ALTER ROLE d PASSWORD 'cut off", "ALTER ROLE d PASSWORD '****'"),
        ("SELECT password FROM t", "SELECT password FROM t"),
    ],
)
def test_sql_password_literals_are_masked(sql: str, masked: str) -> None:
    assert mask_sql_passwords(sql) == masked


def test_sql_masking_is_linear() -> None:
    for sql in (
        "password '" + "x" * 1_000_000,
        "password $a" * 100_000,
        "password 'a'' " * 100_000,
        "PASSWORD " * 100_000,
    ):
        started = time.perf_counter()
        mask_sql_passwords(sql)
        assert time.perf_counter() - started < 2.0


# -- server shutting down (must run after the other TLS-cluster tests) -------------------------


async def test_server_shutting_down(tls: tuple[PostgresCluster, Path]) -> None:
    cluster, _ = tls
    held = await asyncpg.connect(cluster.url(query="?sslmode=require"))  # raw asyncpg DSN: sslmode
    try:
        # a smart shutdown waits for sessions to end and refuses new ones meanwhile
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(cluster.data), "-m", "smart", "-W", "stop"])
        auth = None
        for _ in range(40):
            auth = (await check(cluster.url(query="?ssl=require"), timeout=2.0))["db.auth"]
            if auth.status is Status.FAIL:
                break
            await asyncio.sleep(0.05)
        assert auth is not None and auth.cause == DbCause.NOT_READY, auth
        assert auth.data["phase"] == "shutting down" and "shutting down" in auth.summary
    finally:
        await held.close()


# -- diagnose registration --------------------------------------------------------------------


async def test_registered_diagnose_check(pg_url: str) -> None:
    assert "db" in registered_checks()
    _, builder = _builders["db"]
    skipped = await builder({}, 2.0)  # type: ignore[misc]
    f = next(iter(skipped))
    assert f.status is Status.SKIP and "SQL_URL" in f.summary and f.cause == DbCause.NO_URL
    report = await builder({"DATABASE_URL": pg_url}, 2.0)  # type: ignore[misc]
    assert (
        report["db.auth"].status is Status.OK and report["db.url"].data["source"] == "DATABASE_URL"
    )


# -- notebook ---------------------------------------------------------------------------------


@pytest.mark.notebook
def test_notebook_runs_against_local_server(pg_url: str) -> None:
    secret = "Nb-Secret-pw-731"
    nb = execute_notebook(
        NOTEBOOKS / "01_database.ipynb", env={"SQL_URL": pg_url, "SVC_NB_DEMO_PASSWORD": secret}
    )
    text = notebook_text_outputs(nb)
    for expected in (
        "db.url.password",
        "db.url.ssl",
        "db.tcp",
        "db.auth",
        "db.capacity",
        "db.pool",
        "processes_fit",
        "idle in transaction",
        "db.ssl",
        "rejected SSL",
    ):
        assert expected in text, expected
    assert secret not in text
    assert "Traceback" not in text
