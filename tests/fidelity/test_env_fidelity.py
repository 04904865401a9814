"""svc-infra is the oracle for ``svc_nb.env`` and ``svc_nb.diagnose``.

For every environment in :data:`ROWS`, a child process builds a real svc-infra app with
svc-infra's own helpers and runs its start-up against the local PostgreSQL and Redis
(see ``_oracle.py``). Then, for the same environment:

* ``check_env`` (no I/O) has a ``fail`` whenever svc-infra refused to import, build or
  start because of its configuration, and that finding names a variable the failure
  implicates; it never fails an environment in which svc-infra works;
* ``diagnose`` has a ``fail`` whenever svc-infra cannot work (it refused to start, or it
  started and then failed the database request or the webhook delivery);
* where svc-infra started, every value ``svc_nb.env.effective`` says is in effect equals
  what svc-infra really uses, read from the objects it built.

The table holds environments only: every expectation comes from what svc-infra did.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests._support import changed_env, closed_port
from tests.fidelity._oracle import OracleResult, clean_env, run_many, run_oracle, run_single

pytestmark = [pytest.mark.fidelity, pytest.mark.slow]

PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_HOST = "redis://127.0.0.1:6379"
CACHE = f"{REDIS_HOST}/11"
CLOSED = closed_port()
CLOSED_REDIS = closed_port()
MISSING_DB = f"svc_nb_oracle_missing_{secrets.token_hex(4)}"
FERNET_KEY = "q3Dk8Mq1wF0b1Yq6nVv9m0mD4o1d0fVQbXo0y6X8nQ0="
# 44 characters ending in "=", as svc-infra tests for a Fernet key, but not base64.
BAD_FERNET_KEY = "!" * 43 + "="

BASE: dict[str, str] = {"SQL_URL": PG, "CACHE_URL": CACHE}


def row(row_id: str, **changes: str | None) -> tuple[str, dict[str, str]]:
    """An environment: BASE with ``changes`` (None removes a variable)."""
    return row_id, changed_env(BASE, changes)


# Rows whose job queue or outbox lives in Redis get a database of their own: two
# rows run at once and each reserves "the next job".
ROWS: list[tuple[str, dict[str, str]]] = [
    row("baseline"),
    # -- database URL ---------------------------------------------------------------
    row("sql_url_missing", SQL_URL=None),
    row("database_url_only", SQL_URL=None, DATABASE_URL=PG),
    row("postgres_scheme", SQL_URL="postgres://postgres@127.0.0.1:5432/test"),
    row("psycopg_driver", SQL_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    row("psycopg2_driver", SQL_URL="postgresql+psycopg2://postgres@127.0.0.1:5432/test"),
    row("asyncpg_driver", SQL_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
    row("sslmode_require", SQL_URL=f"{PG}?sslmode=require"),
    row("sslmode_disable", SQL_URL=f"{PG}?sslmode=disable"),
    row("bad_host", SQL_URL="postgresql://postgres@127.0.0.2:5432/test"),
    row("database_missing", SQL_URL=f"postgresql://postgres@127.0.0.1:5432/{MISSING_DB}"),
    row("wrong_port", SQL_URL=f"postgresql://postgres@127.0.0.1:{CLOSED}/test"),
    row("sql_url_garbage", SQL_URL="not a database url"),
    row("connect_timeout_param", SQL_URL=f"{PG}?connect_timeout=5"),
    row("ssl_param_disable", SQL_URL=f"{PG}?ssl=disable"),
    row("statement_timeout", DB_STATEMENT_TIMEOUT_MS="5000"),
    row("statement_timeout_abc", DB_STATEMENT_TIMEOUT_MS="abc"),
    row("connect_timeout_abc", DB_CONNECT_TIMEOUT="abc", PGSSLMODE="disable"),
    # -- cache URL ------------------------------------------------------------------
    row("cache_missing", CACHE_URL=None),
    row("redis_url_only", CACHE_URL=None, REDIS_URL=CACHE),
    row("cache_url_over_redis_url", REDIS_URL=f"{REDIS_HOST}/10"),
    row("cache_bad_scheme", CACHE_URL="memcached://127.0.0.1:11211"),
    row("redis_down", CACHE_URL=f"redis://127.0.0.1:{CLOSED_REDIS}/0"),
    # -- JWT secret and lifetime ----------------------------------------------------
    row("jwt_nested", AUTH_JWT__SECRET="nested-secret-value-0123456789"),
    row("jwt_flat", AUTH_JWT_SECRET="flat-secret-value-0123456789"),
    row("jwt_bare", JWT_SECRET="bare-secret-value-0123456789"),
    row("jwt_secret_key_only", JWT_SECRET_KEY="guide-name-secret-0123456789"),
    row(
        "jwt_nested_over_bare",
        AUTH_JWT__SECRET="nested-wins-0123456789",
        JWT_SECRET="bare-loses-0123456789",
    ),
    row(
        "jwt_flat_over_bare",
        AUTH_JWT_SECRET="flat-wins-0123456789",
        JWT_SECRET="bare-loses-0123456789",
    ),
    row("lifetime_zero", AUTH_JWT__SECRET="s-0123456789abcdef", AUTH_JWT__LIFETIME_SECONDS="0"),
    row(
        "lifetime_negative", AUTH_JWT__SECRET="s-0123456789abcdef", AUTH_JWT__LIFETIME_SECONDS="-5"
    ),
    row("lifetime_abc", AUTH_JWT__SECRET="s-0123456789abcdef", AUTH_JWT__LIFETIME_SECONDS="abc"),
    row("lifetime_3600", AUTH_JWT__SECRET="s-0123456789abcdef", AUTH_JWT__LIFETIME_SECONDS="3600"),
    row(
        "lifetime_without_nested", JWT_SECRET="s-0123456789abcdef", AUTH_JWT__LIFETIME_SECONDS="60"
    ),
    # -- APP_ENV --------------------------------------------------------------------
    row("prod_no_secret", APP_ENV="prod"),
    row("prod_secret_key_only", APP_ENV="prod", JWT_SECRET_KEY="guide-name-secret-0123456789"),
    row("prod_jwt_only", APP_ENV="prod", JWT_SECRET="prod-secret-0123456789abcdef"),
    row(
        "production_all_secrets",
        APP_ENV="production",
        AUTH_JWT__SECRET="prod-secret-0123456789abcdef",
        WEBHOOK_ENCRYPTION_KEY=FERNET_KEY,
    ),
    row("staging_no_secret", APP_ENV="staging"),
    row(
        "staging_all_secrets",
        APP_ENV="staging",
        AUTH_JWT_SECRET="staging-secret-0123456789",
        WEBHOOK_ENCRYPTION_KEY=FERNET_KEY,
    ),
    row("test_no_secret", APP_ENV="test"),
    row("dev_no_secret", APP_ENV="dev"),
    row("unknown_app_env", APP_ENV="qa"),
    # -- malformed AUTH_* -----------------------------------------------------------
    row("smtp_port_abc", AUTH_SMTP_PORT="abc"),
    row("oidc_providers_okta", AUTH_OIDC_PROVIDERS="okta"),
    row("password_clients_colon", AUTH_PASSWORD_CLIENTS="web:secret"),
    row(
        "password_clients_json",
        AUTH_PASSWORD_CLIENTS='[{"client_id": "web", "client_secret": "web-secret-0123"}]',
    ),
    row("mfa_flag_maybe", AUTH_MFA_ENFORCE_FOR_ALL_USERS="maybe"),
    row("session_cookie_secure", AUTH_SESSION_COOKIE_SECURE="true"),
    # -- easy_service_app: logging and metrics --------------------------------------
    row("log_level_lowercase", LOG_LEVEL="debug"),
    row("log_format_upper", LOG_FORMAT="JSON"),
    row("logging_off_bad_level", ENABLE_LOGGING="false", LOG_LEVEL="verbose"),
    row("metrics_enabled_maybe", METRICS_ENABLED="maybe"),
    row("metrics_buckets_abc", METRICS_DEFAULT_BUCKETS="abc"),
    row("metrics_buckets_json", METRICS_DEFAULT_BUCKETS="[0.1, 1]"),
    row("obs_off_bad_metrics", ENABLE_OBS="maybe", METRICS_ENABLED="maybe"),
    # -- CORS -----------------------------------------------------------------------
    row("cors_exact", CORS_ALLOW_ORIGINS="https://app.example.com"),
    row("cors_wildcard_subdomain", CORS_ALLOW_ORIGINS="https://*.example.com"),
    row("cors_star", CORS_ALLOW_ORIGINS="*"),
    row("cors_star_no_credentials", CORS_ALLOW_ORIGINS="*", CORS_ALLOW_CREDENTIALS="false"),
    row(
        "cors_regex",
        CORS_ALLOW_ORIGINS="https://app.example.com",
        CORS_ALLOW_ORIGIN_REGEX=r"https://.*\.example\.org",
    ),
    row(
        "cors_no_credentials",
        CORS_ALLOW_ORIGINS="https://app.example.com, https://admin.example.com",
        CORS_ALLOW_CREDENTIALS="false",
        CORS_ALLOW_METHODS="GET,POST",
    ),
    # -- OAuth after the callback ---------------------------------------------------
    row(
        "oauth_redirect_not_allowed",
        GOOGLE_CLIENT_ID="oracle-client.apps.example",
        GOOGLE_CLIENT_SECRET="oracle-google-secret-0123",
        AUTH_POST_LOGIN_REDIRECT="https://app.example.com/app",
    ),
    row(
        "oauth_redirect_allow_hosts",
        GOOGLE_CLIENT_ID="oracle-client.apps.example",
        GOOGLE_CLIENT_SECRET="oracle-google-secret-0123",
        AUTH_POST_LOGIN_REDIRECT="https://app.example.com/app",
        AUTH_REDIRECT_ALLOW_HOSTS_RAW="app.example.com",
    ),
    row(
        "oauth_redirect_cors_hosts",
        AUTH_GITHUB_CLIENT_ID="oracle-github-client",
        AUTH_GITHUB_CLIENT_SECRET="oracle-github-secret-0123",
        AUTH_POST_LOGIN_REDIRECT="https://app.example.com/app",
        CORS_ALLOW_ORIGINS="https://app.example.com",
    ),
    row(
        "oauth_https_required",
        GOOGLE_CLIENT_ID="oracle-client.apps.example",
        GOOGLE_CLIENT_SECRET="oracle-google-secret-0123",
        AUTH_SESSION_COOKIE_SECURE="true",
    ),
    row("oauth_id_without_secret", GOOGLE_CLIENT_ID="oracle-client.apps.example"),
    # -- job queue and outbox -------------------------------------------------------
    row("jobs_redis_jobs_url", JOBS_DRIVER="redis", JOBS_REDIS_URL=f"{REDIS_HOST}/2"),
    row(
        "jobs_redis_url_private",
        JOBS_DRIVER="redis",
        REDIS_URL_PRIVATE=f"{REDIS_HOST}/3",
        REDIS_URL=f"{REDIS_HOST}/10",
    ),
    row(
        "jobs_redis_private_url",
        JOBS_DRIVER="redis",
        REDIS_PRIVATE_URL=f"{REDIS_HOST}/4",
        REDIS_URL=f"{REDIS_HOST}/10",
    ),
    row("jobs_redis_redis_url", JOBS_DRIVER="redis", REDIS_URL=f"{REDIS_HOST}/5"),
    row("jobs_redis_cache_url", JOBS_DRIVER="redis", CACHE_URL=f"{REDIS_HOST}/6"),
    row("jobs_driver_upper", JOBS_DRIVER="REDIS", JOBS_REDIS_URL=f"{REDIS_HOST}/7"),
    row("jobs_url_without_driver", JOBS_REDIS_URL=f"{REDIS_HOST}/8"),
    row(
        "jobs_redis_down",
        JOBS_DRIVER="redis",
        JOBS_REDIS_URL=f"redis://127.0.0.1:{CLOSED_REDIS}/0",
    ),
    row("jobs_lease_abc", JOBS_SCHEDULER_LEASE_SECONDS="abc"),
    row("jobs_coordination_bad", JOBS_SCHEDULER_COORDINATION="zookeeper"),
    row("outbox_sql", WEBHOOKS_OUTBOX="sql"),
    row("outbox_redis", WEBHOOKS_OUTBOX="redis", REDIS_URL=f"{REDIS_HOST}/9"),
    # -- webhook delivery -----------------------------------------------------------
    row("delivery_timeout_zero", WEBHOOK_DELIVERY_TIMEOUT_SECONDS="0"),
    row("delivery_timeout_2_5", WEBHOOK_DELIVERY_TIMEOUT_SECONDS="2.5"),
    row("http_client_timeout", HTTP_CLIENT_TIMEOUT_SECONDS="3"),
    row(
        "delivery_timeout_abc",
        WEBHOOK_DELIVERY_TIMEOUT_SECONDS="abc",
        HTTP_CLIENT_TIMEOUT_SECONDS="4",
    ),
    row("encryption_key_bad", WEBHOOK_ENCRYPTION_KEY=BAD_FERNET_KEY),
    row("encryption_key_fernet", WEBHOOK_ENCRYPTION_KEY=FERNET_KEY),
]
ROW_IDS = [row_id for row_id, _ in ROWS]
ENVS = dict(ROWS)
REDIS_DBS = sorted(
    {int(m) for env in ENVS.values() for v in env.values() for m in re.findall(r":6379/(\d+)", v)}
)


@pytest.fixture(scope="module")
def oracle() -> Iterator[dict[str, OracleResult]]:
    """svc-infra's verdict on every row, computed once, two children at a time."""
    results = dict(zip(ROW_IDS, run_many(ENVS.values()), strict=True))
    yield results
    _delete_oracle_keys()


