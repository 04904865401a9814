"""svc_nb.service against real svc-infra 1.22.2 apps, built with svc-infra's own helpers.

One app per fault (easy_service_app + add_security + add_auth_users with a GitHub
provider, via svc_nb.demo.service_app), each checked in process and over HTTP
(uvicorn on loopback), then fixed. Bad input gives a finding, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("svc_infra")

from svc_nb import ArgumentValueError, Report, Status, causes, diagnose, service
from svc_nb.demo import serve
from svc_nb.demo._service_app import DEMO_ORIGIN, WEBHOOK_PATH, service_app
from svc_nb.webhooks import Receiver
from tests._support import LOCAL_PG_URL, closed_port

REGISTERED = ["https://api.example.com/auth/oauth/github/callback"]
WEBHOOK_SECRET = "demo-webhook-secret"
CONTRACT = (
    "service.startup",
    "service.health",
    "service.cors",
    "service.cors.errors",
    "service.oauth.redirect_uri",
    "service.session_cookie",
    "service.auth",
)


def _verdict(report: Report, check: str) -> tuple[Status, str | None]:
    finding = report.get(check)
    assert finding is not None, f"no {check} in:\n{report}"
    return finding.status, finding.cause


def _assert_vocabulary(report: Report) -> None:
    """Every non-ok finding names a cause of the service vocabulary, and has a fix."""
    known = causes.codes("service") if "service" in causes.SECTIONS else None
    for finding in report:
        if finding.status is Status.OK:
            continue
        assert finding.cause, finding
        assert finding.cause in {c.value for c in service.ServiceCause} | {
            "timeout",
            "connect_failed",
            "tls_failed",
            "request_failed",
        }, finding
        if known is not None:
            assert finding.cause in known
        if finding.status is Status.FAIL:
            assert finding.fix, finding


def check(target: Any, **kwargs: Any) -> Report:
    report = asyncio.run(service.check(target, **kwargs))
    _assert_vocabulary(report)
    return report


@contextlib.contextmanager
def uvicorn_server(app: Any, **config: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, with uvicorn options (e.g. proxy_headers)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


# -- a healthy app, then one app per fault ------------------------------------------------------


def test_a_well_configured_app_passes_every_check() -> None:
    report = check(service_app(trust_proxy=True), redirect_uris=REGISTERED)
    assert report.checks[:4] == list(CONTRACT[:4])
    assert set(CONTRACT) <= set(report.checks)
    for check_id in CONTRACT[:5]:
        assert report[check_id].status is Status.OK, report
    # Behind the TLS proxy svc-infra's session cookie lacks Secure: right, but worth a warning.
    assert _verdict(report, "service.session_cookie") == (Status.WARN, "cookie_not_secure")
    # No AUTH_JWT__SECRET here: svc-infra signs with its public development secret.
    assert _verdict(report, "service.auth") == (Status.WARN, "dev_secret")
    assert report["service.auth"].data["aud"] == ["fastapi-users:auth"]
    assert report["service.auth"].data["lifetime"] == "7 days"


@pytest.mark.slow
def test_wildcard_origin_with_credentials() -> None:
    for app in (service_app(origins=("*",)), service_app(cors="easy_service_app", origins=("*",))):
        report = check(app)
        assert _verdict(report, "service.cors") == (Status.FAIL, "wildcard_with_credentials")
        assert report["service.cors"].data["foreign_origin"].startswith("https://")
        wiring = service.inspect(app)
        assert _verdict(wiring, "service.cors.config") == (Status.FAIL, "wildcard_with_credentials")
    fixed = check(service_app(origins=(DEMO_ORIGIN,)))
    assert fixed["service.cors"].status is Status.OK


def test_origin_with_a_trailing_slash() -> None:
    app = service_app(origins=(DEMO_ORIGIN + "/",))
    report = check(app)
    assert _verdict(report, "service.cors") == (Status.FAIL, "bad_origin")
    assert "trailing slash" in report["service.cors"].summary
    assert DEMO_ORIGIN in report["service.cors"].fix
    assert _verdict(report, "service.cors.errors") == (Status.SKIP, "origin_not_allowed")
    assert _verdict(service.inspect(app), "service.cors.config") == (Status.FAIL, "bad_origin")
    # The same origin passed by hand is refused with the same cause, before any request.
    given = check(service_app(), origin=DEMO_ORIGIN + "/")
    assert _verdict(given, "service.cors") == (Status.FAIL, "bad_origin")


def test_cors_headers_missing_on_a_500() -> None:
    app = service_app(cors="easy_service_app")
    report = check(app)
    assert report["service.cors"].status is Status.OK  # the normal answer is fine ...
    assert _verdict(report, "service.cors.errors") == (
        Status.FAIL,
        "missing_on_error",
    )  # ... a 500 is not
    errors = report["service.cors.errors"]
    assert {"status_code": 500, "cors_headers": False} in errors.data["answers"]
    assert "add_security" in errors.fix
    assert _verdict(service.inspect(app), "service.cors.config") == (
        Status.WARN,
        "missing_on_error",
    )
    # The route svc_nb added to raise is gone again.
    assert not any("__svc_nb" in r.path for r in service.inspect(app)._routes)
    fixed = check(service_app(cors="add_security"))
    assert fixed["service.cors.errors"].status is Status.OK
    assert {"status_code": 500, "cors_headers": True} in fixed["service.cors.errors"].data[
        "answers"
    ]


def test_two_cors_middlewares() -> None:
    wiring = service.inspect(service_app(cors="both"))
    assert _verdict(wiring, "service.cors.config") == (Status.WARN, "duplicate_cors")
    frame = wiring.middleware
    assert list(frame.columns) == ["position", "app", "middleware", "source", "config"]
    assert (frame["middleware"] == "CORSMiddleware").sum() == 2


@pytest.mark.slow
def test_http_redirect_uri_behind_a_tls_proxy() -> None:
    report = check(service_app(), redirect_uris=REGISTERED)
    finding = report["service.oauth.redirect_uri"]
    # In process the app server's flags are unknown: it works only if uvicorn trusts the proxy.
    assert (finding.status, finding.cause) == (Status.WARN, "scheme_downgraded")
    assert "forwarded-allow-ips" in finding.fix
    observed = {o["as"]: o["redirect_uri"] for o in finding.data["observed"]}
    assert observed["behind a TLS proxy"] == "http://api.example.com/auth/oauth/github/callback"
    assert (
        "https://api.example.com"
        in observed["behind a TLS proxy, uvicorn trusting it (--proxy-headers)"]
    )
    fixed = check(service_app(trust_proxy=True), redirect_uris=REGISTERED)
    assert fixed["service.oauth.redirect_uri"].status is Status.OK
    # Without a registration to compare with, the http:// callback is still named.
    unregistered = check(service_app())
    assert "http://api.example.com" in unregistered["service.oauth.redirect_uri"].detail


def test_localhost_vs_127_0_0_1_loses_the_session_cookie() -> None:
    report = check(
        service_app(), redirect_uris=["http://localhost:8000/auth/oauth/github/callback"]
    )
    assert _verdict(report, "service.oauth.redirect_uri") == (Status.FAIL, "loopback_host_differs")
    assert _verdict(report, "service.session_cookie") == (Status.FAIL, "cookie_host_mismatch")
    assert "invalid_state" in report["service.session_cookie"].detail


@pytest.mark.slow
def test_secure_cookie_over_http() -> None:
    report = check(service_app(secure_cookie=True))
    assert _verdict(report, "service.session_cookie") == (Status.FAIL, "secure_cookie_over_http")
    assert "invalid_state" in report["service.session_cookie"].detail
    assert check(service_app())["service.session_cookie"].status is Status.OK
    # Served over https (behind the proxy) the same cookie is right.
    behind = check(service_app(secure_cookie=True, trust_proxy=True), redirect_uris=REGISTERED)
    assert behind["service.session_cookie"].status is Status.OK


def test_startup_failure_is_classified_like_the_rehearsal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SVC_NB_TEST_SQL_URL", raising=False)
    report = check(service_app(database_env="SVC_NB_TEST_SQL_URL"))
    assert _verdict(report, "service.startup") == (Status.FAIL, "missing_env_var")
    assert "SVC_NB_TEST_SQL_URL" in report["service.startup"].summary
    assert "traceback" in report["service.startup"].data
    for check_id in CONTRACT[1:]:
        assert _verdict(report, check_id) == (Status.SKIP, "not_started")
    # A dependency, not the app: Redis down makes svc-infra's add_cache fail fast.
    redis_down = check(service_app(cache_url=f"redis://127.0.0.1:{closed_port()}/0"))
    assert _verdict(redis_down, "service.startup") == (Status.FAIL, "cache_unreachable")
    assert "dependency" in redis_down["service.startup"].detail


def _failing_startup(hook: Any) -> Any:
    """A Starlette app whose lifespan start-up runs ``hook`` (a real dependency call)."""
    from starlette.applications import Starlette

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        await hook()
        yield

    return Starlette(lifespan=lifespan)


def test_startup_failures_name_config_or_dependency() -> None:
    import asyncpg
    from pydantic import BaseModel
    from svc_infra.app.env import require_secret

    async def secret() -> None:
        require_secret(None, "SESSION_SECRET", environments=("local", "dev", "test", "prod"))

    async def settings() -> None:
        class Settings(BaseModel):
            port: int

        Settings(port="not-a-port")  # type: ignore[arg-type]

    async def db_refused() -> None:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{closed_port()}/test", timeout=2)

    async def db_missing() -> None:
        await asyncpg.connect(LOCAL_PG_URL.rsplit("/", 1)[0] + "/svcnb_no_such_db", timeout=2)

    async def redis_refused() -> None:
        import redis.asyncio as redis

        client = redis.Redis(port=closed_port())
        try:
            await client.ping()
        finally:
            await client.aclose()

    expected = {
        secret: "secret_required",
        settings: "settings_rejected",
        db_refused: "db_unreachable",
        db_missing: "db_missing",
        redis_refused: "cache_unreachable",
    }
    for hook, cause in expected.items():
        report = check(_failing_startup(hook), timeout=5)
        assert _verdict(report, "service.startup") == (Status.FAIL, cause), report


def test_webhook_handler_that_verifies_raw_bytes(svc_infra_deliveries: Receiver) -> None:
    raw = asyncio.run(
        service.replay(service_app(webhook="raw"), svc_infra_deliveries, path=WEBHOOK_PATH)
    )
    _assert_vocabulary(raw)
    assert _verdict(raw, "service.replay") == (Status.FAIL, "raw_body_verification")
    assert raw["service.replay"].data == {
        "sent": 2,
        "accepted": 0,
        "path": WEBHOOK_PATH,
        "unreadable": 0,
    }
    assert "canonical_json" in raw["service.replay"].fix
    good = asyncio.run(
        service.replay(service_app(webhook="canonical"), svc_infra_deliveries, path=WEBHOOK_PATH)
    )
    assert good["service.replay"].status is Status.OK
    # Re-signed with another secret than the app's: the signature is valid, the app says no.
    other = asyncio.run(
        service.replay(
            service_app(webhook="canonical"),
            svc_infra_deliveries,
            path=WEBHOOK_PATH,
            secret="other",
        )
    )
    assert _verdict(other, "service.replay") == (Status.FAIL, "valid_signature_rejected")
    assert "other" not in str(other).replace("another", "")


def test_replay_sources_and_wrong_path(svc_infra_deliveries: Receiver, tmp_path: Path) -> None:
    import json

    lines = tmp_path / "deliveries.jsonl"
    rows = [{"headers": r.headers, "body": r.body.decode()} for r in svc_infra_deliveries.requests]
    lines.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    from_file = asyncio.run(service.replay(service_app(), lines, path=WEBHOOK_PATH))
    assert from_file["service.replay"].status is Status.OK
    assert from_file["service.replay"].data["unreadable"] == 1
    # A bare svc-infra event is sent as svc-infra sends it, signed with the secret.
    event = {
        "topic": "t",
        "payload": {"b": 1, "a": 2},
        "version": 1,
        "created_at": "2024-01-01T00:00:00Z",
    }
    raw_app = service_app(webhook="raw")
    as_sent = asyncio.run(
        service.replay(raw_app, [event], path=WEBHOOK_PATH, secret=WEBHOOK_SECRET)
    )
    assert _verdict(as_sent, "service.replay") == (Status.FAIL, "raw_body_verification")
    wrong = asyncio.run(service.replay(service_app(), svc_infra_deliveries, path="/nope"))
    assert _verdict(wrong, "service.replay") == (Status.FAIL, "route_not_found")
    frame = asyncio.run(
        service.replay(service_app(), svc_infra_deliveries.received, path=WEBHOOK_PATH)
    )
    assert _verdict(frame, "service.replay") == (Status.FAIL, "no_body")
    empty = asyncio.run(service.replay(service_app(), [], path=WEBHOOK_PATH))
    assert _verdict(empty, "service.replay") == (Status.SKIP, "no_deliveries")


# -- every check against a real server over HTTP -----------------------------------------------


@pytest.mark.slow
def test_over_http_each_fault_and_its_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(service_app(cors="easy_service_app", secure_cookie=True)) as bad:
        local = [f"{bad.url}/auth/oauth/github/callback"]  # registered for local development
        report = check(
            bad.url, origin=DEMO_ORIGIN, error_path="/items/missing", redirect_uris=local
        )
    # Only what a client sees: start-up and the JWT are skipped, and say why.
    assert _verdict(report, "service.startup") == (Status.SKIP, "not_in_process")
    assert _verdict(report, "service.auth") == (Status.SKIP, "not_in_process")
    assert report["service.health"].status is Status.OK
    assert report["service.cors"].status is Status.OK
    assert _verdict(report, "service.cors.errors") == (Status.FAIL, "missing_on_error")
    assert _verdict(report, "service.session_cookie") == (Status.FAIL, "secure_cookie_over_http")
    with serve(service_app()) as good:
        local = [f"{good.url}/auth/oauth/github/callback"]
        fixed = check(
            good.url, origin=DEMO_ORIGIN, error_path="/items/missing", redirect_uris=local
        )
        unknown = check(good.url)
    assert _verdict(unknown, "service.oauth.redirect_uri") == (Status.SKIP, "no_provider")
    assert "redirect_uris" in unknown["service.oauth.redirect_uri"].detail
    for check_id in CONTRACT[1:6]:
        assert fixed[check_id].status is Status.OK, fixed

    with serve(service_app(origins=("*",))) as wildcard:
        assert _verdict(check(wildcard.url, origin=DEMO_ORIGIN), "service.cors") == (
            Status.FAIL,
            "wildcard_with_credentials",
        )
    # Over HTTP the configured origins are the service's environment.
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", DEMO_ORIGIN + "/")
    with serve(service_app(origins=(DEMO_ORIGIN + "/",))) as slash:
        assert _verdict(check(slash.url), "service.cors") == (Status.FAIL, "bad_origin")


@pytest.mark.slow
def test_over_http_redirect_uri_follows_uvicorns_proxy_headers() -> None:
    with uvicorn_server(service_app(), proxy_headers=False) as url:
        report = check(url, redirect_uris=REGISTERED)
    assert _verdict(report, "service.oauth.redirect_uri") == (Status.FAIL, "scheme_downgraded")
    assert "proxy-headers" in report["service.oauth.redirect_uri"].fix
    # uvicorn's default trusts proxy headers from 127.0.0.1, where this check connects from.
    with uvicorn_server(service_app(), proxy_headers=True, forwarded_allow_ips="127.0.0.1") as url:
        assert (
            check(url, redirect_uris=REGISTERED)["service.oauth.redirect_uri"].status is Status.OK
        )


@pytest.mark.slow
def test_over_http_replay(svc_infra_deliveries: Receiver) -> None:
    with serve(service_app(webhook="raw")) as server:
        report = asyncio.run(service.replay(server.url, svc_infra_deliveries, path=WEBHOOK_PATH))
    assert _verdict(report, "service.replay") == (Status.FAIL, "raw_body_verification")


@pytest.mark.slow
def test_auth_with_a_scratch_user(monkeypatch: pytest.MonkeyPatch) -> None:
    database = asyncio.run(_scratch_database())
    try:
        monkeypatch.setenv("SVC_NB_TEST_SQL_URL", database)
        report = check(
            service_app(database_env="SVC_NB_TEST_SQL_URL"), create_user=True, timeout=20
        )
        finding = report["service.auth"]
        assert (finding.status, finding.cause) == (Status.WARN, "dev_secret"), report
        assert finding.data["source"] == "the login route, for a scratch user"
        assert finding.data["signed_with"].startswith("svc-infra dev default")
        with serve(service_app(database_env="SVC_NB_TEST_SQL_URL")) as server:
            over_http = check(server.url, create_user=True, timeout=20)
        assert over_http["service.auth"].data["source"] == "the login route, for a scratch user"
    finally:
        asyncio.run(_drop_database(database))


def test_auth_reports_the_secret_that_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "test-jwt-" + secrets.token_urlsafe(32)
    monkeypatch.setenv("AUTH_JWT_SECRET", secret)
    report = check(service_app())
    finding = report["service.auth"]
    assert finding.status is Status.OK, report
    assert finding.data["signed_with"] == "AUTH_JWT_SECRET"
    assert secret not in str(report) and secret not in str(report.to_dict())


# -- bad input: a finding, never a traceback ---------------------------------------------------


def test_an_import_string_that_does_not_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = check("no_such_package_svcnb.main:app")
    assert _verdict(report, "service.target") == (Status.FAIL, "import_failed")
    assert set(CONTRACT) <= set(report.checks)
    # A module whose own import fails is classified: here a dependency that is not installed.
    (tmp_path / "svcnb_broken_app.py").write_text("import no_such_dependency_svcnb\napp = None\n")
    (tmp_path / "svcnb_raising_app.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = check("svcnb_broken_app:app")
    assert _verdict(broken, "service.target") == (Status.FAIL, "module_missing")
    assert "pip install no-such-dependency-svcnb" in broken["service.target"].fix
    raising = check("svcnb_raising_app:app")
    assert _verdict(raising, "service.target") == (Status.FAIL, "import_failed")
    assert "boom at import" in raising["service.target"].summary


def _import_threads(module: str) -> int:
    """How many of svc_nb's import threads are importing ``module``."""
    return sum(t.name == f"svc_nb-import-{module}" for t in threading.enumerate())


