"""The settings svc-infra reads besides URLs and secrets: each check, its cause and its fix.

What svc-infra does with each value is proved in tests/fidelity; here each check is
held to its contract on its own: the status and cause a user sees, the variable it
names, linear time on a pasted megabyte, and no secret in any view.
"""

from __future__ import annotations

import time

import pytest

from svc_nb import Status
from svc_nb.env import EnvCause, check_env, check_python, cors_settings, effective
from svc_nb.env._known_bad import known_bad_findings

PG = "postgresql://postgres@127.0.0.1:5432/test"
C = EnvCause


def finding(env: dict[str, str], check: str):  # type: ignore[no-untyped-def]
    found = check_env(env).get(check)
    assert found is not None, f"{check} missing"
    return found


@pytest.mark.parametrize(
    ("env", "check", "status", "cause", "named"),
    [
        ({"SQL_URL": PG + "?sslmode=require"}, "env.database_url", "fail", C.SQL_URL_PARAM_REJECTED, "sslmode"),
        ({"SQL_URL": PG + "?connect_timeout=5"}, "env.database_url", "fail", C.SQL_URL_PARAM_REJECTED, "timeout="),
        ({"SQL_URL": PG, "DB_STATEMENT_TIMEOUT_MS": "5000"}, "env.db_settings", "fail", C.STATEMENT_TIMEOUT_BREAKS_REQUESTS, "statement_timeout"),
        ({"SQL_URL": PG, "DB_STATEMENT_TIMEOUT_MS": "soon"}, "env.db_settings", "warn", C.DB_SETTING_IGNORED, "DB_STATEMENT_TIMEOUT_MS"),
        ({"SQL_URL": PG, "DB_CONNECT_TIMEOUT": "ten"}, "env.db_settings", "warn", C.DB_SETTING_INVALID, "DB_CONNECT_TIMEOUT"),
        ({"SQL_URL": PG.replace("postgresql", "postgresql+asyncpg"), "PGSSLMODE": "disable"}, "env.db_settings", "warn", C.DB_SETTING_IGNORED, "ssl="),
        ({"SQL_URL": PG, "DB_FORCE_DRIVER": "pg8000"}, "env.db_settings", "warn", C.DB_SETTING_IGNORED, "psycopg"),
        ({"LOG_LEVEL": "debug"}, "env.app_settings", "fail", C.APP_SETTING_INVALID, "'DEBUG'"),
        ({"LOG_FORMAT": "JSON"}, "env.app_settings", "fail", C.APP_SETTING_INVALID, "'json'"),
        ({"METRICS_ENABLED": "maybe"}, "env.app_settings", "fail", C.APP_SETTING_INVALID, "METRICS_ENABLED"),
        ({"metrics_default_buckets": "1,2"}, "env.app_settings", "fail", C.APP_SETTING_INVALID, "JSON list"),
        ({"WEBHOOKS_OUTBOX": "sql"}, "env.webhook_stores", "warn", C.STORE_BACKEND_UNKNOWN, "WEBHOOKS_OUTBOX"),
        ({"APP_ENV": "prod", "JWT_SECRET": "x" * 40}, "env.webhook_stores", "warn", C.STORE_IN_MEMORY, "WEBHOOKS_OUTBOX"),
        ({"JOB_DEFAULT_TIMEOUT_SECONDS": "soon"}, "env.job_timeouts", "warn", C.JOB_TIMEOUT_INVALID, "JOB_DEFAULT_TIMEOUT_SECONDS"),
        ({"JOBS_DRIVER": "redis", "WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "90"}, "env.job_timeouts", "warn", C.DUPLICATE_DELIVERIES, "60 s"),
        ({"GOOGLE_CLIENT_ID": "id", "GOOGLE_CLIENT_SECRET": "s" * 20, "AUTH_POST_LOGIN_REDIRECT": "https://app.example.com/"}, "env.oauth_redirect", "fail", C.REDIRECT_NOT_ALLOWED, "AUTH_REDIRECT_ALLOW_HOSTS_RAW"),
        ({"GOOGLE_CLIENT_ID": "id", "GOOGLE_CLIENT_SECRET": "s" * 20, "AUTH_SESSION_COOKIE_SECURE": "true"}, "env.oauth_redirect", "fail", C.REDIRECT_HTTPS_REQUIRED, "https_required"),
        ({"APP_ENV": "prod", "JWT_SECRET": "x" * 40, "GITHUB_CLIENT_ID": "id", "GITHUB_CLIENT_SECRET": "s" * 20, "AUTH_POST_LOGIN_REDIRECT": "/app"}, "env.oauth_redirect", "warn", C.COOKIE_NOT_SECURE, "AUTH_SESSION_COOKIE_SECURE"),
        ({"GOOGLE_CLIENT_ID": "id"}, "env.oauth_providers", "warn", C.PROVIDER_CREDENTIALS_INCOMPLETE, "SECRET"),
        ({"AUTH_MICROSOFT_CLIENT_ID": "id"}, "env.oauth_providers", "warn", C.PROVIDER_NAME_IGNORED, "AUTH_MS_CLIENT_ID"),
        ({"CORS_ALLOW_ORIGINS": "https://*.example.com"}, "env.cors", "warn", C.CORS_WILDCARD_PATTERN, "add_security"),
        ({}, "env.dev_secrets", "warn", C.DEV_DEFAULT_SECRET, "unused"),
    ],
)  # fmt: skip
def test_each_setting_check(
    env: dict[str, str], check: str, status: str, cause: EnvCause, named: str
) -> None:
    found = finding(env, check)
    assert found.status.value == status, str(found)
    assert found.cause == cause.value, str(found)
    assert named in f"{found.summary}\n{found.detail}\n{found.fix}", str(found)
    assert found.fix


@pytest.mark.parametrize(
    "env",
    [
        {"SQL_URL": PG + "?ssl=require&command_timeout=5"},
        {"LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json"},
        {"ENABLE_LOGGING": "false", "LOG_LEVEL": "verbose"},
        {"ENABLE_OBS": "no", "METRICS_ENABLED": "maybe"},
        {"METRICS_DEFAULT_BUCKETS": "[0.1, 1]"},
        {"AUTH_GOOGLE_CLIENT_ID": "id", "GOOGLE_CLIENT_SECRET": "s" * 20},
        {"GOOGLE_CLIENT_ID": "id", "GOOGLE_CLIENT_SECRET": "s" * 20, "AUTH_POST_LOGIN_REDIRECT": "https://app.example.com/", "CORS_ALLOW_ORIGINS": "https://app.example.com"},
        {"JOBS_DRIVER": "redis", "JOBS_REDIS_URL": "redis://127.0.0.1:6379/2", "WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "90", "JOB_DEFAULT_TIMEOUT_SECONDS": "50"},
    ],
)  # fmt: skip
def test_settings_svc_infra_accepts_do_not_fail(env: dict[str, str]) -> None:
    bad = [f for f in check_env(env) if f.check.startswith(("env.db", "env.app", "env.oauth", "env.job", "env.webhook_st")) and f.status is not Status.OK]  # fmt: skip
    assert not bad, [str(f) for f in bad]


def test_effective_never_shows_a_secret() -> None:
    secret = "jwt-secret-for-effective-0123456789"
    said = effective(
        {"SQL_URL": "postgresql://app:db-pw-0123@h/db", "AUTH_JWT__SECRET": secret, "REDIS_URL": "redis://:r-pw-0123@h/0"}
    )  # fmt: skip
    text = repr(said)
    for value in (secret, "db-pw-0123", "r-pw-0123"):
        assert value not in text
    assert said["jwt_secret_source"] == "AUTH_JWT__SECRET"
    assert said["jwt_secret_fingerprint"].startswith("fp:")


def test_effective_follows_svc_infra_where_it_refuses() -> None:
    said = effective({"APP_ENV": "prod"})
    assert said["database_url"] is None  # add_sql_db raises at start-up
    assert said["jwt_secret_fingerprint"] is None  # MissingSecretError
    assert said["cors"] == {"add_security": None, "easy_service_app": None}


def test_cors_settings_refuses_an_unknown_entry_point() -> None:
    with pytest.raises(ValueError, match="entry point"):
        cors_settings({}, "setup_cors")


def test_known_bad_combinations() -> None:
    typer = known_bad_findings({"svc-infra": "1.22.2", "typer": "0.29.2"})
    assert any("typer" in f.summary and f.cause == C.KNOWN_BAD_COMBINATION.value for f in typer)
    assert not [
        f
        for f in known_bad_findings({"svc-infra": "1.22.2", "typer": "0.28.0"})
        if "typer" in f.summary
    ]
    newer = known_bad_findings({"svc-infra": "1.23.0"})
    assert any(f.cause == C.SVC_INFRA_NEWER.value for f in newer)


def test_check_python_reads_the_installed_alembic_template() -> None:
    pytest.importorskip("svc_infra")
    found = [f for f in check_python() if f.check == "python.known_bad"]
    # svc-infra 1.22.2's template has the bug; a release that fixes it drops the finding.
    for f in found:
        assert f.status is Status.WARN and "_coerce_sync_driver" in f.summary + f.detail


@pytest.mark.parametrize(
    "env",
    [
        {"SQL_URL": PG + "?" + "&".join(f"p{i}=1" for i in range(100_000))},
        {"CORS_ALLOW_ORIGINS": "https://*.example.com," * 50_000},
        {"AUTH_REDIRECT_ALLOW_HOSTS_RAW": "a.example.com," * 80_000, "GOOGLE_CLIENT_ID": "i", "GOOGLE_CLIENT_SECRET": "s"},
        {"LOG_LEVEL": "x" * 1_000_000, "METRICS_DEFAULT_BUCKETS": "[" * 100_000},
    ],
)  # fmt: skip
def test_large_values_stay_fast(env: dict[str, str]) -> None:
    started = time.perf_counter()
    check_env(env)
    effective(env)
    assert time.perf_counter() - started < 3.0