def _delete_oracle_keys() -> None:
    import redis

    for db in REDIS_DBS:
        client = redis.Redis.from_url(f"{REDIS_HOST}/{db}")
        try:
            for pattern in ("jobs:*", "webhooks:*", "svc:v1:*"):
                keys = list(client.scan_iter(match=pattern, count=500))
                if keys:
                    client.delete(*keys)
        finally:
            client.close()


def _env(row_id: str) -> dict[str, str]:
    return clean_env(ENVS[row_id])


# -- which variables a failure implicates -------------------------------------------------

_ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
_FIELD = re.compile(r'(?:^|\n|field ")([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)')


def implicated(result: OracleResult, env: Mapping[str, str]) -> set[str]:
    """Variable names svc-infra's exception points at, else the row's own changes.

    An ``AuthSettings`` field path (``jwt.secret``, ``smtp_port``) is the variable
    ``AUTH_JWT__SECRET`` / ``AUTH_SMTP_PORT`` (pydantic-settings' prefix and nesting).
    """
    assert result.error is not None
    message = result.error["message"]
    names = set(_ENV_NAME.findall(message))
    if "AuthSettings" in message or "SettingsError" in result.error["type"]:
        for path in _FIELD.findall(message):
            names.add("AUTH_" + path.upper().replace(".", "__"))
    names |= {name for name in env if name.lower() in message.lower()}
    return names or row_changes(env)


