"""Redis, the way svc-infra's cache uses it: URL diagnosis, connection, auth and memory.

svc-infra's ``add_cache`` reads ``CACHE_URL``, then ``REDIS_URL``, else falls
back to ``mem://`` (cashews' in-process backend) and hands the URL to cashews,
which hands ``redis://`` URLs to redis-py. There is no automatic fallback when
Redis is down: the start-up readiness probe fails and the app does not start.

- :func:`parse_url` reads a URL exactly as redis-py does (no I/O) and names
  the mistakes: unencoded special characters, a database out of range, TLS
  options on a plain URL, a password where an ACL user is needed.
- :func:`check` connects with redis-py's asyncio client and classifies what it
  finds: reachability and PING latency, authentication, server, clients,
  memory (with a real throwaway write), fragmentation.
- :func:`memory` returns the memory figures as a DataFrame for
  :func:`svc_nb.plots.memory_usage`.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import errno
import functools
import inspect
import os
import re
import secrets
import statistics
import time
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from svc_nb._diagnose import register_check
from svc_nb._redact import MASK, mask_secret, mask_url, register_secret, scrub
from svc_nb._report import Finding, Report, Status
from svc_nb.env import resolve_cache_url

if TYPE_CHECKING:
    import pandas as pd
    from redis.asyncio import Redis

__all__ = [
    "DEFAULT_DATABASES",
    "FALLBACK_EXPLANATION",
    "MEM_EXPLANATION",
    "check",
    "client",
    "memory",
    "parse_url",
]

SECTION = "cache"
DEFAULT_PORT = 6379
# redis.conf's default `databases 16`: indexes 0..15.
DEFAULT_DATABASES = 16
PING_SAMPLES = 5
# Memory thresholds (fraction of maxmemory) for a noeviction server.
NEAR_LIMIT = 0.90
# Below this much allocated memory Redis' own MEMORY DOCTOR calls the ratio meaningless.
FRAGMENTATION_MIN_BYTES = 5 * 1024 * 1024
FRAGMENTATION_HIGH = 1.5
# How long closing the client may take after the probe's own deadline.
_CLOSE_GRACE_S = 0.1
PROBE_KEY = "__svc_nb_probe__"

# Query options cashews (svc-infra's cache library) consumes itself before redis-py sees the URL.
_CASHEWS_OPTIONS = frozenset(
    {"suppress", "client_side", "secret", "digestmod", "pickle_type", "enable", "disable", "prefix"}
)
_POOL_OPTIONS = frozenset({"max_connections", "timeout"})

MEM_EXPLANATION = (
    "mem:// is cashews' in-process memory backend. Each worker process keeps its own "
    "cache: nothing is shared between Gunicorn/Uvicorn workers or replicas, an invalidation "
    "in one process leaves stale entries in the others, everything is lost on restart, and "
    "memory grows inside the app process. Fine for tests and a single-process dev server; "
    "in production it silently turns a shared cache into N inconsistent private ones."
)
FALLBACK_EXPLANATION = (
    "svc-infra has no automatic fallback to memory: when Redis is unreachable at start-up the "
    "cache readiness probe fails and the app does not start (the guide's "
    "`except CacheConnectionError: init_cache(backend=\"memory\")` cannot work: neither name "
    "exists). Fix Redis, or choose mem:// deliberately with CACHE_URL=mem:// for a dev/test "
    "instance that can live with per-process, non-shared, lost-on-restart caching."
)

_SCHEME_HINTS = {
    "http": "Redis does not speak HTTP; use redis://host:6379/0 (or rediss:// for TLS).",
    "https": "Redis does not speak HTTP; use rediss://host:6380/0 for TLS.",
    "tcp": "Write redis://host:6379/0 instead of tcp://.",
    "redis+sentinel": "redis-py's from_url has no Sentinel URLs and svc-infra reads a single URL; point CACHE_URL at the master or a proxy.",
    "sentinel": "redis-py's from_url has no Sentinel URLs; point CACHE_URL at the master or a proxy.",
    "valkey": "Valkey speaks the Redis protocol: write redis://host:6379/0.",
    "memcached": "svc-infra's cache supports Redis (redis://) or memory (mem://), not memcached.",
    "disk": "disk:// is a cashews backend svc_nb does not diagnose; svc-infra documents Redis or mem://.",
}


class CacheError(ValueError):
    """Misuse of svc_nb.cache (wrong argument types or values)."""


# --------------------------------------------------------------------------------------
# Parsing (pure, no I/O)
# --------------------------------------------------------------------------------------


@dataclass
class _Target:
    """What redis-py would connect to, with the keyword arguments it would pass."""

    url: str
    shown: str
    scheme: str
    host: str | None = None
    port: int | None = None
    path: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def memory_backend(self) -> bool:
        return self.scheme == "mem"

    @property
    def tls(self) -> bool:
        return self.scheme == "rediss"

    @property
    def where(self) -> str:
        if self.scheme == "unix":
            return f"unix socket {self.path}"
        return f"{self.host or 'localhost'}:{self.port or DEFAULT_PORT}"


@functools.lru_cache(maxsize=1)
def _redis_signatures() -> tuple[set[str], set[str], set[str], Mapping[str, Any], dict[str, Any]]:
    """Keyword arguments redis-py's connection classes accept, read from redis-py itself."""
    from redis.asyncio import connection as rc

    def accepted(cls: type) -> tuple[set[str], dict[str, Any]]:
        names: set[str] = set()
        defaults: dict[str, Any] = {}
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or not klass.__module__.startswith("redis"):
                continue
            for name, param in inspect.signature(init).parameters.items():
                if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL) or name == "self":
                    continue
                names.add(name)
                defaults.setdefault(name, param.default)
        return names, defaults

    tcp, tcp_defaults = accepted(rc.Connection)
    ssl, ssl_defaults = accepted(rc.SSLConnection)
    unix, unix_defaults = accepted(rc.UnixDomainSocketConnection)
    return tcp, ssl, unix, rc.URL_QUERY_ARGUMENT_PARSERS, {**unix_defaults, **tcp_defaults, **ssl_defaults}


def _f(check: str, status: Status, summary: str, detail: str = "", fix: str = "", **data: Any) -> Finding:
    return Finding(check=check, status=status, summary=summary, detail=detail, fix=fix, data=data)


_ENCODE_FIX = (
    "Percent-encode the password in the URL (/ → %2F, ? → %3F, # → %23, @ → %40, % → %25, "
    "space → %20), e.g. python -c \"import getpass, urllib.parse; "
    "print(urllib.parse.quote(getpass.getpass('password: '), safe=''))\""
)


