"""What the db section knows about PostgreSQL URLs, and a URL taken apart."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from svc_nb._redact import MASK
from svc_nb._report import Finding

__all__ = [
    "APP_NAME",
    "ASYNCPG_CONNECT_KWARGS",
    "COERCED_DRIVERS",
    "DEFAULT_PORT",
    "DEFAULT_SOCKET_DIRS",
    "IDLE_IN_TRANSACTION_AFTER_S",
    "KNOWN_DRIVERS",
    "LIBPQ_PARAMS",
    "LOCAL_HOSTS",
    "SERVER_SETTING_PARAMS",
    "SSL_FILE_PARAMS",
    "SSL_MODES",
    "SVC_INFRA_MAX_OVERFLOW",
    "SVC_INFRA_POOL_SIZE",
    "Host",
    "Parsed",
    "clip",
]

# svc-infra's runtime engine keeps SQLAlchemy's pool defaults.
SVC_INFRA_POOL_SIZE = 5
SVC_INFRA_MAX_OVERFLOW = 10
DEFAULT_PORT = 5432
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Sessions idle inside an open transaction longer than this hold a pool slot for nothing.
IDLE_IN_TRANSACTION_AFTER_S = 60.0
# svc_nb names its own sessions, so activity() can leave them out and tests can count them.
APP_NAME = "svc_nb"

# Every parameter libpq accepts in a connection URI (PostgreSQL 17 docs, §34.1.2).
LIBPQ_PARAMS = frozenset(
    {
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "require_auth",
        "channel_binding", "connect_timeout", "client_encoding", "options", "application_name",
        "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode",
        "requiressl", "sslnegotiation", "sslcompression", "sslcert", "sslkey", "sslpassword",
        "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
        "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname", "gsslib",
        "gssdelegation", "service", "target_session_attrs", "load_balance_hosts", "sslkeylogfile",
    }
)  # fmt: skip
# SQLAlchemy's asyncpg dialect turns URL query keys into asyncpg.connect() keywords.
ASYNCPG_CONNECT_KWARGS = frozenset(
    {
        "host", "port", "user", "password", "passfile", "database", "timeout",
        "statement_cache_size", "max_cached_statement_lifetime", "max_cacheable_statement_size",
        "command_timeout", "ssl", "direct_tls", "server_settings", "target_session_attrs",
        "krbsrvname", "gsslib", "prepared_statement_cache_size", "prepared_statement_name_func",
        "async_fallback",
    }
)  # fmt: skip
# Passed on to the server in the start-up packet when the check connects.
SERVER_SETTING_PARAMS = frozenset({"application_name", "options"})
# TLS file parameters asyncpg reads from a DSN (the check forwards them).
SSL_FILE_PARAMS = (
    "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword",
    "ssl_min_protocol_version", "ssl_max_protocol_version",
)  # fmt: skip
KNOWN_DRIVERS = frozenset(
    {"asyncpg", "psycopg", "psycopg2", "psycopg2cffi", "pg8000", "psycopg_async"}
)
# svc-infra's runtime rewrites these to +asyncpg.
COERCED_DRIVERS = frozenset({None, "psycopg", "psycopg2"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Where libpq/asyncpg look for a Unix socket when the URL names no host.
DEFAULT_SOCKET_DIRS = ("/run/postgresql", "/var/run/postgresql", "/tmp")
# Query parameters whose value is a secret.
_SECRET_PARAMS = ("password", "sslpassword")
# Bounds on what a finding shows of a URL, so that a pasted megabyte stays cheap to
# report. PostgreSQL names stop at 63 bytes and host names at 253, so nothing real is cut.
_NAME_CHARS = 300
_VALUE_CHARS = 1000
_SHOWN_ITEMS = 50


@dataclass(frozen=True)
class Host:
    host: str  # a name, an IP (no brackets) or a Unix socket directory
    port: int

    @property
    def is_socket(self) -> bool:
        return self.host.startswith("/") or self.host.startswith("@")

    @property
    def is_local(self) -> bool:
        return self.is_socket or self.host in LOCAL_HOSTS

    @property
    def label(self) -> str:
        if self.is_socket:
            return f"{self.host}/.s.PGSQL.{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass
class Parsed:
    """A PostgreSQL URL taken apart; ``password`` never leaves the section unmasked."""

    scheme: str = ""
    driver: str | None = None
    user: str | None = None
    password: str | None = None
    hosts: list[Host] = field(default_factory=list)
    database: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    fatal: bool = False

    @property
    def sslmode(self) -> str | None:
        """The TLS mode the connection asks for (``ssl=`` wins over ``sslmode=``, as asyncpg)."""
        value = self.params.get("ssl") or self.params.get("sslmode")
        return value.lower() if value else None

    @property
    def asyncpg_reads_query(self) -> bool:
        """Whether asyncpg reads this URL's query through SQLAlchemy (svc-infra's runtime)."""
        return self.driver in COERCED_DRIVERS or self.driver == "asyncpg"

    def masked(self) -> str:
        """The URL rebuilt with every part encoded and the password masked.

        Bounded whatever the input: long names are clipped, long values and
        long lists replaced by what they are (see :func:`_shown`).
        """
        scheme = _name(self.scheme) + (f"+{_name(self.driver)}" if self.driver else "")
        auth = ""
        if self.user is not None or self.password is not None:
            auth = urllib.parse.quote(_name(self.user or ""), safe="")
            if self.password is not None:
                auth += ":" + MASK
            auth += "@"
        shown_hosts = self.hosts[:_SHOWN_ITEMS]
        hosts = ",".join(_name(h.label) for h in shown_hosts if not h.is_socket)
        sockets = [h for h in shown_hosts if h.is_socket]
        query = self._shown_params()
        query.pop("host", None)
        if sockets:
            query = {"host": _name(sockets[0].host), **query}
        db = "/" + urllib.parse.quote(_name(self.database), safe="") if self.database else ""
        qs = ("?" + urllib.parse.urlencode(query, safe="/*")) if query else ""
        return f"{scheme}://{auth}{hosts}{db}{qs}"

    def _shown_params(self) -> dict[str, str]:
        shown: dict[str, str] = {}
        for key, value in self.params.items():
            if len(shown) == _SHOWN_ITEMS:
                break
            shown[_name(key)] = MASK if key in _SECRET_PARAMS else _shown(value)
        return shown

    def parts(self) -> dict[str, Any]:
        """The parsed parts, password masked, for a Finding's ``data``."""
        # Say whether there is a password, never what it is.
        password = "(none)" if self.password is None else (MASK if self.password else "(empty)")
        parts: dict[str, Any] = {
            "scheme": _name(self.scheme),
            "driver": _name(self.driver) if self.driver is not None else None,
            "user": _name(self.user) if self.user is not None else None,
            "password": password,
            "hosts": [_name(h.label) for h in self.hosts[:_SHOWN_ITEMS]],
            "database": _name(self.database) if self.database is not None else None,
            "params": self._shown_params(),
            "url": self.masked(),
        }
        if len(self.hosts) > _SHOWN_ITEMS:
            parts["host_count"] = len(self.hosts)
        if len(self.params) > _SHOWN_ITEMS:
            parts["param_count"] = len(self.params)
        return parts


def clip(text: str, limit: int = 60) -> str:
    """User text cut to a length a summary line can show."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(text: str) -> str:
    """A name (user, host, database, scheme) as a finding's data shows it: names are not secret."""
    return clip(text, _NAME_CHARS)


def _shown(value: str) -> str:
    """A parameter value, or what it is when too long to show: no prefix of a secret leaks."""
    if len(value) <= _VALUE_CHARS:
        return value
    return f"({len(value)} characters, too long to show)"
