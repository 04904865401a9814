"""svc_nb.env: which variables svc-infra really reads, over many environments."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import svc_nb
from svc_nb import Status
from svc_nb._diagnose import registered_checks
from svc_nb.env import (
    app_environment,
    check_env,
    check_event_loop,
    check_python,
    install_command,
    resolve_database_url,
)

STRONG = "S" * 20 + "trong-jwt-secret-0123456789"  # 47 bytes
PG = "postgresql://app:pw-db-1@127.0.0.1:5432/app"
FERNET = base64.urlsafe_b64encode(b"k" * 32).decode()

EnvFactory = Callable[[Path], dict[str, str]]


def _env(**kw: str) -> EnvFactory:
    return lambda _tmp: dict(kw)


def _with_file(name: str, content: str | None, **extra: str) -> EnvFactory:
    """An env whose ``name`` points at a file in tmp (None: a path that does not exist)."""

    def build(tmp: Path) -> dict[str, str]:
        path = tmp / "secret.txt"
        if content is not None:
            path.write_text(content)
        return {name: str(path), **extra}

    return build


# (id, environment, {check: status}, {check: text that must appear in summary+detail+fix})
CASES: list[tuple[str, EnvFactory, dict[str, str], dict[str, str]]] = [
    (
        "guide-names-only",
        _env(DATABASE_URL=PG, REDIS_URL="redis://127.0.0.1:6379/0", JWT_SECRET_KEY=STRONG, WEBHOOK_SECRET="whsec-guide-1"),
        {"env.database_url": "warn", "env.cache_url": "ok", "env.jwt_secret": "warn", "env.webhook_secret": "warn"},
        {"env.database_url": "reads only SQL_URL", "env.jwt_secret": "AUTH_JWT__SECRET", "env.webhook_secret": "never reads"},
    ),
    (
        "guide-names-prod",
        _env(APP_ENV="production", DATABASE_URL=PG, JWT_SECRET_KEY=STRONG),
        {"env.app_env": "ok", "env.jwt_secret": "fail", "env.cache_url": "warn", "env.webhook_encryption_key": "warn"},
        {"env.jwt_secret": "MissingSecretError", "env.cache_url": "mem://"},
    ),
    (
        "svc-infra-names",
        _env(SQL_URL=PG, CACHE_URL="redis://127.0.0.1:6379/1", AUTH_JWT__SECRET=STRONG,
             WEBHOOK_ENCRYPTION_KEY=FERNET, SESSION_SECRET=STRONG + "x", CORS_ALLOW_ORIGINS="http://localhost:3000"),
        {"env.database_url": "ok", "env.cache_url": "ok", "env.jwt_secret": "ok",
         "env.webhook_encryption_key": "ok", "env.session_secret": "ok", "env.cors": "ok"},
        {"env.database_url": "SQL_URL", "env.cache_url": "CACHE_URL", "env.jwt_secret": "AUTH_JWT__SECRET",
         "env.webhook_encryption_key": "Fernet"},
    ),
    (
        "both-names",
        _env(SQL_URL=PG, DATABASE_URL=PG, AUTH_JWT__SECRET=STRONG, JWT_SECRET_KEY=STRONG, JWT_SECRET="other-" + STRONG),
        {"env.database_url": "ok", "env.jwt_secret": "warn"},
        {"env.database_url": "not used: DATABASE_URL", "env.jwt_secret": "JWT_SECRET also set"},
    ),
    (
        "jwt-json-block",
        _env(AUTH_JWT=f'{{"secret": "{STRONG}"}}', JWT_SECRET="other-" + STRONG,
             AUTH_JWT__OLD_SECRETS=f'["old-{STRONG}"]'),
        {"env.jwt_secret": "warn", "env.jwt_old_secrets": "ok"},
        {"env.jwt_secret": "from AUTH_JWT:"},
    ),
    (
        "jwt-fallback-order",
        _env(AUTH_JWT_SECRET=STRONG, JWT_SECRET=STRONG),
        {"env.jwt_secret": "ok"},
        {"env.jwt_secret": "from AUTH_JWT_SECRET"},
    ),
    (
        "file-variant",
        _with_file("DATABASE_URL_FILE", PG + "\n"),
        {"env.database_url": "warn"},
        {"env.database_url": "DATABASE_URL_FILE"},
    ),
    (
        "file-points-nowhere",
        _with_file("SQL_URL_FILE", None),
        {"env.files": "fail", "env.database_url": "warn"},
        {"env.files": "does not exist"},
    ),
    (
        "file-empty-falls-through",
        _with_file("SQL_URL_FILE", "  \n", DATABASE_URL=PG),
        {"env.files": "fail"},
        {"env.files": "fell through to DATABASE_URL"},
    ),
    (
        "file-unused-because-earlier-set",
        _with_file("DATABASE_URL_FILE", None, SQL_URL=PG),
        {"env.files": "warn", "env.database_url": "ok"},
        {"env.files": "not used today"},
    ),
    (
        "prod-without-secret",
        _env(APP_ENV="PROD", SQL_URL=PG),
        {"env.jwt_secret": "fail", "env.session_secret": "warn"},
        {"env.jwt_secret": "MissingSecretError"},
    ),
    (
        "staging-via-railway",
        _env(RAILWAY_ENVIRONMENT_NAME="staging"),
        {"env.jwt_secret": "fail", "env.app_env": "ok"},
        {"env.app_env": "RAILWAY_ENVIRONMENT_NAME"},
    ),
    (
        "dev-default-secret-in-prod",
        _env(APP_ENV="prod", AUTH_JWT__SECRET="dev-only-jwt-secret-not-for-production"),
        {"env.jwt_secret": "fail"},
        {"env.jwt_secret": "public development default"},
    ),
    (
        "unknown-app-env",
        _env(APP_ENV="production-eu"),
        {"env.app_env": "warn", "env.jwt_secret": "warn"},
        {"env.app_env": "runs as 'local'"},
    ),
    (
        "short-secret-with-newline",
        _env(AUTH_JWT__SECRET="short-secret\n"),
        {"env.jwt_secret": "warn"},
        {"env.jwt_secret": "whitespace"},
    ),
    (
        "old-secrets-comma-separated",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__OLD_SECRETS="old-one-123456,old-two-123456"),
        {"env.jwt_old_secrets": "fail"},
        {"env.jwt_old_secrets": "SettingsError"},
    ),
    (
        "old-secrets-not-strings",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__OLD_SECRETS="[1, 2]"),
        {"env.jwt_old_secrets": "fail"},
        {"env.jwt_old_secrets": "list of strings"},
    ),
    (
        "old-secrets-without-nested-secret",
        _env(JWT_SECRET=STRONG, AUTH_JWT__OLD_SECRETS='["old-one-1234567890"]'),
        {"env.jwt_old_secrets": "fail", "env.jwt_secret": "ok"},
        {"env.jwt_old_secrets": "without AUTH_JWT__SECRET"},
    ),
    (
        "old-secrets-valid-and-current-repeated",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__OLD_SECRETS=f'["{STRONG}", "old-{STRONG}"]'),
        {"env.jwt_old_secrets": "warn"},
        {"env.jwt_old_secrets": "current secret is also listed"},
    ),
    (
        "old-secrets-valid",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__OLD_SECRETS=f'["old-{STRONG}"]'),
        {"env.jwt_old_secrets": "ok"},
        {"env.jwt_old_secrets": "1 old JWT secret"},
    ),
    (
        "lifetime-malformed",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__LIFETIME_SECONDS="7d"),
        {"env.jwt_lifetime": "fail"},
        {"env.jwt_lifetime": "not an integer"},
    ),
    (
        "fernet-like-key-invalid",
        _env(WEBHOOK_ENCRYPTION_KEY="!" * 43 + "="),
        {"env.webhook_encryption_key": "fail"},
        {"env.webhook_encryption_key": "not valid url-safe base64"},
    ),
    (
        "weak-passphrase-key",
        _env(WEBHOOK_ENCRYPTION_KEY="short-key"),
        {"env.webhook_encryption_key": "warn"},
        {"env.webhook_encryption_key": "SHA-256"},
    ),
    (
        "cors-guide-name",
        _env(CORS_ORIGINS="http://localhost:3000"),
        {"env.cors": "warn"},
        {"env.cors": "CORS_ALLOW_ORIGINS"},
    ),
    (
        "cors-trailing-slash-and-wildcard",
        _env(CORS_ALLOW_ORIGINS="http://localhost:3000/, *", CORS_ALLOW_CREDENTIALS="maybe"),
        {"env.cors": "warn"},
        {"env.cors": "trailing slash"},
    ),
    (
        "cors-bad-regex",
        _env(CORS_ALLOW_ORIGINS="https://app.example.com", CORS_ALLOW_ORIGIN_REGEX="https://(.*"),
        {"env.cors": "fail"},
        {"env.cors": "does not compile"},
    ),
    (
        "nothing-set",
        _env(),
        {"env.app_env": "ok", "env.database_url": "warn", "env.cache_url": "ok", "env.jwt_secret": "warn", "env.cors": "skip"},
        {"env.jwt_secret": "development default"},
    ),
    (
        "session-guide-name",
        _env(SESSION_SECRET_KEY=STRONG),
        {"env.session_secret": "warn"},
        {"env.session_secret": "reads SESSION_SECRET"},
    ),
    (
        "malformed-database-url",
        _env(SQL_URL="postgresql://app:pw@[::1/app"),
        {"env.database_url": "ok|warn|fail"},  # the db section decides; without it: ok
        {},
    ),
]


@pytest.mark.parametrize(("environ", "statuses", "texts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check_env_table(
    tmp_path: Path, environ: EnvFactory, statuses: dict[str, str], texts: dict[str, str]
) -> None:
    env = environ(tmp_path)
    report = check_env(env)
    assert report.title == "svc-infra environment"
    for check, expected in statuses.items():
        finding = report.get(check)
        assert finding is not None, f"{check} missing from {report.checks}"
        assert finding.status.value in expected.split("|"), str(finding)
    for check, text in texts.items():
        finding = report[check]
        assert text in f"{finding.summary}\n{finding.detail}\n{finding.fix}", str(finding)
    # A value svc-infra reads is never shown in clear in any view.
    views = str(report) + report._repr_html_() + report.to_json()
    for name, value in env.items():
        if len(value) >= 8 and ("SECRET" in name or "KEY" in name):
            assert value.strip() not in views, name
    assert "pw-db-1" not in views


def test_check_env_does_not_read_os_environ_when_given_a_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_JWT__SECRET", STRONG)
    assert check_env({})["env.jwt_secret"].status is Status.WARN
    assert check_env()["env.jwt_secret"].status is Status.OK


def test_env_file_is_read_without_changing_os_environ(tmp_path: Path, clean_env: None) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f'SQL_URL={PG}\nAUTH_JWT__SECRET="{STRONG}"\nAPP_ENV=prod\n# comment\n')
    before = dict(os.environ)
    report = check_env({"APP_ENV": "local"}, env_file=env_file)
    assert dict(os.environ) == before
    assert report["env.env_file"].status is Status.OK
    assert "1 already set" in report["env.env_file"].summary  # APP_ENV from the environment wins
    assert report["env.database_url"].status is Status.OK
    assert report["env.jwt_secret"].status is Status.OK
    assert report["env.app_env"].data["environment"] == "local"


def test_env_file_missing_is_a_finding(tmp_path: Path) -> None:
    report = check_env({}, env_file=tmp_path / "nope.env")
    assert report["env.env_file"].status is Status.FAIL
    assert "does not exist" in report["env.env_file"].summary


def test_check_env_rejects_non_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        check_env(["SQL_URL"])  # type: ignore[arg-type]


def test_postgres_scheme_is_rewritten_and_masked() -> None:
    resolved = resolve_database_url({"SQL_URL": "postgres://u:pw-xyz-123@127.0.0.1/db"})
    assert resolved is not None and resolved.value.startswith("postgresql://")
    finding = check_env({"SQL_URL": "postgres://u:pw-xyz-123@127.0.0.1/db"})["env.database_url"]
    assert "pw-xyz-123" not in str(finding)
    assert "postgres:// is rewritten" in finding.detail


@pytest.mark.parametrize(
    ("raw", "normalised", "prod_like"),
    [("", "local", False), ("Production", "prod", True), ("uat", "test", True), ("preview", "test", True),
     ("development", "dev", False), ("weird", "local", False)],
)
def test_app_environment(raw: str, normalised: str, prod_like: bool) -> None:
    _, norm, prod = app_environment({"APP_ENV": raw} if raw else {})
    assert (norm, prod) == (normalised, prod_like)


def test_url_validation_uses_section_parsers_when_present() -> None:
    """db.parse_url / cache.parse_url findings are folded in when those modules exist."""
    bad = "postgresql://app@127.0.0.1:notaport/app"
    finding = check_env({"SQL_URL": bad})["env.database_url"]
    try:
        from svc_nb import db
    except ImportError:
        pytest.skip("svc_nb.db not written yet")
    if not hasattr(db, "parse_url"):
        pytest.skip("svc_nb.db.parse_url not written yet")
    parsed = db.parse_url(bad)
    if parsed.worst in (Status.WARN, Status.FAIL):
        assert finding.status is parsed.worst
        assert "url_checks" in finding.data


def test_check_python_reports_interpreter_and_install_command() -> None:
    report = check_python()
    interp = report["python.interpreter"]
    assert interp.data["executable"] == sys.executable
    assert interp.data["version"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    svc = report["python.svc_infra"]
    try:
        import svc_infra  # noqa: F401
    except ImportError:
        assert svc.status is Status.WARN
        # Outside a kernel: the exact interpreter of this process, not a bare `pip`.
        assert sys.executable in svc.fix and "-m pip install svc-infra" in svc.fix
    else:
        assert svc.status is Status.OK
    assert report["python.packages"].data["versions"]["asyncpg"]
    assert install_command("x").endswith("-m pip install x")


def test_check_event_loop_without_loop() -> None:
    finding = check_event_loop()["loop.event_loop"]
    assert finding.status is Status.OK and finding.data["running"] is False


async def test_check_event_loop_inside_asyncio_loop() -> None:
    finding = check_event_loop()["loop.event_loop"]
    assert finding.data["running"] is True
    assert "EventLoop" in finding.data["loop_class"]


def test_check_event_loop_uvloop_cannot_be_patched() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def probe() -> svc_nb.Report:
        return check_event_loop()

    report = uvloop.run(probe())
    finding = report["loop.event_loop"]
    assert finding.status is Status.WARN
    assert finding.data["patchable"] is False
    assert "svc_nb.run" in finding.fix and "await" in finding.fix


def test_check_event_loop_patched_loop() -> None:
    from svc_nb._runtime import patch_running_loop

    async def probe() -> svc_nb.Report:
        patch_running_loop()
        return check_event_loop()

    loop = asyncio.new_event_loop()
    try:
        finding = loop.run_until_complete(probe())["loop.event_loop"]
    finally:
        loop.close()
    assert finding.status is Status.OK and finding.data["patched"] is True


def test_diagnose_registers_env_python_loop_first() -> None:
    names = registered_checks()
    assert names[:3] == ["env", "python", "loop"]
    report = svc_nb.run(svc_nb.diagnose({"APP_ENV": "prod"}, timeout=2.0))
    assert report["env.jwt_secret"].status is Status.FAIL
    assert report.get("python.interpreter") is not None
    assert report.get("loop.event_loop") is not None
    assert not report.ok


def test_cache_url_validation_uses_cache_parser_when_present() -> None:
    bad = "redis://127.0.0.1:99999/0"
    finding = check_env({"CACHE_URL": bad})["env.cache_url"]
    try:
        from svc_nb import cache
    except ImportError:
        pytest.skip("svc_nb.cache not written yet")
    if not hasattr(cache, "parse_url"):
        pytest.skip("svc_nb.cache.parse_url not written yet")
    parsed = cache.parse_url(bad)
    if parsed.worst in (Status.WARN, Status.FAIL):
        assert finding.status is parsed.worst
        assert "99999" in finding.summary
        assert "below" not in finding.fix  # roll-up rows of the parser are not copied


def test_check_python_warns_when_pip_on_path_is_another_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "pip"
    fake.write_text("#!/opt/other-env/bin/python3\nimport sys\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    finding = check_python()["python.pip"]
    assert finding.status is Status.WARN
    assert "/opt/other-env/bin/python3" in finding.summary
    assert sys.executable in finding.fix and "-m pip install" in finding.fix


def test_check_python_ignores_shell_shims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shim = tmp_path / "pip"
    shim.write_text("#!/usr/bin/env bash\nexec pyenv exec pip \"$@\"\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    assert check_python().get("python.pip") is None
