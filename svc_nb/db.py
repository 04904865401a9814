"""PostgreSQL: connection-URL diagnosis and staged connection checks.

``parse_url`` reads a URL the way libpq, asyncpg and SQLAlchemy would (no I/O)
and names each mistake with its fix. ``check`` then walks the connection in
stages — TCP per host, start-up/authentication through asyncpg, server
version/latency/TLS, capacity — so that one call says *which* of the guide's
five causes (server down, bad URL, network, pool exhausted, SSL mismatch) it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import os
import re
import socket
import ssl as ssl_module
import statistics
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from svc_nb._diagnose import register_check
from svc_nb._redact import MASK, register_secret, scrub
from svc_nb._report import Finding, Report, Status
from svc_nb._runtime import Deadline
from svc_nb.env import resolve_database_url

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SSL_MODES",
    "SVC_INFRA_MAX_OVERFLOW",
    "SVC_INFRA_POOL_SIZE",
    "activity",
    "check",
    "parse_url",
    "pool_headroom",
]

# svc-infra's runtime engine keeps SQLAlchemy's pool defaults (DESIGN §1).
SVC_INFRA_POOL_SIZE = 5
SVC_INFRA_MAX_OVERFLOW = 10
DEFAULT_PORT = 5432
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_APP_NAME = "svc_nb"
# How many round trips the latency median is taken over.
_LATENCY_SAMPLES = 5
# Sessions idle inside an open transaction longer than this hold a pool slot for nothing.
IDLE_IN_TRANSACTION_AFTER_S = 60.0

# Every parameter libpq accepts in a connection URI (PostgreSQL 17 docs, §34.1.2).
_LIBPQ_PARAMS = frozenset(
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
)
# What asyncpg itself reads from a DSN; anything else it sends to the server as a setting.
_ASYNCPG_DSN_PARAMS = frozenset(
    {
        "host", "port", "dbname", "database", "user", "password", "passfile", "sslmode",
        "sslcert", "sslkey", "sslrootcert", "sslnegotiation", "sslcrl", "sslpassword",
        "ssl_min_protocol_version", "ssl_max_protocol_version", "target_session_attrs",
        "krbsrvname", "gsslib", "service",
    }
)
# SQLAlchemy's asyncpg dialect turns URL query keys into asyncpg.connect() keywords.
_ASYNCPG_CONNECT_KWARGS = frozenset(
    {
        "host", "port", "user", "password", "passfile", "database", "timeout",
        "statement_cache_size", "max_cached_statement_lifetime", "max_cacheable_statement_size",
        "command_timeout", "ssl", "direct_tls", "server_settings", "target_session_attrs",
        "krbsrvname", "gsslib", "prepared_statement_cache_size", "prepared_statement_name_func",
        "async_fallback",
    }
)
# Passed on to the server in the start-up packet when the check connects.
_SERVER_SETTING_PARAMS = frozenset({"application_name", "options"})
# TLS file parameters asyncpg reads from a DSN (the check forwards them).
_SSL_FILE_PARAMS = (
    "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword",
    "ssl_min_protocol_version", "ssl_max_protocol_version",
)
_KNOWN_DRIVERS = {"asyncpg", "psycopg", "psycopg2", "psycopg2cffi", "pg8000", "psycopg_async"}
# svc-infra's runtime rewrites these to +asyncpg (DESIGN §1).
_COERCED_DRIVERS = {None, "psycopg", "psycopg2"}
# Characters that break a URL's userinfo unless percent-encoded.
_BREAKING = {"@": "%40", "/": "%2F", "?": "%3F", "#": "%23", "[": "%5B", "]": "%5D", " ": "%20"}
_HEX = frozenset("0123456789abcdefABCDEF")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# Where libpq/asyncpg look for a Unix socket when the URL names no host.
_DEFAULT_SOCKET_DIRS = ("/run/postgresql", "/var/run/postgresql", "/tmp")


class DbError(Exception):
    """Base class for misuse of svc_nb.db (wrong argument types or values)."""


# --------------------------------------------------------------------------------------
# Parsing (pure)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Host:
    host: str  # a name, an IP (no brackets) or a Unix socket directory
    port: int

    @property
    def is_socket(self) -> bool:
        return self.host.startswith("/") or self.host.startswith("@")

    @property
    def label(self) -> str:
        if self.is_socket:
            return f"{self.host}/.s.PGSQL.{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass
class _Parsed:
    """A PostgreSQL URL taken apart; ``password`` never leaves this module unmasked."""

    scheme: str = ""
    driver: str | None = None
    user: str | None = None
    password: str | None = None
    hosts: list[_Host] = field(default_factory=list)
    database: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    fatal: bool = False

    @property
    def sslmode(self) -> str | None:
        """The TLS mode the connection asks for (``ssl=`` wins over ``sslmode=``, as asyncpg)."""
        value = self.params.get("ssl") or self.params.get("sslmode")
        return value.lower() if value else None

    def masked(self) -> str:
        """The URL rebuilt with every part encoded and the password masked."""
        scheme = self.scheme + (f"+{self.driver}" if self.driver else "")
        auth = ""
        if self.user is not None or self.password is not None:
            auth = urllib.parse.quote(self.user or "", safe="")
            if self.password is not None:
                auth += ":" + MASK
            auth += "@"
        hosts = ",".join(h.label for h in self.hosts if not h.is_socket)
        sockets = [h for h in self.hosts if h.is_socket]
        query = {k: v for k, v in self.params.items() if k not in ("host", "password")}
        if sockets:
            query = {"host": sockets[0].host, **query}
        if "password" in self.params:
            query["password"] = MASK
        db = "/" + urllib.parse.quote(self.database, safe="") if self.database else ""
        qs = ("?" + urllib.parse.urlencode(query, safe="/*")) if query else ""
        return f"{scheme}://{auth}{hosts}{db}{qs}"

    def parts(self) -> dict[str, Any]:
        """The parsed parts, password masked, for a Finding's ``data``."""
        return {
            "scheme": self.scheme,
            "driver": self.driver,
            "user": self.user,
            "password": (MASK if self.password else "(empty)") if self.password is not None else "(none)",
            "hosts": [h.label for h in self.hosts],
            "database": self.database,
            "params": {k: (MASK if k in ("password", "sslpassword") else v) for k, v in self.params.items()},
            "url": self.masked(),
        }


def _f(check: str, status: Status, summary: str, detail: str = "", fix: str = "", **data: Any) -> Finding:
    return Finding(check=check, status=status, summary=summary, detail=detail, fix=fix, data=data)


def _bad_percent(text: str) -> bool:
    """A '%' not followed by two hex digits: libpq refuses it, others decode garbage."""
    for i, ch in enumerate(text):
        if ch == "%" and not (len(text) >= i + 3 and text[i + 1] in _HEX and text[i + 2] in _HEX):
            return True
    return False


def _structure(text: str) -> str:
    """The shape of a secret: ordinary runs as '…', breaking characters encoded."""
    out: list[str] = []
    for ch in text:
        enc = _BREAKING.get(ch) or ("%25" if ch == "%" else None) or (":" if ch == ":" else None)
        if enc:
            out.append(enc)
        elif not out or out[-1] != "…":
            out.append("…")
    return "".join(out)


