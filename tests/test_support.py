"""svc_nb.support: the bug-report bundle (content, server versions, no leaks) and debug logging."""

from __future__ import annotations

import logging
import secrets
import sys
import time
from pathlib import Path

import asyncpg
import pytest

import svc_nb
from svc_nb._redact import fingerprint
from svc_nb.env import check_env
from svc_nb.support import (
    BugReport,
    bug_report,
    disable_debug_logging,
    enable_debug_logging,
    server_versions,
)
from tests._support import SilentServer


def _unique(tag: str) -> str:
    return f"{tag}-{secrets.token_hex(16)}"


def _raise_with_locals(url: str, api_token: str, private_key: str) -> None:
    session = {"password": private_key}  # a secret inside a mapping local
    raise ConnectionError(f"cannot log in to {url} with token {api_token} ({len(session)})")


def test_bug_report_sections_and_versions(pg_url: str, redis_url: str) -> None:
    try:
        raise RuntimeError("boom in the service")
    except RuntimeError as exc:
        report = bug_report(exc, environ={"SQL_URL": pg_url, "REDIS_URL": redis_url}, timeout=2.0)
    md = str(report)
    assert isinstance(report, BugReport)
    assert md == report.markdown and md.startswith("# Bug report: RuntimeError: boom in the service")
    for heading in ("## Versions", "## Servers", "## Traceback", "## Environment (masked",
                    "## Python and event loop", "## Minimal reproduction", "## What happened"):
        assert heading in md
    assert f"| svc_nb | {svc_nb.__version__} |" in md
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in md
    # The real servers answered: their versions are in the report.
    assert report.data["servers"]["postgresql"].startswith("PostgreSQL 1")
    assert report.data["servers"]["redis"].startswith("Redis ")
    assert "test_bug_report_sections_and_versions" in md  # the traceback's frame
    assert "env.jwt_secret" in md
    html = report._repr_html_()
    assert "<h4>Traceback</h4>" in html and "boom in the service" in html
    bundle = report._repr_mimebundle_()
    assert bundle["text/plain"] == md


def test_bug_report_unreachable_servers_are_bounded(refused_port: int, silent_server: SilentServer) -> None:
    environ = {
        "SQL_URL": f"postgresql://postgres@127.0.0.1:{silent_server.port}/test",
        "REDIS_URL": f"redis://127.0.0.1:{refused_port}/0",
    }
    started = time.perf_counter()
    versions = svc_nb.run(server_versions(environ, timeout=0.5))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5 + 0.3
    assert versions["postgresql"] == "no answer within the timeout"
    assert versions["redis"].startswith("unreachable (ConnectionError")


def test_bug_report_without_database_or_redis() -> None:
    versions = svc_nb.run(server_versions({}, timeout=0.5))
    assert versions["postgresql"].startswith("not configured")
    assert versions["redis"].startswith("in-process memory")


def test_bug_report_uses_last_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        raise KeyError("last-cell-failure")
    except KeyError as exc:
        monkeypatch.setattr(sys, "last_value", exc, raising=False)
        monkeypatch.setattr(sys, "last_exc", exc, raising=False)
    report = bug_report(environ={}, probe_servers=False)
    assert report.data["exception"] == "KeyError"
    assert "last-cell-failure" in str(report)


def test_bug_report_without_any_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "last_value", raising=False)
    monkeypatch.delattr(sys, "last_exc", raising=False)
    report = bug_report(environ={}, probe_servers=False)
    assert report.data["exception"] is None
    assert "none raised in this session yet" in str(report)


def test_bug_report_rejects_non_exception() -> None:
    with pytest.raises(TypeError, match="exception object"):
        bug_report("it broke")  # type: ignore[arg-type]


def test_bug_report_from_a_real_refused_connection(refused_port: int, tmp_path: Path) -> None:
    password = _unique("pgpass")
    url = f"postgresql://postgres:{password}@127.0.0.1:{refused_port}/test"

    async def connect() -> None:
        conn = await asyncpg.connect(url, timeout=2)
        await conn.close()

    try:
        svc_nb.run(connect())
    except OSError as exc:
        report = bug_report(exc, environ={"SQL_URL": url}, timeout=0.5)
    else:  # pragma: no cover - the port was refused
        pytest.fail("connection to a closed port succeeded")
    md = str(report)
    assert "ConnectionRefusedError" in md or "Connect call failed" in md
    assert report.data["servers"]["postgresql"].startswith("unreachable")
    assert password not in md and password not in report._repr_html_()
    path = report.save(tmp_path / "report.md")
    assert password not in Path(path).read_text()


