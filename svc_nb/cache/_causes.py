"""Why a cache check did not pass: one stable code per diagnosis."""

from __future__ import annotations

from svc_nb._explain import CauseEnum

__all__ = ["CacheCause"]


class CacheCause(CauseEnum):
    """The cause codes of every non-ok ``cache.*`` finding."""

    # -- the URL, as redis-py (and svc-infra's cashews) read it --------------------------
    URL_WHITESPACE = "url_whitespace", "the URL has leading or trailing whitespace"
    URL_EMPTY = "url_empty", "the cache URL is empty"
    NO_SCHEME = "no_scheme", "the value has no scheme://, so it is not a URL"
    SCHEME_CASE = "scheme_case", "the scheme is not written in lower case"
    UNSUPPORTED_SCHEME = "unsupported_scheme", "a scheme neither redis-py nor svc-infra accepts"
    URL_UNPARSEABLE = "url_unparseable", "the URL does not parse (e.g. an unbalanced IPv6 bracket)"
    URL_UNUSABLE = "url_unusable", "redis-py cannot use the URL as written"
    MEMORY_BACKEND = "memory_backend", "mem://: a per-process in-memory cache, not Redis"
    PASSWORD_NOT_ENCODED = (
        "password_not_encoded",
        "a '/', '?' or '#' in the password is not percent-encoded and cuts the URL short",
    )
    AT_SIGN_NOT_ENCODED = "at_sign_not_encoded", "an '@' in the user info is not percent-encoded"
    SPACE_NOT_ENCODED = "space_not_encoded", "a space in the user info is not percent-encoded"
    USERNAME_ONLY = "username_only", "the user info has no ':', so a password is sent as a username"
    EMPTY_PASSWORD = "empty_password", "the URL's password is empty"
    BAD_PORT = "bad_port", "the port is not a number from 0 to 65535"
    NO_HOST = "no_host", "the URL names no host, so redis-py connects to localhost"
    NO_SOCKET_PATH = "no_socket_path", "a unix:// URL without an absolute socket path"
    DB_IN_SOCKET_PATH = "db_in_socket_path", "a unix:// URL with the database in the path"
    OPTION_REPEATED = "option_repeated", "a query option is given more than once"
    OPTION_BLANK = "option_blank", "a query option has no value and is ignored"
    TLS_OPTION_ON_PLAIN = "tls_option_on_plain", "a TLS option on a plain redis:// URL"
    UNKNOWN_OPTION = "unknown_option", "a query option redis-py does not know"
    BAD_OPTION_VALUE = "bad_option_value", "a query option's value does not convert"
    STRING_BOOLEAN = "string_boolean", "a boolean option reaches redis-py as an always-true string"
    BAD_CERT_REQS = "bad_cert_reqs", "ssl_cert_reqs is not none, optional or required"
    CERT_NOT_VERIFIED = (
        "cert_not_verified",
        "ssl_cert_reqs=none: the server certificate is not verified",
    )
    HOSTNAME_NOT_CHECKED = (
        "hostname_not_checked",
        "ssl_check_hostname=false: any valid certificate passes",
    )
    BAD_PROTOCOL = "bad_protocol", "protocol= is neither 2 nor 3"
    MANY_OPTION_PROBLEMS = (
        "many_option_problems",
        "more query options have problems than are listed",
    )
    PATH_NOT_DB = "path_not_db", "the URL's path is not a database number, so db 0 is used"
    DB_OVERRIDDEN = "db_overridden", "?db= overrides the database in the path"
    DB_OUT_OF_RANGE = "db_out_of_range", "the database number is outside a default server's 0-15"

    # -- reaching the server -------------------------------------------------------------
    TIMEOUT = "timeout", "no answer within the timeout"
    REFUSED = "refused", "connection refused: nothing listens on the host and port"
    DNS = "dns", "the host name does not resolve"
    UNREACHABLE = "unreachable", "no network route to the host"
    SOCKET = "socket", "the unix socket file is missing or not accessible"
    CONNECTION_LOST = "connection_lost", "the server closed (or reset) the connection"
    TLS_FAILED = "tls_failed", "the TLS handshake failed (certificate, hostname or a TLS mismatch)"
    CONNECT_FAILED = "connect_failed", "the connection failed for another network reason"
    UNKNOWN_DATABASE = "unknown_database", "the server has no database with the URL's number"
    TOO_MANY_CONNECTIONS = (
        "too_many_connections",
        "the server is at maxclients and refuses new connections",
    )
    NOT_REDIS = "not_redis", "the peer does not speak the Redis protocol (e.g. an HTTP server)"
    RESP3_UNSUPPORTED = (
        "resp3_unsupported",
        "the server is older than Redis 6 and has no HELLO/RESP3",
    )
    NOT_READY = "not_ready", "the server is still loading its dataset into memory"
    BAD_OPTION = "bad_option", "redis-py refused the connection options"
    UNEXPECTED_ERROR = "unexpected_error", "an error svc_nb does not classify"
    URL_INVALID = "url_invalid", "not attempted: the URL must be fixed first"

    # -- authentication ------------------------------------------------------------------
    USERNAME_UNSUPPORTED = "username_unsupported", "an ACL username sent to a server without ACLs"
    NO_PASSWORD = "no_password", "the server requires a password and none was sent"
    PASSWORD_NOT_CONFIGURED = (
        "password_not_configured",
        "a password is sent but the server has none configured",
    )
    WRONG_PASSWORD = "wrong_password", "wrong password, or an unknown or disabled ACL user"
    AUTH_FAILED = "auth_failed", "authentication failed for another reason"
    NO_PERMISSION = (
        "no_permission",
        "the ACL user may not run a command or write a key svc-infra needs",
    )

    # -- the server and its memory -------------------------------------------------------
    SENTINEL_PORT = "sentinel_port", "the URL points at a Sentinel, which stores no keys"
    READ_ONLY_REPLICA = "read_only_replica", "the server is a read-only replica"
    CLUSTER_MODE = "cluster_mode", "a cluster node behind a plain client: other shards answer MOVED"
    INFO_REFUSED = "info_refused", "the user may not run INFO"
    NO_INFO = "no_info", "no server information could be read"
    CLIENTS_NEAR_LIMIT = "clients_near_limit", "80 % or more of maxclients are in use"
    OOM = "oom", "writes are refused: used memory is over maxmemory with noeviction"
    NEAR_LIMIT = "near_limit", "used memory is near maxmemory and the policy refuses writes"
    NEAR_LIMIT_TTL_ONLY = (
        "near_limit_ttl_only",
        "used memory is near maxmemory and only keys with a TTL can be evicted",
    )
    HIGH_FRAGMENTATION = "high_fragmentation", "the allocator holds much more memory than the data"
    SWAPPING = "swapping", "RSS is below used memory: part of the dataset is in swap"
    RDB_SAVE_FAILED = "rdb_save_failed", "writes are refused because the last RDB save failed"
    WRITE_FAILED = "write_failed", "the test write failed for another reason"