def test_an_import_that_hangs_costs_the_timeout_not_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module that waits at import (a connection to a silent host) is bounded like a probe."""
    release = tmp_path / "release"
    (tmp_path / "svcnb_hanging_import.py").write_text(
        "import pathlib, time\n"
        f"while not pathlib.Path({str(release)!r}).exists():\n"
        "    time.sleep(0.02)\n"
        "from starlette.applications import Starlette\n"
        "app = Starlette()\n"
    )
    (tmp_path / "svcnb_signal_import.py").write_text(
        "import signal\nsignal.signal(signal.SIGUSR1, signal.SIG_IGN)\n"
        "from starlette.applications import Starlette\napp = Starlette()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        started = time.perf_counter()
        report = check("svcnb_hanging_import:app", timeout=0.5)
        assert time.perf_counter() - started < 3
        target = report["service.target"]
        assert _verdict(report, "service.target") == (Status.FAIL, "import_timeout")
        assert "svcnb_hanging_import" in target.summary and "earlier call" not in target.summary
        assert "lifespan, not at import" in target.fix
        assert "half-imported" in target.detail  # honest: the import goes on
        # Later calls wait on that same import (no second thread queued on its lock), say
        # so, and are bounded too: a target padded past the length limit with spaces as well.
        started = time.perf_counter()
        inspected = service.inspect("svcnb_hanging_import:app", timeout=0.5)
        padded = service.inspect(" " * 3000 + "svcnb_hanging_import:app", timeout=0.5)
        assert time.perf_counter() - started < 4
        for later in (inspected, padded):
            assert _verdict(later, "service.target") == (Status.FAIL, "import_timeout")
            assert "since an earlier call" in later["service.target"].summary
            assert later["service.target"].data["running_s"] >= 0.5
        assert _import_threads("svcnb_hanging_import") == 1
        with pytest.raises(ArgumentValueError):
            service.inspect("svcnb_hanging_import:app", timeout=math.inf)
    finally:
        release.touch()  # the background import finishes and the thread ends
    # Once it has finished, the module is used as imported.
    deadline = time.monotonic() + 10
    while _import_threads("svcnb_hanging_import") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _import_threads("svcnb_hanging_import") == 0
    assert _verdict(service.inspect("svcnb_hanging_import:app"), "service.features")[0] is (
        Status.OK
    )
    # A module that must import in the main thread (signal handlers) still imports.
    assert _verdict(service.inspect("svcnb_signal_import:app"), "service.features")[0] is Status.OK


def test_an_import_string_finds_a_module_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As uvicorn's --app-dir .: the folder svc_nb runs in is searched, by the import thread too."""
    name = f"svcnb_cwd_app_{secrets.token_hex(3)}"
    (tmp_path / f"{name}.py").write_text(
        "from starlette.applications import Starlette\napp = Starlette()\n"
    )
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path) not in sys.path
    inspected = service.inspect(f"{name}:app", timeout=10.0)
    assert _verdict(inspected, "service.features")[0] is Status.OK, inspected