def _parse(url: str) -> tuple[list[Finding], _Target | None]:
    """Findings about ``url`` and, when redis-py could use it, the target it describes."""
    findings: list[Finding] = []
    raw = url
    url = url.strip()
    shown = mask_url(url)
    if raw != url and url:
        findings.append(_f(
            "cache.url.whitespace", Status.WARN, "the URL has leading or trailing whitespace",
            "svc_nb's env resolution strips it, but a URL passed in code or a quoted .env value keeps "
            "it, and then the scheme or the database number no longer parse.",
            "Remove the spaces/newline around the value (e.g. a trailing newline from `echo` into a secret file).",
        ))
    if not url:
        findings.append(_f(
            "cache.url", Status.FAIL, "the cache URL is empty",
            "svc-infra treats an empty CACHE_URL/REDIS_URL as unset and uses mem://.",
            "Set CACHE_URL=redis://host:6379/0 (or leave it unset to use mem:// deliberately).",
        ))
        return findings, None
    if "://" not in url:
        findings.append(_f(
            "cache.url", Status.FAIL, f"not a URL: {shown!r} has no scheme",
            "redis-py's from_url needs redis://, rediss:// or unix://; svc-infra's cashews also needs a scheme to pick a backend.",
            "Write it as redis://HOST:6379/0 (or rediss:// for TLS, unix:///path/redis.sock).",
        ))
        return findings, None
    scheme_raw = url.split("://", 1)[0]
    scheme = scheme_raw.lower()
    if scheme != scheme_raw:
        findings.append(_f(
            "cache.url.scheme", Status.WARN, f"scheme written as {scheme_raw!r}",
            "redis-py's synchronous parser and cashews' backend choice compare the scheme in lower case.",
            f"Write {scheme}:// in lower case.",
        ))
    if scheme == "mem":
        target = _Target(url=url, shown=shown, scheme="mem")
        findings.insert(0, _f(
            "cache.url", Status.OK, f"{shown}: svc-infra's in-memory backend (no Redis)",
            "Nothing to connect to: cashews keeps the cache inside each app process.",
            scheme="mem", url=shown,
        ))
        findings.append(_f(
            "cache.backend", Status.WARN, "mem:// means a per-process cache, not Redis",
            MEM_EXPLANATION,
            "For production set CACHE_URL=redis://HOST:6379/0 (or rediss:// for TLS). Keep mem:// "
            "only where one process, lost-on-restart caching is acceptable (tests, local dev).",
            backend="memory",
        ))
        return findings, target
    if scheme not in ("redis", "rediss", "unix"):
        hint = _SCHEME_HINTS.get(scheme, "Use redis:// (plain TCP), rediss:// (TLS) or unix:// (socket file).")
        findings.append(_f(
            "cache.url", Status.FAIL, f"unsupported scheme {scheme_raw}://",
            "redis-py's from_url raises ValueError: Redis URL must specify one of the following schemes "
            "(redis://, rediss://, unix://); svc-infra also accepts mem:// for its in-memory cache.",
            hint, scheme=scheme,
        ))
        return findings, None

    try:
        parsed = urllib.parse.urlparse(url)
    except ValueError as exc:  # e.g. an unbalanced IPv6 bracket
        findings.append(_f(
            "cache.url", Status.FAIL, f"the URL does not parse: {exc}", f"URL: {shown}",
            "Bracket IPv6 hosts fully (redis://[::1]:6379/0) and percent-encode special characters in the password. "
            + _ENCODE_FIX,
        ))
        return findings, None

    rest = url.split("://", 1)[1]
    if "@" in parsed.netloc:
        # Rebuild the shown form from the parsed parts: a regex cannot know where an
        # unencoded '@' inside the password ends.
        user = parsed.netloc.rpartition("@")[0].partition(":")[0]
        shown = mask_url(
            f"{scheme_raw}://{user}{':' + MASK if ':' in parsed.netloc.rpartition('@')[0] else ''}@"
            f"{parsed.netloc.rpartition('@')[2]}{rest[len(parsed.netloc):]}"
        )
    target = _Target(url=url, shown=shown, scheme=scheme)
    fatal = False

    # --- user info: unencoded special characters cut the netloc short ------------------
    if "@" not in parsed.netloc and "@" in rest:
        cut = rest[len(parsed.netloc)] if len(rest) > len(parsed.netloc) else "?"
        findings.append(_f(
            "cache.url.password", Status.FAIL,
            f"a special character ({cut!r}) in the password is not URL-encoded",
            f"The URL parser stops the host part at the first {cut!r}, so the rest of the password and the "
            "real host end up in the path/query: redis-py then fails to read the port or connects to the "
            "wrong host (localhost) with a truncated password.",
            _ENCODE_FIX, character=cut,
        ))
        return findings, None
    userinfo = parsed.netloc.rpartition("@")[0] if "@" in parsed.netloc else ""
    if userinfo.count("@"):
        findings.append(_f(
            "cache.url.password", Status.WARN, "an '@' in the password is not URL-encoded",
            "Python (redis-py) splits at the last '@' and still reads it, but redis-cli -u, other languages "
            "and many URL tools split at the first one.",
            "Encode '@' in the password as %40. " + _ENCODE_FIX,
        ))
    if " " in userinfo:
        findings.append(_f(
            "cache.url.password", Status.WARN, "a space in the user info is not URL-encoded",
            "Some tools truncate at the space.", "Encode spaces as %20. " + _ENCODE_FIX,
        ))
    username = urllib.parse.unquote(parsed.username) if parsed.username else None
    password = urllib.parse.unquote(parsed.password) if parsed.password else None
    register_secret(password)
    target.username, target.password = username, password
    if password:
        target.kwargs["password"] = password
    if username:
        target.kwargs["username"] = username
    if username and not password and ":" not in userinfo:
        # `redis://SECRET@host` sends SECRET as the *username*; it may well be the password.
        register_secret(username)
        if userinfo and userinfo in target.shown:
            target.shown = shown = target.shown.replace(userinfo + "@", MASK + "@", 1)
        findings.append(_f(
            "cache.url.auth", Status.WARN,
            "the user info has no ':' so redis-py sends it as a USERNAME with no password",
            "In redis://X@host, X is the username. A password written there is never sent as a password; "
            "the server answers WRONGPASS (or accepts anyone if the default user has no password).",
            "If it is the password write redis://:PASSWORD@host:6379/0 (note the colon); "
            "for an ACL user write redis://USER:PASSWORD@host:6379/0.",
            username=mask_secret(username),
        ))
    elif userinfo.endswith(":") or (username and parsed.password == ""):
        findings.append(_f(
            "cache.url.auth", Status.WARN, "the password in the URL is empty",
            "redis-py sends no password for an empty one.",
            "Put the password after the colon, or drop the user info if the server has no password.",
        ))
    elif password and not username:
        findings.append(_f(
            "cache.url.auth", Status.OK, "password without username: authenticates as the 'default' user",
            "redis://:PASSWORD@host is AUTH PASSWORD (requirepass / the ACL 'default' user). If your provider "
            "gave you an ACL user (Redis 6+ ACLs, ElastiCache RBAC, Redis Cloud), the password belongs to "
            "that user and the server answers WRONGPASS until the URL names it.",
            "For an ACL user: redis://USER:PASSWORD@host:6379/0.",
            password=mask_secret(password),
        ))

    # --- host, port ---------------------------------------------------------------------
    if scheme in ("redis", "rediss"):
        try:
            target.port = parsed.port
        except ValueError:
            port_text = parsed.netloc.rpartition("@")[2].rpartition(":")[2]
            findings.append(_f(
                "cache.url.port", Status.FAIL, f"the port {port_text!r} is not a number from 0 to 65535",
                "redis-py raises ValueError while parsing the URL.",
                f"Write redis://HOST:{DEFAULT_PORT}/0; if the port part is really part of the password, "
                + _ENCODE_FIX,
            ))
            fatal = True
        target.host = parsed.hostname
        if not parsed.hostname:
            findings.append(_f(
                "cache.url.host", Status.WARN, "no host in the URL: redis-py connects to localhost",
                "Inside a container localhost is the container itself, not the Redis service.",
                "Name the host: redis://redis:6379/0 (a Compose service name) or redis://10.0.0.5:6379/0.",
            ))
        if target.host:
            target.kwargs["host"] = target.host
        if target.port is not None:
            target.kwargs["port"] = target.port
    else:  # unix
        if not parsed.path:
            findings.append(_f(
                "cache.url.path", Status.FAIL, "unix:// URL without a socket path",
                f"{shown} puts the socket name in the host part; redis-py needs an absolute path.",
                "Write unix:///var/run/redis/redis.sock?db=0 (three slashes).",
            ))
            fatal = True
        else:
            target.path = urllib.parse.unquote(parsed.path)
            target.kwargs["path"] = target.path
            if re.search(r"/\d+$", parsed.path) and not parsed.path.endswith(".sock"):
                findings.append(_f(
                    "cache.url.db", Status.WARN,
                    "a unix:// URL takes the database from ?db=, not from the path",
                    f"redis-py uses the whole path {target.path!r} as the socket file.",
                    "Write unix:///path/to/redis.sock?db=N.",
                ))

    # --- query options, as redis-py reads them ---------------------------------------
    tcp_keys, ssl_keys, unix_keys, parsers, defaults = _redis_signatures()
    accepted = {"redis": tcp_keys, "rediss": ssl_keys, "unix": unix_keys}[scheme] | _POOL_OPTIONS
    tls_only = ssl_keys - tcp_keys
    shown_options: dict[str, str] = {}
    try:
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    except ValueError:
        query = {}
    query_db: int | None = None
    for name, values in query.items():
        value = values[0]
        if name in ("password", "ssl_password"):
            register_secret(value)
        shown_options[name] = mask_url(f"x://h/?{name}={value}").split("=", 1)[1] if value else ""
        if len(values) > 1:
            findings.append(_f(
                f"cache.url.option.{name}", Status.WARN, f"?{name}= is given {len(values)} times; redis-py uses the first",
                fix=f"Keep one {name}= in the URL.",
            ))
        if value == "":
            findings.append(_f(
                f"cache.url.option.{name}", Status.WARN, f"?{name}= has no value and is ignored",
                "redis-py's query parsing drops blank values.", f"Give {name} a value or remove it.",
            ))
            continue
        if name in _CASHEWS_OPTIONS:
            findings.append(_f(
                f"cache.url.option.{name}", Status.OK, f"?{name}= is read by cashews (svc-infra's cache library), not redis-py",
                "svc_nb leaves it out of its own redis-py connection.",
            ))
            continue
        if name in tls_only and scheme != "rediss":
            findings.append(_f(
                "cache.url.tls", Status.FAIL, f"TLS option ?{name}= on a plain {scheme}:// URL",
                f"redis-py passes it to a non-TLS connection class, which raises TypeError: got an unexpected "
                f"keyword argument '{name}'; the connection never starts.",
                f"Use rediss:// for TLS (e.g. rediss://HOST:6380/0?{name}={value if name != 'ssl_password' else '...'}), "
                f"or drop ?{name}= if the server has no TLS.",
                option=name,
            ))
            fatal = True
            continue
        if name not in accepted:
            close = difflib.get_close_matches(name, sorted(accepted), n=1)
            findings.append(_f(
                f"cache.url.option.{name}", Status.FAIL, f"redis-py does not know the option ?{name}=",
                f"Unknown query options are passed to the connection class, which raises TypeError: got an "
                f"unexpected keyword argument '{name}'.",
                f"Did you mean ?{close[0]}=? " if close else f"Remove ?{name}= from the URL.",
                option=name,
            ))
            fatal = True
            continue
        parser = parsers.get(name)
        if parser is not None:
            try:
                converted = parser(value)
            except (TypeError, ValueError):
                findings.append(_f(
                    f"cache.url.option.{name}", Status.FAIL, f"?{name}={shown_options[name]} is not a valid value",
                    f"redis-py raises ValueError: Invalid value for '{name}' in connection URL.",
                    f"Give {name} a value of type {getattr(parser, '__name__', 'the expected type')}.",
                    option=name,
                ))
                fatal = True
                continue
        else:
            converted = value
            if isinstance(defaults.get(name), bool):
                findings.append(_f(
                    f"cache.url.option.{name}", Status.WARN,
                    f"?{name}={value} reaches redis-py as the string {value!r}, not a boolean",
                    "redis-py converts only some query options; this one stays a string, and any non-empty "
                    "string (even 'false' or '0') is truthy.",
                    f"Remove ?{name}= to get the default ({defaults[name]}), or set it in code.",
                ))
        if name == "db":
            query_db = int(converted)
            continue
        if name == "ssl_cert_reqs":
            if value not in ("none", "optional", "required"):
                findings.append(_f(
                    "cache.url.tls", Status.FAIL, f"ssl_cert_reqs={value!r} is not none, optional or required",
                    "redis-py raises RedisError: Invalid SSL Certificate Requirements Flag.",
                    "Use ssl_cert_reqs=required (and ssl_ca_certs=/path/ca.pem for a private CA).",
                ))
                fatal = True
                continue
            if value == "none":
                findings.append(_f(
                    "cache.url.tls", Status.WARN, "ssl_cert_reqs=none: the server certificate is not verified",
                    "The connection is encrypted but anyone who can intercept it can impersonate Redis and read "
                    "the password.",
                    "Use ssl_cert_reqs=required with ssl_ca_certs=/path/to/ca.pem (the provider's CA bundle).",
                ))
        if name == "ssl_check_hostname" and converted is False:
            findings.append(_f(
                "cache.url.tls", Status.WARN, "ssl_check_hostname=false: any valid certificate is accepted",
                fix="Remove ssl_check_hostname=false and connect by the name on the certificate.",
            ))
        if name == "protocol" and converted not in (2, 3):
            findings.append(_f(
                "cache.url.option.protocol", Status.FAIL, f"protocol={value} is neither 2 nor 3",
                "redis-py refuses other RESP versions.", "Use protocol=2 (any server) or protocol=3 (Redis 6+).",
            ))
            fatal = True
            continue
        target.kwargs[name] = converted

    # redis-py also takes the credentials from ?username= / ?password=.
    if not target.password and isinstance(target.kwargs.get("password"), str):
        target.password = target.kwargs["password"]
    if not target.username and isinstance(target.kwargs.get("username"), str):
        target.username = target.kwargs["username"]

    # --- database number ------------------------------------------------------------
    path_db: int | None = None
    if scheme in ("redis", "rediss") and parsed.path not in ("", "/"):
        try:
            path_db = int(urllib.parse.unquote(parsed.path).replace("/", ""))
        except ValueError:
            findings.append(_f(
                "cache.url.db", Status.WARN, f"the path {parsed.path!r} is not a database number; redis-py uses db 0",
                "redis-py silently ignores a path that is not an integer, so keys land in database 0.",
                "Write the database number as the path: redis://HOST:6379/0 … /15.",
            ))
    if query_db is not None and path_db is not None and query_db != path_db:
        findings.append(_f(
            "cache.url.db", Status.WARN, f"?db={query_db} overrides the path's database {path_db}",
            fix="Give the database once, as the path: redis://HOST:6379/N.",
        ))
    target.db = query_db if query_db is not None else (path_db if path_db is not None else 0)
    target.kwargs["db"] = target.db
    if not 0 <= target.db < DEFAULT_DATABASES:
        findings.append(_f(
            "cache.url.db", Status.WARN, f"database {target.db} is outside 0–{DEFAULT_DATABASES - 1}",
            f"A default server has `databases {DEFAULT_DATABASES}`; SELECT {target.db} answers "
            "'ERR DB index is out of range' unless redis.conf raises it. Redis Cluster has only database 0.",
            f"Use a database from 0 to {DEFAULT_DATABASES - 1}, or raise `databases` in redis.conf.",
            db=target.db,
        ))

    status = Status.FAIL if fatal else Status.OK
    auth = (
        f"user {target.username if target.password else MASK}" if target.username
        else ("password (default user)" if target.password else "no password")
    )
    transport = {"redis": ", plain TCP", "rediss": ", TLS", "unix": ""}[scheme]
    summary = (
        f"{target.shown} → {target.where}, db {target.db}{transport}, {auth}"
        if not fatal
        else f"{target.shown} → redis-py cannot use this URL as written"
    )
    findings.insert(0, _f(
        "cache.url", status, summary, "",
        "" if not fatal else "See the failing cache.url.* findings below.",
        scheme=scheme, host=target.host, port=target.port or (None if scheme == "unix" else DEFAULT_PORT),
        path=target.path, db=target.db, username=target.username if target.password else (MASK if target.username else None),
        password=mask_secret(target.password) if target.password else None, tls=target.tls,
        options=shown_options, url=target.shown,
    ))
    return findings, (None if fatal else target)


