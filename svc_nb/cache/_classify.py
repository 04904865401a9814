"""Why a probe stopped: redis-py's exception (or the timeout) → a cause → findings.

Two tables: ``_RULES`` names the cause from the exception's class, message
and errno (first match wins, so the specific rules come first), and
``_EXPLAIN`` says what each cause means and how to fix it.
"""

from __future__ import annotations

import builtins
import errno
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import scrub
from svc_nb._report import Finding, Status
from svc_nb.cache._causes import CacheCause
from svc_nb.cache._common import DEFAULT_DATABASES, FALLBACK_EXPLANATION, Target, clip, ok
from svc_nb.cache._probe_state import Outcome

__all__ = ["acl_fix", "classify", "failure_findings", "resp3_findings", "write_cause"]

C = CacheCause


@dataclass(frozen=True)
class Rule:
    """``cause`` when the exception is one of ``types`` and its message/errno fit."""

    cause: CacheCause
    types: tuple[str, ...]  # "redis.X" for redis.exceptions.X, else a builtin exception
    any_words: tuple[str, ...] = ()  # one of these in the lower-cased message...
    errnos: frozenset[int] = frozenset()  # ...or one of these error numbers
    all_words: tuple[str, ...] = ()  # and every one of these
    schemes: frozenset[str] = frozenset()  # only for these URL schemes


_CONNECTION = ("redis.ConnectionError", "OSError")
# getaddrinfo's EAI_NONAME, EAI_AGAIN, EAI_NODATA (glibc), EAI_FAIL: the name does not resolve.
_EAI = frozenset({-2, -3, -5, -9})

_RULES: tuple[Rule, ...] = (
    Rule(C.TIMEOUT, ("redis.TimeoutError", "TimeoutError")),
    Rule(C.USERNAME_UNSUPPORTED, ("redis.AuthenticationWrongNumberOfArgsError",)),
    Rule(
        C.PASSWORD_NOT_CONFIGURED,
        ("redis.AuthenticationError", "redis.ResponseError"),
        any_words=("without any password configured", "no password is set"),
    ),
    Rule(
        C.NO_PASSWORD,
        ("redis.AuthenticationError",),
        any_words=(
            "authentication required",
            "noauth",
            "must be called with the client already authenticated",
        ),
    ),
    Rule(
        C.WRONG_PASSWORD,
        ("redis.AuthenticationError",),
        any_words=("wrongpass", "invalid username-password", "invalid password"),
    ),
    Rule(C.AUTH_FAILED, ("redis.AuthenticationError",)),
    Rule(C.NO_PERMISSION, ("redis.NoPermissionError",)),
    Rule(C.UNKNOWN_DATABASE, ("redis.ResponseError",), any_words=("db index is out of range",)),
    Rule(C.RESP3_UNSUPPORTED, ("redis.ResponseError",), all_words=("unknown command", "hello")),
    Rule(C.NOT_READY, ("redis.BusyLoadingError",)),
    Rule(C.NOT_REDIS, ("redis.InvalidResponse",)),
    Rule(C.TOO_MANY_CONNECTIONS, _CONNECTION, any_words=("max number of clients",)),
    Rule(C.TLS_FAILED, _CONNECTION, any_words=("ssl", "certificate", "wrong version number")),
    Rule(
        C.REFUSED,
        _CONNECTION,
        any_words=("connection refused",),
        errnos=frozenset({errno.ECONNREFUSED}),
    ),
    Rule(
        C.DNS,
        _CONNECTION,
        errnos=_EAI,
        any_words=("name or service not known", "nodename nor servname", "name resolution"),
    ),
    Rule(C.UNREACHABLE, _CONNECTION, errnos=frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH})),
    Rule(
        C.SOCKET,
        _CONNECTION,
        errnos=frozenset({errno.ENOENT, errno.EACCES}),
        schemes=frozenset({"unix"}),
    ),
    Rule(
        C.CONNECTION_LOST,
        _CONNECTION,
        any_words=("closed by server", "reset by peer"),
        errnos=frozenset({errno.ECONNRESET}),
    ),
    Rule(C.CONNECT_FAILED, _CONNECTION),
    Rule(C.BAD_OPTION, ("TypeError",)),
)

# Causes that mean "Redis is down or unreachable": the fix reminds that svc-infra has no fallback.
_DOWN = frozenset(
    {
        C.TIMEOUT,
        C.REFUSED,
        C.DNS,
        C.UNREACHABLE,
        C.SOCKET,
        C.CONNECTION_LOST,
        C.TLS_FAILED,
        C.CONNECT_FAILED,
    }
)
# Causes found once the server answered: the connection itself is fine.
_AUTH = frozenset(
    {
        C.USERNAME_UNSUPPORTED,
        C.PASSWORD_NOT_CONFIGURED,
        C.NO_PASSWORD,
        C.WRONG_PASSWORD,
        C.AUTH_FAILED,
        C.NO_PERMISSION,
    }
)