def test_the_doctor_shares_its_timeout_between_the_import_and_the_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """diagnose() cancels a check at its timeout: a slow import leaves the start-up the rest,
    and the report says the start-up timed out instead of the bare "service did not finish"."""
    name = f"svcnb_slow_app_{secrets.token_hex(3)}"
    source = """
        import asyncio, contextlib, time
        from starlette.applications import Starlette

        time.sleep(1.2)  # a slow import

        @contextlib.asynccontextmanager
        async def lifespan(app):
            await asyncio.sleep(30)  # a start-up that waits on a silent dependency
            yield

        app = Starlette(lifespan=lifespan)
    """
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    env = {"PATH": os.environ.get("PATH", ""), "SVC_NB_APP": f"{name}:app"}
    started = time.perf_counter()
    report = asyncio.run(diagnose(environ=env, timeout=2.0))
    assert time.perf_counter() - started < 4
    assert _verdict(report, "service.startup") == (Status.FAIL, "startup_timeout"), report
    assert "service" not in report.checks  # not the guard's "did not finish"


def test_an_attribute_that_is_not_an_asgi_app() -> None:
    assert _verdict(check("json:dumps"), "service.target") == (Status.FAIL, "not_asgi")
    assert _verdict(check("os.path:sep"), "service.target") == (Status.FAIL, "not_asgi")
    assert _verdict(check("json:no_such_name"), "service.target") == (
        Status.FAIL,
        "attribute_missing",
    )
    assert _verdict(check("just words"), "service.target") == (Status.FAIL, "bad_target")
    assert _verdict(service.inspect("json:dumps"), "service.target") == (Status.FAIL, "not_asgi")