def _find_userinfo_end(rest: str) -> int:
    """Index of the '@' ending the userinfo, or -1; tolerant of unencoded '@ / ? #'."""
    host_after = re.compile(r"^[A-Za-z0-9.\-_:\[\],%]*(?:[/?]|$)")
    for at in [m.start() for m in re.finditer("@", rest)][::-1]:
        if not host_after.match(rest[at + 1 :]):
            continue
        userinfo = rest[:at]
        cut = min((userinfo.find(c) for c in "/?#" if c in userinfo), default=-1)
        # A '/', '?' or '#' before any ':' means this '@' belongs to the path or
        # query, not to a password with unencoded characters.
        if cut >= 0 and (":" not in userinfo[:cut]):
            continue
        return at
    return -1


def _split_hostlist(spec: str, findings: list[Finding]) -> tuple[list[_Host], bool]:
    """libpq's comma-separated ``host[:port]`` list, IPv6 in brackets."""
    hosts: list[_Host] = []
    fatal = False
    for item in spec.split(","):
        host, port_text = item, ""
        if item.startswith("["):
            end = item.find("]")
            if end < 0:
                findings.append(_f("db.url.host", Status.FAIL, f"unclosed IPv6 bracket in host {item!r}",
                                   "An IPv6 address in a URL goes in brackets: [::1]:5432.",
                                   "Write the host as [address]:port, e.g. postgresql://user@[::1]:5432/app"))
                fatal = True
                continue
            host, tail = item[1:end], item[end + 1 :]
            if tail.startswith(":"):
                port_text = tail[1:]
            elif tail:
                findings.append(_f("db.url.host", Status.FAIL, f"unexpected text {tail!r} after IPv6 address",
                                   fix="Write the host as [address]:port"))
                fatal = True
        elif item.count(":") == 1:
            host, port_text = item.split(":")
        elif item.count(":") > 1:
            findings.append(_f("db.url.host", Status.FAIL, f"IPv6 address {item!r} without brackets",
                               "Without brackets the ':' inside the address cannot be told from the port separator.",
                               f"Write it as [{item}] (with :port after the bracket if needed)."))
            fatal = True
            continue
        host = urllib.parse.unquote(host)
        port = DEFAULT_PORT
        if port_text:
            port_ok = port_text.isdigit() and 1 <= int(port_text) <= 65535
            if not port_ok:
                findings.append(_f(
                    "db.url.port", Status.FAIL,
                    f"port {port_text!r} is not a TCP port (1–65535)",
                    "libpq, asyncpg and SQLAlchemy all refuse this URL.",
                    f"Use the server's port, usually {DEFAULT_PORT}: …@{host or 'host'}:{DEFAULT_PORT}/db",
                ))
                fatal = True
                continue
            port = int(port_text)
        hosts.append(_Host(host, port))
    return hosts, fatal


def _parse_kv(text: str) -> dict[str, str] | None:
    """A libpq keyword/value string (``host=x dbname=y``), or None if it is not one."""
    pairs = re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)", text)
    if not pairs or not re.match(r"^\s*\w+\s*=", text):
        return None
    return {k: v[1:-1].replace("\\'", "'") if v.startswith("'") else v for k, v in pairs}


def _parse(url: str) -> _Parsed:
    p = _Parsed()
    fs = p.findings
    text = url.strip()
    if text != url:
        fs.append(_f("db.url.whitespace", Status.WARN, "the URL has leading or trailing whitespace",
                     "A trailing newline usually comes from a secret file or `echo`; libpq keeps it in the last part.",
                     "Write the value without surrounding whitespace (printf '%s' … > file)."))
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
        fs.append(_f("db.url.quotes", Status.FAIL, "the URL is wrapped in quotes",
                     "Docker --env-file and Kubernetes keep quotes as part of the value, so the scheme becomes '\"postgresql'.",
                     "Remove the quotes around the value in the env file."))
    match = re.match(r"^(?P<scheme>[A-Za-z][A-Za-z0-9.\-]*)(?:\+(?P<driver>[^:/]*))?://", text)
    if not match:
        kv = _parse_kv(text)
        if kv is not None:
            p.fatal = True
            register_secret(kv.get("password"))
            kv_host = kv.get("host", "localhost")
            port = kv.get("port", str(DEFAULT_PORT))
            user = kv.get("user", "user")
            auth = f"{urllib.parse.quote(user, safe='')}{':' + MASK if 'password' in kv else ''}@"
            sample = f"postgresql+asyncpg://{auth}{kv_host}:{port}/{kv.get('dbname', 'dbname')}"
            fs.append(_f("db.url", Status.FAIL, "this is a libpq keyword/value string, not a URL",
                         "svc-infra (SQLAlchemy) only accepts URLs; 'host=… dbname=…' strings work for psql and psycopg only.",
                         f"Set SQL_URL to the URL form (password percent-encoded): {sample}",
                         keys=sorted(kv)))
            return p
        p.fatal = True
        fs.append(_f("db.url", Status.FAIL, "not a URL: no 'scheme://' at the start",
                     "A PostgreSQL URL starts with postgresql:// (or postgresql+asyncpg:// for SQLAlchemy).",
                     "Use the form postgresql+asyncpg://user:password@host:5432/dbname"))
        return p
    scheme, driver = match.group("scheme"), match.group("driver")
    p.scheme, p.driver = scheme.lower(), (driver.lower() if driver is not None else None)
    if p.scheme not in ("postgresql", "postgres"):
        p.fatal = True
        close = difflib.get_close_matches(p.scheme, ["postgresql", "postgres"], n=1, cutoff=0.6)
        why = (f"'{scheme}' looks like a typo of postgresql." if close
               else f"'{scheme}://' is not PostgreSQL; svc_nb.db diagnoses PostgreSQL URLs.")
        fs.append(_f("db.url.scheme", Status.FAIL, f"unknown scheme {scheme!r}", why,
                     "Use postgresql+asyncpg://user:password@host:5432/dbname",
                     scheme=scheme))
        return p
    rest = text[match.end():]
    if "#" in rest:
        frag_at = rest.rfind("#")
        # Only a '#' after the host is a fragment; one inside the password is handled below.
        at = _find_userinfo_end(rest)
        if frag_at > at:
            fs.append(_f("db.url.params", Status.WARN, "the URL has a '#fragment', which no driver reads",
                         fix="Remove the '#…' part (or percent-encode '#' as %23 if it belongs to a value)."))
            rest = rest[:frag_at]

    # -- userinfo -----------------------------------------------------------------------
    at = _find_userinfo_end(rest)
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1:]
        user_raw, colon, pw_raw = userinfo.partition(":")
        p.user = urllib.parse.unquote(user_raw)
        p.password = urllib.parse.unquote(pw_raw) if colon else None
        register_secret(p.password, pw_raw if colon else None)
        _check_userinfo(p, user_raw, pw_raw if colon else None)

    # -- hosts, database, query ------------------------------------------------------------
    qpos = rest.find("?")
    query = rest[qpos + 1:] if qpos >= 0 else ""
    rest = rest[:qpos] if qpos >= 0 else rest
    spos = rest.find("/")
    hostspec, path = (rest[:spos], rest[spos + 1:]) if spos >= 0 else (rest, "")
    p.database = urllib.parse.unquote(path) or None
    hosts, fatal = _split_hostlist(hostspec, fs) if hostspec else ([], False)
    p.fatal |= fatal
    params: dict[str, str] = {}
    for item in query.split("&") if query else []:
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = urllib.parse.unquote_plus(key)
        value = urllib.parse.unquote(value)
        if not eq:
            fs.append(_f("db.url.params", Status.FAIL, f"query parameter {key!r} has no '=value'",
                         "libpq rejects the URL (missing '=' in URI query parameter).",
                         f"Write it as {key}=<value>, or remove it."))
            continue
        if key in ("password", "sslpassword"):
            register_secret(value)
        params[key] = value
    p.params = params

    # Query host/port override or complete the netloc's, as in libpq.
    if "host" in params:
        qhosts, qfatal = _split_hostlist(params["host"], fs)
        p.fatal |= qfatal
        if hosts and qhosts:
            fs.append(_f("db.url.host", Status.WARN, "host given twice (before the path and as ?host=)",
                         "libpq and asyncpg use the ?host= value; the other is ignored.",
                         "Keep only one of them."))
        hosts = qhosts
    if "port" in params:
        ports = params["port"].split(",")
        good = [int(x) for x in ports if x.isdigit() and 1 <= int(x) <= 65535]
        if len(good) != len(ports):
            fs.append(_f("db.url.port", Status.FAIL, f"?port={params['port']!r} is not a TCP port (1–65535)",
                         fix=f"Use ?port={DEFAULT_PORT} or put the port after the host."))
            p.fatal = True
        elif good:
            base = hosts or [_Host("", DEFAULT_PORT)]
            if len(good) == 1:
                hosts = [_Host(h.host, good[0]) for h in base]
            else:
                hosts = [_Host(h.host, good[i] if i < len(good) else DEFAULT_PORT) for i, h in enumerate(base)]
    for key in ("dbname", "database"):
        if params.get(key):
            p.database = params[key]
    if params.get("user"):
        p.user = params["user"]
    if "password" in params:
        p.password = params["password"]
        fs.append(_f("db.url.password", Status.WARN, "the password is in the query string (?password=)",
                     "It works with libpq and asyncpg, but query strings end up in proxy and access logs.",
                     "Put it in the userinfo instead: postgresql+asyncpg://user:<percent-encoded password>@host/db"))
    p.hosts = [_Host(h.host or "", h.port) for h in hosts]
    _check_target(p, named_host=bool(hostspec or params.get("host")))
    _check_driver(p)
    _check_ssl(p)
    _check_params(p)
    return p


