"""svc_nb.env: which variables svc-infra really reads, over many environments.

The last part runs svc-infra itself (in subprocesses, never in this process)
as the oracle for every claim the env checks make about it.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import svc_nb
from svc_nb import Report, Status
from svc_nb._diagnose import registered_checks
from svc_nb._exceptions import SvcNbError
from svc_nb._runtime import in_kernel
from svc_nb.env import (
    EnvCause,
    EnvFileError,
    _auth,
    _secrets,
    app_environment,
    check_env,
    check_event_loop,
    check_python,
    in_notebook_kernel,
    install_command,
    job_queue_redis_url,
    merged_environ,
    read_env_file,
    resolve_database_url,
    resolve_jwt_secret,
)

STRONG = "S" * 20 + "trong-jwt-secret-0123456789"  # 47 bytes
PG = "postgresql://app:pw-db-1@127.0.0.1:5432/app"
FERNET = base64.urlsafe_b64encode(b"k" * 32).decode()
ENV_CODES = {c.value for c in EnvCause}
HAS_SVC_INFRA = importlib.util.find_spec("svc_infra") is not None

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


def _assert_causes(report: Report) -> None:
    """Every non-ok finding names its cause; an env check's cause is an EnvCause code."""
    for finding in report:
        if finding.status is Status.OK:
            assert finding.cause is None, finding
            continue
        assert finding.cause, f"{finding.check} is {finding.status} without a cause"
        if not finding.data.get(
            "url_checks"
        ):  # folded-in db/cache parser findings keep their codes
            assert finding.cause in ENV_CODES, finding