def test_a_startup_that_hangs_is_bounded() -> None:
    from starlette.applications import Starlette

    @contextlib.asynccontextmanager
    async def never(app: Any) -> Any:
        await asyncio.Event().wait()
        yield

    started = time.monotonic()
    report = check(Starlette(lifespan=never), timeout=1.0)
    elapsed = time.monotonic() - started
    assert _verdict(report, "service.startup") == (Status.FAIL, "startup_timeout")
    assert elapsed < 1.0 + 1.0, elapsed


def test_a_url_that_refuses() -> None:
    started = time.monotonic()
    report = check(f"http://127.0.0.1:{closed_port()}", timeout=2.0)
    assert time.monotonic() - started < 3.0
    assert _verdict(report, "service.health") == (Status.FAIL, "connect_failed")
    for check_id in CONTRACT[2:]:
        assert _verdict(report, check_id) == (Status.SKIP, "unreachable")
    assert _verdict(service.inspect(f"http://127.0.0.1:{closed_port()}"), "service.wiring") == (
        Status.SKIP,
        "not_in_process",
    )


def test_a_login_route_that_does_not_redirect() -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def login(request: Any) -> Any:
        return JSONResponse({"login": "page"})

    app = Starlette(routes=[Route("/auth/oauth/{provider}/login", login)])
    report = check(app, redirect_uris=["http://127.0.0.1:8000/auth/oauth/github/callback"])
    finding = report["service.oauth.redirect_uri"]
    assert (finding.status, finding.cause) == (Status.FAIL, "login_not_redirecting")
    assert "200" in finding.summary
    assert _verdict(report, "service.session_cookie") == (Status.SKIP, "login_not_redirecting")
    # svc-infra's own login route for a provider that is not configured answers 404.
    unknown = check(service_app(github=False), redirect_uris=REGISTERED)
    assert _verdict(unknown, "service.oauth.redirect_uri") == (Status.FAIL, "login_not_redirecting")