def _check_userinfo(p: _Parsed, user_raw: str, pw_raw: str | None) -> None:
    fs = p.findings
    for label, raw in (("user name", user_raw), ("password", pw_raw)):
        if raw is None:
            continue
        breaking = sorted({c for c in raw if c in _BREAKING})
        bad_pct = _bad_percent(raw)
        if not breaking and not bad_pct:
            continue
        chars = ", ".join(f"'{c}' → {_BREAKING[c]}" for c in breaking)
        if bad_pct:
            chars += (", " if chars else "") + "'%' → %25"
        # Shown without a scheme:// head so it reads as a shape, not as a URL to mask.
        shape = _structure(raw) if label == "password" else urllib.parse.quote(p.user or "", safe="")
        fs.append(_f(
            "db.url.password" if label == "password" else "db.url.user",
            Status.FAIL,
            f"the {label} has characters that must be percent-encoded ({chars})",
            "Unencoded, they end the userinfo early: drivers then see a wrong host, database or "
            f"query, or a password cut short. Encoded {label} structure (ordinary characters "
            f"shown as …): {shape}",
            "Encode it once when building the URL: urllib.parse.quote(password, safe='') — e.g. "
            "python -c \"import urllib.parse,getpass; print(urllib.parse.quote(getpass.getpass(), safe=''))\"",
            characters=breaking + (["%"] if bad_pct else []),
        ))


def _check_target(p: _Parsed, *, named_host: bool) -> None:
    fs = p.findings
    if not p.hosts and not named_host:
        fs.append(_f("db.url.host", Status.WARN, "no host: the driver uses a local Unix socket",
                     "libpq and asyncpg then try the socket directories (/run/postgresql, /tmp, …) and "
                     "localhost; inside a container that is never the database container.",
                     "Name the host: postgresql+asyncpg://user:password@db-host:5432/dbname"))
    elif len(p.hosts) > 1 and p.driver is not None and "host" not in p.params:
        fs.append(_f("db.url.host", Status.WARN, f"{len(p.hosts)} hosts in the libpq comma form",
                     "libpq and asyncpg accept host1:port1,host2:port2, but SQLAlchemy's URL parser "
                     "does not (it reads '5432,host2:5433' as the port).",
                     "For SQLAlchemy write the hosts as query parameters: "
                     "postgresql+asyncpg://user:pw@/db?host=h1:5432&host=h2:5432"))
    if not p.database:
        who = p.user or "the operating-system user"
        fs.append(_f("db.url.database", Status.WARN, "no database name in the URL",
                     f"PostgreSQL then connects to the database named like the user ({who}), which "
                     "rarely exists; svc-infra's migrations need an explicit database.",
                     "Add it after the host: postgresql+asyncpg://user:password@host:5432/dbname"))


def _check_driver(p: _Parsed) -> None:
    fs = p.findings
    if p.scheme == "postgres":
        fs.append(_f("db.url.scheme", Status.WARN, "scheme postgres:// is rejected by SQLAlchemy",
                     "SQLAlchemy ≥ 1.4 raises NoSuchModuleError: Can't load plugin: sqlalchemy.dialects:postgres. "
                     "svc-infra's URL helper rewrites it to postgresql://, but your own create_engine / "
                     "Alembic calls do not.",
                     "Write postgresql+asyncpg:// (or postgresql://) instead of postgres://"))
    if p.driver is None:
        fs.append(_f("db.url.driver", Status.OK,
                     "no +driver: svc-infra's runtime uses postgresql+asyncpg anyway",
                     "add_sql_db coerces postgresql:// (and +psycopg/+psycopg2) to +asyncpg. Your own "
                     "create_async_engine with this URL fails: 'The asyncio extension requires an async "
                     "driver to be used. The loaded 'psycopg2' is not async.'",
                     "For your own async engines write postgresql+asyncpg://…"))
    elif p.driver == "asyncpg":
        pass
    elif p.driver in _COERCED_DRIVERS:
        fs.append(_f("db.url.driver", Status.OK,
                     f"+{p.driver} is a sync driver; svc-infra's runtime rewrites it to +asyncpg",
                     "add_sql_db coerces +psycopg/+psycopg2 to +asyncpg, so query parameters must suit asyncpg.",
                     "Write postgresql+asyncpg://… so the URL says what runs."))
    elif p.driver in _KNOWN_DRIVERS:
        fs.append(_f("db.url.driver", Status.WARN, f"+{p.driver} is not what svc-infra runs",
                     "svc-infra's runtime uses asyncpg; this driver is not coerced and may not be installed.",
                     "Use postgresql+asyncpg://…"))
    else:
        close = difflib.get_close_matches(p.driver, sorted(_KNOWN_DRIVERS), n=1, cutoff=0.6)
        hint = f" (did you mean +{close[0]}?)" if close else ""
        fs.append(_f("db.url.driver", Status.FAIL, f"unknown driver +{p.driver}{hint}",
                     f"SQLAlchemy raises NoSuchModuleError: Can't load plugin: sqlalchemy.dialects:postgresql.{p.driver}",
                     "Use postgresql+asyncpg://…"))