def parse_url(url: str) -> Report:
    """Diagnose a Redis URL as redis-py (and svc-infra's cashews) would read it; no I/O."""
    if not isinstance(url, str):
        raise TypeError(
            f"parse_url() takes the URL as a str, got {type(url).__name__}; "
            "e.g. svc_nb.cache.parse_url('redis://localhost:6379/0')"
        )
    try:
        findings, _ = _parse(url)
    except Exception as exc:  # a parser bug must still not become a traceback for bad input
        findings = [_f(
            "cache.url", Status.FAIL, f"the URL could not be read ({type(exc).__name__})",
            scrub(str(exc)), "Check the URL's shape: redis://[USER:PASSWORD@]HOST:PORT/DB.",
        )]
    return Report(findings, title="svc_nb cache URL")


# --------------------------------------------------------------------------------------
# Probing (async, bounded)
# --------------------------------------------------------------------------------------


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise CacheError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


@functools.cache
def _no_client_setinfo(connection_class: type) -> dict[str, None]:
    """Keyword arguments that skip CLIENT SETINFO on connect.

    redis-py sends it on every new connection and reads its own package metadata
    to do so: a round trip and milliseconds of CPU a probe does not need.
    Newer redis-py spells it ``driver_info=None``, older ``lib_name=None``.
    """
    params = inspect.signature(connection_class).parameters
    if "driver_info" in params:
        return {"driver_info": None}
    if "lib_name" in params:
        return {"lib_name": None, "lib_version": None}
    return {}