def test_oauth_without_a_session_middleware() -> None:
    app = service_app()
    app.user_middleware = [m for m in app.user_middleware if m.cls.__name__ != "SessionMiddleware"]
    assert _verdict(service.inspect(app), "service.session.config") == (
        Status.FAIL,
        "session_middleware_missing",
    )
    report = check(app)
    assert _verdict(report, "service.oauth.redirect_uri") == (
        Status.FAIL,
        "session_middleware_missing",
    )


def test_misuse_raises_a_service_error() -> None:
    with pytest.raises(service.ServiceTypeError):
        asyncio.run(service.check(123))
    with pytest.raises(service.ServiceTypeError):
        asyncio.run(service.check(service_app(), redirect_uris=[1, 2]))
    with pytest.raises(ValueError, match="finite"):
        asyncio.run(service.check(service_app(), timeout=math.nan))
    with pytest.raises(service.ServiceValueError):
        asyncio.run(service.replay(service_app(), [], path="no-slash"))
    with pytest.raises(service.ServiceTypeError):
        asyncio.run(service.replay(service_app(), 42, path="/x"))


def test_huge_input_stays_fast() -> None:
    huge = "a" * 1_000_000
    started = time.monotonic()
    assert check(huge + ":app")["service.target"].cause == "bad_target"
    assert check("http://" + huge)["service.target"].cause == "bad_target"
    assert check(service_app(), origin="http://" + huge)["service.cors"].cause == "bad_origin"
    check(service_app(), redirect_uris=["https://" + huge])
    assert time.monotonic() - started < 10