def row_changes(env: Mapping[str, str]) -> set[str]:
    changed = {name for name, value in env.items() if BASE.get(name) != value}
    removed = {name for name in BASE if name not in env}
    return changed | removed


def finding_text(finding: Any) -> str:
    return " ".join(
        [finding.check, finding.summary, finding.detail or "", finding.fix or ""]
        + [f"{key}={value}" for key, value in (finding.data or {}).items()]
    )


def fails(report: Any) -> list[Any]:
    return [f for f in report if f.status.value == "fail"]


# -- the assertions ---------------------------------------------------------------------


@pytest.mark.parametrize("row_id", ROW_IDS)
def test_check_env_fails_exactly_when_svc_infra_refuses_its_configuration(
    row_id: str, oracle: dict[str, OracleResult]
) -> None:
    from svc_nb.env import check_env

    result, env = oracle[row_id], _env(row_id)
    failing = fails(check_env(env))
    if result.config_start_failure:
        assert failing, f"svc-infra refused this environment ({result.describe()}); check_env: ok"
        names = implicated(result, ENVS[row_id])
        named = [f for f in failing if any(name in finding_text(f) for name in names)]
        assert named, (
            f"no failing finding names any of {sorted(names)} "
            f"({[finding_text(f) for f in failing]}); svc-infra: {result.describe()}"
        )
    if result.works:
        assert not failing, (
            f"svc-infra works with this environment, check_env fails: "
            f"{[finding_text(f) for f in failing]}"
        )