def client(url: str, *, timeout: float = 3.0, decode_responses: bool = False) -> Redis:
    """A redis-py asyncio client for ``url`` whose every call is bounded by ``timeout``.

    No retries (one try keeps a probe's budget honest) and no CLIENT SETINFO.
    The caller closes it with ``await client.aclose()``. Raises ValueError for a
    URL redis-py cannot read (check it with :func:`parse_url` first).
    """
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return aioredis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=decode_responses,
        **_no_client_setinfo(aioredis.connection.AbstractConnection),
    )


@contextlib.asynccontextmanager
async def _client(target: _Target, timeout: float, *, anonymous: bool = False) -> AsyncIterator[Redis]:
    """A redis-py asyncio client with bounded sockets and no retries, closed on exit."""
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    kwargs = dict(target.kwargs)
    if anonymous:
        kwargs.pop("username", None)
        kwargs.pop("password", None)
    pool_kwargs = {k: kwargs.pop(k) for k in _POOL_OPTIONS if k in kwargs}
    pool_kwargs.pop("timeout", None)
    kwargs.update(
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        # redis-py retries connection errors three times by default; one try keeps the budget honest.
        retry=Retry(NoBackoff(), 0),
        **_no_client_setinfo(aioredis.connection.AbstractConnection),
    )
    connection_class = {
        "redis": aioredis.Connection,
        "rediss": aioredis.SSLConnection,
        "unix": aioredis.UnixDomainSocketConnection,
    }[target.scheme]
    pool = aioredis.ConnectionPool(connection_class=connection_class, **pool_kwargs, **kwargs)
    client = aioredis.Redis.from_pool(pool)  # type: ignore[attr-defined]  # stubs predate from_pool
    try:
        yield client
    finally:
        # Bounded: a hung peer must not hold the caller past its deadline.
        with contextlib.suppress(Exception, TimeoutError):
            async with asyncio.timeout(_CLOSE_GRACE_S):
                await client.aclose()  # from_pool: closing the client closes its pool too


@dataclass
class _Outcome:
    """What the probe saw, stage by stage."""

    stage: str = "connect"
    error: BaseException | None = None
    timed_out: bool = False
    connect_ms: float | None = None
    pings_ms: list[float] = field(default_factory=list)
    whoami: str | None = None
    anonymous_ok: bool | None = None
    info: dict[str, Any] | None = None
    info_error: BaseException | None = None
    maxclients: int | None = None
    write_error: BaseException | None = None
    write_ok: bool = False
    probe_key: str = ""


async def _run(client: Redis, target: _Target, out: _Outcome, timeout: float, key_prefix: str) -> None:
    from redis import exceptions as rexc

    started = time.perf_counter()
    await client.ping()
    out.connect_ms = round((time.perf_counter() - started) * 1000, 2)
    out.stage = "ping"
    for _ in range(PING_SAMPLES):
        t0 = time.perf_counter()
        await client.ping()
        out.pings_ms.append((time.perf_counter() - t0) * 1000)
    out.stage = "auth"
    with contextlib.suppress(rexc.ResponseError):
        who = await client.execute_command("ACL", "WHOAMI")
        out.whoami = who.decode() if isinstance(who, bytes) else str(who)
    if target.password:
        # Redis 6+ accepts any password for a user without one, so "password sent but none
        # configured" only shows when an anonymous connection gets in too.
        try:
            async with _client(target, timeout, anonymous=True) as anon:
                await anon.ping()
            out.anonymous_ok = True
        except rexc.AuthenticationError:
            out.anonymous_ok = False
        except rexc.RedisError:
            out.anonymous_ok = None
    out.stage = "info"
    try:
        # Only the sections the findings read: the default INFO is several times larger to parse.
        out.info = dict(await client.info("server", "clients", "memory", "replication"))
    except rexc.ResponseError:
        try:  # Redis < 7 takes one section at a time
            out.info = dict(await client.info())
        except rexc.ResponseError as exc:
            out.info_error = exc
    if out.info is not None and "maxclients" not in out.info:
        with contextlib.suppress(rexc.ResponseError):
            got = await client.config_get("maxclients")
            out.maxclients = int(got.get("maxclients", 0)) or None
    elif out.info is not None:
        out.maxclients = int(out.info["maxclients"])
    out.stage = "write"
    out.probe_key = f"{key_prefix}{PROBE_KEY}:{secrets.token_hex(6)}"
    try:
        # A real, tiny write: the only way to see OOM / NOPERM / READONLY for sure. It expires by
        # itself in 30 s even if the delete below never runs.
        await client.set(out.probe_key, "svc_nb", px=30_000)
        out.write_ok = True
    except rexc.ResponseError as exc:
        out.write_error = exc
    if out.write_ok:
        with contextlib.suppress(rexc.ResponseError):
            await client.delete(out.probe_key)
    out.stage = "done"


