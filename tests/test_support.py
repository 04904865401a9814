"""svc_nb.support: the bug-report bundle (content, server versions, no leaks) and debug logging."""

from __future__ import annotations

import base64
import io
import json
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
    assert md == report.markdown and md.startswith(
        "# Bug report: RuntimeError: boom in the service"
    )
    for heading in (
        "## Versions",
        "## Servers",
        "## Traceback",
        "## Environment (masked",
        "## Python and event loop",
        "## Minimal reproduction",
        "## What happened",
    ):
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


def test_bug_report_unreachable_servers_are_bounded(
    refused_port: int, silent_server: SilentServer
) -> None:
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
    assert report.data["exception_type"] == "KeyError"
    assert "last-cell-failure" in str(report)


def test_bug_report_without_any_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "last_value", raising=False)
    monkeypatch.delattr(sys, "last_exc", raising=False)
    report = bug_report(environ={}, probe_servers=False)
    assert report.data["exception_type"] is None
    assert "none raised in this session yet" in str(report)


def test_bug_report_rejects_non_exception() -> None:
    with pytest.raises(svc_nb.SvcNbError, match="exception object") as info:
        bug_report("it broke")  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0, -2, None, "1", True])
def test_bad_timeout_is_refused_at_once(timeout: object) -> None:
    environ = {"SQL_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    started = time.perf_counter()
    with pytest.raises(svc_nb.SvcNbError, match="timeout"):
        svc_nb.run(server_versions(environ, timeout=timeout))  # type: ignore[arg-type]
    with pytest.raises(svc_nb.SvcNbError, match="timeout"):
        bug_report(RuntimeError("x"), environ=environ, timeout=timeout)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 0.5


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


def test_no_seeded_secret_leaks_into_any_view(
    monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
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
            f"postgresql://svc:{seeds['tb_url_pw']}@127.0.0.1:1/db",
            seeds["tb_token"],
            seeds["tb_key"],
        )
    except ConnectionError as exc:
        report = bug_report(exc, timeout=1.0)  # reads os.environ
        env_report = check_env()
        diag = svc_nb.run(svc_nb.diagnose(timeout=2.0))
    views = [
        str(report),
        report.markdown,
        report._repr_html_(),
        repr(report),
        str(report.data),
        str(env_report),
        env_report._repr_html_(),
        env_report.to_json(),
        repr(env_report),
        env_report.to_frame().to_string(),
        diag.to_frame().to_string(),
        str(diag),
        diag._repr_html_(),
        diag.to_json(),
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


def test_debug_logging_shows_scrubbed_records_and_turns_off(
    capsys: pytest.CaptureFixture[str],
) -> None:
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
    with pytest.raises(svc_nb.SvcNbError, match="logger names") as info:
        enable_debug_logging("")
    assert isinstance(info.value, TypeError)
    disable_debug_logging()


class _Settings:
    """Like a pydantic settings object: secrets as plain attributes."""

    def __init__(self, database_password: str, api_token: str) -> None:
        self.database_host = "127.0.0.1"
        self.database_password = database_password
        self.api_token = api_token

    def __repr__(self) -> str:
        return f"_Settings(database_host={self.database_host!r}, database_password={self.database_password!r}, api_token={self.api_token!r})"


def _fail_with_secrets_in_every_form(
    settings: _Settings, dsn: str, body: str, headers: str
) -> None:
    raise RuntimeError(f"cannot connect with {dsn}")


def test_bug_report_masks_secrets_by_name_in_every_part() -> None:
    values = {
        "attr_password": _unique("attrpw"),
        "attr_token": _unique("attrtok"),
        "dsn_password": _unique("dsnpw"),
        "json_secret": _unique("jsonsec"),
        "basic": base64.b64encode(f"svc:{_unique('basicpw')}".encode()).decode(),
    }
    settings = _Settings(values["attr_password"], values["attr_token"])
    dsn = f"host=127.0.0.1 port=5432 user=app password={values['dsn_password']} dbname=app"
    body = json.dumps({"client_id": "web", "client_secret": values["json_secret"]})
    headers = f"Accept: application/json\r\nAuthorization: Basic {values['basic']}\r\n"
    try:
        _fail_with_secrets_in_every_form(settings, dsn, body, headers)
    except RuntimeError as exc:
        report = bug_report(exc, environ={}, probe_servers=False)
    views = {
        "markdown": report.markdown,
        "html": report._repr_html_(),
        "title": report.title,
        "repr": repr(report),
    }
    for view, text in views.items():
        for name, value in values.items():
            assert value not in text, f"{name} leaked into the {view}"
    md = report.markdown
    # The locals are listed, the context around the secrets is kept.
    assert "| settings |" in md and "database_host='127.0.0.1'" in md
    assert "| dsn |" in md and "dbname=app" in md
    assert "RuntimeError: cannot connect with host=127.0.0.1" in md


def test_locals_with_secret_names_are_masked_whole() -> None:
    def fail(api_key: object, client_secret: bytes, token_count: int) -> None:
        raise ValueError("boom")

    key = {"nested": _unique("nestedkey")}
    secret = _unique("bytessecret").encode()
    try:
        fail(key, secret, 3)
    except ValueError as exc:
        md = bug_report(exc, environ={}, probe_servers=False).markdown
    assert "| api_key | **** (dict) |" in md and "| client_secret | **** (bytes) |" in md
    assert key["nested"] not in md and secret.decode() not in md


def test_huge_local_is_summarised_quickly() -> None:
    def fail(blob: str) -> None:
        raise ValueError("big")

    started = time.perf_counter()
    try:
        fail("x" * 2_000_000)
    except ValueError as exc:
        md = bug_report(exc, environ={}, probe_servers=False).markdown
    assert time.perf_counter() - started < 2.0
    assert "| blob | <str of 2000000 characters> |" in md


def test_debug_logging_scrubs_records_before_any_handler() -> None:
    """A basicConfig-style root handler never sees a secret while debug logging is on."""
    registered = _unique("registered")
    from svc_nb._redact import register_secret

    register_secret(registered)
    leaks = {
        "registered": registered,
        "kv_password": _unique("kvpw"),
        "client_secret": _unique("clientsec"),
        "api_key": _unique("apikey"),
        "bearer": _unique("bearertok"),
        "cookie": _unique("cookieval"),
        "code": _unique("authcode"),
        "exc_password": _unique("excpw"),
    }
    stream = io.StringIO()
    root_handler = logging.StreamHandler(stream)
    root_handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    root = logging.getLogger()
    keeper = Keep(logging.DEBUG)
    root.addHandler(root_handler)
    root.addHandler(keeper)
    try:
        with enable_debug_logging("myservice"):
            log = logging.getLogger("svc_infra.http")
            log.debug("engine %s", f"host=db user=app password={leaks['kv_password']}")
            log.debug("token request client_id=web&client_secret=%s", leaks["client_secret"])
            log.debug("body %s", json.dumps({"client_secret": leaks["client_secret"]}))
            log.debug("api_key=%s", leaks["api_key"])
            log.debug("headers: Authorization: Bearer %s", leaks["bearer"])
            log.debug("Cookie: svc_session=%s", leaks["cookie"])
            log.debug("callback https://app.example/cb?code=%s&state=x", leaks["code"])
            logging.getLogger("myservice.worker").debug("with %s", registered)
            try:
                raise ValueError(f"password={leaks['exc_password']}")
            except ValueError:
                log.exception("failed")
    finally:
        root.removeHandler(root_handler)
        root.removeHandler(keeper)
    out = stream.getvalue()
    assert "engine host=db user=app password=" in out and "failed" in out
    assert len([r for r in seen if r.name.startswith(("svc_infra", "myservice"))]) == 9
    record_text = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text} {r.exc_info!r}" for r in seen
    )
    for name, value in leaks.items():
        assert value not in out, f"{name} reached the root handler"
        assert value not in record_text, f"{name} is in a record"
    assert "ValueError: password=****" in out  # the traceback is kept, its secret masked
    # Off again: records are left as they are made (arguments not folded in).
    record = logging.getLogger("other").makeRecord(
        "other", logging.INFO, "f", 1, "x %s", ("y",), None
    )
    assert record.args == ("y",) and record.getMessage() == "x y"


def test_debug_logging_leaves_a_later_record_factory_in_place() -> None:
    original = logging.getLogRecordFactory()
    handle = enable_debug_logging()
    ours = logging.getLogRecordFactory()

    def theirs(*args: object, **kwargs: object) -> logging.LogRecord:
        return ours(*args, **kwargs)

    logging.setLogRecordFactory(theirs)
    try:
        handle.disable()
        assert logging.getLogRecordFactory() is theirs  # not unwrapped from under them
        record = logging.getLogger("x").makeRecord(
            "x", logging.INFO, "f", 1, "password=%s", ("abcdefgh",), None
        )
        assert record.args == ("abcdefgh",)  # ours went inert
    finally:
        logging.setLogRecordFactory(original)
