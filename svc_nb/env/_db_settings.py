"""Database settings svc-infra reads besides the URL: what the runtime and the CLI do with them.

The running app (``add_sql_db``) hands ``SQL_URL`` to SQLAlchemy's asyncpg dialect,
which passes every query parameter to ``asyncpg.connect()``; it reads
``DB_STATEMENT_TIMEOUT_MS`` per request. Only the CLI and migrations engine
(``build_engine``) reads ``DB_CONNECT_TIMEOUT``, ``DB_SSLMODE_DEFAULT``/``PGSSLMODE``
and ``DB_FORCE_DRIVER``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._effective import runtime_database_url
from svc_nb.env._explanations import clip, combine, ok

__all__ = ["ASYNCPG_CONNECT_PARAMS", "DB_SETTING_CHECKS", "rejected_url_params"]

C = EnvCause
FAIL, WARN = Status.FAIL, Status.WARN

# asyncpg.connect()'s keywords (0.29-0.30) and the ones SQLAlchemy's dialect pops first.
ASYNCPG_CONNECT_PARAMS = frozenset(
    {
        "passfile",
        "service",
        "servicefile",
        "timeout",
        "statement_cache_size",
        "max_cached_statement_lifetime",
        "max_cacheable_statement_size",
        "command_timeout",
        "ssl",
        "direct_tls",
        "connection_class",
        "record_class",
        "server_settings",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
        "async_fallback",
        "async_creator_fn",
        "prepared_statement_cache_size",
        "prepared_statement_name_func",
    }
)
# What a libpq parameter is called for asyncpg, where it has a name there.
_ASYNCPG_NAME = {"sslmode": "ssl", "connect_timeout": "timeout"}
_FORCE_DRIVERS = ("psycopg", "psycopg2")
_SSLMODE_VARS = ("DB_SSLMODE_DEFAULT", "PGSSLMODE", "PGSSL_MODE")

EXPLAIN: dict[EnvCause, Explanation] = {
    C.SQL_URL_PARAM_REJECTED: Explanation(
        FAIL,
        "SQL_URL has {params}: asyncpg rejects it, so every database request fails",
        "add_sql_db hands SQL_URL to SQLAlchemy's asyncpg dialect, which passes each query "
        "parameter to asyncpg.connect(): TypeError: connect() got an unexpected keyword "
        "argument '{first}'. Start-up does not connect, so the app starts and then fails "
        "every request that touches the database.",
        "{fix}",
    ),
    C.STATEMENT_TIMEOUT_BREAKS_REQUESTS: Explanation(
        FAIL,
        "DB_STATEMENT_TIMEOUT_MS={value}: svc-infra aborts every request's transaction",
        "svc-infra's session runs `SET LOCAL statement_timeout = :ms` with a bind parameter, "
        "which PostgreSQL refuses (SET takes no parameters); svc-infra swallows that error, "
        "and the aborted transaction fails the request's first query: 'current transaction is "
        "aborted, commands ignored until end of transaction block' (svc-infra 1.22.2).",
        "Unset DB_STATEMENT_TIMEOUT_MS and set the timeout in PostgreSQL instead: "
        "ALTER ROLE app_user SET statement_timeout = '{value}ms';",
    ),
    C.DB_SETTING_IGNORED: Explanation(WARN, "{summary}", "{why}", "{fix}"),
    C.DB_SETTING_INVALID: Explanation(
        WARN,
        "{name}={value!r} is not an integer: svc-infra's CLI and migrations raise ValueError",
        "build_engine() reads it with int() when the CLI (svc-infra sql ...) or Alembic's "
        "env.py builds an engine; the running app does not read it.",
        "export {name}={example}",
    ),
}


def rejected_url_params(url: str) -> list[str]:
    """Query parameters of a runtime (asyncpg) URL that ``asyncpg.connect()`` does not take."""
    try:
        query = urllib.parse.urlsplit(url).query
    except ValueError:
        return []
    names = [name for name, _ in urllib.parse.parse_qsl(query, keep_blank_values=True)]
    return list(dict.fromkeys(n for n in names if n not in ASYNCPG_CONNECT_PARAMS))


def runtime_url_problem(env: Mapping[str, str]) -> Finding | None:
    """SQL_URL parameters that fail every request once the app runs (asyncpg only)."""
    url = runtime_database_url(env)
    if url is None or "+asyncpg" not in url.lower() or "?" not in url:
        return None
    rejected = rejected_url_params(url)
    if not rejected:
        return None
    fixes = [
        f"replace {name}= by {_ASYNCPG_NAME[name]}= (asyncpg's name)"
        if name in _ASYNCPG_NAME
        else f"remove {name}="
        for name in rejected[:5]
    ]
    return explain(
        "env.database_url",
        C.SQL_URL_PARAM_REJECTED,
        EXPLAIN,
        params=", ".join(f"{clip(n, 40)}=" for n in rejected[:5]),
        first=clip(rejected[0], 40),
        fix="In SQL_URL, " + "; ".join(fixes) + " (e.g. ?ssl=require).",
        data={"rejected_params": rejected[:20]},
    )


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _statement_timeout(env: Mapping[str, str]) -> Finding | None:
    raw = env.get("DB_STATEMENT_TIMEOUT_MS")
    if not raw:
        return None
    value = _int(raw)
    if value is None:
        return _ignored(
            f"DB_STATEMENT_TIMEOUT_MS={clip(raw, 40)!r} is not an integer: svc-infra ignores it",
            "The session reads it with int() and silently skips a value that fails.",
            "Unset it; set statement_timeout on the PostgreSQL role instead.",
        )
    if value <= 0:
        return _ignored(
            f"DB_STATEMENT_TIMEOUT_MS={value}: 0 or less means no timeout (svc-infra skips it)",
            "",
            "Unset DB_STATEMENT_TIMEOUT_MS.",
        )
    return explain("env.db_settings", C.STATEMENT_TIMEOUT_BREAKS_REQUESTS, EXPLAIN, value=value)


def _ignored(summary: str, why: str, fix: str, **data: object) -> Finding:
    return explain(
        "env.db_settings",
        C.DB_SETTING_IGNORED,
        EXPLAIN,
        summary=summary,
        why=why,
        fix=fix,
        data=data,
    )


def _cli_settings(env: Mapping[str, str]) -> list[Finding]:
    """DB_CONNECT_TIMEOUT, the SSL-mode defaults and DB_FORCE_DRIVER: CLI and migrations only."""
    problems: list[Finding] = []
    raw = env.get("DB_CONNECT_TIMEOUT")
    if raw is not None and _int(raw) is None:
        problems.append(
            explain(
                "env.db_settings",
                C.DB_SETTING_INVALID,
                EXPLAIN,
                name="DB_CONNECT_TIMEOUT",
                value=clip(raw, 40),
                example="10",
            )
        )
    mode_var = next((n for n in _SSLMODE_VARS if env.get(n)), None)
    # Only an explicit +asyncpg keeps the CLI on asyncpg; a bare postgresql:// URL gets a
    # libpq driver there, which does read the SSL-mode default.
    if mode_var and "+asyncpg" in (env.get("SQL_URL") or "").lower():
        problems.append(
            _ignored(
                f"{mode_var} does not apply: SQL_URL names asyncpg",
                "build_engine() (CLI, migrations) connects asyncpg with ssl='require' whatever "
                "the default says, and the running app passes only SQL_URL's own parameters. "
                f"{mode_var} is read only for libpq drivers (psycopg, psycopg2).",
                "Put ssl=require (or ssl=disable) in SQL_URL itself.",
                variable=mode_var,
            )
        )
    force = env.get("DB_FORCE_DRIVER")
    if force is not None and force.strip().lower() not in _FORCE_DRIVERS:
        problems.append(
            _ignored(
                f"DB_FORCE_DRIVER={clip(force, 40)!r} is ignored: only psycopg or psycopg2",
                "svc-infra's migrations pick the sync driver from DB_FORCE_DRIVER only when it "
                "is psycopg or psycopg2; otherwise whichever of them is installed.",
                "export DB_FORCE_DRIVER=psycopg   # or psycopg2, or unset it",
            )
        )
    return problems


def _check_db_settings(env: dict[str, str], prod_like: bool) -> Finding | None:
    names = ("DB_STATEMENT_TIMEOUT_MS", "DB_CONNECT_TIMEOUT", "DB_FORCE_DRIVER", *_SSLMODE_VARS)
    present = [n for n in names if env.get(n) is not None]
    if not present:
        return None
    problems = [p for p in [_statement_timeout(env), *_cli_settings(env)] if p is not None]
    summary = "database settings " + ", ".join(present)
    if not problems:
        return ok(
            "env.db_settings",
            summary,
            "DB_CONNECT_TIMEOUT, DB_FORCE_DRIVER and the SSL-mode defaults apply to svc-infra's "
            "CLI and migrations; the running app reads only SQL_URL and DB_STATEMENT_TIMEOUT_MS.",
            variables=present,
        )
    return combine("env.db_settings", summary, problems, variables=present)


DB_SETTING_CHECKS = [("env.db_settings", _check_db_settings)]