def _asyncpg_reads(p: _Parsed) -> bool:
    """Whether asyncpg ends up reading this URL's query through SQLAlchemy (svc-infra's runtime)."""
    return p.driver in _COERCED_DRIVERS or p.driver == "asyncpg"


def _check_ssl(p: _Parsed) -> None:
    fs = p.findings
    sslmode, ssl_value = p.params.get("sslmode"), p.params.get("ssl")
    for key, value in (("sslmode", sslmode), ("ssl", ssl_value)):
        if value is not None and value.lower() not in SSL_MODES:
            p.fatal = True
            close = difflib.get_close_matches(value.lower(), SSL_MODES, n=1, cutoff=0.5)
            extra = (" asyncpg's ssl= takes an sslmode word, not true/false."
                     if value.lower() in ("true", "false", "1", "0", "on", "off", "yes", "no") else "")
            fs.append(_f("db.url.ssl", Status.FAIL, f"{key}={value!r} is not a TLS mode",
                         f"Valid values: {', '.join(SSL_MODES)}.{extra}",
                         f"Use {key}={close[0] if close else 'require'}"))
    if sslmode is not None and _asyncpg_reads(p):
        runtime = ("" if p.driver == "asyncpg" else
                   " svc-infra's runtime coerces this URL to +asyncpg, so the same happens there.")
        fs.append(_f("db.url.ssl", Status.FAIL if p.driver == "asyncpg" else Status.WARN,
                     "sslmode= reaches asyncpg, which wants ssl=",
                     "SQLAlchemy passes URL query keys to asyncpg.connect(), which fails: TypeError: "
                     f"connect() got an unexpected keyword argument 'sslmode'.{runtime} "
                     "(svc-infra's build_engine strips sslmode and forces ssl=require.)",
                     f"Replace sslmode={sslmode} with ssl={sslmode.lower() if sslmode.lower() in SSL_MODES else 'require'}"))
    if ssl_value is not None and p.driver not in (None, "asyncpg"):
        fs.append(_f("db.url.ssl", Status.WARN, f"ssl= is asyncpg's spelling; +{p.driver} (libpq) wants sslmode=",
                     "libpq rejects the URL: invalid URI query parameter \"ssl\".",
                     f"Use sslmode={ssl_value} with +{p.driver}, or switch to +asyncpg"))
    if (p.sslmode in ("disable", "allow", "prefer")) and p.hosts and not all(
        h.is_socket or h.host in _LOCAL_HOSTS for h in p.hosts
    ):
        fs.append(_f("db.url.ssl", Status.WARN, f"TLS mode {p.sslmode} to a remote host",
                     "Credentials and data may cross the network unencrypted; managed databases "
                     "(RDS, Azure, Cloud SQL) usually refuse such connections anyway.",
                     "Use ssl=require, or ssl=verify-full with sslrootcert=/path/ca.pem"))


def _check_params(p: _Parsed) -> None:
    unknown = []
    for key in p.params:
        if key in _LIBPQ_PARAMS or key in _ASYNCPG_CONNECT_KWARGS or key == "database":
            continue
        unknown.append(key)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(_LIBPQ_PARAMS | {"ssl"}), n=1, cutoff=0.7)
            hints.append(f"{key} (did you mean {close[0]}?)" if close else key)
        p.findings.append(_f(
            "db.url.params", Status.WARN, f"unknown parameter(s): {', '.join(hints)}",
            "libpq rejects the URL (invalid URI query parameter); through SQLAlchemy asyncpg.connect() "
            "raises TypeError (unexpected keyword argument); plain asyncpg sends them to the server as "
            "settings, which refuses names it does not know.",
            "Remove them, or spell them as libpq names them (PostgreSQL docs §34.1.2).",
            unknown=unknown,
        ))
    if _asyncpg_reads(p):
        libpq_only = [k for k in p.params if k in _LIBPQ_PARAMS and k not in _ASYNCPG_CONNECT_KWARGS
                      and k not in ("sslmode", "dbname", "application_name", "options")]
        if libpq_only:
            p.findings.append(_f(
                "db.url.params", Status.WARN,
                f"libpq-only parameter(s) asyncpg does not take: {', '.join(libpq_only)}",
                "Through SQLAlchemy (svc-infra's runtime) asyncpg.connect() raises TypeError: unexpected "
                "keyword argument.",
                "Remove them, or pass asyncpg options in code: create_async_engine(url, connect_args={...}) "
                "(e.g. connect_timeout → connect_args={'timeout': 5}).",
                parameters=libpq_only,
            ))


def _parse_safely(url: str) -> _Parsed:
    try:
        return _parse(url)
    except Exception as exc:  # bad input must never surface a parser traceback
        p = _Parsed(fatal=True)
        p.findings.append(_f("db.url", Status.FAIL, "the URL could not be parsed",
                             f"{type(exc).__name__} while reading it.",
                             "Use the form postgresql+asyncpg://user:password@host:5432/dbname"))
        return p


def parse_url(url: str) -> Report:
    """Take a PostgreSQL URL apart without any I/O and report each mistake with its fix.

    Accepts every libpq URI form (``postgresql://``/``postgres://``, ``+driver``
    suffixes, several hosts, ``[IPv6]``, Unix sockets via ``?host=`` or a
    percent-encoded path, query parameters). The ``db.url`` finding's ``data``
    holds the parsed parts with the password masked.
    """
    if not isinstance(url, str):
        raise TypeError(
            f"parse_url() takes the URL as a str, not {type(url).__name__}; "
            "e.g. svc_nb.db.parse_url(os.environ['SQL_URL'])"
        )
    p = _parse_safely(url)
    return Report(_url_findings(p), title="svc_nb db URL")


def _url_findings(p: _Parsed) -> list[Finding]:
    if any(f.check == "db.url" for f in p.findings):
        return list(p.findings)
    problems = [f for f in p.findings if f.status in (Status.FAIL, Status.WARN)]
    worst = max((f.status for f in problems), key=lambda s: s.rank, default=Status.OK)
    if worst is Status.OK:
        summary = f"valid PostgreSQL URL: {p.masked()}"
    else:
        summary = f"{len(problems)} problem(s) in {p.masked()}"
    head = _f("db.url", worst, summary,
              "Parsed as libpq/asyncpg read it; the password is never shown.",
              "" if worst is Status.OK else "See the findings below for each fix.",
              **p.parts())
    return [head, *p.findings]


# --------------------------------------------------------------------------------------
# Probes (async, bounded)
# --------------------------------------------------------------------------------------




def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _tcp_targets(p: _Parsed) -> list[_Host]:
    """The hosts the driver will try; a URL without host means the local socket dirs + localhost."""
    if p.hosts and any(h.host for h in p.hosts):
        return [h if h.host else _Host("localhost", h.port) for h in p.hosts]
    port = p.hosts[0].port if p.hosts else DEFAULT_PORT
    dirs = [d for d in _DEFAULT_SOCKET_DIRS if os.path.exists(f"{d}/.s.PGSQL.{port}")]
    return [_Host(d, port) for d in dirs[:1]] + [_Host("localhost", port)]


