"""svc_nb.db.check / pool_headroom / activity against real PostgreSQL servers.

The machine's PostgreSQL (trust, no TLS) plus two clusters started here: one
with scram-sha-256 password auth and a tiny max_connections, one that accepts
only TLS (hostssl, self-signed certificate). Every case asserts the
classification the user relies on, not just "fail".
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from svc_nb import Status
from svc_nb._diagnose import _builders, registered_checks
from svc_nb.db import activity, check, pool_headroom
from tests._support import (
    NOTEBOOKS,
    PG_BIN,
    PostgresCluster,
    SilentServer,
    _as_postgres,
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
        hba=["host all postgres 127.0.0.1/32 scram-sha-256",
             "host all app 127.0.0.1/32 scram-sha-256"],
        password=PASSWORD,
        settings={"max_connections": str(MAX_CONN), "superuser_reserved_connections": "0"},
    )
    with cluster:
        cluster.psql("CREATE ROLE app LOGIN PASSWORD 'app-pass-1'; CREATE ROLE nohba LOGIN PASSWORD 'nohba-pass';")
        yield cluster


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PostgresCluster, Path]]:
    """Accepts only TLS connections; yields the cluster and a copy of its certificate."""
    cluster = PostgresCluster(ssl=True, hba=["hostssl all all 127.0.0.1/32 trust"])
    with cluster:
        cert = tmp_path_factory.mktemp("pgtls") / "server.crt"
        shutil.copy(cluster.data / "server.crt", cert)
        yield cluster, cert


def scram_url(cluster: PostgresCluster, user: str = "postgres", password: str | None = ENCODED,
              db: str = "postgres", query: str = "") -> str:
    return cluster.url(user, password, db, query)


def _statuses(report: object) -> dict[str, str]:
    return {f.check: f.status.value for f in report}  # type: ignore[attr-defined]


def assert_no_leftover(cluster: PostgresCluster) -> None:
    """svc_nb never leaves a connection open (its sessions are named svc_nb)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        left = cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'svc_nb'")
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
    assert len(server.data["latency_samples_ms"]) == 5
    # the machine's server has no TLS: the check says what that means for svc-infra
    ssl = report["db.ssl"]
    assert ssl.status is Status.WARN and "build_engine" in ssl.detail and ssl.data["session_ssl"] is False
    cap = report["db.capacity"]
    assert cap.data["per_process"] == 15 and cap.data["max_connections"] >= cap.data["available"] > 0


async def test_password_auth_healthy_and_masked(scram: PostgresCluster) -> None:
    report = await check(scram_url(scram), timeout=3.0)
    assert report["db.auth"].status is Status.OK
    assert report["db.capacity"].data["max_connections"] == MAX_CONN
    assert PASSWORD not in report.to_json() and ENCODED not in report.to_json()
    assert report["db.url"].data["password"] == "****"
    assert_no_leftover(scram)


async def test_url_from_environment(monkeypatch: pytest.MonkeyPatch, clean_env: None, pg_url: str) -> None:
    monkeypatch.setenv("SQL_URL", pg_url)
    report = await check(timeout=3.0)
    assert report["db.url"].data["source"] == "SQL_URL" and "from SQL_URL" in report["db.url"].summary
    assert report["db.auth"].status is Status.OK


# -- unreachable ------------------------------------------------------------------------------