# -- inspect, diagnose, doctor -------------------------------------------------------------------


def test_inspect_shows_features_routes_and_middleware(monkeypatch: pytest.MonkeyPatch) -> None:
    app = service_app()
    report = service.inspect(app)
    assert isinstance(report, service.ServiceReport)
    features = report["service.features"].data["features"]
    for name in ("auth/users", "oauth", "mfa", "webhooks", "ops/health", "docs"):
        assert name in features, features
    assert "github" in " ".join(features["oauth"])
    routes = report.routes
    assert {"/ping", "/auth/oauth/{provider}/login", WEBHOOK_PATH} <= set(routes["path"])
    frame = report.middleware
    order = list(frame["middleware"])
    assert order[0] == "ServerErrorMiddleware" and order[-1] == "ExceptionMiddleware"
    assert order.index("CORSMiddleware") < order.index("CatchAllExceptionMiddleware")
    session = frame[frame["middleware"] == "SessionMiddleware"]["config"].iloc[0]
    assert session["same_site"] == "lax" and session["max_age"] == 4 * 3600
    assert str(session["secret_key"]).startswith("fp:") or "****" in str(session["secret_key"])
    cors = frame[frame["middleware"] == "CORSMiddleware"]["config"].iloc[0]
    assert cors["allow_origins"] == [DEMO_ORIGIN] and cors["allow_credentials"] is True
    assert report["service.docs"].status is Status.OK
    monkeypatch.setenv("APP_ENV", "production")
    assert _verdict(service.inspect(app), "service.docs") == (Status.WARN, "docs_in_production")