async def _probe_tcp(h: _Host, timeout: float) -> dict[str, Any]:
    """Open and close one TCP (or Unix-socket) connection; classify what happened."""
    start = time.perf_counter()
    result: dict[str, Any] = {"host": h.label}
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            if h.is_socket:
                _, writer = await asyncio.open_unix_connection(f"{h.host}/.s.PGSQL.{h.port}")
            else:
                _, writer = await asyncio.open_connection(h.host, h.port)
        result["outcome"] = "open"
    except TimeoutError:
        result["outcome"] = "no_answer"
    except ConnectionRefusedError:
        result["outcome"] = "refused"
    except FileNotFoundError:
        result["outcome"] = "no_socket"
    except socket.gaierror as exc:
        result["outcome"] = "dns"
        result["error"] = str(exc.strerror or exc)
    except OSError as exc:
        result["outcome"] = "unreachable"
        result["error"] = exc.strerror or type(exc).__name__
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(0.2):
                    await writer.wait_closed()
    result["ms"] = _ms(start)
    return result


_TCP_WORDS = {
    "open": "accepts TCP connections",
    "refused": "connection refused (nothing listens there)",
    "no_answer": "no answer (packets dropped or host down)",
    "no_socket": "no socket file (no local server on that port)",
    "dns": "host name does not resolve",
    "unreachable": "network unreachable",
}


async def _stage_tcp(targets: list[_Host], budget: Deadline) -> tuple[Finding, list[_Host]]:
    start = time.perf_counter()
    results = await asyncio.gather(*(_probe_tcp(h, budget.left()) for h in targets))
    open_hosts = [h for h, r in zip(targets, results, strict=True) if r["outcome"] == "open"]
    lines = [f"{r['host']}: {_TCP_WORDS[r['outcome']]} in {r['ms']:g} ms"
             + (f" ({r['error']})" if r.get("error") else "") for r in results]
    data = {"hosts": results, "elapsed_ms": _ms(start)}
    if open_hosts:
        status = Status.OK if len(open_hosts) == len(targets) else Status.WARN
        summary = (f"{open_hosts[0].label} accepts connections" if len(targets) == 1
                   else f"{len(open_hosts)} of {len(targets)} hosts accept connections")
        fix = "" if status is Status.OK else "The driver fails over to the next host, slowly: fix or remove the dead ones."
        return _f("db.tcp", status, summary, "\n".join(lines), fix, **data), open_hosts
    outcomes = {r["outcome"] for r in results}
    first = targets[0]
    if outcomes <= {"refused", "no_socket"}:
        summary = f"connection refused: nothing listens on {', '.join(h.label for h in targets)}"
        fix = (f"Start PostgreSQL (pg_isready -h {first.host} -p {first.port}; systemctl start postgresql, "
               "or docker compose up db) or fix the host/port in SQL_URL.")
    elif "no_answer" in outcomes:
        summary = f"no answer from {', '.join(h.label for h in targets)} within {budget.timeout:g} s"
        fix = ("A firewall or security group drops the packets, or the host is down: check the address, "
               "the server's listen_addresses, and the network path (nc -vz host port).")
    elif "dns" in outcomes:
        summary = f"host name {first.host!r} does not resolve"
        fix = ("Check the host name; inside Docker Compose use the service name, from the host use "
               "localhost and the published port.")
    else:
        summary = f"cannot reach {first.label}"
        fix = "Check routing/VPN to the database network."
    return _f("db.tcp", Status.FAIL, summary, "\n".join(lines), fix, **data), []


def _connect_kwargs(p: _Parsed, hosts: list[_Host] | None, timeout: float) -> dict[str, Any]:
    """What asyncpg.connect() needs, built from the parsed URL (no +driver, ssl= not sslmode=)."""
    targets = hosts if hosts is not None else _tcp_targets(p)
    kwargs: dict[str, Any] = {
        "host": [h.host for h in targets],
        "port": [h.port for h in targets],
        "user": p.user or None,
        "password": p.password,
        "database": p.database or None,
        "timeout": max(timeout, 0.01),
        "server_settings": {"application_name": _APP_NAME,
                            **{k: v for k, v in p.params.items() if k in _SERVER_SETTING_PARAMS}},
    }
    if p.sslmode:
        kwargs["ssl"] = p.sslmode
    extra = {k: p.params[k] for k in _SSL_FILE_PARAMS if k in p.params}
    if "target_session_attrs" in p.params:
        kwargs["target_session_attrs"] = p.params["target_session_attrs"]
    if extra:
        # asyncpg reads TLS file options only from a DSN; explicit keywords win for the rest.
        kwargs["dsn"] = "postgresql://?" + urllib.parse.urlencode(extra)
    return kwargs


