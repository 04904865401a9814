"""What asyncpg.connect() raised, named as a cause, and what a user reads for each.

:func:`cause_of` walks an ordered table of rules (exception class, words in the
message, a condition on the URL); :data:`AUTH_EXPLAIN` maps each cause to its
status, summary, detail and fix. :func:`classify` joins the two.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import scrub
from svc_nb._report import Finding, Status
from svc_nb.db._causes import DbCause
from svc_nb.db._model import DEFAULT_PORT, Host, Parsed, clip

__all__ = ["AUTH_EXPLAIN", "cause_of", "classify"]

C = DbCause
FAIL = Status.FAIL
_ACTIVITY_FIX = (
    "Find who holds them: svc_nb.db.activity(url) (idle in transaction sessions are the usual "
    "leak); lower pool_size/max_overflow × worker processes (svc_nb.db.pool_headroom), raise "
    "max_connections, or put pgbouncer in front."
)

AUTH_EXPLAIN: Mapping[DbCause, Explanation] = {
    C.TIMEOUT: Explanation(
        FAIL,
        "the server accepted TCP but did not complete the start-up within {timeout:g} s",
        "Something listens on the port but does not speak PostgreSQL (a hung server, a proxy or "
        "load balancer without a backend, or another service on this port).",
        "Check what listens there (ss -ltnp | grep :{port}); check the server log and any proxy "
        "(pgbouncer, cloud SQL proxy) in between.",
    ),
    C.NO_PASSWORD: Explanation(
        FAIL,
        "the server wants a password for {user!r} and the URL has none",
        "{message}",
        "Add it to the URL, percent-encoded: postgresql+asyncpg://user:<password>@host/db",
    ),
    C.WRONG_PASSWORD: Explanation(
        FAIL,
        "password authentication failed for user {user!r}",
        "{message}. PostgreSQL answers the same for a wrong password and for a role that does "
        "not exist, so both are possible.",
        'Check the password (percent-encoded in the URL) and that the role exists: psql -c "\\du '
        '{user}"; reset it with ALTER ROLE "{user}" PASSWORD \'…\';',
    ),
    C.SSL_REQUIRED: Explanation(
        FAIL,
        "the server requires SSL but the client disabled it",
        "{message}. pg_hba.conf has only 'hostssl' lines for this client, and the URL says "
        "ssl(mode)=disable.",
        "Use ssl=require (asyncpg/SQLAlchemy) or sslmode=require (libpq) in the URL.",
    ),
    C.NO_HBA_ENTRY: Explanation(
        FAIL,
        "no pg_hba.conf entry lets {user!r} into {db!r} from this host",
        "{message}{hostnossl}.",
        "Add a line to pg_hba.conf: host {db} {user} <client-ip>/32 scram-sha-256, then reload: "
        "SELECT pg_reload_conf();",
    ),
    C.UNKNOWN_ROLE: Explanation(
        FAIL,
        "role {user!r} does not exist",
        "{message}",
        "Create it (CREATE ROLE \"{user}\" LOGIN PASSWORD '…';) or fix the user in SQL_URL.",
    ),
    C.HBA_REJECT: Explanation(
        FAIL,
        "pg_hba.conf explicitly rejects this connection",
        "{message}",
        "Change the matching 'reject' line in pg_hba.conf, then SELECT pg_reload_conf();",
    ),
    C.AUTH_REFUSED: Explanation(
        FAIL,
        "the server refused the login",
        "{message}",
        "Check the role's LOGIN attribute and pg_hba.conf.",
    ),
    C.UNKNOWN_DATABASE: Explanation(
        FAIL,
        "database {db!r} does not exist",
        "{message}",
        "Create it (createdb -h {host} -p {port} -U {user} {db}) or fix the database name after "
        "the last '/' in SQL_URL.",
    ),
    C.TOO_MANY_CONNECTIONS: Explanation(
        FAIL, "too many connections: the server has no free slot", "{message}", _ACTIVITY_FIX
    ),
    C.NOT_READY: Explanation(
        FAIL,
        "the server is {phase}",
        "{message}",
        "Wait and retry; if it lasts, read the server log (journalctl -u postgresql / docker "
        "logs db).",
    ),
    C.CERT_VERIFY: Explanation(
        FAIL,
        "the server's TLS certificate failed verification: {why}",
        "{message}. With ssl=verify-ca/verify-full the client checks the certificate chain (and "
        "for verify-full the host name).",
        "Point sslrootcert= at the CA that signed the server certificate "
        "(…?ssl=verify-full&sslrootcert=/path/ca.pem), or connect_args={{'ssl': "
        "ssl.create_default_context(cafile=...)}}; ssl=require encrypts without verifying.",
    ),
    C.TLS_FAILED: Explanation(
        FAIL,
        "the TLS handshake failed",
        "{message}",
        "Check ssl_min_protocol_version on both sides and the server's certificate/key files.",
    ),
    C.NO_ROOT_CERT: Explanation(
        FAIL,
        "ssl={sslmode} needs the CA certificate, and there is none",
        "{message}. verify-ca/verify-full check the server certificate against sslrootcert= "
        "(default ~/.postgresql/root.crt).",
        "Add sslrootcert=/path/to/ca.pem to the URL (the CA your provider publishes, e.g. the "
        "RDS global bundle), or use ssl=require to encrypt without verifying.",
    ),
    C.CLIENT_CONFIG: Explanation(
        FAIL,
        "the client's connection options are invalid",
        "{message}",
        "Fix the option named above (a missing sslrootcert file is the usual one).",
    ),
    C.SERVER_NO_SSL: Explanation(
        FAIL,
        "SSL requested but the server has none",
        "{message}. The URL asks for ssl={sslmode} and the server answered 'no SSL' to the TLS "
        "request.",
        "For a local server without TLS use ssl=disable (or leave ssl out: 'prefer'); or enable "
        "TLS on the server (ssl = on, ssl_cert_file/ssl_key_file). svc-infra's build_engine "
        "forces ssl=require, so its migrations need a TLS-enabled server.",
    ),
    C.REFUSED: Explanation(
        FAIL, "connection refused", "{message}", "Start PostgreSQL or fix the host/port."
    ),
    C.CONNECTION_LOST: Explanation(
        FAIL,
        "the connection broke during start-up{sqlstate_note}: {message}",
        "{message}",
        "The server restarted or a proxy closed the connection: retry, and check the server log "
        "and any pgbouncer/proxy in between.",
    ),
    C.SERVER_ERROR: Explanation(
        FAIL,
        "the server refused the connection ({sqlstate}): {message}",
        "{message}",
        "Look the SQLSTATE up in the PostgreSQL docs (Appendix A) and check the server log.",
    ),
    C.UNEXPECTED_ERROR: Explanation(
        FAIL,
        "connecting failed: {exception_type}: {message}",
        "{message}",
        "Run svc_nb.support.bug_report() and include this finding.",
    ),
}

Condition = Callable[[BaseException, str, Parsed], bool]


@dataclass(frozen=True)
class _Rule:
    cause: DbCause
    types: tuple[type[BaseException], ...]
    words: tuple[str, ...] = ()  # every one must be in the message
    when: Condition | None = None

    def matches(self, exc: BaseException, message: str, p: Parsed) -> bool:
        return (
            isinstance(exc, self.types)
            and all(word in message for word in self.words)
            and (self.when is None or self.when(exc, message, p))
        )


def _no_password(exc: BaseException, message: str, p: Parsed) -> bool:
    return p.password is None


def _tls_disabled(exc: BaseException, message: str, p: Parsed) -> bool:
    return p.sslmode == "disable"


@functools.cache
def _rules() -> tuple[_Rule, ...]:
    """First match wins; asyncpg is imported only once a connection has failed."""
    import asyncpg

    auth_spec = (asyncpg.InvalidAuthorizationSpecificationError,)
    hba = ("no pg_hba.conf entry",)
    network = (ConnectionError, OSError)
    return (
        _Rule(C.TIMEOUT, (TimeoutError,)),
        _Rule(C.NO_PASSWORD, (asyncpg.InvalidPasswordError,), when=_no_password),
        _Rule(C.WRONG_PASSWORD, (asyncpg.InvalidPasswordError,)),
        _Rule(C.SSL_REQUIRED, auth_spec, (*hba, "no encryption"), when=_tls_disabled),
        _Rule(C.NO_HBA_ENTRY, auth_spec, hba),
        _Rule(C.UNKNOWN_ROLE, auth_spec, ("role", "does not exist")),
        _Rule(C.HBA_REJECT, auth_spec, ("rejects connection",)),
        _Rule(C.AUTH_REFUSED, auth_spec),
        _Rule(C.UNKNOWN_DATABASE, (asyncpg.InvalidCatalogNameError,)),
        _Rule(C.TOO_MANY_CONNECTIONS, (asyncpg.TooManyConnectionsError,)),
        _Rule(C.NOT_READY, (asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError)),
        _Rule(C.CERT_VERIFY, (ssl.SSLCertVerificationError,)),
        _Rule(C.TLS_FAILED, (ssl.SSLError,)),
        _Rule(C.NO_ROOT_CERT, (asyncpg.ClientConfigurationError,), ("root certificate",)),
        _Rule(C.CLIENT_CONFIG, (asyncpg.ClientConfigurationError,)),
        _Rule(C.SERVER_NO_SSL, network, ("rejected SSL upgrade",)),
        _Rule(C.REFUSED, (ConnectionRefusedError,)),
        # 08xxx: the connection died under us (a restart, a proxy); not a refusal by policy.
        _Rule(C.CONNECTION_LOST, (asyncpg.PostgresConnectionError,)),
        _Rule(C.SERVER_ERROR, (asyncpg.PostgresError,)),
        _Rule(C.CONNECTION_LOST, (asyncpg.InterfaceError, *network)),
    )


def cause_of(exc: BaseException, p: Parsed) -> DbCause:
    """The cause of a failed connect, by exception class, message and URL."""
    message = str(exc)
    for rule in _rules():
        if rule.matches(exc, message, p):
            return rule.cause
    return C.UNEXPECTED_ERROR


def _phase(message: str) -> str:
    for word, phase in (
        ("shutting down", "shutting down"),
        ("starting up", "starting up"),
        ("recovery", "in recovery"),
    ):
        if word in message:
            return phase
    return "not accepting connections"


def classify(exc: BaseException, p: Parsed, timeout: float) -> Finding:
    """Turn whatever asyncpg.connect() raised into a ``db.auth`` diagnosis with its fix."""
    cause = cause_of(exc, p)
    user = p.user or "(OS user)"
    host = p.hosts[0] if p.hosts else Host("localhost", DEFAULT_PORT)
    sqlstate = getattr(exc, "sqlstate", None)
    message = clip(scrub(str(exc).strip()), 2000) or type(exc).__name__
    data: dict[str, Any] = {
        "exception_type": type(exc).__name__,
        "sqlstate": sqlstate,
        "sslmode": p.sslmode or "prefer",
    }
    fields: dict[str, Any] = {
        "user": clip(user),
        "db": clip(p.database or user),
        "host": clip(host.host or "localhost"),
        "port": host.port,
        "sslmode": p.sslmode or "prefer",
        "sqlstate": sqlstate,
        "sqlstate_note": f" ({sqlstate})" if sqlstate else "",
        "message": message,
        "exception_type": type(exc).__name__,
        "timeout": timeout,
        "why": clip(scrub(getattr(exc, "verify_message", "") or "") or message, 200),
        "hostnossl": ""
        if "no encryption" in message
        else " (the entry may exist only as 'hostnossl')",
    }
    if cause is C.NOT_READY:
        fields["phase"] = data["phase"] = _phase(message)
    return explain("db.auth", cause, AUTH_EXPLAIN, data=data, **fields)