def _is_oom(err: BaseException | None) -> bool:
    """A write refused for memory: redis-py 5+ raises OutOfMemoryError, older ones ResponseError('OOM …')."""
    from redis import exceptions as rexc

    oom_class = getattr(rexc, "OutOfMemoryError", rexc.ResponseError)
    if oom_class is not rexc.ResponseError and isinstance(err, oom_class):
        return True
    return isinstance(err, rexc.ResponseError) and str(err).startswith("OOM")


def _errno_of(message: str) -> int | None:
    match = re.match(r"Error (-?\d+) ", message)
    return int(match.group(1)) if match else None


def _connect_failure(target: _Target, out: _Outcome, timeout: float) -> list[Finding]:
    """Classify the exception (or timeout) that stopped the probe, by redis-py class and message."""
    from redis import exceptions as rexc

    exc = out.error
    msg = scrub(str(exc)) if exc is not None else ""
    where = target.where
    fallback = FALLBACK_EXPLANATION
    data: dict[str, Any] = {"stage": out.stage, "target": where, "timeout_s": timeout}
    if exc is not None:
        data["exception"] = type(exc).__name__

    def connect(reason: str, summary: str, detail: str, fix: str) -> list[Finding]:
        # Only "Redis is down/unreachable" needs the no-fallback reminder.
        down = reason in ("timeout", "refused", "dns", "unreachable", "socket", "closed", "tls", "connection_error")
        full_fix = f"{fix}\n{fallback}" if down else fix
        return [_f("cache.connect", Status.FAIL, summary, detail, full_fix, reason=reason, **data)]

    def auth(reason: str, summary: str, detail: str, fix: str) -> list[Finding]:
        return [
            _f("cache.connect", Status.OK, f"{where} is reachable (the probe stopped at authentication)",
               data={"target": where}),
            _f("cache.auth", Status.FAIL, summary, detail, fix, reason=reason, **data),
        ]

    if out.timed_out or isinstance(exc, rexc.TimeoutError | TimeoutError):
        if out.stage == "connect":
            tls_hint = (
                " A rediss:// client talking to a plain-TCP port (or the reverse) also hangs like this."
                if target.scheme in ("redis", "rediss") else ""
            )
            return connect(
                "timeout", f"{where} did not answer within {timeout:g} s",
                "Something accepted or swallowed the connection but never answered PING: a firewall that drops "
                "packets, a hung or overloaded server, a proxy with no backend, or the wrong port." + tls_hint,
                f"Run redis-cli -u '{target.shown}' ping; check the port, security groups and that the scheme "
                "(redis:// vs rediss://) matches the server's TLS setting.",
            )
        return [
            _f("cache.connect", Status.OK, f"{where} answered PING", data={"target": where}),
            _f(f"cache.{out.stage}", Status.FAIL, f"Redis stopped answering during the {out.stage} step "
               f"(no reply within {timeout:g} s)",
               "A slow command, a blocked server (long Lua script, big KEYS/FLUSHALL) or a saturated network.",
               "Check SLOWLOG GET 10 and INFO commandstats on the server; raise timeout= to wait longer.",
               reason="timeout", **data),
        ]
    if isinstance(exc, rexc.AuthenticationWrongNumberOfArgsError):
        return auth(
            "username_unsupported", "the server does not know ACL usernames (Redis < 6)",
            f"AUTH with a username failed: {msg}",
            "Drop the username: redis://:PASSWORD@host:6379/0, or upgrade to Redis 6+ for ACL users.",
        )
    if isinstance(exc, rexc.AuthenticationError | rexc.ResponseError) and (
        "without any password configured" in msg or "no password is set" in msg
    ):
        return auth(
            "password_not_configured", "a password was sent but the server has none configured",
            f"Redis answered: {msg}",
            "Drop the password from the URL, or configure one on the server (requirepass / ACL SETUSER).",
        )
    if isinstance(exc, rexc.AuthenticationError):
        lowered = msg.lower()
        if "authentication required" in lowered or "noauth" in lowered or "must be called with the client already authenticated" in lowered:
            return auth(
                "password_required", "the server requires a password and none was sent",
                f"Redis answered: {msg}",
                "Put the password in the URL: CACHE_URL=redis://:PASSWORD@host:6379/0 "
                "(or redis://USER:PASSWORD@… for an ACL user); percent-encode special characters.",
            )
        if "wrongpass" in lowered or "invalid username-password" in lowered or "invalid password" in lowered:
            if target.username:
                fix = ("Check the ACL user and its password (ACL LIST on the server; ACL SETUSER "
                       f"{target.username if target.password else 'USER'} on >NEWPASSWORD to reset).")
            else:
                fix = ("Check the password (requirepass or the 'default' ACL user). If the provider gave you an "
                       "ACL user, name it: redis://USER:PASSWORD@host:6379/0.")
            return auth(
                "wrong_password",
                "wrong password" + (" (or unknown / disabled ACL user)" if target.username else ""),
                f"Redis answered: {msg} (Redis 6+ deliberately does not say which part is wrong; the guide's "
                "'invalid password' is the pre-6 wording).",
                fix,
            )
        return auth("auth_error", f"authentication failed: {msg}", "", "Check the user and password in the URL.")
    if isinstance(exc, rexc.NoPermissionError):
        return auth(
            "no_permission", f"the ACL user may not run the probe's first command: {msg}",
            "The user authenticated but its ACL rules deny PING/HELLO.",
            _acl_fix(target),
        )
    if isinstance(exc, rexc.ResponseError) and "DB index is out of range" in msg:
        return connect(
            "db_out_of_range", f"database {target.db} does not exist on {where}",
            f"SELECT {target.db} answered: {msg}. The server has fewer databases (Redis Cluster only has 0).",
            f"Use a database from 0 to {DEFAULT_DATABASES - 1} (the URL's path), or raise `databases` in redis.conf.",
        )
    if isinstance(exc, rexc.ResponseError) and "unknown command" in msg.lower() and "hello" in msg.lower():
        return connect(
            "protocol", "the server is older than Redis 6 and does not speak RESP3",
            f"HELLO answered: {msg}", "Add ?protocol=2 to the URL, or upgrade the server.",
        )
    if isinstance(exc, rexc.BusyLoadingError):
        return [_f("cache.connect", Status.WARN, f"{where} is loading its dataset into memory",
                   f"Redis answered: {msg}. Commands fail with LOADING until it finishes.",
                   "Wait and retry; a large RDB/AOF takes time after a restart.", reason="loading", **data)]
    if isinstance(exc, rexc.ConnectionError | OSError):
        code = _errno_of(msg) if isinstance(exc, rexc.ConnectionError) else getattr(exc, "errno", None)
        lowered = msg.lower()
        if "max number of clients" in lowered:
            return connect(
                "max_clients", f"{where} refuses new connections: max number of clients reached",
                f"Redis answered: {msg}.",
                "Find who holds the connections (CLIENT LIST), lower pool sizes (?max_connections=) or raise "
                "maxclients.",
            )
        if "ssl" in lowered or "certificate" in lowered or "wrong version number" in lowered:
            return connect(
                "tls", f"TLS handshake with {where} failed",
                f"redis-py: {msg}",
                "Match the scheme to the server (rediss:// only if the port speaks TLS); for a private CA add "
                "?ssl_ca_certs=/path/ca.pem; connect by the name on the certificate.",
            )
        if code in (errno.ECONNREFUSED,) or "connection refused" in lowered:
            return connect(
                "refused", f"connection refused: nothing listens on {where}",
                f"redis-py: {msg}",
                f"Start Redis (redis-server, or docker compose up redis) or fix the host/port; check with "
                f"redis-cli -u '{target.shown}' ping.",
            )
        if code in (-2, -3, -5, -9) or "name or service not known" in lowered or "nodename nor servname" in lowered or "name resolution" in lowered:
            return connect(
                "dns", f"the host name {target.host!r} does not resolve",
                f"redis-py: {msg}",
                "Check the host's spelling; in Docker Compose use the service name and make sure both services "
                "share a network; outside Compose a service name does not resolve.",
            )
        if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return connect(
                "unreachable", f"no route to {where}",
                f"redis-py: {msg}", "Check the network path (VPC, security group, VPN) to the Redis host.",
            )
        if target.scheme == "unix" and code in (errno.ENOENT, errno.EACCES, errno.ECONNREFUSED):
            return connect(
                "socket", f"cannot open the socket {target.path}",
                f"redis-py: {msg}",
                "Check `unixsocket` in redis.conf and the socket's permissions (`unixsocketperm`).",
            )
        if "closed by server" in lowered or "reset by peer" in lowered or code == errno.ECONNRESET:
            return connect(
                "closed", f"{where} closed the connection",
                f"redis-py: {msg}. Typical causes: the port speaks TLS and the URL is redis:// (use rediss://), "
                "protected-mode refusing non-local clients, or a proxy dropping the connection.",
                "Try rediss:// if the server has TLS; check the server log for 'protected mode' and set a password "
                "or `protected-mode no` deliberately.",
            )
        return connect("connection_error", f"cannot connect to {where}: {msg}", "", "Check host, port and scheme.")
    if isinstance(exc, TypeError):
        return connect(
            "bad_option", "redis-py refused the connection options",
            msg, "Fix the URL's query options (see cache.url).",
        )
    return connect("error", f"{type(exc).__name__} while connecting: {msg}", "", "Run the probe alone to see the traceback.")