def _exception_type(name: str) -> type | None:
    from redis import exceptions as rexc

    module, _, attr = name.rpartition(".")
    found = getattr(rexc if module == "redis" else builtins, attr, None)
    return found if isinstance(found, type) else None


def _errno_of(exc: BaseException, message: str) -> int | None:
    """OSError's errno, or the number redis-py writes into "Error 111 connecting to …"."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int):
        return code
    head, _, tail = message.partition("Error ")
    number = tail.partition(" ")[0]
    if head == "" and number.lstrip("-").isdigit() and len(number) < 8:
        return int(number)
    return None


def _matches(rule: Rule, exc: BaseException, lowered: str, code: int | None, scheme: str) -> bool:
    types = tuple(t for t in map(_exception_type, rule.types) if t is not None)
    if not isinstance(exc, types) or (rule.schemes and scheme not in rule.schemes):
        return False
    if (rule.any_words or rule.errnos) and not (
        any(word in lowered for word in rule.any_words) or code in rule.errnos
    ):
        return False
    return all(word in lowered for word in rule.all_words)


def first_cause(rules: tuple[Rule, ...], exc: BaseException, scheme: str = "") -> CacheCause | None:
    """The cause of the first rule that fits ``exc``, or None."""
    message = str(exc)
    lowered, code = message.lower(), _errno_of(exc, message)
    for rule in rules:
        if _matches(rule, exc, lowered, code, scheme):
            return rule.cause
    return None


# Why Redis refused the probe's test write.
_WRITE_RULES: tuple[Rule, ...] = (
    Rule(C.OOM, ("redis.OutOfMemoryError",)),
    Rule(C.OOM, ("redis.ResponseError",), any_words=("oom command not allowed",)),
    Rule(C.NO_PERMISSION, ("redis.NoPermissionError",)),
    Rule(C.READ_ONLY_REPLICA, ("redis.ReadOnlyError",)),
    Rule(
        C.READ_ONLY_REPLICA, ("redis.ResponseError",), any_words=("readonly", "read only replica")
    ),
    Rule(C.RDB_SAVE_FAILED, ("redis.ResponseError",), any_words=("misconf",)),
)


def write_cause(err: BaseException | None) -> CacheCause | None:
    """Why Redis refused the test write (None when it did not)."""
    if err is None:
        return None
    return first_cause(_WRITE_RULES, err) or C.WRITE_FAILED


def classify(exc: BaseException | None, *, timed_out: bool, scheme: str) -> CacheCause:
    """The cause of a failed probe: the first rule of ``_RULES`` that fits."""
    if timed_out or exc is None:
        return C.TIMEOUT
    return first_cause(_RULES, exc, scheme) or C.UNEXPECTED_ERROR


def acl_fix(target: Target, key_prefix: str = "svc:v1:") -> str:
    user = clip(target.shown_user or "USER", 40)
    return (
        f"Grant the app's user what svc-infra uses, e.g. ACL SETUSER {user} ~{clip(key_prefix, 40)}* "
        "~jobs:* ~webhooks:* +@connection +@read +@write +@keyspace +info (and persist it with "
        "ACL SAVE or in the ACL file)."
    )


_CONNECT_DOWN_DETAIL = "redis-py: {message}"
_EXPLAIN: Mapping[CacheCause, Explanation] = {
    C.TIMEOUT: Explanation(
        Status.FAIL,
        "{where} did not answer within {timeout:g} s",
        "Something accepted or swallowed the connection but never answered PING: a firewall that "
        "drops packets, a hung or overloaded server, a proxy with no backend, or the wrong port."
        "{tls_hint}",
        "Run redis-cli -u '{shown}' ping; check the port, security groups and that the scheme "
        "(redis:// vs rediss://) matches the server's TLS setting.",
    ),
    C.REFUSED: Explanation(
        Status.FAIL,
        "connection refused: nothing listens on {where}",
        _CONNECT_DOWN_DETAIL,
        "Start Redis (redis-server, or docker compose up redis) or fix the host/port; check with "
        "redis-cli -u '{shown}' ping.",
    ),
    C.DNS: Explanation(
        Status.FAIL,
        "the host name {host!r} does not resolve",
        _CONNECT_DOWN_DETAIL,
        "Check the host's spelling; in Docker Compose use the service name and make sure both "
        "services share a network; outside Compose a service name does not resolve.",
    ),
    C.UNREACHABLE: Explanation(
        Status.FAIL,
        "no route to {where}",
        _CONNECT_DOWN_DETAIL,
        "Check the network path (VPC, security group, VPN) to the Redis host.",
    ),
    C.SOCKET: Explanation(
        Status.FAIL,
        "cannot open the socket {path}",
        _CONNECT_DOWN_DETAIL,
        "Check `unixsocket` in redis.conf and the socket's permissions (`unixsocketperm`).",
    ),
    C.CONNECTION_LOST: Explanation(
        Status.FAIL,
        "{where} closed the connection",
        "redis-py: {message}. Typical causes: the port speaks TLS and the URL is redis:// (use "
        "rediss://), protected-mode refusing non-local clients, a proxy dropping the connection, "
        "or the server going down mid-check.",
        "Try rediss:// if the server has TLS; check the server log for 'protected mode' and set a "
        "password or `protected-mode no` deliberately.",
    ),
    C.TLS_FAILED: Explanation(
        Status.FAIL,
        "TLS handshake with {where} failed",
        _CONNECT_DOWN_DETAIL,
        "Match the scheme to the server (rediss:// only if the port speaks TLS); for a private CA "
        "add ?ssl_ca_certs=/path/ca.pem; connect by the name on the certificate.",
    ),
    C.CONNECT_FAILED: Explanation(
        Status.FAIL, "cannot connect to {where}: {message}", "", "Check host, port and scheme."
    ),
    C.TOO_MANY_CONNECTIONS: Explanation(
        Status.FAIL,
        "{where} refuses new connections: max number of clients reached",
        "Redis answered: {message}.",
        "Find who holds the connections (CLIENT LIST), lower pool sizes (?max_connections=) or "
        "raise maxclients.",
    ),
    C.UNKNOWN_DATABASE: Explanation(
        Status.FAIL,
        "database {db} does not exist on {where}",
        "SELECT {db} answered: {message}. The server has fewer databases (Redis Cluster only has 0).",
        "Use a database from 0 to {last} (the URL's path), or raise `databases` in redis.conf.",
    ),
    C.RESP3_UNSUPPORTED: Explanation(
        Status.FAIL,
        "the server is older than Redis 6 and does not speak RESP3",
        "HELLO answered: {message}",
        "Add ?protocol=2 to the URL, or upgrade the server.",
    ),
    C.NOT_READY: Explanation(
        Status.WARN,
        "{where} is loading its dataset into memory",
        "Redis answered: {message}. Commands fail with LOADING until it finishes.",
        "Wait and retry; a large RDB/AOF takes time after a restart.",
    ),
    C.NOT_REDIS: Explanation(
        Status.FAIL,
        "{where} does not speak the Redis protocol",
        "redis-py: {message}",
        "Point CACHE_URL at the Redis port (6379 by default, often 6380 for TLS), not at an HTTP "
        "server, a database or a proxy's admin port.",
    ),
    C.BAD_OPTION: Explanation(
        Status.FAIL,
        "redis-py refused the connection options",
        "{message}",
        "Fix the URL's query options (see cache.url).",
    ),
    C.UNEXPECTED_ERROR: Explanation(
        Status.FAIL,
        "{exception_type} while connecting: {message}",
        "",
        "Run the probe alone to see the traceback.",
    ),
    # -- the server answered, authentication did not pass --------------------------------
    C.USERNAME_UNSUPPORTED: Explanation(
        Status.FAIL,
        "the server does not know ACL usernames (Redis < 6)",
        "AUTH with a username failed: {message}",
        "Drop the username: redis://:PASSWORD@host:6379/0, or upgrade to Redis 6+ for ACL users.",
    ),
    C.PASSWORD_NOT_CONFIGURED: Explanation(
        Status.FAIL,
        "a password was sent but the server has none configured",
        "Redis answered: {message}",
        "Drop the password from the URL, or configure one on the server (requirepass / ACL SETUSER).",
    ),
    C.NO_PASSWORD: Explanation(
        Status.FAIL,
        "the server requires a password and none was sent",
        "Redis answered: {message}",
        "Put the password in the URL: CACHE_URL=redis://:PASSWORD@host:6379/0 (or "
        "redis://USER:PASSWORD@… for an ACL user); percent-encode special characters.",
    ),
    C.WRONG_PASSWORD: Explanation(
        Status.FAIL,
        "wrong password{acl_suffix}",
        "Redis answered: {message} (Redis 6+ deliberately does not say which part is wrong; the "
        "guide's 'invalid password' is the pre-6 wording).",
        "{wrong_password_fix}",
    ),
    C.AUTH_FAILED: Explanation(
        Status.FAIL,
        "authentication failed: {message}",
        "",
        "Check the user and password in the URL.",
    ),
    C.NO_PERMISSION: Explanation(
        Status.FAIL,
        "the ACL user may not run the probe's first command: {message}",
        "The user authenticated but its ACL rules deny PING/HELLO.",
        "{acl_fix}",
    ),
}

_STEP_TIMEOUT = Explanation(
    Status.FAIL,
    "Redis stopped answering during the {stage} step (no reply within {timeout:g} s)",
    "A slow command, a blocked server (long Lua script, big KEYS/FLUSHALL) or a saturated network.",
    "Check SLOWLOG GET 10 and INFO commandstats on the server; raise timeout= to wait longer.",
)


def _wrong_password_fix(target: Target) -> str:
    if target.username:
        return (
            "Check the ACL user and its password (ACL LIST on the server; ACL SETUSER "
            f"{clip(target.shown_user or 'USER', 40)} on >NEWPASSWORD to reset)."
        )
    return (
        "Check the password (requirepass or the 'default' ACL user). If the provider gave you an "
        "ACL user, name it: redis://USER:PASSWORD@host:6379/0."
    )


def _fields(target: Target, out: Outcome, timeout: float) -> dict[str, Any]:
    exc = out.error
    tls_hint = (
        " A rediss:// client talking to a plain-TCP port (or the reverse) also hangs like this."
        if target.scheme in ("redis", "rediss")
        else ""
    )
    return {
        "where": target.where,
        "shown": target.shown,
        "timeout": timeout,
        "tls_hint": tls_hint,
        "message": scrub(clip(str(exc), 300)) if exc is not None else "",
        "exception_type": type(exc).__name__ if exc is not None else "timeout",
        "host": clip(target.host or "localhost", 80),
        "path": clip(target.path or "", 120),
        "db": target.db,
        "last": DEFAULT_DATABASES - 1,
        "acl_suffix": " (or unknown / disabled ACL user)" if target.username else "",
        "wrong_password_fix": _wrong_password_fix(target),
        "acl_fix": acl_fix(target),
    }


def failure_findings(target: Target, out: Outcome, timeout: float) -> list[Finding]:
    """The findings for the exception (or timeout) that stopped the probe."""
    cause = classify(out.error, timed_out=out.timed_out, scheme=target.scheme)
    data: dict[str, Any] = {"stage": out.stage, "target": target.where, "timeout_s": timeout}
    if out.error is not None:
        data["exception_type"] = type(out.error).__name__
    fields = _fields(target, out, timeout)
    if cause is C.TIMEOUT and out.stage != "connect":
        return [
            ok("cache.connect", f"{target.where} answered PING", target=target.where),
            explain(
                f"cache.{out.stage}",
                cause,
                {cause: _STEP_TIMEOUT},
                data=data,
                stage=out.stage,
                timeout=timeout,
            ),
        ]
    if cause in _AUTH:
        return [
            ok(
                "cache.connect",
                f"{target.where} is reachable (the probe stopped at authentication)",
                target=target.where,
            ),
            explain("cache.auth", cause, _EXPLAIN, data=data, **fields),
        ]
    finding = explain("cache.connect", cause, _EXPLAIN, data=data, **fields)
    if cause in _DOWN:
        # Only "Redis is down or unreachable" needs the no-fallback reminder.
        finding = replace(finding, fix=f"{finding.fix}\n{FALLBACK_EXPLANATION}")
    return [finding]


# The same cause as a failed HELLO, seen from INFO when the probe itself spoke RESP2.
_RESP3_FROM_VERSION = {
    C.RESP3_UNSUPPORTED: Explanation(
        Status.FAIL,
        "the server is older than Redis 6 and does not speak RESP3",
        "The server reports redis_version {version}. redis-py speaks RESP3 by default: its "
        "HELLO 3 gets 'ERR unknown command' and svc-infra's cache cannot connect.",
        "Add ?protocol=2 to the URL, or upgrade the server.",
    )
}


def resp3_findings(target: Target, out: Outcome) -> list[Finding]:
    """A server older than Redis 6, reached over RESP2, that svc-infra's client cannot use.

    Without a password the probe skips the bare ``HELLO 3`` redis-py sends by
    default (a round trip it reads nothing from), so it learns from INFO what
    that HELLO would have shown: before Redis 6 it fails with "unknown command".
    """
    from redis import utils

    if "protocol" in target.kwargs or target.kwargs.get("password") or not out.info:
        return []
    if getattr(utils, "DEFAULT_RESP_VERSION", 2) != 3:
        return []  # an older redis-py speaks RESP2 by default, like the probe
    version = str(out.info.get("redis_version", ""))
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) >= 6:
        return []
    return [
        explain(
            "cache.connect",
            C.RESP3_UNSUPPORTED,
            _RESP3_FROM_VERSION,
            data={"redis_version": version},
            version=clip(version, 40),
        )
    ]