def test_no_seeded_secret_leaks_into_any_view(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    seeds = {
        "jwt": _unique("jwtsecret"),
        "old": _unique("oldjwt"),
        "webhook_key": _unique("whkey"),
        "session": _unique("session"),
        "guide_jwt": _unique("guidejwt"),
        "guide_webhook": _unique("guidewh"),
        "db_pw": _unique("dbpw"),
        "redis_pw": _unique("redispw"),
        "provider": _unique("clientsecret"),
        "tb_token": _unique("tbtoken"),
        "tb_url_pw": _unique("tburlpw"),
        "tb_key": _unique("tbkey"),
    }
    env = {
        "AUTH_JWT__SECRET": seeds["jwt"],
        "AUTH_JWT__OLD_SECRETS": f'["{seeds["old"]}"]',
        "WEBHOOK_ENCRYPTION_KEY": seeds["webhook_key"],
        "SESSION_SECRET": seeds["session"],
        "JWT_SECRET_KEY": seeds["guide_jwt"],
        "WEBHOOK_SECRET": seeds["guide_webhook"],
        "SQL_URL": f"postgresql://postgres:{seeds['db_pw']}@127.0.0.1:5432/test",
        "REDIS_URL": f"redis://:{seeds['redis_pw']}@127.0.0.1:6379/0",
        "GOOGLE_CLIENT_SECRET": seeds["provider"],
        "APP_ENV": "prod",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        _raise_with_locals(
            f"postgresql://svc:{seeds['tb_url_pw']}@127.0.0.1:1/db", seeds["tb_token"], seeds["tb_key"]
        )
    except ConnectionError as exc:
        report = bug_report(exc, timeout=1.0)  # reads os.environ
        env_report = check_env()
        diag = svc_nb.run(svc_nb.diagnose(timeout=2.0))
    views = [
        str(report), report.markdown, report._repr_html_(), repr(report), str(report.data),
        str(env_report), env_report._repr_html_(), env_report.to_json(), repr(env_report),
        env_report.to_frame().to_string(), diag.to_frame().to_string(),
        str(diag), diag._repr_html_(), diag.to_json(),
    ]
    for finding in [*env_report, *diag]:
        views += [str(finding), finding._repr_html_(), str(finding.to_dict())]
    joined = "\n".join(views)
    for name, secret in seeds.items():
        assert secret not in joined, f"seeded {name} leaked"
    # The report still says what it masked, with a stable fingerprint to compare across machines.
    assert fingerprint(seeds["jwt"]) in joined
    assert "ConnectionError" in report.markdown
    assert "api_token" in report.markdown  # the local is listed, its value masked


def test_debug_logging_shows_scrubbed_records_and_turns_off(capsys: pytest.CaptureFixture[str]) -> None:
    password = _unique("logpw")
    logger = logging.getLogger("svc_infra.webhooks")
    previous = logging.getLogger("svc_infra").level
    handle = enable_debug_logging("svc_nb.extra")
    try:
        assert handle.active and {"svc_infra", "svc_nb.extra"} <= set(handle.names)
        assert logging.getLogger("svc_infra").level == logging.DEBUG
        logger.debug("delivering to %s", f"https://user:{password}@127.0.0.1/hook")
        logging.getLogger("svc_nb.extra").debug("Authorization: Bearer %s", password)
        out = capsys.readouterr().out
        assert "svc_infra.webhooks: delivering to https://user:****@127.0.0.1/hook" in out
        assert "svc_nb.extra" in out and password not in out
        assert len(handle.records) == 2 and password not in "".join(handle.records)
        # Enabling again does not attach a second handler (no duplicated lines).
        enable_debug_logging()
        logger.debug("once")
        assert capsys.readouterr().out.count("once") == 1
        # A child of two enabled loggers (svc_infra, svc_infra.webhooks) is shown once too.
        enable_debug_logging("svc_infra.webhooks")
        logging.getLogger("svc_infra.webhooks.delivery").debug("child-once")
        assert capsys.readouterr().out.count("child-once") == 1
    finally:
        disable_debug_logging()
    assert not handle.active
    assert logging.getLogger("svc_infra").level == previous
    logger.debug("after disable")
    assert "after disable" not in capsys.readouterr().out


def test_debug_logging_context_manager(capsys: pytest.CaptureFixture[str]) -> None:
    with enable_debug_logging() as handle:
        logging.getLogger("svc_infra").info("inside")
    logging.getLogger("svc_infra").warning("outside-line")
    out = capsys.readouterr()
    assert "inside" in out.out and "outside-line" not in out.out
    assert "off" in str(handle)
    with pytest.raises(TypeError, match="logger names"):
        enable_debug_logging("")
    disable_debug_logging()