def _classify(exc: BaseException, p: _Parsed, timeout: float) -> Finding:
    """Turn whatever asyncpg.connect() raised into a diagnosis with its fix."""
    import asyncpg

    user = p.user or "(OS user)"
    db = p.database or user
    host = p.hosts[0] if p.hosts else _Host("localhost", DEFAULT_PORT)
    sslmode = p.sslmode or "prefer"
    sqlstate = getattr(exc, "sqlstate", None)
    message = str(exc).strip() or type(exc).__name__
    data = {"error": type(exc).__name__, "sqlstate": sqlstate, "sslmode": sslmode}

    def fail(summary: str, detail: str, fix: str, **more: Any) -> Finding:
        return _f("db.auth", Status.FAIL, summary, detail, fix, **data, **more)

    if isinstance(exc, TimeoutError):
        return fail(f"the server accepted TCP but did not complete the start-up within {timeout:g} s",
                    "Something listens on the port but does not speak PostgreSQL (a hung server, a proxy "
                    "or load balancer without a backend, or another service on this port).",
                    f"Check what listens there (ss -ltnp | grep :{host.port}); check the server log and "
                    "any proxy (pgbouncer, cloud SQL proxy) in between.", cause="no_answer")
    if isinstance(exc, asyncpg.InvalidPasswordError):
        if p.password is None:
            return fail(f"the server wants a password for {user!r} and the URL has none", message,
                        "Add it to the URL, percent-encoded: postgresql+asyncpg://user:<password>@host/db",
                        cause="no_password")
        return fail(f"password authentication failed for user {user!r}",
                    f"{message}. PostgreSQL answers the same for a wrong password and for a role that "
                    "does not exist, so both are possible.",
                    f"Check the password (percent-encoded in the URL) and that the role exists: "
                    f"psql -c \"\\du {user}\"; reset it with ALTER ROLE \"{user}\" PASSWORD '…';",
                    cause="wrong_password")
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        if "pg_hba.conf" in message and "no pg_hba.conf entry" in message:
            if "no encryption" in message and sslmode == "disable":
                return fail("the server requires SSL but the client disabled it",
                            f"{message}. pg_hba.conf has only 'hostssl' lines for this client, and "
                            "the URL says ssl(mode)=disable.",
                            "Use ssl=require (asyncpg/SQLAlchemy) or sslmode=require (libpq) in the URL.",
                            cause="ssl_required")
            if "no encryption" in message:
                cause, extra = "no_hba_entry", ""
            else:
                cause, extra = "no_hba_entry", " (the entry may exist only as 'hostnossl')"
            return fail(f"no pg_hba.conf entry lets {user!r} into {db!r} from this host",
                        f"{message}{extra}.",
                        f"Add a line to pg_hba.conf: host {db} {user} <client-ip>/32 scram-sha-256, "
                        "then reload: SELECT pg_reload_conf();", cause=cause)
        if "does not exist" in message and "role" in message:
            return fail(f"role {user!r} does not exist", message,
                        f"Create it (CREATE ROLE \"{user}\" LOGIN PASSWORD '…';) or fix the user in SQL_URL.",
                        cause="unknown_role")
        if "rejects connection" in message:
            return fail("pg_hba.conf explicitly rejects this connection", message,
                        "Change the matching 'reject' line in pg_hba.conf, then SELECT pg_reload_conf();",
                        cause="hba_reject")
        return fail("the server refused the login", message,
                    "Check the role's LOGIN attribute and pg_hba.conf.", cause="auth_refused")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return fail(f"database {db!r} does not exist", message,
                    f"Create it (createdb -h {host.host or 'localhost'} -p {host.port} -U {user} {db}) "
                    "or fix the database name after the last '/' in SQL_URL.", cause="unknown_database")
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return fail("too many connections: the server has no free slot", message,
                    "Find who holds them: svc_nb.db.activity(url) (idle in transaction sessions are the "
                    "usual leak); lower pool_size/max_overflow × worker processes (svc_nb.db.pool_headroom), "
                    "raise max_connections, or put pgbouncer in front.", cause="too_many_connections")
    if isinstance(exc, asyncpg.CannotConnectNowError | asyncpg.AdminShutdownError):
        phase = ("shutting down" if "shutting down" in message else
                 "starting up" if "starting up" in message else
                 "in recovery" if "recovery" in message else "not accepting connections")
        return fail(f"the server is {phase}", message,
                    "Wait and retry; if it lasts, read the server log (journalctl -u postgresql / "
                    "docker logs db).", cause="not_ready", phase=phase)
    if isinstance(exc, ssl_module.SSLCertVerificationError):
        why = getattr(exc, "verify_message", "") or message
        return fail(f"the server's TLS certificate failed verification: {why}",
                    f"{message}. With ssl=verify-ca/verify-full the client checks the certificate "
                    "chain (and for verify-full the host name).",
                    "Point sslrootcert= at the CA that signed the server certificate "
                    "(…?ssl=verify-full&sslrootcert=/path/ca.pem), or connect_args={'ssl': "
                    "ssl.create_default_context(cafile=...)}; ssl=require encrypts without verifying.",
                    cause="cert_verify")
    if isinstance(exc, ssl_module.SSLError):
        return fail("the TLS handshake failed", message,
                    "Check ssl_min_protocol_version on both sides and the server's certificate/key files.",
                    cause="tls_error")
    if isinstance(exc, asyncpg.ClientConfigurationError) and "root certificate" in message:
        return fail(f"ssl={sslmode} needs the CA certificate, and there is none",
                    f"{message}. verify-ca/verify-full check the server certificate against "
                    "sslrootcert= (default ~/.postgresql/root.crt).",
                    "Add sslrootcert=/path/to/ca.pem to the URL (the CA your provider publishes, e.g. "
                    "the RDS global bundle), or use ssl=require to encrypt without verifying.",
                    cause="no_root_cert")
    if isinstance(exc, asyncpg.ClientConfigurationError):
        return fail("the client's connection options are invalid", message,
                    "Fix the option named above (a missing sslrootcert file is the usual one).",
                    cause="client_config")
    if isinstance(exc, ConnectionError | OSError) and "rejected SSL upgrade" in message:
        return fail("SSL requested but the server has none",
                    f"{message}. The URL asks for ssl={sslmode} and the server answered 'no SSL' to "
                    "the TLS request.",
                    "For a local server without TLS use ssl=disable (or leave ssl out: 'prefer'); or "
                    "enable TLS on the server (ssl = on, ssl_cert_file/ssl_key_file). svc-infra's "
                    "build_engine forces ssl=require, so its migrations need a TLS-enabled server.",
                    cause="server_no_ssl")
    if isinstance(exc, ConnectionRefusedError):
        return fail("connection refused", message, "Start PostgreSQL or fix the host/port.", cause="refused")
    if isinstance(exc, asyncpg.PostgresConnectionError):
        # 08xxx: the connection died under us (a restart, a proxy); not a refusal by policy.
        return fail(f"the connection broke during start-up ({sqlstate}): {message}", message,
                    "The server restarted or a proxy closed the connection: retry, and check the server "
                    "log and any pgbouncer/proxy in between.", cause="connection_lost")
    if isinstance(exc, asyncpg.PostgresError):
        return fail(f"the server refused the connection ({sqlstate}): {message}", message,
                    "Look the SQLSTATE up in the PostgreSQL docs (Appendix A) and check the server log.",
                    cause="server_error")
    if isinstance(exc, asyncpg.InterfaceError | ConnectionError | OSError):
        return fail(f"the connection broke during start-up: {message}", message,
                    "The server or a proxy closed the connection: check the server log and any "
                    "pgbouncer/proxy in between.", cause="connection_lost")
    return fail(f"connecting failed: {type(exc).__name__}: {message}", message,
                "Run svc_nb.support.bug_report() and include this finding.", cause="unexpected")


async def _close(conn: Any, budget: Deadline) -> None:
    """Close gracefully while the budget allows, otherwise abort the socket."""
    if conn is None or conn.is_closed():
        return
    try:
        async with asyncio.timeout(max(min(budget.left(), 0.25), 0.05)):
            await conn.close()
    except BaseException:
        conn.terminate()
        raise


async def _connect(p: _Parsed, hosts: list[_Host] | None, budget: Deadline) -> tuple[Any, Finding]:
    """asyncpg.connect() bounded by the budget; returns (connection or None, db.auth finding)."""
    import asyncpg

    start = time.perf_counter()
    timeout = budget.left()
    try:
        async with asyncio.timeout(timeout):
            conn = await asyncpg.connect(**_connect_kwargs(p, hosts, timeout))
    except (Exception, TimeoutError) as exc:
        finding = _classify(exc, p, budget.timeout)
        return None, Finding(finding.check, finding.status, finding.summary, finding.detail,
                             finding.fix, {**finding.data, "elapsed_ms": _ms(start)})
    elapsed = _ms(start)
    return conn, _f("db.auth", Status.OK,
                    f"connected and authenticated as {p.user or '(OS user)'} to {p.database or '(default db)'}",
                    f"Start-up and authentication took {elapsed:g} ms.", elapsed_ms=elapsed)


