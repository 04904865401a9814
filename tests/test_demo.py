"""svc_nb.demo: the servers and scratch projects the notebooks use, against real local services."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import asyncpg
import httpx
import pytest

import svc_nb
from svc_nb import Status, demo, migrations
from svc_nb._redact import scrub
from tests._support import LOCAL_PG_URL


def test_import_svc_nb_does_not_import_demo() -> None:
    code = "import sys, svc_nb; print('svc_nb.demo' in sys.modules, 'uvicorn' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


def test_serve_runs_an_app_on_a_free_port_and_stops() -> None:
    first = demo.serve(demo.cors_api(allow_origins=["http://localhost:3000"]))
    with demo.serve(demo.cors_api()) as second:
        assert first.port != second.port and second.url.startswith("http://127.0.0.1:")
        resp = httpx.get(second.url + "/items")
        assert resp.json() == {"items": [], "method": "GET"}
    assert not second.running
    with socket.socket() as probe:  # the port is closed again
        assert probe.connect_ex(("127.0.0.1", second.port)) != 0
    preflight = httpx.options(
        first.url + "/items",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    first.stop()
    first.stop()  # idempotent
    assert "stopped" in repr(first)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0, -1, "5"])
def test_serve_refuses_a_bad_startup_timeout(value: object) -> None:
    with pytest.raises(svc_nb.SvcNbError, match="startup_timeout"):
        demo.serve(demo.cors_api(), startup_timeout=value)  # type: ignore[arg-type]


def test_local_oauth_provider_judges_like_a_real_one() -> None:
    with demo.oauth_provider() as provider:
        meta = httpx.get(provider.url + "/.well-known/openid-configuration").json()
        assert meta["token_endpoint"] == provider.token_endpoint
        assert meta["code_challenge_methods_supported"] == ["S256"]

        def exchange(code: str, verifier: str, **overrides: str) -> httpx.Response:
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": provider.redirect_uri,
                "client_id": provider.client_id,
                "client_secret": provider.client_secret,
                "code_verifier": verifier,
                **overrides,
            }
            return httpx.post(provider.token_endpoint, data=form)

        code, verifier = provider.login()
        assert exchange(code, verifier).json()["token_type"] == "Bearer"
        again = exchange(code, verifier)
        assert again.status_code == 400 and "already been used" in again.json()["error_description"]
        for overrides, error in [
            ({"client_secret": "not-the-secret"}, "invalid_client"),
            ({"code_verifier": "x" * 43}, "invalid_grant"),
            ({"redirect_uri": provider.redirect_uri + "/"}, "invalid_grant"),
        ]:
            code, verifier = provider.login()
            assert exchange(code, verifier, **overrides).json()["error"] == error
        # The random client secret is never shown.
        assert provider.client_secret not in repr(provider)
        assert provider.client_secret not in scrub(f"secret is {provider.client_secret}")


async def test_session_login_stores_state_in_the_svc_session_cookie() -> None:
    app = demo.session_login_app("demo-session-secret-123456")
    state, cookie = await demo.start_login(app, "google")
    assert cookie.startswith("svc_session=") and "max-age=14400" in cookie.lower()
    other_state, _ = await demo.start_login(app, "google")
    assert state != other_state


async def _databases(prefix: str) -> set[str]:
    conn = await asyncpg.connect(LOCAL_PG_URL)
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"
        )
    finally:
        await conn.close()
    return {r[0] for r in rows}


async def test_alembic_project_creates_and_drops_a_scratch_database() -> None:
    sa_url = LOCAL_PG_URL.replace("postgresql://", "postgresql+asyncpg://")
    project = await demo.alembic_project(sa_url, prefix="svcnb_demotest", timeout=5)
    try:
        assert project.database in await _databases("svcnb_demotest")
        assert project.scripts() == ["001_a1.py", "002_b2.py", "003_c3.py"]
        assert project.db_url.startswith("postgresql://") and project.db_url.endswith(
            "/" + project.database
        )
        report = await migrations.check(project.db_url, project.migrations, timeout=5)
        assert report["migrations.version_table"].cause == "never_migrated"
        from alembic import command

        await asyncio.to_thread(command.upgrade, project.config, "head")
        assert (await migrations.check(project.db_url, project.migrations))[
            "migrations.state"
        ].status is Status.OK
        project.write_script(
            4, "d4", "c3", "add price", "op.add_column('things', sa.Column('price', sa.Integer))"
        )
        state = (await migrations.check(project.db_url, project.migrations))["migrations.state"]
        assert state.cause == "pending_revisions" and state.data["pending"] == ["d4"]
    finally:
        await project.drop()
    assert project.database not in await _databases("svcnb_demotest")
    assert not project.workdir.exists()


async def test_alembic_project_refuses_bad_arguments(refused_port: int) -> None:
    with pytest.raises(svc_nb.SvcNbError, match="timeout"):
        await demo.alembic_project(LOCAL_PG_URL, timeout=float("nan"))
    with pytest.raises(demo.DemoError, match="prefix"):
        await demo.alembic_project(LOCAL_PG_URL, prefix='x"; DROP DATABASE test; --')
    with pytest.raises(demo.DemoError, match="cannot create the scratch database"):
        await demo.alembic_project(
            f"postgresql://postgres@127.0.0.1:{refused_port}/test", timeout=1
        )


@pytest.mark.parametrize(("value", "expected"), [("3", 3.0), (" 0.5 ", 0.5), (2, 2.0), (1.5, 1.5)])
def test_timeout_parameter_accepts_numbers(value: object, expected: float) -> None:
    assert demo.timeout_parameter(value) == expected


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "abc", "", None, True])
def test_timeout_parameter_refuses_nan_and_friends(value: object) -> None:
    with pytest.raises(svc_nb.SvcNbError, match="SVC_NB_TIMEOUT"):
        demo.timeout_parameter(value)