async def test_refused_port() -> None:
    port = closed_port()
    report = await check(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test", timeout=2.0)
    tcp = report["db.tcp"]
    assert tcp.status is Status.FAIL and "connection refused" in tcp.summary
    assert f"-p {port}" in tcp.fix
    assert report["db.auth"].status is Status.SKIP


async def test_silent_server_returns_within_timeout(silent_server: SilentServer) -> None:
    timeout = 1.0
    started = time.monotonic()
    report = await check(f"postgresql://postgres@127.0.0.1:{silent_server.port}/test", timeout=timeout)
    elapsed = time.monotonic() - started
    assert elapsed <= timeout + 0.3, elapsed
    assert report["db.tcp"].status is Status.OK  # it does accept...
    auth = report["db.auth"]  # ...but never speaks PostgreSQL
    assert auth.status is Status.FAIL and auth.data["cause"] == "no_answer"
    assert "did not complete the start-up" in auth.summary
    assert silent_server.accepted >= 1


async def test_one_dead_host_of_two(pg_url: str) -> None:
    port = closed_port()
    report = await check(f"postgresql://postgres@127.0.0.1:{port},127.0.0.1:5432/test", timeout=3.0)
    tcp = report["db.tcp"]
    assert tcp.status is Status.WARN and "1 of 2 hosts" in tcp.summary
    assert report["db.auth"].status is Status.OK  # only the live host is tried


# -- authentication ---------------------------------------------------------------------------


async def test_wrong_password(scram: PostgresCluster) -> None:
    report = await check(scram_url(scram, password="not-the-password"), timeout=3.0)
    auth = report["db.auth"]
    assert auth.status is Status.FAIL and auth.data["cause"] == "wrong_password"
    assert auth.data["sqlstate"] == "28P01"
    assert "password authentication failed" in auth.summary and "ALTER ROLE" in auth.fix
    assert "not-the-password" not in report.to_json()
    assert report["db.server"].status is Status.SKIP


async def test_missing_password(scram: PostgresCluster) -> None:
    auth = (await check(scram_url(scram, password=None), timeout=3.0))["db.auth"]
    assert auth.data["cause"] == "no_password" and "has none" in auth.summary


async def test_no_pg_hba_entry(scram: PostgresCluster) -> None:
    auth = (await check(scram_url(scram, user="nohba", password="nohba-pass"), timeout=3.0))["db.auth"]
    assert auth.data["cause"] == "no_hba_entry" and auth.data["sqlstate"] == "28000"
    assert "pg_hba.conf" in auth.summary and "pg_reload_conf" in auth.fix


async def test_unknown_role(pg_url: str) -> None:
    auth = (await check(pg_url.replace("postgres@", "nosuchrole@"), timeout=3.0))["db.auth"]
    assert auth.data["cause"] == "unknown_role" and "does not exist" in auth.summary
    assert "CREATE ROLE" in auth.fix


async def test_unknown_database(scram: PostgresCluster) -> None:
    auth = (await check(scram_url(scram, db="nosuchdb"), timeout=3.0))["db.auth"]
    assert auth.data["cause"] == "unknown_database" and auth.data["sqlstate"] == "3D000"
    assert "'nosuchdb' does not exist" in auth.summary and "createdb" in auth.fix


# -- TLS --------------------------------------------------------------------------------------


async def test_tls_required_but_disabled(tls: tuple[PostgresCluster, Path]) -> None:
    cluster, _ = tls
    auth = (await check(cluster.url(query="?ssl=disable"), timeout=3.0))["db.auth"]
    assert auth.data["cause"] == "ssl_required"
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
    auth = (await check(cluster.url(query=f"?ssl=verify-ca&sslrootcert={system_bundle}"), timeout=3.0))["db.auth"]
    assert auth.data["cause"] == "cert_verify" and "self-signed" in auth.summary
    assert "sslrootcert" in auth.fix


async def test_tls_verify_without_root_cert(tls: tuple[PostgresCluster, Path], monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.postgresql/root.crt
    cluster, _ = tls
    auth = (await check(cluster.url(query="?ssl=verify-full"), timeout=3.0))["db.auth"]
    assert auth.data["cause"] == "no_root_cert" and "sslrootcert=" in auth.fix


async def test_tls_requested_but_server_has_none(pg_url: str) -> None:
    auth = (await check(pg_url + "?ssl=require", timeout=3.0))["db.auth"]
    assert auth.data["cause"] == "server_no_ssl"
    assert "server has none" in auth.summary and "build_engine" in auth.fix


# -- capacity ---------------------------------------------------------------------------------


async def test_pool_headroom_counts_worker_processes(scram: PostgresCluster, pg_url: str) -> None:
    tiny = (await pool_headroom(scram_url(scram), pool_size=2, max_overflow=1, processes=1))["db.pool"]
    assert tiny.status is Status.OK and tiny.data["processes_fit"] == MAX_CONN // 3
    svc_default = (await pool_headroom(scram_url(scram)))["db.pool"]  # 5 + 10 > 6 slots
    assert svc_default.status is Status.WARN and svc_default.data["needed"] == 15
    assert svc_default.data["processes_fit"] == 0 and "overflow" in svc_default.summary
    many = (await pool_headroom(scram_url(scram), processes=4))["db.pool"]
    assert many.status is Status.FAIL and "max_connections" in many.fix
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
        frame = await activity(url, idle_in_transaction_after=0.1)
        row = frame[frame["application_name"] == "leaky-worker"].iloc[0]
        assert row["state"] == "idle in transaction" and row["flag"] == "long idle in transaction"
        report = frame.attrs["report"]
        assert report["db.activity"].status is Status.WARN
        assert int(row["pid"]) in report["db.activity"].data["flagged_pids"]
        assert "pg_terminate_backend" in report["db.activity"].fix
        assert "svc_nb" not in set(frame["application_name"])  # its own session is left out
        # fill every remaining slot
        while len(holders) < MAX_CONN:
            holders.append(await asyncpg.connect(url))
        report = await check(url, timeout=3.0)
        auth = report["db.auth"]
        assert auth.data["cause"] == "too_many_connections" and auth.data["sqlstate"] == "53300"
        assert "too many connections" in auth.summary and "activity" in auth.fix
        full = await activity(url)
        assert full.empty and full.attrs["report"]["db.auth"].data["cause"] == "too_many_connections"
    finally:
        for conn in holders:
            await conn.close()
    assert_no_leftover(scram)


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
        assert auth is not None and auth.data["cause"] == "not_ready", auth
        assert auth.data["phase"] == "shutting down" and "shutting down" in auth.summary
    finally:
        await held.close()


# -- diagnose registration --------------------------------------------------------------------


async def test_registered_diagnose_check(pg_url: str) -> None:
    assert "db" in registered_checks()
    _, builder = _builders["db"]
    skipped = await builder({}, 2.0)  # type: ignore[misc]
    f = next(iter(skipped))
    assert f.status is Status.SKIP and "SQL_URL" in f.summary
    report = await builder({"DATABASE_URL": pg_url}, 2.0)  # type: ignore[misc]
    assert report["db.auth"].status is Status.OK and report["db.url"].data["source"] == "DATABASE_URL"


# -- notebook ---------------------------------------------------------------------------------


@pytest.mark.notebook
def test_notebook_runs_against_local_server(pg_url: str) -> None:
    secret = "Nb-Secret-pw-731"
    nb = execute_notebook(NOTEBOOKS / "01_database.ipynb",
                          env={"SQL_URL": pg_url, "SVC_NB_DEMO_PASSWORD": secret})
    text = notebook_text_outputs(nb)
    for expected in ("db.url.password", "db.url.ssl", "db.tcp", "db.auth", "db.capacity",
                     "db.pool", "processes_fit", "idle in transaction", "db.ssl", "rejected SSL"):
        assert expected in text, expected
    assert secret not in text
    assert "Traceback" not in text