async def _server_findings(conn: Any, p: _Parsed) -> list[Finding]:
    start = time.perf_counter()
    version = await conn.fetchval("SELECT version()")
    short = await conn.fetchval("SHOW server_version")
    samples = []
    for _ in range(_LATENCY_SAMPLES):
        t0 = time.perf_counter()
        await conn.fetchval("SELECT 1")
        samples.append((time.perf_counter() - t0) * 1000)
    latency = round(statistics.median(samples), 2)
    status = Status.OK if latency < 50 else Status.WARN
    server = _f("db.server", status, f"PostgreSQL {short}, round trip {latency:g} ms (median of {len(samples)})",
                str(version),
                "" if status is Status.OK else "Over 50 ms per round trip: run the app in the database's region/network.",
                server_version=str(short), version=str(version), latency_ms=latency,
                latency_samples_ms=[round(s, 2) for s in samples], elapsed_ms=_ms(start))
    row = await conn.fetchrow(
        "SELECT ssl, version, cipher, bits FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    )
    server_ssl = await conn.fetchval("SHOW ssl")
    in_use = bool(row and row["ssl"])
    ssl_data = {"session_ssl": in_use, "server_ssl": server_ssl, "sslmode": p.sslmode or "prefer",
                "tls_version": row["version"] if row else None, "cipher": row["cipher"] if row else None}
    local = all(h.is_socket or h.host in _LOCAL_HOSTS for h in _tcp_targets(p))
    if in_use:
        verified = p.sslmode in ("verify-ca", "verify-full")
        detail = ("The certificate was verified." if verified else
                  "The certificate was not verified (ssl=require/prefer): encryption without protection "
                  "against an impostor server.")
        fix = "" if verified or local else "Use ssl=verify-full&sslrootcert=/path/ca.pem for remote servers."
        tls = _f("db.ssl", Status.OK, f"session encrypted: {row['version']} {row['cipher']}", detail, fix, **ssl_data)
    elif server_ssl == "on":
        tls = _f("db.ssl", Status.OK if local else Status.WARN,
                 f"session not encrypted although the server offers TLS (ssl={p.sslmode or 'prefer'})",
                 "The URL disables TLS." if p.sslmode == "disable" else "The client did not ask for TLS.",
                 "" if local else "Use ssl=require (or verify-full with sslrootcert).", **ssl_data)
    else:
        tls = _f("db.ssl", Status.WARN, "the server has no TLS (ssl = off)",
                 "The app connects (asyncpg's default 'prefer' falls back to plain), but svc-infra's "
                 "build_engine — used by `svc-infra sql upgrade` and the migrations — forces ssl=require "
                 "and fails with 'rejected SSL upgrade'.",
                 "Enable TLS on the server (postgresql.conf: ssl = on, ssl_cert_file, ssl_key_file; a "
                 "self-signed certificate is enough locally), then SELECT pg_reload_conf();", **ssl_data)
    return [server, tls]


@dataclass(frozen=True)
class _Capacity:
    max_connections: int
    superuser_reserved: int
    reserved: int
    in_use: int

    @property
    def available(self) -> int:
        """Slots still free for ordinary (non-superuser) roles."""
        return self.max_connections - self.superuser_reserved - self.reserved - self.in_use


async def _capacity(conn: Any) -> _Capacity:
    row = await conn.fetchrow(
        """
        SELECT current_setting('max_connections')::int AS max_connections,
               current_setting('superuser_reserved_connections')::int AS superuser_reserved,
               coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int AS reserved,
               (SELECT count(*) FROM pg_stat_activity
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())::int AS in_use
        """
    )
    return _Capacity(row["max_connections"], row["superuser_reserved"], row["reserved"], row["in_use"])


def _headroom_finding(cap: _Capacity, pool_size: int, max_overflow: int, processes: int,
                      check_id: str) -> Finding:
    per_process = pool_size + max_overflow
    fit = cap.available // per_process if per_process else 0
    base_fit = cap.available // pool_size if pool_size else 0
    need = per_process * processes
    data: dict[str, Any] = {
        "max_connections": cap.max_connections, "superuser_reserved_connections": cap.superuser_reserved,
        "reserved_connections": cap.reserved, "in_use": cap.in_use, "available": cap.available,
        "pool_size": pool_size, "max_overflow": max_overflow, "per_process": per_process,
        "processes": processes, "needed": need, "processes_fit": fit, "processes_fit_pool_only": base_fit,
    }
    detail = (f"max_connections {cap.max_connections} − {cap.superuser_reserved} superuser-reserved − "
              f"{cap.reserved} reserved − {cap.in_use} in use by others = {cap.available} free slots. "
              f"Each worker process may open pool_size {pool_size} + max_overflow {max_overflow} = "
              f"{per_process} connections.")
    fix_scale = (f"Lower the pool per process (create_async_engine(url, pool_size=…, max_overflow=…)), "
                 f"run fewer workers, raise max_connections (ALTER SYSTEM SET max_connections = "
                 f"{cap.max_connections + need - cap.available}; then restart), or use pgbouncer.")
    if need <= cap.available:
        return _f(check_id, Status.OK, f"{fit} worker process(es) fit at {per_process} connections each "
                  f"({processes} planned need {need} of {cap.available} free)", detail, **data)
    if pool_size * processes <= cap.available:
        return _f(check_id, Status.WARN,
                  f"{processes} process(es) fit only without overflow: {need} needed at peak, {cap.available} free",
                  detail + " Under load the overflow connections will be refused: 'sorry, too many clients already'.",
                  fix_scale, **data)
    return _f(check_id, Status.FAIL,
              f"{processes} process(es) need {need} connections, only {cap.available} free "
              f"({fit} process(es) fit)", detail, fix_scale, **data)


def _resolve(url: str | None, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    if url is not None:
        if not isinstance(url, str):
            raise TypeError(f"url must be a str or None, not {type(url).__name__}")
        return url, "argument"
    resolved = resolve_database_url(environ)
    if resolved is None:
        return None, ""
    # Only the password is secret (parse_url registers it); masking the whole URL
    # would hide host and database names in every later output.
    return resolved.value, resolved.source


def _no_url_finding() -> Finding:
    return _f("db.url", Status.SKIP, "no database URL configured: set SQL_URL",
              "svc-infra's runtime (add_sql_db) reads SQL_URL; its URL helper also tries DB_URL, "
              "DATABASE_URL, DATABASE_URL_PRIVATE, PRIVATE_SQL_URL, their *_FILE variants and "
              "/run/secrets/database_url. None is set.",
              "export SQL_URL='postgresql+asyncpg://user:password@host:5432/dbname'")


def _skip(check_id: str, why: str) -> Finding:
    return _f(check_id, Status.SKIP, f"not checked: {why}")


def _check_timeout(timeout: float) -> None:
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")


async def check(url: str | None = None, *, timeout: float = 3.0,
                environ: Mapping[str, str] | None = None) -> Report:
    """Diagnose a PostgreSQL connection in stages; returns within ``timeout`` + 0.3 s.

    ``url=None`` uses the URL svc-infra would (``SQL_URL`` first, see
    :func:`svc_nb.env.resolve_database_url`). Stages: URL, TCP per host,
    start-up/auth, server version/latency/TLS, capacity.
    """
    _check_timeout(timeout)
    budget = Deadline(timeout)
    raw, source = _resolve(url, environ)
    if raw is None:
        return Report([_no_url_finding()], title="svc_nb db check")
    p = _parse_safely(raw)
    findings = _url_findings(p)
    if source and source != "argument":
        head = findings[0]
        findings[0] = Finding(head.check, head.status, head.summary + f" (from {source})",
                              head.detail, head.fix, {**head.data, "source": source})
    later = ("db.tcp", "db.auth", "db.server", "db.ssl", "db.capacity")
    if p.fatal:
        return Report([*findings, *(_skip(c, "the URL cannot be used") for c in later)],
                      title="svc_nb db check")
    tcp, open_hosts = await _stage_tcp(_tcp_targets(p), budget)
    findings.append(tcp)
    if not open_hosts:
        return Report([*findings, *(_skip(c, "no host accepts connections") for c in later[1:])],
                      title="svc_nb db check")
    conn, auth = await _connect(p, open_hosts, budget)
    findings.append(auth)
    if conn is None:
        return Report([*findings, *(_skip(c, "could not connect") for c in later[2:])],
                      title="svc_nb db check")
    try:
        async with asyncio.timeout(budget.left()):
            findings.extend(await _server_findings(conn, p))
            cap = await _capacity(conn)
            findings.append(_headroom_finding(cap, SVC_INFRA_POOL_SIZE, SVC_INFRA_MAX_OVERFLOW, 1,
                                              "db.capacity"))
    except TimeoutError:
        done = {f.check for f in findings}
        findings.extend(_f(c, Status.FAIL, f"the server stopped answering queries within {timeout:g} s",
                           "Connected, but a simple query did not come back: an overloaded server, lock "
                           "waits at start-up, or a proxy stalling.",
                           "Check the server's load and log; retry with a larger timeout.")
                        for c in later[2:] if c not in done)
    except Exception as exc:  # a query failing after login is a finding, not a crash
        done = {f.check for f in findings}
        findings.extend(_f(c, Status.FAIL, f"query failed: {type(exc).__name__}: {scrub(str(exc))}",
                           fix="Check the role's privileges and the server log.")
                        for c in later[2:] if c not in done)
    finally:
        await _close(conn, budget)
    return Report(findings, title="svc_nb db check")


async def _connected(url: str | None, timeout: float) -> tuple[_Parsed | None, Any, list[Finding], Deadline]:
    """Parse and connect for the helpers below; on failure return the findings that say why."""
    _check_timeout(timeout)
    budget = Deadline(timeout)
    raw, _ = _resolve(url)
    if raw is None:
        return None, None, [_no_url_finding()], budget
    p = _parse_safely(raw)
    if p.fatal:
        return p, None, _url_findings(p), budget
    conn, auth = await _connect(p, None, budget)
    return p, conn, ([] if conn is not None else [auth]), budget


async def pool_headroom(url: str | None = None, *, pool_size: int = SVC_INFRA_POOL_SIZE,
                        max_overflow: int = SVC_INFRA_MAX_OVERFLOW, processes: int = 1,
                        timeout: float = 3.0) -> Report:
    """How many worker processes with this pool fit before the server refuses connections.

    Returns a report whose ``db.pool`` finding carries ``processes_fit``,
    ``available``, ``needed`` and the server's limits in ``data``.
    """
    for name, value in (("pool_size", pool_size), ("max_overflow", max_overflow), ("processes", processes)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if pool_size + max_overflow == 0:
        raise ValueError("pool_size + max_overflow must be at least 1")
    _, conn, failed, budget = await _connected(url, timeout)
    if conn is None:
        return Report(failed, title="svc_nb db pool headroom")
    try:
        async with asyncio.timeout(budget.left()):
            cap = await _capacity(conn)
    except TimeoutError:
        return Report([_f("db.pool", Status.FAIL, f"the server did not answer within {timeout:g} s")],
                      title="svc_nb db pool headroom")
    finally:
        await _close(conn, budget)
    return Report([_headroom_finding(cap, pool_size, max_overflow, processes, "db.pool")],
                  title="svc_nb db pool headroom")


class _FrameReport(Report):
    """A Report that survives pandas copying ``DataFrame.attrs`` (it deep-copies them)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _FrameReport:
        return self  # immutable: sharing is safe


_ACTIVITY_COLUMNS = [
    "pid", "usename", "datname", "application_name", "client_addr", "state", "wait_event_type",
    "wait_event", "backend_start", "xact_start", "query_start", "state_change", "xact_age_s",
    "query_age_s", "query", "flag",
]
_PASSWORD_SQL = re.compile(r"(?i)(password\s+)('(?:[^']|'')*'|\$\$.*?\$\$)")


def _safe_query(text: str | None) -> str:
    if not text:
        return ""
    text = _PASSWORD_SQL.sub(lambda m: m.group(1) + "'" + MASK + "'", text)
    text = scrub(text)
    return text if len(text) <= 200 else text[:199] + "…"


async def activity(url: str | None = None, *, timeout: float = 3.0,
                   idle_in_transaction_after: float = IDLE_IN_TRANSACTION_AFTER_S) -> pd.DataFrame:
    """``pg_stat_activity`` (client sessions, this one excluded) as a DataFrame.

    Sessions ``idle in transaction`` for more than ``idle_in_transaction_after``
    seconds are flagged in column ``flag``: they hold a pool slot (and locks)
    and are the usual cause of pool exhaustion. ``frame.attrs["report"]``
    holds a Report (``db.activity``) saying what was found — or why the
    connection failed, in which case the frame is empty.
    """
    import pandas as pd

    _, conn, failed, budget = await _connected(url, timeout)
    if conn is None:
        frame = pd.DataFrame(columns=_ACTIVITY_COLUMNS)
        frame.attrs["report"] = _FrameReport(failed, title="svc_nb db activity")
        return frame
    try:
        async with asyncio.timeout(budget.left()):
            rows = await conn.fetch(
                """
                SELECT pid, usename, datname, application_name, client_addr::text AS client_addr,
                       state, wait_event_type, wait_event, backend_start, xact_start, query_start,
                       state_change,
                       extract(epoch FROM now() - xact_start)::float8 AS xact_age_s,
                       extract(epoch FROM now() - query_start)::float8 AS query_age_s,
                       extract(epoch FROM now() - state_change)::float8 AS state_age_s,
                       query
                  FROM pg_stat_activity
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                 ORDER BY xact_start NULLS LAST, backend_start
                """
            )
    except TimeoutError:
        frame = pd.DataFrame(columns=_ACTIVITY_COLUMNS)
        frame.attrs["report"] = _FrameReport([_f("db.activity", Status.FAIL,
                                           f"pg_stat_activity did not come back within {timeout:g} s")],
                                       title="svc_nb db activity")
        return frame
    finally:
        await _close(conn, budget)
    records = []
    for r in rows:
        rec = {c: r[c] for c in _ACTIVITY_COLUMNS if c not in ("query", "flag")}
        rec["query"] = _safe_query(r["query"])
        long_idle = (r["state"] == "idle in transaction" and (r["state_age_s"] or 0) > idle_in_transaction_after)
        rec["flag"] = "long idle in transaction" if long_idle else ""
        records.append(rec)
    frame = pd.DataFrame.from_records(records, columns=_ACTIVITY_COLUMNS)
    flagged = [rec for rec in records if rec["flag"]]
    states = frame["state"].fillna("(none)").value_counts().to_dict() if len(frame) else {}
    if flagged:
        pids = ", ".join(str(rec["pid"]) for rec in flagged[:10])
        finding = _f("db.activity", Status.WARN,
                     f"{len(flagged)} session(s) idle in transaction for more than {idle_in_transaction_after:g} s",
                     "Each holds a connection (and its locks) while doing nothing: a request that began a "
                     "transaction and never committed, rolled back or returned the connection to the pool.",
                     f"Find the code path (application_name, query column) and make it commit/rollback; "
                     f"terminate now with SELECT pg_terminate_backend(pid) for pids {pids}; guard with "
                     "ALTER DATABASE … SET idle_in_transaction_session_timeout = '60s';",
                     sessions=len(records), states=states, flagged_pids=[rec["pid"] for rec in flagged])
    else:
        finding = _f("db.activity", Status.OK, f"{len(records)} other client session(s); none stuck idle in transaction",
                     sessions=len(records), states=states)
    frame.attrs["report"] = _FrameReport([finding], title="svc_nb db activity")
    return frame


# --------------------------------------------------------------------------------------
# diagnose() registration
# --------------------------------------------------------------------------------------


async def _diagnose_db(environ: Mapping[str, str], timeout: float) -> Report:
    if resolve_database_url(environ) is None:
        return Report([_no_url_finding()])
    return await check(None, timeout=timeout, environ=environ)


register_check("db", _diagnose_db, order=20, waits=True)
