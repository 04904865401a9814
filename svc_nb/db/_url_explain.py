"""What a user reads for each URL cause (and for the stages a bad URL stops)."""

from __future__ import annotations

from collections.abc import Mapping

from svc_nb._explain import Explanation
from svc_nb._report import Status
from svc_nb.db._causes import DbCause

__all__ = ["URL_EXPLAIN"]

C = DbCause
FAIL, WARN, SKIP = Status.FAIL, Status.WARN, Status.SKIP
_URL_FORM = "postgresql+asyncpg://user:password@host:5432/dbname"

URL_EXPLAIN: Mapping[DbCause, Explanation] = {
    C.NO_URL: Explanation(
        SKIP,
        "no database URL configured: set SQL_URL",
        "svc-infra's runtime (add_sql_db) reads SQL_URL; its URL helper also tries DB_URL, "
        "DATABASE_URL, DATABASE_URL_PRIVATE, PRIVATE_SQL_URL, their *_FILE variants and "
        "/run/secrets/database_url. None is set.",
        f"export SQL_URL='{_URL_FORM}'",
    ),
    C.URL_WHITESPACE: Explanation(
        WARN,
        "the URL has leading or trailing whitespace",
        "A trailing newline usually comes from a secret file or `echo`; libpq keeps it in the "
        "last part.",
        "Write the value without surrounding whitespace (printf '%s' … > file).",
    ),
    C.URL_QUOTED: Explanation(
        FAIL,
        "the URL is wrapped in quotes",
        "Docker --env-file and Kubernetes keep quotes as part of the value, so the scheme "
        "becomes '\"postgresql'.",
        "Remove the quotes around the value in the env file.",
    ),
    C.KEYWORD_VALUE_STRING: Explanation(
        FAIL,
        "this is a libpq keyword/value string, not a URL",
        "svc-infra (SQLAlchemy) only accepts URLs; 'host=… dbname=…' strings work for psql "
        "and psycopg only.",
        "Set SQL_URL to the URL form (password percent-encoded): {sample}",
    ),
    C.NO_SCHEME: Explanation(
        FAIL,
        "not a URL: no 'scheme://' at the start",
        "A PostgreSQL URL starts with postgresql:// (or postgresql+asyncpg:// for SQLAlchemy).",
        f"Use the form {_URL_FORM}",
    ),
    C.UNSUPPORTED_SCHEME: Explanation(
        FAIL, "unknown scheme {scheme!r}", "{why}", f"Use {_URL_FORM}"
    ),
    C.URL_UNPARSEABLE: Explanation(
        FAIL,
        "the URL could not be parsed",
        "{exception_type} while reading it.",
        f"Use the form {_URL_FORM}",
    ),
    C.URL_FRAGMENT: Explanation(
        WARN,
        "the URL has a '#fragment', which no driver reads",
        "",
        "Remove the '#…' part (or percent-encode '#' as %23 if it belongs to a value).",
    ),
    C.USER_NOT_ENCODED: Explanation(
        FAIL,
        "the user name has characters that must be percent-encoded ({chars})",
        "Unencoded, they end the userinfo early: drivers then see a wrong host, database or "
        "query. Encoded user name: {shape}",
        "Encode it once when building the URL: urllib.parse.quote(user, safe='')",
    ),
    C.PASSWORD_NOT_ENCODED: Explanation(
        FAIL,
        "the password has characters that must be percent-encoded ({chars})",
        "Unencoded, they end the userinfo early: drivers then see a wrong host, database or "
        "query, or a password cut short. Encoded password structure (ordinary characters "
        "shown as …): {shape}",
        "Encode it once when building the URL: urllib.parse.quote(password, safe='') — e.g. "
        'python -c "import urllib.parse,getpass; '
        "print(urllib.parse.quote(getpass.getpass(), safe=''))\"",
    ),
    C.PASSWORD_IN_QUERY: Explanation(
        WARN,
        "the password is in the query string (?password=)",
        "It works with libpq and asyncpg, but query strings end up in proxy and access logs.",
        "Put it in the userinfo instead: "
        "postgresql+asyncpg://user:<percent-encoded password>@host/db",
    ),
    C.BAD_HOST: Explanation(
        FAIL,
        "{problem}{more}",
        "An IPv6 address in a URL goes in brackets, so that its ':' cannot be taken for the "
        "port separator.",
        "Write the host as [address]:port, e.g. postgresql+asyncpg://user@[::1]:5432/app",
    ),
    C.BAD_PORT: Explanation(
        FAIL,
        "{where}{port!r} is not a TCP port (1–65535){more}",
        "libpq, asyncpg and SQLAlchemy all refuse this URL.",
        "Use the server's port, usually 5432: {example}",
    ),
    C.HOST_REPEATED: Explanation(
        WARN,
        "host given twice (before the path and as ?host=)",
        "libpq and asyncpg use the ?host= value; the other is ignored.",
        "Keep only one of them.",
    ),
    C.PARAMETER_WITHOUT_VALUE: Explanation(
        FAIL,
        "query parameter(s) without '=value': {keys}",
        "libpq rejects the URL (missing '=' in URI query parameter).",
        "Write each as key=<value>, or remove it.",
    ),
    C.NO_HOST: Explanation(
        WARN,
        "no host: the driver uses a local Unix socket",
        "libpq and asyncpg then try the socket directories (/run/postgresql, /tmp, …) and "
        "localhost; inside a container that is never the database container.",
        "Name the host: postgresql+asyncpg://user:password@db-host:5432/dbname",
    ),
    C.TOO_MANY_HOSTS: Explanation(
        WARN,
        "more than {limit} hosts: only the first {limit} are read",
        "libpq and asyncpg try the hosts one after the other, each up to the connect timeout, "
        "so a list this long cannot be worked through in any useful time.",
        "List only the hosts of this database cluster (its primary and replicas).",
    ),
    C.COMMA_HOSTS: Explanation(
        WARN,
        "{count} hosts in the libpq comma form",
        "libpq and asyncpg accept host1:port1,host2:port2, but SQLAlchemy's URL parser does "
        "not (it reads '5432,host2:5433' as the port).",
        "For SQLAlchemy write the hosts as query parameters: "
        "postgresql+asyncpg://user:pw@/db?host=h1:5432&host=h2:5432",
    ),
    C.NO_DATABASE: Explanation(
        WARN,
        "no database name in the URL",
        "PostgreSQL then connects to the database named like the user ({who}), which rarely "
        "exists; svc-infra's migrations need an explicit database.",
        "Add it after the host: postgresql+asyncpg://user:password@host:5432/dbname",
    ),
    C.POSTGRES_SCHEME: Explanation(
        WARN,
        "scheme postgres:// is rejected by SQLAlchemy",
        "SQLAlchemy ≥ 1.4 raises NoSuchModuleError: Can't load plugin: "
        "sqlalchemy.dialects:postgres. svc-infra's URL helper rewrites it to postgresql://, "
        "but your own create_engine / Alembic calls do not.",
        "Write postgresql+asyncpg:// (or postgresql://) instead of postgres://",
    ),
    C.DRIVER_NOT_ASYNCPG: Explanation(
        WARN,
        "+{driver} is not what svc-infra runs",
        "svc-infra's runtime uses asyncpg; this driver is not coerced and may not be installed.",
        "Use postgresql+asyncpg://…",
    ),
    C.UNKNOWN_DRIVER: Explanation(
        FAIL,
        "unknown driver +{driver}{hint}",
        "SQLAlchemy raises NoSuchModuleError: Can't load plugin: "
        "sqlalchemy.dialects:postgresql.{driver}",
        "Use postgresql+asyncpg://…",
    ),
    C.BAD_SSL_MODE: Explanation(
        FAIL,
        "{key}={value!r} is not a TLS mode",
        "Valid values: {modes}.{extra}",
        "Use {key}={suggestion}",
    ),
    C.SSLMODE_FOR_ASYNCPG: Explanation(
        FAIL,
        "sslmode= reaches asyncpg, which wants ssl=",
        "SQLAlchemy passes URL query keys to asyncpg.connect(), which fails: TypeError: "
        "connect() got an unexpected keyword argument 'sslmode'.{runtime} (svc-infra's "
        "build_engine strips sslmode and forces ssl=require.)",
        "Replace sslmode={sslmode} with ssl={mode}",
    ),
    C.SSL_FOR_LIBPQ: Explanation(
        WARN,
        "ssl= is asyncpg's spelling; +{driver} (libpq) wants sslmode=",
        'libpq rejects the URL: invalid URI query parameter "ssl".',
        "Use sslmode={value} with +{driver}, or switch to +asyncpg",
    ),
    C.PLAINTEXT_TO_REMOTE: Explanation(
        WARN,
        "TLS mode {mode} to a remote host",
        "Credentials and data may cross the network unencrypted; managed databases (RDS, "
        "Azure, Cloud SQL) usually refuse such connections anyway.",
        "Use ssl=require, or ssl=verify-full with sslrootcert=/path/ca.pem",
    ),
    C.UNKNOWN_PARAMETER: Explanation(
        WARN,
        "unknown parameter(s): {names}",
        "libpq rejects the URL (invalid URI query parameter); through SQLAlchemy "
        "asyncpg.connect() raises TypeError (unexpected keyword argument); plain asyncpg sends "
        "them to the server as settings, which refuses names it does not know.",
        "Remove them, or spell them as libpq names them (PostgreSQL docs §34.1.2).",
    ),
    C.LIBPQ_ONLY_PARAMETER: Explanation(
        WARN,
        "libpq-only parameter(s) asyncpg does not take: {names}",
        "Through SQLAlchemy (svc-infra's runtime) asyncpg.connect() raises TypeError: "
        "unexpected keyword argument.",
        "Remove them, or pass asyncpg options in code: create_async_engine(url, "
        "connect_args={{...}}) (e.g. connect_timeout → connect_args={{'timeout': 5}}).",
    ),
    C.URL_INVALID: Explanation(SKIP, "not checked: the URL cannot be used"),
    C.NOT_REACHED: Explanation(SKIP, "not checked: no host accepts connections"),
    C.NOT_CONNECTED: Explanation(SKIP, "not checked: could not connect"),
}