@pytest.mark.parametrize("row_id", ROW_IDS)
def test_diagnose_fails_whenever_svc_infra_cannot_work(
    row_id: str, oracle: dict[str, OracleResult]
) -> None:
    import svc_nb

    result = oracle[row_id]
    if result.works:
        pytest.skip("svc-infra works with this environment")
    report = asyncio.run(svc_nb.diagnose(_env(row_id), timeout=3.0))
    assert fails(report), (
        f"svc-infra cannot work ({result.describe()}), diagnose has no fail: "
        f"{[(f.check, f.status.value, f.summary) for f in report]}"
    )


# -- what is in effect --------------------------------------------------------------------


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = (parts.username or "") + "@" + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _sql_parts(url: str | None) -> dict[str, Any] | None:
    if url is None:
        return None
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return {
        "drivername": parsed.drivername,
        "username": parsed.username,
        "host": parsed.host,
        "port": parsed.port,
        "database": parsed.database,
        "query": {k: list(v) if isinstance(v, tuple) else v for k, v in parsed.query.items()},
    }


def _redis_parts(url: str | None) -> dict[str, Any] | None:
    if url is None:
        return None
    import redis

    client = redis.Redis.from_url(url)
    kwargs = client.connection_pool.connection_kwargs
    return {
        "connection_class": client.connection_pool.connection_class.__name__,
        "host": kwargs.get("host"),
        "port": kwargs.get("port"),
        "db": kwargs.get("db", 0),
        "username": kwargs.get("username"),
        "path": kwargs.get("path"),
    }