def _acl_fix(target: _Target, key_prefix: str = "svc:v1:") -> str:
    user = target.username if (target.username and target.password) else "USER"
    return (
        f"Grant the app's user what svc-infra uses, e.g. ACL SETUSER {user} ~{key_prefix}* ~jobs:* "
        "~webhooks:* +@connection +@read +@write +@keyspace +info (and persist it with ACL SAVE or in the "
        "ACL file)."
    )


def _human(n: float | int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value} B"  # pragma: no cover


def _success_findings(target: _Target, out: _Outcome, timeout: float, key_prefix: str) -> list[Finding]:
    from redis import exceptions as rexc

    findings: list[Finding] = []
    median = round(statistics.median(out.pings_ms), 3) if out.pings_ms else None
    findings.append(_f(
        "cache.connect", Status.OK,
        f"{target.where} answers PING: median {median:.2f} ms over {len(out.pings_ms)} pings" if median is not None
        else f"{target.where} answers PING",
        f"First PING including connect{' + TLS' if target.tls else ''} + auth: {out.connect_ms} ms.",
        latency_ms=median, connect_ms=out.connect_ms, samples_ms=[round(p, 3) for p in out.pings_ms],
        target=target.where,
    ))

    # --- authentication --------------------------------------------------------------
    user = out.whoami or (target.username if target.password else "default")
    if target.password and out.anonymous_ok and (not target.username or target.username == "default"):
        findings.append(_f(
            "cache.auth", Status.WARN, "a password is sent but the server has none configured",
            "Redis 6+ lets any password through for a user without one, so this works today, but the "
            "password protects nothing: an anonymous connection gets in too. The day someone sets "
            "requirepass to a different value the app breaks.",
            "Configure the password on the server (requirepass PASSWORD or ACL SETUSER default on >PASSWORD), "
            "or drop it from the URL if the server is meant to be open.",
            reason="password_not_configured", user=user,
        ))
    elif target.password:
        extra = (" The default user is open without a password: anyone who reaches the port gets in."
                 if out.anonymous_ok else "")
        findings.append(_f(
            "cache.auth", Status.OK, f"authenticated as {user!r}", extra.strip(), user=user,
            reason="ok", anonymous_allowed=out.anonymous_ok,
        ))
    else:
        findings.append(_f(
            "cache.auth", Status.OK, "no password required",
            "The server accepts unauthenticated clients; fine on a private network or localhost, risky "
            "anywhere reachable.",
            "For a shared or exposed server set requirepass (or ACL users) and put the password in CACHE_URL.",
            user=user, reason="no_auth",
        ))

    # --- server, clients, memory -----------------------------------------------------
    info = out.info
    if out.stage in ("connect", "ping", "auth", "info") and info is None and out.info_error is None:
        return findings  # the probe stopped before INFO; the caller adds why
    if info is None:
        msg = scrub(str(out.info_error)) if out.info_error else "no INFO"
        is_perm = isinstance(out.info_error, rexc.NoPermissionError)
        findings.append(_f(
            "cache.server", Status.WARN if is_perm else Status.SKIP,
            f"INFO was refused: {msg}" if is_perm else "no server information",
            "Without INFO svc_nb cannot read the version, clients and memory figures.",
            f"Allow INFO for this user (ACL SETUSER {user} +info) or run the check with an admin URL." if is_perm else "",
        ))
    else:
        findings.extend(_server_findings(info, out, target))
        findings.extend(_memory_findings(info, out))

    # --- the real write ------------------------------------------------------------------
    if out.write_ok or out.write_error is not None:
        findings.extend(_write_findings(target, out, key_prefix, info))
    return findings