def _write_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"svcnb_target_{secrets.token_hex(3)}"
    source = """
        from svc_nb.demo._service_app import service_app
        app = service_app(cors="easy_service_app")
    """
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{name}:app"


@pytest.mark.slow
def test_diagnose_includes_the_service_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _write_target(tmp_path, monkeypatch)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SVC_NB_APP": target,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    report = asyncio.run(diagnose(environ=env, timeout=5.0))
    assert set(CONTRACT) <= set(report.checks), report.checks
    assert report["service.cors.errors"].cause == "missing_on_error"
    without = asyncio.run(diagnose(environ={"PATH": env["PATH"]}, timeout=3.0))
    assert not [c for c in without.checks if c.startswith("service.")]
    assert _verdict(without, "service") == (Status.SKIP, "not_configured")


def test_doctor_checks_for_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = _write_target(tmp_path, monkeypatch)
    report = asyncio.run(service.doctor_checks(app=target, timeout=5.0))
    assert report["service.startup"].status is Status.OK
    unset = asyncio.run(service.doctor_checks(environ={}))
    assert unset.checks == ["service"] and unset["service"].cause == "not_configured"
    refused = asyncio.run(
        service.doctor_checks(url=f"http://127.0.0.1:{closed_port()}", timeout=2.0)
    )
    assert refused["service.health"].cause == "connect_failed"


