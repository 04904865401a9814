"""Why a database check did not pass: one stable code per diagnosis."""

from __future__ import annotations

from svc_nb._explain import CauseEnum

__all__ = ["DbCause"]


class DbCause(CauseEnum):
    """The cause codes of every non-ok ``db.*`` finding."""

    # -- the URL, as libpq, asyncpg and SQLAlchemy read it (no I/O) ------------------------
    NO_URL = "no_url", "no database URL is configured (SQL_URL and its fallbacks are unset)"
    URL_WHITESPACE = "url_whitespace", "the URL has leading or trailing whitespace"
    URL_QUOTED = "url_quoted", "the URL is wrapped in quotes kept from an env file"
    NO_SCHEME = "no_scheme", "the value has no scheme://, so it is not a URL"
    KEYWORD_VALUE_STRING = (
        "keyword_value_string",
        "a libpq 'host=… dbname=…' string where SQLAlchemy needs a URL",
    )
    UNSUPPORTED_SCHEME = "unsupported_scheme", "the scheme is not postgresql:// (or a typo of it)"
    POSTGRES_SCHEME = "postgres_scheme", "postgres:// works for libpq but SQLAlchemy rejects it"
    URL_UNPARSEABLE = "url_unparseable", "the URL could not be taken apart at all"
    URL_FRAGMENT = "url_fragment", "the URL has a #fragment, which no driver reads"
    USER_NOT_ENCODED = (
        "user_not_encoded",
        "the user name has characters that must be percent-encoded",
    )
    PASSWORD_NOT_ENCODED = (
        "password_not_encoded",
        "the password has characters that must be percent-encoded",
    )
    PASSWORD_IN_QUERY = "password_in_query", "the password is in the query string (?password=)"
    BAD_HOST = "bad_host", "a host is malformed (an IPv6 address without or with broken brackets)"
    BAD_PORT = "bad_port", "the port is not a TCP port (1–65535)"
    HOST_REPEATED = "host_repeated", "the host is given both before the path and as ?host="
    NO_HOST = "no_host", "the URL names no host, so the driver uses a local Unix socket"
    TOO_MANY_HOSTS = "too_many_hosts", "the URL lists more hosts than a driver can try in time"
    COMMA_HOSTS = "comma_hosts", "libpq's host1,host2 form, which SQLAlchemy's URL parser misreads"
    NO_DATABASE = "no_database", "the URL names no database"
    PARAMETER_WITHOUT_VALUE = "parameter_without_value", "a query parameter has no '=value'"
    UNKNOWN_PARAMETER = "unknown_parameter", "a query parameter neither libpq nor asyncpg knows"
    LIBPQ_ONLY_PARAMETER = (
        "libpq_only_parameter",
        "a libpq parameter asyncpg.connect() rejects under SQLAlchemy",
    )
    DRIVER_NOT_ASYNCPG = "driver_not_asyncpg", "a +driver svc-infra does not run or coerce"
    UNKNOWN_DRIVER = "unknown_driver", "a +driver SQLAlchemy does not know"
    BAD_SSL_MODE = "bad_ssl_mode", "ssl= or sslmode= is not one of the TLS modes"
    SSLMODE_FOR_ASYNCPG = "sslmode_for_asyncpg", "sslmode= reaches asyncpg, which wants ssl="
    SSL_FOR_LIBPQ = "ssl_for_libpq", "ssl= with a libpq driver, which wants sslmode="
    PLAINTEXT_TO_REMOTE = (
        "plaintext_to_remote",
        "a TLS mode that allows plain text to a remote host",
    )
    URL_INVALID = "url_invalid", "not attempted: the URL must be fixed first"

    # -- reaching the server (TCP) -----------------------------------------------------------
    REFUSED = "refused", "connection refused: nothing listens on the host and port"
    TIMEOUT = (
        "timeout",
        "no answer within the timeout: at db.tcp packets dropped or the host down; at db.auth the "
        "port accepts TCP but nothing answers the PostgreSQL start-up",
    )
    DNS = "dns", "the host name does not resolve"
    UNREACHABLE = "unreachable", "no network route to the host"
    SOME_HOSTS_DOWN = "some_hosts_down", "some of several hosts do not accept connections"
    NOT_REACHED = "not_reached", "not attempted: no host accepted a connection"

    # -- start-up and authentication (asyncpg) -----------------------------------------------
    NO_PASSWORD = "no_password", "the server wants a password and the URL has none"
    WRONG_PASSWORD = "wrong_password", "wrong password, or a role that does not exist"
    SSL_REQUIRED = "ssl_required", "the server accepts only TLS and the client disabled it"
    NO_HBA_ENTRY = "no_hba_entry", "no pg_hba.conf line lets this user in from this host"
    UNKNOWN_ROLE = "unknown_role", "the role (user) does not exist"
    HBA_REJECT = "hba_reject", "a pg_hba.conf 'reject' line refuses this connection"
    AUTH_REFUSED = "auth_refused", "the server refused the login for another reason"
    UNKNOWN_DATABASE = "unknown_database", "the database does not exist"
    TOO_MANY_CONNECTIONS = "too_many_connections", "every connection slot is taken"
    NOT_READY = "not_ready", "the server is starting up, shutting down or in recovery"
    CERT_VERIFY = "cert_verify", "the server's TLS certificate failed verification"
    TLS_FAILED = "tls_failed", "the TLS handshake failed (protocol version, certificate files)"
    NO_ROOT_CERT = "no_root_cert", "verify-ca/verify-full without a CA certificate to verify with"
    CLIENT_CONFIG = "client_config", "asyncpg refused the connection options"
    SERVER_NO_SSL = "server_no_ssl", "TLS requested but the server has none (rejected SSL upgrade)"
    CONNECTION_LOST = "connection_lost", "the connection broke during start-up"
    SERVER_ERROR = "server_error", "the server refused the connection with another SQLSTATE"
    UNEXPECTED_ERROR = "unexpected_error", "an error svc_nb does not classify"
    NOT_CONNECTED = "not_connected", "not attempted: connecting or logging in failed"

    # -- after login: server, TLS, capacity, sessions --------------------------------------
    QUERY_TIMEOUT = "query_timeout", "connected, but a simple query did not come back in time"
    QUERY_FAILED = "query_failed", "connected, but a simple query failed"
    SLOW_ROUND_TRIP = "slow_round_trip", "over 50 ms per round trip to the server"
    TLS_NOT_USED = "tls_not_used", "the server offers TLS but this session is not encrypted"
    SERVER_TLS_OFF = (
        "server_tls_off",
        "the server has no TLS, so svc-infra's build_engine (ssl=require) fails",
    )
    OVERFLOW_EXCEEDS_CAPACITY = (
        "overflow_exceeds_capacity",
        "the pools fit only without their overflow connections",
    )
    POOL_EXCEEDS_CAPACITY = (
        "pool_exceeds_capacity",
        "the worker processes' pools need more connections than are free",
    )
    IDLE_IN_TRANSACTION = (
        "idle_in_transaction",
        "sessions idle inside an open transaction hold pool slots and locks",
    )