def _server_findings(info: Mapping[str, Any], out: _Outcome, target: _Target) -> list[Finding]:
    findings: list[Finding] = []
    version = str(info.get("redis_version", "?"))
    mode = str(info.get("redis_mode", "standalone"))
    role = str(info.get("role", "master"))
    uptime = int(info.get("uptime_in_seconds", 0) or 0)
    server = info.get("server_name") or ("valkey" if "valkey_version" in info else "redis")
    status, notes, fix = Status.OK, [], ""
    if mode == "cluster":
        status = Status.WARN
        notes.append("Cluster mode: svc-infra's cache uses a plain (non-cluster) client, so keys on other "
                     "shards answer MOVED.")
        fix = "Point CACHE_URL at a standalone/primary endpoint or a cluster proxy."
    elif mode == "sentinel":
        status = Status.FAIL
        notes.append("This port is a Sentinel, not a data node: it does not store keys.")
        fix = "Use the master's address (SENTINEL get-master-addr-by-name NAME), not the Sentinel's."
    if role in ("slave", "replica"):
        status = Status.FAIL if status is Status.FAIL else Status.WARN
        notes.append("This server is a read-only replica: cache writes answer READONLY.")
        fix = fix or "Point CACHE_URL at the primary."
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if major and major < 6:
        notes.append("Redis < 6 has no ACL users (only requirepass) and no RESP3.")
    notes.append(f"Up {uptime} s" + (" — restarted moments ago: the cache is cold." if uptime < 60 else "."))
    findings.append(_f(
        "cache.server", status, f"{server} {version}, {mode}, role {role}",
        " ".join(notes), fix,
        version=version, mode=mode, role=role, uptime_s=uptime,
    ))
    connected = int(info.get("connected_clients", 0) or 0)
    maxclients = out.maxclients
    if maxclients:
        share = connected / maxclients
        c_status = Status.FAIL if share >= 1 else (Status.WARN if share >= 0.8 else Status.OK)
        findings.append(_f(
            "cache.clients", c_status, f"{connected} of {maxclients} client connections in use ({share:.0%})",
            "At maxclients Redis refuses new connections with 'ERR max number of clients reached'."
            if c_status is not Status.OK else "",
            "Find who holds connections (CLIENT LIST), cap pools with ?max_connections=N, or raise maxclients "
            "(and the OS file-descriptor limit)." if c_status is not Status.OK else "",
            connected_clients=connected, maxclients=maxclients, blocked_clients=int(info.get("blocked_clients", 0) or 0),
        ))
    else:
        findings.append(_f(
            "cache.clients", Status.OK, f"{connected} client connections (maxclients unknown)",
            connected_clients=connected,
        ))
    return findings


def _memory_findings(info: Mapping[str, Any], out: _Outcome) -> list[Finding]:
    findings: list[Finding] = []
    used = int(info.get("used_memory", 0) or 0)
    maxmemory = int(info.get("maxmemory", 0) or 0)
    policy = str(info.get("maxmemory_policy", "noeviction"))
    data: dict[str, Any] = {"used_memory": used, "maxmemory": maxmemory, "maxmemory_policy": policy,
                            "used_memory_peak": int(info.get("used_memory_peak", 0) or 0)}
    oom = _is_oom(out.write_error)
    if maxmemory:
        share = used / maxmemory
        data["used_pct"] = round(share * 100, 1)
        head = f"{_human(used)} used of maxmemory {_human(maxmemory)} ({share:.0%}), policy {policy}"
    else:
        share = 0.0
        head = f"{_human(used)} used, no maxmemory limit, policy {policy}"
    if oom:
        findings.append(_f(
            "cache.memory", Status.FAIL, "writes are refused: " + head,
            f"A real write answered: {scrub(str(out.write_error))} With policy {policy} Redis refuses writes "
            "instead of evicting; svc-infra's cache writes and job enqueues fail.",
            "Raise maxmemory (CONFIG SET maxmemory 512mb and persist it), or let Redis evict cache entries: "
            "CONFIG SET maxmemory-policy allkeys-lru (use volatile-lru if the same Redis also holds svc-infra's "
            "job queue, so keys without TTL are kept). Then find the big keys: redis-cli --bigkeys.",
            reason="oom", **data,
        ))
    elif maxmemory and policy == "noeviction" and share >= NEAR_LIMIT:
        findings.append(_f(
            "cache.memory", Status.WARN, "near the limit with noeviction: " + head,
            "When used memory passes maxmemory, Redis with noeviction refuses every write with "
            "'OOM command not allowed when used memory > maxmemory'.",
            "Raise maxmemory, or switch to an evicting policy for a pure cache (allkeys-lru) / mixed use "
            "(volatile-lru), and look for big or TTL-less keys (redis-cli --bigkeys).",
            reason="near_limit", **data,
        ))
    elif maxmemory and policy.startswith("volatile") and share >= NEAR_LIMIT:
        findings.append(_f(
            "cache.memory", Status.WARN, "near the limit: " + head,
            f"{policy} only evicts keys with a TTL; if most memory is in keys without one, writes fail with OOM.",
            "Give cache keys TTLs (svc-infra's decorators do), or raise maxmemory.",
            reason="near_limit", **data,
        ))
    else:
        detail = ""
        if not maxmemory:
            detail = ("Without maxmemory Redis grows until the OS or the container's memory limit kills it. "
                      "Set maxmemory below the container limit for a cache.")
        elif policy != "noeviction":
            detail = f"{policy}: at the limit Redis evicts keys instead of refusing writes."
        findings.append(_f("cache.memory", Status.OK, head, detail, reason="ok", **data))

    ratio = info.get("mem_fragmentation_ratio")
    rss = int(info.get("used_memory_rss", 0) or 0)
    if ratio is not None:
        ratio = float(ratio)
        fdata: dict[str, Any] = {"mem_fragmentation_ratio": ratio, "used_memory_rss": rss, "used_memory": used}
        if used < FRAGMENTATION_MIN_BYTES:
            findings.append(_f(
                "cache.fragmentation", Status.OK,
                f"fragmentation ratio {ratio:.2f} (not meaningful below {_human(FRAGMENTATION_MIN_BYTES)} of data)",
                "With a nearly empty dataset the process's fixed overhead dominates RSS.", **fdata,
            ))
        elif ratio > FRAGMENTATION_HIGH:
            findings.append(_f(
                "cache.fragmentation", Status.WARN,
                f"high memory fragmentation: RSS {_human(rss)} for {_human(used)} of data (ratio {ratio:.2f})",
                "The allocator holds memory freed by deleted/expired keys; the OS sees more memory used than "
                "Redis counts toward maxmemory.",
                "Enable active defragmentation (CONFIG SET activedefrag yes, jemalloc builds) or restart the "
                "server during a quiet period.",
                **fdata,
            ))
        elif ratio < 1.0:
            findings.append(_f(
                "cache.fragmentation", Status.WARN,
                f"RSS {_human(rss)} is below used memory {_human(used)} (ratio {ratio:.2f}): Redis is swapping",
                "Part of the dataset is in swap; latency suffers badly.",
                "Give the host/container more memory or set maxmemory lower; disable swap for Redis hosts.",
                **fdata,
            ))
        else:
            findings.append(_f("cache.fragmentation", Status.OK, f"fragmentation ratio {ratio:.2f}", **fdata))
    return findings