def _oracle_redis(target: dict[str, Any] | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {k: v for k, v in target.items() if k != "password_fp"}


def _oracle_sql(target: dict[str, Any] | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {k: v for k, v in target.items() if k != "password_fp"}


@pytest.mark.parametrize("row_id", ROW_IDS)
def test_effective_values_equal_what_svc_infra_uses(
    row_id: str, oracle: dict[str, OracleResult]
) -> None:
    from svc_nb.env import effective

    result = oracle[row_id]
    if not result.started:
        pytest.skip(f"svc-infra did not start: {result.describe()}")
    said, used = effective(_env(row_id)), result.effective
    mismatches = {}

    def compare(name: str, ours: Any, theirs: Any) -> None:
        if ours != theirs:
            mismatches[name] = {"svc_nb": ours, "svc-infra": theirs}

    compare("database", _sql_parts(said["database_url"]), _oracle_sql(used["database"]))
    compare(
        "cache_url",
        _without_password(said["cache_url"]),
        _without_password(used["cache_url"] or ""),
    )
    compare("jwt_secret_fingerprint", said["jwt_secret_fingerprint"], used["jwt_secret_fp"])
    compare("jwt_lifetime_seconds", said["jwt_lifetime_seconds"], used["jwt_lifetime_seconds"])
    compare(
        "session_secret_fingerprint",
        said["session_secret_fingerprint"],
        used["session_secret_fp"],
    )
    compare("session_cookie_secure", said["session_cookie_secure"], used["session_https_only"])
    for entry_point in ("add_security", "easy_service_app"):
        compare(f"cors[{entry_point}]", said["cors"][entry_point], used["cors"][entry_point])
    compare(
        "jobs_driver", said["jobs_driver"], "redis" if used["jobs_redis"] is not None else "memory"
    )
    compare("jobs_redis", _redis_parts(said["jobs_redis_url"]), _oracle_redis(used["jobs_redis"]))
    compare(
        "jobs_visibility_timeout_s",
        said["jobs_visibility_timeout_s"],
        used["jobs_visibility_timeout_s"],
    )
    compare("outbox", said["outbox"], "redis" if used["outbox_redis"] is not None else "memory")
    compare(
        "outbox_redis", _redis_parts(said["outbox_redis_url"]), _oracle_redis(used["outbox_redis"])
    )
    if used.get("webhook_delivery_timeout_s") is not None:  # recorded when a delivery started
        compare(
            "webhook_delivery_timeout_s",
            said["webhook_delivery_timeout_s"],
            used["webhook_delivery_timeout_s"],
        )
    if "oauth_providers" in used:
        compare("oauth_providers", sorted(said["oauth_providers"]), used["oauth_providers"])
    assert not mismatches, f"svc_nb and svc-infra disagree: {mismatches}"


@pytest.mark.parametrize("row_id", ROW_IDS)
def test_diagnose_reads_the_job_queue_svc_infra_uses(
    row_id: str, oracle: dict[str, OracleResult]
) -> None:
    """svc-infra left one job in its Redis queue; diagnose's queue check must count it."""
    import svc_nb

    result = oracle[row_id]
    marker_jobs = result.effective.get("queued_marker_jobs")
    if not marker_jobs or result.raw.get("from_disk_cache"):
        pytest.skip("svc-infra's queue is not in Redis here (or this run reused a cached verdict)")
    found = asyncio.run(svc_nb.diagnose(_env(row_id), timeout=3.0))["webhooks.queue"]
    assert found.data.get("ready") == marker_jobs, str(found)


# -- the harness itself -------------------------------------------------------------------


def test_table_is_large_enough() -> None:
    assert len(ROWS) >= 40
    assert len(set(ROW_IDS)) == len(ROW_IDS)


def test_zygote_child_behaves_like_a_fresh_interpreter(oracle: dict[str, OracleResult]) -> None:
    """The forked children (third-party packages pre-imported) decide as a fresh process does."""
    for row_id in ("baseline", "prod_no_secret"):
        fresh, forked = run_single(ENVS[row_id]), oracle[row_id]
        assert fresh.phase == forked.phase
        assert (fresh.error or {}).get("type") == (forked.error or {}).get("type")
        assert fresh.effective == forked.effective


def test_oracle_sees_a_failure_it_did_not_expect() -> None:
    """A refused Redis is recorded as an unreachable peer, not as a configuration svc-infra refused."""
    result = run_oracle(ENVS["redis_down"])
    assert not result.started
    assert result.io_failure
    assert not result.config_start_failure


# Rows whose start-up the rehearsal repeats (each is a fresh interpreter: a few only).
REHEARSED = (
    "baseline",
    "database_url_only",
    "smtp_port_abc",
    "prod_no_secret",
    "redis_down",
    "log_level_lowercase",
)


def test_rehearse_fails_exactly_when_svc_infra_does_not_start(
    oracle: dict[str, OracleResult], tmp_path: Any
) -> None:
    from svc_nb.env import rehearse

    async def run_all() -> list[Any]:
        gate = asyncio.Semaphore(2)

        async def one(row_id: str) -> Any:
            async with gate:
                return await rehearse(_env(row_id), timeout=120.0, cwd=str(tmp_path))

        return await asyncio.gather(*(one(row_id) for row_id in REHEARSED))

    for row_id, report in zip(REHEARSED, asyncio.run(run_all()), strict=True):
        result, found = oracle[row_id], report["env.rehearse"]
        assert (found.status.value == "fail") == (not result.started), (row_id, str(found))
        if not result.started:
            # The real exception, classified: never "crashed" or "timed out" for these.
            assert found.data["exception_type"] == result.error["type"], (row_id, str(found))
            assert found.cause not in ("rehearsal_crashed", "startup_timeout"), str(found)