def test_no_secret_in_any_view(svc_infra_deliveries: Receiver) -> None:
    app = service_app(secure_cookie=True)
    session_secret = next(
        m.kwargs["secret_key"] for m in app.user_middleware if m.cls.__name__ == "SessionMiddleware"
    )
    report = check(app, redirect_uris=REGISTERED)
    wiring = service.inspect(app)
    replayed = asyncio.run(
        service.replay(
            service_app(webhook="raw"),
            svc_infra_deliveries,
            path=WEBHOOK_PATH,
            secret=WEBHOOK_SECRET,
        )
    )
    views = [str(report), report.to_json(), report._repr_html_(), str(wiring), wiring.to_json()]
    views += [wiring.middleware.to_string(), str(replayed), replayed.to_json()]
    for view in views:
        assert session_secret not in view
        assert "demo-github-secret" not in view
        assert WEBHOOK_SECRET not in view
        assert "dev-only-jwt-secret-not-for-production" not in view


def test_cause_enum_is_exported_with_meanings() -> None:
    assert service.ServiceCause.MISSING_ON_ERROR == "missing_on_error"
    assert all(member.description for member in service.ServiceCause)
    assert sys.modules["svc_nb.service"].__all__


# -- fixtures ------------------------------------------------------------------------------------


async def _svc_infra_deliver(url: str, payload: dict[str, Any], outbox_id: int) -> None:
    """One delivery exactly as svc-infra's job handler sends it (its signing, its httpx client)."""
    from svc_infra.db.inbox import InMemoryInboxStore
    from svc_infra.db.outbox import InMemoryOutboxStore
    from svc_infra.jobs.builtins.webhook_delivery import make_webhook_handler
    from svc_infra.jobs.queue import Job

    outbox = InMemoryOutboxStore()
    message = outbox.enqueue("invoice.paid", {})
    handler = make_webhook_handler(
        outbox=outbox,
        inbox=InMemoryInboxStore(),
        get_webhook_url_for_topic=lambda topic: url,
        get_secret_for_topic=lambda topic: WEBHOOK_SECRET,
    )
    event = {
        "topic": "invoice.paid",
        "payload": payload,
        "version": 1,
        "created_at": "2024-05-01T12:00:00+00:00",
    }
    subscription = {"url": url, "secret": WEBHOOK_SECRET, "id": f"sub-{outbox_id}"}
    job_payload = {
        "outbox_id": message.id,
        "topic": "invoice.paid",
        "payload": {"event": event, "subscription": subscription},
    }
    await handler(Job(id=str(outbox_id), name="outbox.invoice.paid", payload=job_payload))


@pytest.fixture(scope="module")
def svc_infra_deliveries() -> Iterator[Receiver]:
    """Two deliveries captured from svc-infra's own sender: one with non-ASCII text, one unsorted."""
    with Receiver() as rx:
        asyncio.run(_svc_infra_deliver(rx.url, {"id": "inv_1", "amount": 10, "currency": "€"}, 1))
        asyncio.run(_svc_infra_deliver(rx.url, {"zeta": 1, "alpha": 2}, 2))
    assert len(rx.requests) == 2
    yield rx


async def _scratch_database() -> str:
    import asyncpg
    from sqlalchemy.ext.asyncio import create_async_engine
    from svc_infra.db.sql.base import ModelBase

    from svc_nb.demo._service_app import _user_schemas

    _user_schemas()  # the users table svc-infra's auth tables point at
    name = f"svcnb_service_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(LOCAL_PG_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = LOCAL_PG_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.begin() as connection:
        await connection.run_sync(ModelBase.metadata.create_all)
    await engine.dispose()
    return url


async def _drop_database(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(LOCAL_PG_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def test_startup_failures_are_classified_by_the_rehearsals_rules() -> None:
    """The same svc-infra failure gets the same verdict in process and in env.rehearse()."""
    from svc_nb.env._rehearse_explain import RULES
    from svc_nb.service._startup import classify_exception

    class MissingSecretError(RuntimeError):
        pass

    cases = {
        RuntimeError("Missing environment variable SQL_URL"): (
            "missing_env_var",
            "sql_url_missing",
        ),
        MissingSecretError("AUTH_JWT__SECRET is required"): ("secret_required", "secret_required"),
        RuntimeError("Cache readiness probe failed"): ("cache_unreachable", "cache_unreachable"),
    }
    for exc, (service_cause, rehearsal_cause) in cases.items():
        error = {"chain": [type(exc).__name__, "RuntimeError"], "message": str(exc)}
        assert next(r.cause.value for r in RULES if r.matches("startup", error)) == rehearsal_cause
        assert classify_exception(exc)[0].value == service_cause