def _write_findings(target: _Target, out: _Outcome, key_prefix: str, info: Mapping[str, Any] | None) -> list[Finding]:
    from redis import exceptions as rexc

    err = out.write_error
    key = out.probe_key
    if out.write_ok:
        return [_f("cache.write", Status.OK, f"a test write under {key_prefix}* succeeded (key deleted)",
                   f"SET {key} … PX 30000, then DEL.", key=key, reason="ok")]
    msg = scrub(str(err))
    if _is_oom(err):
        return [_f("cache.write", Status.FAIL, "Redis refused a write: out of memory (OOM)",
                   f"SET {key} answered: {msg}", "See cache.memory for the fix.", key=key, reason="oom")]
    if isinstance(err, rexc.NoPermissionError):
        return [_f("cache.auth", Status.FAIL, "the ACL user may not write svc-infra's keys",
                   f"SET {key} answered: {msg}", _acl_fix(target, key_prefix), reason="no_permission", key=key),
                _f("cache.write", Status.FAIL, "write refused by ACL (NOPERM)", f"SET {key} answered: {msg}",
                   "See cache.auth.", key=key, reason="no_permission")]
    if isinstance(err, rexc.ReadOnlyError) or msg.startswith("READONLY") or "read only replica" in msg:
        return [_f("cache.write", Status.FAIL, "the server is a read-only replica",
                   f"SET {key} answered: {msg}", "Point CACHE_URL at the primary.", key=key, reason="readonly")]
    if "MISCONF" in msg:
        return [_f("cache.write", Status.FAIL, "Redis refuses writes because its last RDB save failed",
                   f"SET {key} answered: {msg}",
                   "Fix the disk/permissions of Redis' dir (CONFIG GET dir) or the save settings; check the server log.",
                   key=key, reason="misconf")]
    return [_f("cache.write", Status.FAIL, f"the test write failed: {msg}", "", "Check the server log.",
               key=key, reason="error")]


def _reorder(findings: list[Finding]) -> list[Finding]:
    """Keep one finding per check id (the worst), in first-seen order."""
    chosen: dict[str, Finding] = {}
    for f in findings:
        prior = chosen.get(f.check)
        if prior is None or f.status.rank > prior.status.rank:
            chosen[f.check] = f
    seen: list[str] = []
    for f in findings:
        if f.check not in seen:
            seen.append(f.check)
    return [chosen[c] for c in seen]


def _default_prefix(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return f"{env.get('CACHE_PREFIX') or 'svc'}:{env.get('CACHE_VERSION') or 'v1'}:"


async def _check(
    url: str, *, source: str | None, timeout: float, key_prefix: str
) -> Report:
    findings, target = _parse(url)
    if source:
        first = findings[0]
        findings[0] = Finding(
            check=first.check, status=first.status, summary=first.summary,
            detail=f"From {source}. {first.detail}".strip(), fix=first.fix, data={**first.data, "source": source},
        )
    if target is None:
        findings.append(_f("cache.connect", Status.SKIP, "not attempted: fix the URL first",
                           "redis-py would fail before connecting (see cache.url)."))
        return Report(findings, title="svc_nb cache check")
    if target.memory_backend:
        findings.append(_f("cache.connect", Status.SKIP, "nothing to connect to: mem:// lives inside the app process",
                           FALLBACK_EXPLANATION))
        return Report(findings, title="svc_nb cache check")
    out = _Outcome()
    try:
        async with _client(target, timeout) as client:
            try:
                async with asyncio.timeout(timeout):
                    await _run(client, target, out, timeout, key_prefix)
            except TimeoutError:
                out.timed_out = True
    except Exception as exc:  # every redis-py/OS error is a diagnosis, classified below
        out.error = exc
    failed = out.timed_out or out.error is not None
    if failed and out.stage == "connect":
        findings.extend(_connect_failure(target, out, timeout))
    else:
        # What completed still counts; the stage that broke adds its own failure.
        findings.extend(_success_findings(target, out, timeout, key_prefix))
        if failed:
            findings.extend(_connect_failure(target, out, timeout))
    return Report(_reorder(findings), title="svc_nb cache check")


async def check(
    url: str | None = None, *, timeout: float = 3.0, key_prefix: str | None = None
) -> Report:
    """Connect to the cache the way svc-infra would and diagnose it.

    ``url=None`` resolves ``CACHE_URL``, then ``REDIS_URL``, else ``mem://``.
    Returns within about ``timeout`` seconds whatever the server does.
    ``key_prefix`` (default ``CACHE_PREFIX:CACHE_VERSION:``, i.e. ``svc:v1:``)
    names the throwaway key of the test write.
    """
    if url is not None and not isinstance(url, str):
        raise TypeError(f"check() takes the URL as a str or None, got {type(url).__name__}")
    timeout = _check_timeout(timeout)
    source: str | None = None
    if url is None:
        resolved = resolve_cache_url()
        url, source = resolved.value, resolved.source
    return await _check(url, source=source, timeout=timeout, key_prefix=key_prefix or _default_prefix())


_MEMORY_ROWS = (
    ("used_memory", "used", "memory Redis allocated for data and overhead (counts toward maxmemory)"),
    ("used_memory_dataset", "dataset", "the keys and values themselves"),
    ("used_memory_overhead", "overhead", "server bookkeeping: clients, buffers, dictionaries"),
    ("used_memory_peak", "peak", "the highest used_memory since start or the last MEMORY RESET"),
    ("used_memory_rss", "rss", "what the OS sees the process using (includes fragmentation)"),
    ("maxmemory", "maxmemory", "the configured limit (0 = none)"),
)


async def memory(url: str | None = None, *, timeout: float = 3.0) -> pd.DataFrame:
    """The server's memory figures as a DataFrame (columns metric, label, bytes, human, meaning).

    ``frame.attrs`` carries ``maxmemory_policy``, ``mem_fragmentation_ratio``,
    ``url`` (masked) and, when Redis could not be read, ``error`` (the finding's
    summary) with an empty frame.
    """
    import pandas as pd

    if url is not None and not isinstance(url, str):
        raise TypeError(f"memory() takes the URL as a str or None, got {type(url).__name__}")
    timeout = _check_timeout(timeout)
    if url is None:
        url = resolve_cache_url().value
    columns = ["metric", "label", "bytes", "human", "meaning"]
    findings, target = _parse(url)
    attrs: dict[str, Any] = {"url": findings[0].data.get("url", mask_url(url))}
    error: str | None = None
    info: dict[str, Any] | None = None
    if target is None:
        error = findings[0].summary
    elif target.memory_backend:
        error = "mem:// keeps the cache inside the app process; there is no Redis memory to read"
    else:
        out = _Outcome()
        try:
            async with _client(target, timeout) as client, asyncio.timeout(timeout):
                info = dict(await client.info("memory"))
        except TimeoutError:
            out.timed_out = True
        except Exception as exc:  # classified like check() does
            out.error = exc
        if info is None:
            error = _connect_failure(target, out, timeout)[-1].summary
    if info is None:
        frame = pd.DataFrame([], columns=columns)
        attrs["error"] = error
        frame.attrs.update(attrs)
        return frame
    rows = []
    for metric, label, meaning in _MEMORY_ROWS:
        value = int(info.get(metric, 0) or 0)
        rows.append({"metric": metric, "label": label, "bytes": value, "human": _human(value), "meaning": meaning})
    frame = pd.DataFrame(rows, columns=columns)
    attrs.update(
        maxmemory_policy=str(info.get("maxmemory_policy", "")),
        mem_fragmentation_ratio=float(info.get("mem_fragmentation_ratio", 0.0) or 0.0),
        maxmemory=int(info.get("maxmemory", 0) or 0),
        used_memory=int(info.get("used_memory", 0) or 0),
    )
    frame.attrs.update(attrs)
    return frame


# --------------------------------------------------------------------------------------
# diagnose() registration
# --------------------------------------------------------------------------------------


def _diagnose_builder(environ: Mapping[str, str], timeout: float) -> Any:
    resolved = resolve_cache_url(environ)
    return _check(resolved.value, source=resolved.source, timeout=timeout,
                  key_prefix=_default_prefix(environ))


register_check("cache", _diagnose_builder, order=30, waits=True)