# (id, environment, {check: "status" or "status/cause"}, {check: text in summary+detail+fix})
CASES: list[tuple[str, EnvFactory, dict[str, str], dict[str, str]]] = [
    (
        "guide-names-only",
        _env(DATABASE_URL=PG, REDIS_URL="redis://127.0.0.1:6379/0", JWT_SECRET_KEY=STRONG, WEBHOOK_SECRET="whsec-guide-1"),
        {
            "env.database_url": "fail/sql_url_missing",
            "env.cache_url": "ok",
            "env.jwt_secret": "warn/jwt_secret_dev_default",
            "env.webhook_secret": "warn/guide_name_ignored",
        },
        {"env.database_url": "reads only SQL_URL", "env.jwt_secret": "AUTH_JWT__SECRET", "env.webhook_secret": "never reads"},
    ),
    (
        "guide-names-prod",
        _env(APP_ENV="production", DATABASE_URL=PG, JWT_SECRET_KEY=STRONG),
        {
            "env.app_env": "ok",
            "env.jwt_secret": "fail/jwt_secret_missing",
            "env.cache_url": "warn/cache_in_memory",
            "env.webhook_encryption_key": "fail/webhook_key_missing",
            "env.job_queue": "warn/job_queue_in_memory",
        },
        {"env.jwt_secret": "MissingSecretError", "env.cache_url": "mem://"},
    ),
    (
        "svc-infra-names",
        _env(SQL_URL=PG, CACHE_URL="redis://127.0.0.1:6379/1", AUTH_JWT__SECRET=STRONG,
             WEBHOOK_ENCRYPTION_KEY=FERNET, SESSION_SECRET=STRONG + "x", CORS_ALLOW_ORIGINS="http://localhost:3000"),
        {"env.database_url": "ok", "env.cache_url": "ok", "env.jwt_secret": "ok", "env.auth_settings": "ok",
         "env.webhook_encryption_key": "ok", "env.session_secret": "ok", "env.cors": "ok"},
        {"env.database_url": "SQL_URL", "env.cache_url": "CACHE_URL", "env.jwt_secret": "AUTH_JWT__SECRET",
         "env.webhook_encryption_key": "Fernet"},
    ),
    (
        "both-names",
        _env(SQL_URL=PG, DATABASE_URL=PG, AUTH_JWT__SECRET=STRONG, JWT_SECRET_KEY=STRONG, JWT_SECRET="other-" + STRONG),
        {"env.database_url": "ok", "env.jwt_secret": "warn/jwt_secret_shadowed"},
        {"env.database_url": "not used: DATABASE_URL", "env.jwt_secret": "JWT_SECRET also set"},
    ),
    (
        "jwt-json-block",
        _env(AUTH_JWT=f'{{"secret": "{STRONG}"}}', JWT_SECRET="other-" + STRONG,
             AUTH_JWT__OLD_SECRETS=f'["old-{STRONG}"]'),
        {"env.jwt_secret": "warn/jwt_secret_shadowed", "env.jwt_old_secrets": "ok", "env.auth_settings": "ok"},
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
        {"env.database_url": "fail/sql_url_missing"},
        {"env.database_url": "DATABASE_URL_FILE"},
    ),
    (
        "file-points-nowhere",
        _with_file("SQL_URL_FILE", None),
        {"env.files": "fail/secret_file_missing", "env.database_url": "fail/no_database_url"},
        {"env.files": "does not exist"},
    ),
    (
        "file-empty-falls-through",
        _with_file("SQL_URL_FILE", "  \n", DATABASE_URL=PG),
        {"env.files": "fail/secret_file_empty"},
        {"env.files": "fell through to DATABASE_URL"},
    ),
    (
        "file-unused-because-earlier-set",
        _with_file("DATABASE_URL_FILE", None, SQL_URL=PG),
        {"env.files": "warn/secret_file_missing", "env.database_url": "ok"},
        {"env.files": "not used today"},
    ),
    (
        "file-is-a-directory",
        lambda tmp: {"SQL_URL_FILE": str(tmp)},
        {"env.files": "fail/secret_file_unreadable"},
        {"env.files": "is a directory"},
    ),
    (
        "prod-without-secret",
        _env(APP_ENV="PROD", SQL_URL=PG),
        {"env.jwt_secret": "fail/jwt_secret_missing", "env.session_secret": "warn/session_secret_missing"},
        {"env.jwt_secret": "MissingSecretError"},
    ),
    (
        "staging-via-railway",
        _env(RAILWAY_ENVIRONMENT_NAME="staging"),
        {"env.jwt_secret": "fail/jwt_secret_missing", "env.app_env": "ok"},
        {"env.app_env": "RAILWAY_ENVIRONMENT_NAME"},
    ),
    (
        "dev-default-secret-in-prod",
        _env(APP_ENV="prod", AUTH_JWT__SECRET="dev-only-jwt-secret-not-for-production"),
        {"env.jwt_secret": "fail/jwt_secret_dev_default"},
        {"env.jwt_secret": "public development default"},
    ),
    (
        "unknown-app-env",
        _env(APP_ENV="production-eu"),
        {"env.app_env": "warn/unknown_app_env", "env.jwt_secret": "warn/jwt_secret_dev_default"},
        {"env.app_env": "runs as 'local'"},
    ),
    (
        "short-secret-with-newline",
        _env(AUTH_JWT__SECRET="short-secret\n"),
        {"env.jwt_secret": "warn"},
        {"env.jwt_secret": "whitespace"},
    ),
    (
        "short-secret",
        _env(AUTH_JWT__SECRET="short-secret-1"),
        {"env.jwt_secret": "warn/weak_secret"},
        {"env.jwt_secret": "shorter than 32 bytes"},
    ),
    (
        "old-secrets-comma-separated",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__OLD_SECRETS="old-one-123456,old-two-123456"),
        {"env.jwt_old_secrets": "fail/jwt_old_secrets_not_json"},
        {"env.jwt_old_secrets": "SettingsError"},
    ),
    (
        "old-secrets-not-strings",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__OLD_SECRETS="[1, 2]"),
        {"env.jwt_old_secrets": "fail/jwt_old_secrets_not_strings"},
        {"env.jwt_old_secrets": "list of strings"},
    ),
    (
        "old-secrets-without-nested-secret",
        _env(JWT_SECRET=STRONG, AUTH_JWT__OLD_SECRETS='["old-one-1234567890"]'),
        {"env.jwt_old_secrets": "fail/jwt_block_without_secret", "env.jwt_secret": "ok"},
        {"env.jwt_old_secrets": "without AUTH_JWT__SECRET"},
    ),
    (
        "old-secrets-valid-and-current-repeated",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__OLD_SECRETS=f'["{STRONG}", "old-{STRONG}"]'),
        {"env.jwt_old_secrets": "warn/jwt_old_secret_is_current"},
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
        {"env.jwt_lifetime": "fail/jwt_lifetime_not_int"},
        {"env.jwt_lifetime": "not an integer"},
    ),
    (
        "lifetime-zero-is-replaced",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__LIFETIME_SECONDS="0"),
        {"env.jwt_lifetime": "warn/jwt_lifetime_ignored"},
        {"env.jwt_lifetime": "604800 s (7 days)"},
    ),
    (
        "lifetime-pydantic-forms",
        _env(AUTH_JWT__SECRET=STRONG, AUTH_JWT__LIFETIME_SECONDS=" 3_600.0 "),
        {"env.jwt_lifetime": "ok"},
        {"env.jwt_lifetime": "(3600 s)"},
    ),
    (
        "auth-setting-not-an-int",
        _env(AUTH_SMTP_PORT="abc"),
        {"env.auth_settings": "fail/auth_setting_invalid"},
        {"env.auth_settings": "AUTH_SMTP_PORT"},
    ),
    (
        "auth-setting-lowercase-name-is-read-too",
        _env(auth_session_cookie_secure="maybe"),
        {"env.auth_settings": "fail/auth_setting_invalid"},
        {"env.auth_settings": "valid boolean"},
    ),
    (
        "auth-jwt-block-without-secret",
        _env(AUTH_JWT__ISSUER="me"),
        {"env.auth_settings": "fail/auth_setting_invalid"},
        {"env.auth_settings": "jwt.secret"},
    ),
    (
        "fernet-like-key-invalid",
        _env(WEBHOOK_ENCRYPTION_KEY="!" * 43 + "="),
        {"env.webhook_encryption_key": "fail/webhook_key_invalid"},
        {"env.webhook_encryption_key": "ValueError: Fernet key must be 32 url-safe base64-encoded bytes"},
    ),
    (
        "fernet-like-key-bad-padding",
        _env(WEBHOOK_ENCRYPTION_KEY="a!" + "a" * 41 + "="),
        {"env.webhook_encryption_key": "fail/webhook_key_invalid"},
        {"env.webhook_encryption_key": "binascii.Error"},
    ),
    (
        "weak-passphrase-key",
        _env(WEBHOOK_ENCRYPTION_KEY="short-key"),
        {"env.webhook_encryption_key": "warn/weak_secret"},
        {"env.webhook_encryption_key": "SHA-256"},
    ),
    (
        "webhook-timeout-zero",
        _env(WEBHOOK_DELIVERY_TIMEOUT_SECONDS="0"),
        {"env.webhook_timeout": "fail/webhook_timeout_unusable"},
        {"env.webhook_timeout": "every webhook delivery fails"},
    ),
    (
        "webhook-timeout-not-a-number",
        _env(WEBHOOK_DELIVERY_TIMEOUT_SECONDS="10s", HTTP_CLIENT_TIMEOUT_SECONDS="4"),
        {"env.webhook_timeout": "warn/webhook_timeout_ignored"},
        {"env.webhook_timeout": "HTTP_CLIENT_TIMEOUT_SECONDS='4'"},
    ),
    (
        "webhook-timeout-infinite",
        _env(WEBHOOK_DELIVERY_TIMEOUT_SECONDS="inf"),
        {"env.webhook_timeout": "warn/webhook_timeout_unbounded"},
        {"env.webhook_timeout": "never time out"},
    ),
    (
        "job-queue-redis-without-url",
        _env(JOBS_DRIVER="Redis"),
        {"env.job_queue": "warn/job_queue_url_default"},
        {"env.job_queue": "redis://localhost:6379/0"},
    ),
    (
        "job-queue-rest-url",
        _env(JOBS_DRIVER="redis", UPSTASH_REDIS_REST_URL="https://eu1.upstash.io"),
        {"env.job_queue": "fail/job_queue_url_invalid"},
        {"env.job_queue": "raises ValueError"},
    ),
    (
        "job-queue-unknown-driver",
        _env(JOBS_DRIVER=" redis"),
        {"env.job_queue": "warn/jobs_driver_unknown"},
        {"env.job_queue": "in-memory queue"},
    ),
    (
        "job-queue-bad-lease",
        _env(JOBS_DRIVER="redis", JOBS_REDIS_URL="redis://127.0.0.1:6379/3", JOBS_SCHEDULER_LEASE_SECONDS="3m"),
        {"env.job_queue": "fail/jobs_setting_invalid"},
        {"env.job_queue": "JOBS_SCHEDULER_LEASE_SECONDS"},
    ),
    (
        "cors-guide-name",
        _env(CORS_ORIGINS="http://localhost:3000"),
        {"env.cors": "warn/guide_name_ignored"},
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
        {"env.cors": "fail/cors_regex_invalid"},
        {"env.cors": "does not compile"},
    ),
    (
        "cors-regex-without-origins",
        _env(CORS_ALLOW_ORIGIN_REGEX="https://.*\\.example\\.com"),
        {"env.cors": "warn/cors_regex_ignored"},
        {"env.cors": "unused"},
    ),
    (
        "nothing-set",
        _env(),
        {"env.app_env": "ok", "env.database_url": "fail/no_database_url", "env.cache_url": "ok",
         "env.jwt_secret": "warn/jwt_secret_dev_default", "env.job_queue": "ok", "env.cors": "skip/cors_not_configured"},
        {"env.jwt_secret": "development default"},
    ),
    (
        "session-guide-name",
        _env(SESSION_SECRET_KEY=STRONG),
        {"env.session_secret": "warn/guide_name_ignored"},
        {"env.session_secret": "reads SESSION_SECRET"},
    ),
    (
        "postgres-scheme-works",
        _env(SQL_URL="postgres://app:pw-db-1@127.0.0.1:5432/app"),
        {"env.database_url": "ok"},
        {"env.database_url": "rewritten to postgresql:// by svc-infra"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("environ", "statuses", "texts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_check_env_table(
    tmp_path: Path, environ: EnvFactory, statuses: dict[str, str], texts: dict[str, str]
) -> None:
    env = environ(tmp_path)
    report = check_env(env)
    assert report.title == "svc-infra environment"
    for check, expected in statuses.items():
        finding = report.get(check)
        assert finding is not None, f"{check} missing from {report.checks}"
        status, _, cause = expected.partition("/")
        assert finding.status.value == status, str(finding)
        if cause:
            assert finding.cause == cause, str(finding)
    for check, text in texts.items():
        finding = report[check]
        assert text in f"{finding.summary}\n{finding.detail}\n{finding.fix}", str(finding)
    _assert_causes(report)
    # A value svc-infra reads is never shown in clear in any view.
    views = str(report) + report._repr_html_() + report.to_json()
    for name, value in env.items():
        if len(value) >= 8 and ("SECRET" in name or "KEY" in name):
            assert value.strip() not in views, name
    assert "pw-db-1" not in views


def test_postgres_scheme_is_rewritten_not_rejected() -> None:
    resolved = resolve_database_url({"SQL_URL": "postgres://u:pw-xyz-123@127.0.0.1/db"})
    assert resolved is not None and resolved.value.startswith("postgresql://")
    finding = check_env({"SQL_URL": "postgres://u:pw-xyz-123@127.0.0.1/db"})["env.database_url"]
    assert finding.status is Status.OK
    assert "pw-xyz-123" not in str(finding) and "reject" not in str(finding)


def test_url_problems_are_folded_in_with_the_parsers_cause() -> None:
    finding = check_env({"SQL_URL": "postgresql://app@127.0.0.1:notaport/app"})["env.database_url"]
    assert finding.status is Status.FAIL and finding.cause == "bad_port"
    assert "db.url.port" in finding.data["url_checks"]
    cache = check_env({"CACHE_URL": "redis://127.0.0.1:99999/0"})["env.cache_url"]
    assert cache.status is Status.FAIL and cache.cause == "bad_port"
    assert "99999" in cache.summary
    assert "below" not in cache.fix  # roll-up rows of the parser are not copied


def test_check_env_does_not_read_os_environ_when_given_a_mapping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTH_JWT__SECRET", STRONG)
    assert check_env({})["env.jwt_secret"].status is Status.WARN
    assert check_env()["env.jwt_secret"].status is Status.OK


def test_check_env_rejects_non_mapping() -> None:
    with pytest.raises(TypeError, match="mapping") as info:
        check_env(["SQL_URL"])  # type: ignore[arg-type]
    assert isinstance(info.value, SvcNbError)


@pytest.mark.parametrize(
    ("raw", "normalised", "prod_like"),
    [("", "local", False), ("Production", "prod", True), ("uat", "test", True), ("preview", "test", True),
     ("development", "dev", False), ("weird", "local", False), (" prod ", "prod", True)],
)  # fmt: skip
def test_app_environment(raw: str, normalised: str, prod_like: bool) -> None:
    _, norm, prod = app_environment({"APP_ENV": raw} if raw else {})
    assert (norm, prod) == (normalised, prod_like)


# -- .env files and values that are not strings --------------------------------------


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


@pytest.mark.parametrize(
    ("content", "cause"),
    [(None, "env_file_missing"), (b"SQL_URL=caf\xe9\n", "env_file_not_utf8")],
)
def test_env_file_problems_are_findings(tmp_path: Path, content: bytes | None, cause: str) -> None:
    path = tmp_path / "x.env"
    if content is not None:
        path.write_bytes(content)
    finding = check_env({}, env_file=path)["env.env_file"]
    assert finding.status is Status.FAIL and finding.cause == cause


def test_dotenv_values_with_a_bare_key_works(tmp_path: Path) -> None:
    from dotenv import dotenv_values

    path = tmp_path / ".env"
    path.write_text(f"SQL_URL={PG}\nAUTH_JWT__SECRET\nJWT_SECRET={STRONG}\n")
    values = dotenv_values(path)
    assert values["AUTH_JWT__SECRET"] is None
    report = check_env(values)
    bare = report["env.bare_keys"]
    assert bare.status is Status.WARN and bare.cause == "bare_key"
    assert "AUTH_JWT__SECRET" in bare.summary
    # A bare name is unset, as load_dotenv leaves it: JWT_SECRET is the one used.
    assert report["env.jwt_secret"].data["source"] == "JWT_SECRET"
    _assert_causes(report)


def test_values_that_are_not_strings_are_findings() -> None:
    report = check_env(
        {"AUTH_JWT__SECRET": STRONG.encode(), "AUTH_JWT__LIFETIME_SECONDS": 3600, "CORS_ALLOW_ORIGINS": ["x"],
         7: "seven", "WEBHOOK_DELIVERY_TIMEOUT_SECONDS": 0.0}  # type: ignore[dict-item]
    )  # fmt: skip
    odd = report["env.value_types"]
    assert odd.status is Status.WARN and odd.cause == "not_text"
    assert {"AUTH_JWT__SECRET", "AUTH_JWT__LIFETIME_SECONDS", "CORS_ALLOW_ORIGINS", "7"} <= set(
        odd.data["names"]
    )
    assert odd.data["dropped"] == ["CORS_ALLOW_ORIGINS"]
    # Numbers and bytes are read as the text an environment would hold.
    assert report["env.jwt_secret"].status is Status.OK
    assert report["env.jwt_lifetime"].data["lifetime_seconds"] == 3600
    assert report["env.webhook_timeout"].cause == "webhook_timeout_unusable"
    assert report["env.cors"].cause == "cors_not_configured"
    _assert_causes(report)


def test_merged_environ_lets_the_environment_win(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("A=from-file\nB=from-file\nBARE\n")
    merged = merged_environ(path, {"A": "from-env", "C": None, "D": 4})
    assert merged == {"A": "from-env", "B": "from-file", "D": "4"}
    assert "BARE" not in read_env_file(path)
    assert merged_environ(None, {"X": "1"}) == {"X": "1"}
    with pytest.raises(EnvFileError, match="does not exist") as info:
        merged_environ(tmp_path / "missing.env", {})
    assert isinstance(info.value, SvcNbError) and isinstance(info.value, ValueError)


def test_cli_doctor_merges_the_env_file_under_the_environment(tmp_path: Path) -> None:
    """`svc-nb doctor --env-file` reads the file, and the process environment wins over it."""
    import json
    import subprocess
    import sys

    env_file = tmp_path / ".env"
    env_file.write_text("AUTH_JWT__SECRET=short\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "JWT_"))}

    def doctor(extra: dict[str, str]) -> dict:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "svc_nb",
                "doctor",
                "--only",
                "env",
                "--json",
                "--env-file",
                str(env_file),
            ],
            capture_output=True,
            text=True,
            env={**base, **extra},
            timeout=120,
        )
        assert done.returncode in (0, 1), done.stderr
        return {f["check"]: f for f in json.loads(done.stdout)["findings"]}

    from_file = doctor({})
    assert from_file["env.jwt_secret"]["cause"] == "weak_secret"
    overridden = doctor({"AUTH_JWT__SECRET": "x" * 48 + "-a-long-random-secret"})
    assert overridden["env.jwt_secret"]["cause"] != "weak_secret"


# -- hostile values: linear time, never an exception ------------------------------------

MB = 1_000_000
_SHAPES = {
    "letters": "x" * MB,
    "url": "postgresql://u:p@h/" + "x" * MB,
    "redis-password": "redis://:" + "p" * MB + "@h/0",
    "brackets": "[" * MB,
    "braces": "{" * MB,
    "string-list": "[" + ",".join(['"abcdefghij"'] * (MB // 13)) + "]",
    "commas": "a," * (MB // 2),
    "origins": "http://a.example.com," * (MB // 21),
    "parens": "(" * MB,
    "digits": "9" * MB,
    "quotes": '"' * MB,
    "backslashes": "\\" * MB,
}
_NAMES = [
    "SQL_URL", "DATABASE_URL", "SQL_URL_FILE", "CACHE_URL", "REDIS_URL", "JOBS_REDIS_URL", "AUTH_JWT__SECRET",
    "AUTH_JWT__OLD_SECRETS", "AUTH_JWT", "AUTH_JWT__LIFETIME_SECONDS", "AUTH_SMTP_PORT", "AUTH_PASSWORD_CLIENTS",
    "AUTH_OIDC_PROVIDERS", "AUTH_SESSION_COOKIE_SECURE", "CORS_ALLOW_ORIGINS", "CORS_ALLOW_ORIGIN_REGEX",
    "CORS_ALLOW_CREDENTIALS", "APP_ENV", "WEBHOOK_ENCRYPTION_KEY", "SESSION_SECRET", "JWT_SECRET_KEY",
    "WEBHOOK_DELIVERY_TIMEOUT_SECONDS", "JOBS_DRIVER", "JOBS_SCHEDULER_LEASE_SECONDS",
]  # fmt: skip
# Names whose check runs only when another variable turns it on.
_COMPANIONS = {
    "JOBS_REDIS_URL": {"JOBS_DRIVER": "redis"},
    "CORS_ALLOW_ORIGIN_REGEX": {"CORS_ALLOW_ORIGINS": "https://a.example.com"},
    "CORS_ALLOW_CREDENTIALS": {"CORS_ALLOW_ORIGINS": "https://a.example.com"},
}


@pytest.mark.parametrize("name", _NAMES)
def test_megabyte_values_of_every_kind_stay_fast(name: str) -> None:
    """SQL_URL='x'*100_000 once took 66 s: every path is linear now."""
    check_env({name: "1"})  # warm-up: lazy imports and svc-infra's settings model
    for shape, value in _SHAPES.items():
        started = time.perf_counter()
        report = check_env({name: value, **_COMPANIONS.get(name, {})})
        text = str(report)
        elapsed = time.perf_counter() - started
        assert elapsed < 2.0, f"{name}={shape}: {elapsed:.2f} s"
        assert not [f for f in report if f.cause == "check_crashed"], text
        assert len(text) < 20_000, f"{name}={shape}: the value leaked into the report"
        _assert_causes(report)


def test_a_megabyte_sql_url_is_reported_not_parsed() -> None:
    finding = check_env({"SQL_URL": "x" * 100_000})["env.database_url"]
    assert finding.status is Status.WARN and finding.cause == "value_too_long"
    assert "SQL_URL" in finding.summary


@pytest.mark.parametrize(
    ("name", "check", "cause"),
    [
        ("AUTH_JWT__OLD_SECRETS", "env.jwt_old_secrets", "json_too_deep"),
        ("AUTH_JWT", "env.auth_settings", "json_too_deep"),
        ("AUTH_PASSWORD_CLIENTS", "env.auth_settings", "json_too_deep"),
        ("AUTH_OIDC_PROVIDERS", "env.auth_settings", "json_too_deep"),
    ],
)
def test_json_nested_100000_deep_is_a_finding(name: str, check: str, cause: str) -> None:
    env = {"AUTH_JWT__SECRET": STRONG, name: "[" * 100_000 + "]" * 100_000}
    report = check_env(env)
    finding = report[check]
    assert finding.status is Status.FAIL and finding.cause == cause
    assert name in finding.summary
    # The masking registry and the JWT resolver parse these too: still no exception.
    assert resolve_jwt_secret({"AUTH_JWT": "{" * 100_000}) is None


def test_deep_json_in_a_plain_string_setting_is_fine() -> None:
    """AUTH_SMTP_HOST is a str field: svc-infra accepts any text, so must svc_nb."""
    assert check_env({"AUTH_SMTP_HOST": "[" * 5000})["env.auth_settings"].status is Status.OK


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/" + "a" * 5000, "cannot be used as a path"),
        ("/tmp/a\x00b", "cannot be used as a path"),
        ("/dev/zero", "is not a regular file"),
    ],
    ids=["name-too-long", "nul-byte", "dev-zero"],
)
def test_unusable_file_paths_are_findings(path: str, problem: str) -> None:
    finding = check_env({"SQL_URL_FILE": path})["env.files"]
    assert finding.status is Status.FAIL and finding.cause == "secret_file_unreadable"
    assert problem in finding.summary
    assert resolve_database_url({"SQL_URL_FILE": path}) is None


def test_a_fifo_is_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "url.fifo"
    os.mkfifo(fifo)
    started = time.perf_counter()
    finding = check_env({"SQL_URL_FILE": str(fifo)})["env.files"]
    assert time.perf_counter() - started < 2.0
    assert "is not a regular file" in finding.summary


def test_file_prefix_and_absolute_path_values_name_a_file(tmp_path: Path) -> None:
    path = tmp_path / "db_url"
    path.write_text(PG + "\n")
    for value in (f"file:{path}", str(path)):
        resolved = resolve_database_url({"DATABASE_URL": value})
        assert resolved is not None and resolved.value == PG and resolved.from_file


@pytest.mark.parametrize(
    ("regex", "cause", "text"),
    [
        ("a{99999999999}", "cors_regex_invalid", "OverflowError"),
        ("(" * 5000, "cors_regex_invalid", "RecursionError"),
        ("a" * 50_000, "value_too_long", "50000 characters"),
    ],
    ids=["huge-repeat", "deep-groups", "too-long"],
)
def test_cors_regex_that_cannot_compile_is_a_finding(regex: str, cause: str, text: str) -> None:
    finding = check_env(
        {"CORS_ALLOW_ORIGINS": "https://a.example.com", "CORS_ALLOW_ORIGIN_REGEX": regex}
    )["env.cors"]
    assert finding.cause == cause and finding.status is not Status.OK
    assert text in finding.summary + finding.detail


def test_a_crashing_check_does_not_hide_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    from svc_nb.env import _checks

    def boom(env: dict[str, str], prod_like: bool) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(_checks, "_check_cache_url", boom)
    report = check_env({"SQL_URL": PG})
    crashed = report["env.cache_url"]
    assert crashed.status is Status.FAIL and crashed.cause == "check_crashed"
    assert "RecursionError" in crashed.summary
    assert report["env.database_url"].status is Status.OK
    assert report.get("env.cors") is not None


def test_doctor_keeps_every_env_finding_on_hostile_values() -> None:
    """The env section used to collapse into one 'env raised RecursionError' row."""
    env = {
        "AUTH_JWT__SECRET": STRONG,
        "AUTH_JWT__OLD_SECRETS": "[" * 100_000,
        "AUTH_JWT": "{" * 100_000,
        "SQL_URL_FILE": "/" + "a" * 5000,
        "CORS_ALLOW_ORIGINS": "https://a.example.com",
        "CORS_ALLOW_ORIGIN_REGEX": "a{99999999999}",
        "WEBHOOK_ENCRYPTION_KEY": "!" * 43 + "=",
    }
    report = svc_nb.run(svc_nb.diagnose(env, timeout=3.0))
    env_rows = report.select("env")
    assert "env" not in env_rows.checks  # no single roll-up row
    causes = {f.check: f.cause for f in env_rows}
    assert causes["env.jwt_old_secrets"] == "json_too_deep"
    assert causes["env.auth_settings"] == "json_too_deep"
    assert causes["env.files"] == "secret_file_unreadable"
    assert causes["env.cors"] == "cors_regex_invalid"
    assert causes["env.webhook_encryption_key"] == "webhook_key_invalid"


def test_cli_doctor_json_keeps_env_rows_on_deep_json(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AUTH_", "SQL_", "CACHE_", "REDIS_"))
    }
    env.update(AUTH_JWT__SECRET=STRONG, AUTH_JWT__OLD_SECRETS="[" * 100_000)
    result = subprocess.run(
        [sys.executable, "-m", "svc_nb", "doctor", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    payload = json.loads(result.stdout)
    rows = {f["check"]: f for f in payload["findings"]}
    assert rows["env.jwt_old_secrets"]["cause"] == "json_too_deep", result.stdout[-2000:]
    assert "env" not in rows


# -- resolvers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"REDIS_URL": "redis://r/0"}, None),  # memory unless JOBS_DRIVER=redis
        ({"JOBS_DRIVER": "memory", "JOBS_REDIS_URL": "redis://j/0"}, None),
        ({"JOBS_DRIVER": " redis", "JOBS_REDIS_URL": "redis://j/0"}, None),  # not stripped
        (
            {"JOBS_DRIVER": "REDIS", "JOBS_REDIS_URL": "redis://j/0", "REDIS_URL": "redis://r/0"},
            "redis://j/0",
        ),
        (
            {
                "JOBS_DRIVER": "redis",
                "REDIS_URL_PRIVATE": "redis://p/0",
                "REDIS_URL": "redis://r/0",
            },
            "redis://p/0",
        ),
        (
            {
                "JOBS_DRIVER": "redis",
                "REDIS_PRIVATE_URL": "redis://q/0",
                "REDIS_URL": "redis://r/0",
            },
            "redis://q/0",
        ),
        (
            {"JOBS_DRIVER": "redis", "REDIS_URL": "redis://r/0", "CACHE_URL": "redis://c/0"},
            "redis://r/0",
        ),
        ({"JOBS_DRIVER": "redis", "CACHE_URL": "redis://c/0"}, "redis://c/0"),
        ({"JOBS_DRIVER": "redis", "JOBS_REDIS_URL": "", "CACHE_URL": "redis://c/0"}, "redis://c/0"),
        ({"JOBS_DRIVER": "redis"}, "redis://localhost:6379/0"),
    ],
)
def test_job_queue_redis_url(env: dict[str, str], expected: str | None) -> None:
    assert job_queue_redis_url(env) == expected


def test_resolvers_accept_odd_values() -> None:
    odd: dict[str, Any] = {
        "SQL_URL": None,
        "DATABASE_URL": PG.encode(),
        "JOBS_DRIVER": None,
        "AUTH_JWT__SECRET": 5,
    }
    resolved = resolve_database_url(odd)
    assert resolved is not None and resolved.source == "DATABASE_URL"
    assert job_queue_redis_url(odd) is None
    assert resolve_jwt_secret(odd) is not None


def test_in_notebook_kernel_is_the_runtime_test() -> None:
    assert in_notebook_kernel is in_kernel
    assert in_notebook_kernel() is False


# -- Python and the event loop -----------------------------------------------------------


def test_check_python_reports_interpreter_and_install_command() -> None:
    report = check_python()
    interp = report["python.interpreter"]
    assert interp.data["executable"] == sys.executable
    assert interp.data["version"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    svc = report["python.svc_infra"]
    assert svc.status is (Status.OK if HAS_SVC_INFRA else Status.WARN), svc
    assert report["python.packages"].data["versions"]["asyncpg"]
    assert install_command("x") == f"{sys.executable} -m pip install x"
    _assert_causes(report)


def test_check_python_does_not_import_svc_infra() -> None:
    code = "import sys, svc_nb.env as e; r = e.check_python(); print(r['python.svc_infra'].status, 'svc_infra' in sys.modules)"
    env = {**os.environ, "AUTH_SMTP_PORT": "abc"}  # would crash an import of svc_infra
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == (["ok", "False"] if HAS_SVC_INFRA else ["warn", "False"]), (
        out.stderr
    )


def test_check_python_names_missing_requirements(monkeypatch: pytest.MonkeyPatch) -> None:
    if not HAS_SVC_INFRA:
        pytest.skip("svc-infra is not installed")
    from svc_nb.env import _python

    monkeypatch.delitem(sys.modules, "svc_infra", raising=False)
    monkeypatch.setattr(_python, "_missing_requirements", lambda dist: ["fastapi"])
    finding = check_python()["python.svc_infra"]
    assert finding.status is Status.FAIL and finding.cause == "svc_infra_broken"
    assert "fastapi" in finding.summary and "--force-reinstall" in finding.fix


def test_check_python_warns_when_pip_on_path_is_another_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "pip"
    fake.write_text("#!/opt/other-env/bin/python3\nimport sys\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    finding = check_python()["python.pip"]
    assert finding.status is Status.WARN and finding.cause == "pip_other_interpreter"
    assert "/opt/other-env/bin/python3" in finding.summary
    assert sys.executable in finding.fix and "-m pip install" in finding.fix


def test_check_python_ignores_shell_shims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shim = tmp_path / "pip"
    shim.write_text('#!/usr/bin/env bash\nexec pyenv exec pip "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    assert check_python().get("python.pip") is None


def test_check_event_loop_without_loop() -> None:
    finding = check_event_loop()["loop.event_loop"]
    assert finding.status is Status.OK and finding.data["running"] is False


async def test_check_event_loop_inside_asyncio_loop() -> None:
    finding = check_event_loop()["loop.event_loop"]
    assert finding.status is Status.OK and finding.data["running"] is True
    assert "EventLoop" in finding.data["loop_class"]


def test_check_event_loop_uvloop_cannot_be_patched() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def probe() -> Report:
        return check_event_loop()

    finding = uvloop.run(probe())["loop.event_loop"]
    assert finding.status is Status.WARN and finding.cause == "loop_unpatchable"
    assert finding.data["patchable"] is False
    assert "svc_nb.run" in finding.fix and "await" in finding.fix


def test_check_event_loop_patched_loop() -> None:
    """A loop the user patched reads as patched. In a child process: nest-asyncio2 replaces
    asyncio.run process-wide, which would break later tests (uvloop.run on Python 3.12+)."""
    import subprocess
    import sys

    code = (
        "import asyncio, nest_asyncio2\n"
        "from svc_nb.env import check_event_loop\n"
        "async def probe():\n"
        "    nest_asyncio2.apply(asyncio.get_running_loop())\n"
        "    return check_event_loop()\n"
        "loop = asyncio.new_event_loop()\n"
        "f = loop.run_until_complete(probe())['loop.event_loop']\n"
        "print(f.status.value, f.data['patched'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "True"]


def test_diagnose_registers_env_python_loop_first() -> None:
    names = registered_checks()
    assert names[:3] == ["env", "python", "loop"]
    report = svc_nb.run(svc_nb.diagnose({"APP_ENV": "prod"}, timeout=2.0))
    assert report["env.jwt_secret"].status is Status.FAIL
    assert report.get("python.interpreter") is not None
    assert report.get("loop.event_loop") is not None
    assert not report.ok


def test_importing_env_stays_light() -> None:
    code = "import sys, svc_nb.env; print(sorted(m for m in ('svc_infra', 'pydantic', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


# -- svc-infra itself as the oracle (subprocesses only) ---------------------------------

needs_svc_infra = pytest.mark.skipif(not HAS_SVC_INFRA, reason="svc-infra is not installed")


def _clean_environ() -> dict[str, str]:
    """This process's environment without anything svc-infra reads."""
    prefixes = ("AUTH_", "SQL_", "DB_", "DATABASE_", "CACHE_", "REDIS_", "JOBS_", "WEBHOOK", "HTTP_CLIENT",
                "APP_ENV", "RAILWAY_", "JWT_", "SESSION_", "CORS_", "UPSTASH_")  # fmt: skip
    return {k: v for k, v in os.environ.items() if not k.upper().startswith(prefixes)}


def _run_svc_infra(
    code: str, cwd: Path, env: dict[str, str] | None = None, stdin: Any = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**_clean_environ(), **(env or {})},
        cwd=cwd,  # no stray .env: svc-infra's AuthSettings reads ./.env too
        input=None if stdin is None else json.dumps(stdin),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


_AUTH_VERDICT_CHECKS = ("env.auth_settings", "env.jwt_old_secrets", "env.jwt_lifetime")


def _svc_nb_says_import_fails(env: dict[str, str]) -> bool:
    report = check_env(env)
    return any(
        report.get(c) is not None and report[c].status is Status.FAIL for c in _AUTH_VERDICT_CHECKS
    )


@needs_svc_infra
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTH_SMTP_PORT", "abc"),
        ("AUTH_OIDC_PROVIDERS", "okta"),
        ("AUTH_PASSWORD_CLIENTS", "web:secret"),
        ("AUTH_JWT__OLD_SECRETS", "[" * 100_000),
        ("AUTH_SMTP_PORT", " 2_525.0 "),  # control: pydantic reads this as 2525
    ],
    ids=[
        "smtp-port-abc",
        "oidc-okta",
        "password-clients-colon",
        "old-secrets-deep",
        "smtp-port-valid",
    ],
)
def test_import_svc_infra_fails_exactly_when_svc_nb_says_so(
    tmp_path: Path, name: str, value: str
) -> None:
    env = {"AUTH_JWT__SECRET": STRONG, name: value}
    result = _run_svc_infra("import svc_infra", tmp_path, env)
    crashes = result.returncode != 0
    assert _svc_nb_says_import_fails(env) is crashes, result.stderr[-500:]
    if crashes:
        report = check_env(env)
        named = [f for f in report if f.status is Status.FAIL and name in f.summary]
        assert named, str(report)


# Each: an environment of AUTH_* values; svc-infra's AuthSettings() is the judge.
_AUTH_CORPUS: list[dict[str, str]] = [
    {}, {"AUTH_SMTP_PORT": "abc"}, {"AUTH_SMTP_PORT": " 42 "}, {"AUTH_SMTP_PORT": "4_2"}, {"AUTH_SMTP_PORT": "42.0"},
    {"AUTH_SMTP_PORT": "42.5"}, {"AUTH_SMTP_PORT": "+42"}, {"AUTH_SMTP_PORT": ""}, {"AUTH_SMTP_PORT": "1e3"},
    {"AUTH_SMTP_PORT": "9" * 4300}, {"AUTH_SMTP_PORT": "9" * 4301}, {"auth_smtp_port": "abc"},
    {"AUTH_SESSION_COOKIE_SECURE": "maybe"}, {"AUTH_SESSION_COOKIE_SECURE": " yes "}, {"AUTH_SESSION_COOKIE_SECURE": "Y"},
    {"AUTH_SESSION_COOKIE_SECURE": ""}, {"AUTH_JWT__LIFETIME_SECONDS": "5"},
    {"AUTH_JWT__SECRET": "s", "AUTH_JWT__LIFETIME_SECONDS": "-5"}, {"AUTH_JWT__SECRET": "s", "AUTH_JWT__LIFETIME_SECONDS": "7d"},
    {"AUTH_JWT__SECRET": "s", "AUTH_JWT__OLD_SECRETS": "a,b"}, {"AUTH_JWT__SECRET": "s", "AUTH_JWT__OLD_SECRETS": "[1,2]"},
    {"AUTH_JWT__SECRET": "s", "AUTH_JWT__OLD_SECRETS": ""}, {"AUTH_JWT__SECRET": "s", "AUTH_JWT__OLD_SECRETS": "null"},
    {"AUTH_JWT": '{"secret":"x"}', "AUTH_JWT__LIFETIME_SECONDS": "9"}, {"AUTH_JWT": "nope"}, {"AUTH_JWT": ""},
    {"AUTH_JWT": "null"}, {"AUTH_JWT": '{"secret":5}'}, {"AUTH_JWT": "[]"}, {"AUTH_JWT": "{}", "AUTH_JWT__SECRET": "x"},
    {"AUTH_JWT": '{"secret":"x","lifetime_seconds":true}'}, {"AUTH_JWT": '{"secret":"x","lifetime_seconds":60.5}'},
    {"AUTH_JWT": '{"secret":"x","old_secrets":"a"}'}, {"AUTH_JWT": '{bad', "AUTH_JWT__LIFETIME_SECONDS": "1"},
    {"AUTH_JWT__FOO": "1"}, {"AUTH_JWT__SECRET": ""}, {"AUTH_OIDC_PROVIDERS": "okta"}, {"AUTH_PASSWORD_CLIENTS": "web:secret"},
    {"AUTH_PASSWORD_CLIENTS": "[]"}, {"AUTH_PASSWORD_CLIENTS": ""}, {"AUTH_PASSWORD_CLIENTS": "null"},
    {"AUTH_PASSWORD_CLIENTS": '[{"client_id":"a"}]'}, {"AUTH_PASSWORD_CLIENTS": '[{"client_id":"a","client_secret":"b","x":1}]'},
    {"AUTH_PASSWORD_CLIENTS": '{"client_id":"a","client_secret":"b"}'}, {"AUTH_PASSWORD_CLIENTS__0__CLIENT_ID": "a"},
    {"AUTH_MFA_ENFORCE_FOR_TENANTS": "a"}, {"AUTH_MFA_ENFORCE_FOR_TENANTS": '["a"]'}, {"AUTH_MFA_ENFORCE_FOR_TENANTS": '"a"'},
    {"AUTH_SMTP_PORT__X": "a"}, {"AUTH_POST_LOGIN_REDIRECT": "not a url"}, {"AUTH_SMTP_HOST": "[" * 500},
    {"AUTH_OIDC_PROVIDERS": '[{"name":"o","issuer":"i","client_id":"c","client_secret":"s","scope":5}]'},
    {"AUTH_UNKNOWN_THING": "whatever"}, {"AUTH_MFA_RECOVERY_CODES": "eight"},
]  # fmt: skip

_ORACLE = """
    import json, os, sys
    from svc_infra.api.fastapi.auth import settings as S
    base = dict(os.environ)
    verdicts = []
    for env in json.load(sys.stdin):
        os.environ.clear()
        os.environ.update(base)
        os.environ.update(env)
        try:
            S.AuthSettings()
            verdicts.append(None)
        except BaseException as exc:
            verdicts.append(type(exc).__name__)
    print(json.dumps(verdicts))
"""


@pytest.fixture(scope="module")
def auth_oracle(tmp_path_factory: pytest.TempPathFactory) -> list[str | None]:
    if not HAS_SVC_INFRA:
        pytest.skip("svc-infra is not installed")
    result = _run_svc_infra(_ORACLE, tmp_path_factory.mktemp("oracle"), stdin=_AUTH_CORPUS)
    assert result.returncode == 0, result.stderr[-2000:]
    verdicts: list[str | None] = json.loads(result.stdout)
    assert any(verdicts) and not all(verdicts)
    return verdicts


@pytest.mark.parametrize("fast_path", [True, False], ids=["string-fields-known", "model-only"])
def test_auth_settings_model_agrees_with_svc_infra(
    auth_oracle: list[str | None], fast_path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fast_path:  # an unproved svc-infra version: every environment goes to the model
        monkeypatch.setattr(_auth, "_PROVED_VERSIONS", frozenset())
    _secrets._auth_cached.cache_clear()
    for env, verdict in zip(_AUTH_CORPUS, auth_oracle, strict=True):
        checked = _auth.check_auth_settings(env)
        assert not env or checked.rule.startswith("svc-infra "), checked.rule
        assert fast_path or not env or checked.rule.endswith("AuthSettings model"), checked.rule
        assert bool(checked.problems) is (verdict is not None), (env, verdict, checked.problems)
        assert _svc_nb_says_import_fails(env) is (verdict is not None), (env, verdict)
    _secrets._auth_cached.cache_clear()


def test_auth_settings_table_agrees_with_svc_infra(
    auth_oracle: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without svc-infra installed, the table of its fields gives the same verdicts."""
    monkeypatch.setattr(_auth._AUTH_MODEL, "load", lambda: None)
    monkeypatch.setattr(_auth, "_proved_version", lambda: None)  # no svc-infra: no version
    for env, verdict in zip(_AUTH_CORPUS, auth_oracle, strict=True):
        checked = _auth.check_auth_settings(env)
        assert not env or checked.rule.startswith("svc_nb's table"), checked.rule
        assert bool(checked.problems) is (verdict is not None), (env, verdict, checked.problems)


_STRING_FIELDS_ONLY = {"AUTH_JWT__SECRET": STRONG, "AUTH_SMTP_HOST": "smtp.example.com"}


@needs_svc_infra
@pytest.mark.parametrize("unproved", ["other-version", "no-settings-file"])
def test_string_fields_skip_the_model_only_for_a_proved_svc_infra(
    unproved: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _auth.check_auth_settings(_STRING_FIELDS_ONLY)
    assert fast.rule.startswith("svc-infra ")
    assert fast.rule.endswith(
        "'s AuthSettings: string fields, any value loads (proved against its model)"
    )
    if unproved == "other-version":
        monkeypatch.setattr(_auth, "_PROVED_VERSIONS", frozenset({"1.22.1", "1.23.0"}))
    else:  # metadata says svc-infra, but its settings file is not there: claim nothing
        monkeypatch.setattr(_auth, "svc_infra_file", lambda *parts: None)
    model = _auth.check_auth_settings(_STRING_FIELDS_ONLY)
    assert model.rule.endswith("'s AuthSettings model"), model.rule
    assert (fast.variables, fast.problems) == (model.variables, model.problems)
    assert fast.variables == tuple(_STRING_FIELDS_ONLY) and fast.problems == ()


@needs_svc_infra
@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (
            {"AUTH_SMTP_PORT": "abc"},
            [("AUTH_SMTP_PORT", "smtp_port", "invalid", "valid integer")],
        ),
        ({"AUTH_JWT": "{"}, [("AUTH_JWT", "jwt", "invalid", "valid dictionary")]),
    ],
    ids=["smtp-port-abc", "auth-jwt-brace"],
)
def test_a_bad_auth_value_beside_string_fields_is_judged_by_the_model(
    bad: dict[str, str], expected: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**_STRING_FIELDS_ONLY, **bad}
    checked = _auth.check_auth_settings(env)
    assert checked.rule.endswith("'s AuthSettings model"), checked.rule
    found = [(p.variable, p.field, p.kind) for p in checked.problems]
    assert found == [e[:3] for e in expected]
    assert all(e[3] in p.message for p, e in zip(checked.problems, expected, strict=True))
    monkeypatch.setattr(_auth, "_PROVED_VERSIONS", frozenset())  # the model alone, as before
    assert _auth.check_auth_settings(env) == checked
    _secrets._auth_cached.cache_clear()
    finding = check_env(env)["env.auth_settings"]
    assert finding.status is Status.FAIL and finding.cause == "auth_setting_invalid"
    assert next(iter(bad)) in finding.summary


def test_problem_messages_never_repeat_the_value() -> None:
    secret = "web:very-secret-client-value"
    report = check_env(
        {
            "AUTH_PASSWORD_CLIENTS": secret,
            "AUTH_OIDC_PROVIDERS": '[{"client_secret": "oidc-secret-1"}]',
        }
    )
    views = str(report) + report.to_json()
    assert "very-secret-client-value" not in views and "oidc-secret-1" not in views
    assert report["env.auth_settings"].cause == "auth_setting_invalid"


@needs_svc_infra
def test_lifetime_zero_or_less_becomes_seven_days_in_svc_infra(tmp_path: Path) -> None:
    """svc-infra's default lifetime (unset, or zero or less) is svc_nb's DEFAULT_LIFETIME."""
    from svc_nb.tokens import DEFAULT_LIFETIME

    code = """
        import json, os, sys, uuid
        from fastapi_users import schemas
        from svc_infra.api.fastapi.auth import settings as S
        from svc_infra.api.fastapi.db.sql.users import get_fastapi_users
        class R(schemas.BaseUser[uuid.UUID]): pass
        class C(schemas.BaseUserCreate): pass
        class U(schemas.BaseUserUpdate): pass
        get_strategy = get_fastapi_users(object, R, C, U)[4]
        out = []
        for life in json.load(sys.stdin):
            if life is None:
                os.environ.pop("AUTH_JWT__LIFETIME_SECONDS", None)
            else:
                os.environ["AUTH_JWT__LIFETIME_SECONDS"] = life
            S._settings = None  # get_auth_settings() reads the environment again
            out.append(get_strategy().lifetime_seconds)
        print(json.dumps(out))
    """
    lifetimes = [None, "-5", "0", "60"]
    expected = [DEFAULT_LIFETIME, DEFAULT_LIFETIME, DEFAULT_LIFETIME, 60]
    result = _run_svc_infra(code, tmp_path, {"AUTH_JWT__SECRET": STRONG}, stdin=lifetimes)
    assert json.loads(result.stdout) == expected, result.stderr[-1000:]
    assert DEFAULT_LIFETIME == 604800  # what the explanations say: 7 days
    for life, used in zip(lifetimes[1:], expected[1:], strict=True):
        finding = check_env({"AUTH_JWT__SECRET": STRONG, "AUTH_JWT__LIFETIME_SECONDS": life})[
            "env.jwt_lifetime"
        ]
        if used == DEFAULT_LIFETIME:
            assert finding.cause == "jwt_lifetime_ignored" and "604800" in finding.summary
            assert finding.data["lifetime_seconds"] == DEFAULT_LIFETIME
            assert "expired" not in str(finding)
        else:
            assert finding.status is Status.OK and finding.data["lifetime_seconds"] == used


@needs_svc_infra
def test_postgres_scheme_is_rewritten_by_svc_infra_runtime_and_cli(tmp_path: Path) -> None:
    code = """
        import os
        from svc_infra.api.fastapi.db.sql import session
        from svc_infra.db.sql.utils import get_database_url_from_env
        session.initialize_session(os.environ["SQL_URL"])
        print(session._engine.url.drivername, get_database_url_from_env().split("://")[0])
    """
    result = _run_svc_infra(code, tmp_path, {"SQL_URL": "postgres://app@127.0.0.1:5432/test"})
    assert result.stdout.split() == ["postgresql+asyncpg", "postgresql"], result.stderr[-1000:]
    assert (
        check_env({"SQL_URL": "postgres://app@127.0.0.1:5432/test"})["env.database_url"].status
        is Status.OK
    )


_DELIVERY = """
    import asyncio, http.server, json, os, sys, threading
    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.end_headers()
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from svc_infra.db.inbox import InMemoryInboxStore
    from svc_infra.db.outbox import InMemoryOutboxStore
    from svc_infra.jobs.builtins.webhook_delivery import make_webhook_handler
    from svc_infra.jobs.queue import Job
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    out = []
    for env in json.load(sys.stdin):
        for name in ("WEBHOOK_DELIVERY_TIMEOUT_SECONDS", "HTTP_CLIENT_TIMEOUT_SECONDS"):
            os.environ.pop(name, None)
        os.environ.update(env)
        outbox, inbox = InMemoryOutboxStore(), InMemoryInboxStore()
        msg = outbox.enqueue("t", {"a": 1})
        handler = make_webhook_handler(outbox=outbox, inbox=inbox,
            get_webhook_url_for_topic=lambda t: url, get_secret_for_topic=lambda t: "s")
        job = Job(id="1", name="outbox.t", payload={"outbox_id": msg.id, "topic": "t", "payload": {"a": 1}})
        try:
            asyncio.run(asyncio.wait_for(handler(job), 10))
            out.append("delivered")
        except BaseException as exc:
            out.append(type(exc).__name__)
    print(json.dumps(out))
"""


@needs_svc_infra
def test_webhook_delivery_timeout_as_svc_infra_uses_it(tmp_path: Path) -> None:
    cases: list[tuple[dict[str, str], str | None]] = [
        ({"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "0"}, "webhook_timeout_unusable"),
        ({"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "-1"}, "webhook_timeout_unusable"),
        ({"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "nan"}, "webhook_timeout_unusable"),
        ({"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "abc"}, "webhook_timeout_ignored"),
        (
            {"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "abc", "HTTP_CLIENT_TIMEOUT_SECONDS": "0"},
            "webhook_timeout_unusable",
        ),
        ({"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "inf"}, "webhook_timeout_unbounded"),
        ({"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "5"}, None),
    ]
    result = _run_svc_infra(_DELIVERY, tmp_path, stdin=[env for env, _ in cases])
    outcomes = json.loads(result.stdout)
    for (env, cause), outcome in zip(cases, outcomes, strict=True):
        finding = check_env(env)["env.webhook_timeout"]
        assert finding.cause == cause, (env, finding)
        # svc_nb fails the check exactly when svc-infra cannot deliver at all.
        assert (finding.status is Status.FAIL) is (outcome != "delivered"), (env, outcome)


@needs_svc_infra
def test_job_queue_location_as_svc_infra_resolves_it(tmp_path: Path) -> None:
    code = """
        import json, os, sys
        from svc_infra.jobs.easy import easy_jobs
        base = dict(os.environ)
        out = []
        for env in json.load(sys.stdin):
            os.environ.clear()
            os.environ.update(base)
            os.environ.update(env)
            try:
                queue, _ = easy_jobs()
            except ValueError:
                out.append("ValueError")
                continue
            client = getattr(queue, "_r", None) or getattr(queue, "redis", None) or getattr(queue, "_redis", None)
            if client is None:
                out.append(None)
                continue
            kw = client.connection_pool.connection_kwargs
            out.append(f"redis://{kw.get('host')}:{kw.get('port')}/{kw.get('db')}")
        print(json.dumps(out))
    """
    cases: list[dict[str, str]] = [
        {},
        {"REDIS_URL": "redis://127.0.0.1:6379/1"},
        {
            "JOBS_DRIVER": "redis",
            "JOBS_REDIS_URL": "redis://127.0.0.1:6379/2",
            "REDIS_URL": "redis://127.0.0.1:6379/1",
        },
        {
            "JOBS_DRIVER": "Redis",
            "REDIS_URL_PRIVATE": "redis://127.0.0.1:6379/3",
            "REDIS_URL": "redis://127.0.0.1:6379/1",
        },
        {
            "JOBS_DRIVER": "redis",
            "REDIS_PRIVATE_URL": "redis://127.0.0.1:6379/4",
            "CACHE_URL": "redis://127.0.0.1:6379/5",
        },
        {"JOBS_DRIVER": "redis", "CACHE_URL": "redis://127.0.0.1:6379/5"},
        {"JOBS_DRIVER": "redis"},
        {"JOBS_DRIVER": "redis", "UPSTASH_REDIS_REST_URL": "https://eu1.upstash.io"},
        {
            "JOBS_DRIVER": "redis",
            "JOBS_REDIS_URL": "redis://127.0.0.1:6379/2",
            "JOBS_SCHEDULER_LEASE_SECONDS": "3m",
        },
        {"JOBS_DRIVER": "sql", "JOBS_REDIS_URL": "redis://127.0.0.1:6379/2"},
    ]
    result = _run_svc_infra(code, tmp_path, stdin=cases)
    outcomes = json.loads(result.stdout)
    for env, outcome in zip(cases, outcomes, strict=True):
        finding = check_env(env)["env.job_queue"]
        if outcome == "ValueError":
            assert finding.status is Status.FAIL, (env, finding)
            continue
        assert finding.status is not Status.FAIL, (env, finding)
        expected = job_queue_redis_url(env)
        if outcome is None:
            assert expected is None, env
        else:
            assert expected is not None
            assert expected.replace("localhost", "127.0.0.1") == outcome.replace(
                "localhost", "127.0.0.1"
            ), env


@needs_svc_infra
def test_webhook_key_errors_are_the_ones_svc_infra_raises(tmp_path: Path) -> None:
    code = """
        import json, os, sys
        from svc_infra.webhooks import encryption
        out = []
        for key in json.load(sys.stdin):
            os.environ["WEBHOOK_ENCRYPTION_KEY"] = key
            encryption._get_fernet.cache_clear()
            try:
                encryption.encrypt_secret("hello")
                out.append(None)
            except Exception as exc:
                name = type(exc).__name__
                out.append("binascii.Error" if type(exc).__module__ == "binascii" else name)
        print(json.dumps(out))
    """
    keys = [
        "!" * 43 + "=",
        "a!" + "a" * 41 + "=",
        "a" * 42 + "==",
        "é" + "a" * 42 + "=",
        FERNET,
        "a-passphrase",
    ]
    result = _run_svc_infra(code, tmp_path, stdin=keys)
    raised = json.loads(result.stdout)
    assert raised[0] == "ValueError"  # not binascii.Error: the key decodes to too few bytes
    for key, error in zip(keys, raised, strict=True):
        finding = check_env({"WEBHOOK_ENCRYPTION_KEY": key})["env.webhook_encryption_key"]
        if error is None:
            assert finding.cause != "webhook_key_invalid", key
        else:
            assert finding.cause == "webhook_key_invalid", key
            assert f"raises {error}" in finding.summary, (key, finding.summary)
