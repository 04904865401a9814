"""What a user reads about a cache URL: one explanation per cause, and hints per wrong scheme."""

from __future__ import annotations

from collections.abc import Mapping

from svc_nb._explain import Explanation
from svc_nb._report import Status
from svc_nb.cache._causes import CacheCause
from svc_nb.cache._common import MEM_EXPLANATION

__all__ = ["ENCODE_FIX", "EXPLAIN", "SCHEME_HINTS"]

ENCODE_FIX = (
    "Percent-encode the password in the URL (/ → %2F, ? → %3F, # → %23, @ → %40, % → %25, "
    'space → %20), e.g. python -c "import getpass, urllib.parse; '
    "print(urllib.parse.quote(getpass.getpass(), safe=''))\""
)

# Keyed by the lower-case scheme; "" is the hint for any other scheme.
SCHEME_HINTS: Mapping[str, str] = {
    "": "Use redis:// (plain TCP), rediss:// (TLS) or unix:// (socket file).",
    "http": "Redis does not speak HTTP; use redis://host:6379/0 (or rediss:// for TLS).",
    "https": "Redis does not speak HTTP; use rediss://host:6380/0 for TLS.",
    "tcp": "Write redis://host:6379/0 instead of tcp://.",
    "redis+sentinel": "redis-py's from_url has no Sentinel URLs and svc-infra reads a single URL; "
    "point CACHE_URL at the master or a proxy.",
    "sentinel": "redis-py's from_url has no Sentinel URLs; point CACHE_URL at the master or a proxy.",
    "redis+cluster": "svc-infra's cache uses a plain (non-cluster) client; point CACHE_URL at a "
    "standalone/primary endpoint or a cluster proxy.",
    "valkey": "Valkey speaks the Redis protocol: write redis://host:6379/0.",
    "memcached": "svc-infra's cache supports Redis (redis://) or memory (mem://), not memcached.",
    "disk": "disk:// is a cashews backend svc_nb does not diagnose; svc-infra documents Redis or mem://.",
}

C = CacheCause
EXPLAIN: Mapping[CacheCause, Explanation] = {
    C.URL_WHITESPACE: Explanation(
        Status.WARN,
        "the URL has leading or trailing whitespace",
        "svc_nb's env resolution strips it, but a URL passed in code or a quoted .env value keeps "
        "it, and then the scheme or the database number no longer parse.",
        "Remove the spaces/newline around the value (e.g. a trailing newline from `echo` into a "
        "secret file).",
    ),
    C.URL_EMPTY: Explanation(
        Status.FAIL,
        "the cache URL is empty",
        "svc-infra treats an empty CACHE_URL/REDIS_URL as unset and uses mem://.",
        "Set CACHE_URL=redis://host:6379/0 (or leave it unset to use mem:// deliberately).",
    ),
    C.NO_SCHEME: Explanation(
        Status.FAIL,
        "not a URL: the value has no scheme (no '://')",
        "redis-py's from_url needs redis://, rediss:// or unix://; svc-infra's cashews also needs "
        "a scheme to pick a backend.",
        "Write it as redis://HOST:6379/0 (or rediss:// for TLS, unix:///path/redis.sock).",
    ),
    C.SCHEME_CASE: Explanation(
        Status.WARN,
        "scheme written as {shown!r}",
        "redis-py's synchronous parser and cashews' backend choice compare the scheme in lower case.",
        "Write {lower}:// in lower case.",
    ),
    C.UNSUPPORTED_SCHEME: Explanation(
        Status.FAIL,
        "unsupported scheme {shown}://",
        "redis-py's from_url raises ValueError: Redis URL must specify one of the following "
        "schemes (redis://, rediss://, unix://); svc-infra also accepts mem:// for its in-memory "
        "cache.",
        "{hint}",
    ),
    C.URL_UNPARSEABLE: Explanation(
        Status.FAIL,
        "the URL does not parse: {error}",
        "URL: {shown}",
        "Bracket IPv6 hosts fully (redis://[::1]:6379/0) and percent-encode special characters "
        "in the password. " + ENCODE_FIX,
    ),
    C.MEMORY_BACKEND: Explanation(
        Status.WARN,
        "mem:// means a per-process cache, not Redis",
        MEM_EXPLANATION,
        "For production set CACHE_URL=redis://HOST:6379/0 (or rediss:// for TLS). Keep mem:// "
        "only where one process, lost-on-restart caching is acceptable (tests, local dev).",
    ),
    C.PASSWORD_NOT_ENCODED: Explanation(
        Status.FAIL,
        "a special character ({character!r}) in the password is not URL-encoded",
        "The URL parser stops the host part at the first {character!r}, so the rest of the "
        "password and the real host end up in the path/query: redis-py then fails to read the "
        "port or connects to the wrong host (localhost) with a truncated password.",
        ENCODE_FIX,
    ),
    C.AT_SIGN_NOT_ENCODED: Explanation(
        Status.WARN,
        "an '@' in the password is not URL-encoded",
        "Python (redis-py) splits at the last '@' and still reads it, but redis-cli -u, other "
        "languages and many URL tools split at the first one.",
        "Encode '@' in the password as %40. " + ENCODE_FIX,
    ),
    C.SPACE_NOT_ENCODED: Explanation(
        Status.WARN,
        "a space in the user info is not URL-encoded",
        "Some tools truncate at the space.",
        "Encode spaces as %20. " + ENCODE_FIX,
    ),
    C.USERNAME_ONLY: Explanation(
        Status.WARN,
        "the user info has no ':' so redis-py sends it as a USERNAME with no password",
        "In redis://X@host, X is the username. A password written there is never sent as a "
        "password; the server answers WRONGPASS (or accepts anyone if the default user has no "
        "password).",
        "If it is the password write redis://:PASSWORD@host:6379/0 (note the colon); for an ACL "
        "user write redis://USER:PASSWORD@host:6379/0.",
    ),
    C.EMPTY_PASSWORD: Explanation(
        Status.WARN,
        "the password in the URL is empty",
        "redis-py sends no password for an empty one.",
        "Put the password after the colon, or drop the user info if the server has no password.",
    ),
    C.BAD_PORT: Explanation(
        Status.FAIL,
        "the port {port!r} is not a number from 0 to 65535",
        "redis-py raises ValueError while parsing the URL.",
        "Write redis://HOST:{default_port}/0; if the port part is really part of the password, "
        + ENCODE_FIX,
    ),
    C.NO_HOST: Explanation(
        Status.WARN,
        "no host in the URL: redis-py connects to localhost",
        "Inside a container localhost is the container itself, not the Redis service.",
        "Name the host: redis://redis:6379/0 (a Compose service name) or redis://10.0.0.5:6379/0.",
    ),
    C.NO_SOCKET_PATH: Explanation(
        Status.FAIL,
        "unix:// URL without a socket path",
        "{shown} puts the socket name in the host part; redis-py needs an absolute path.",
        "Write unix:///var/run/redis/redis.sock?db=0 (three slashes).",
    ),
    C.DB_IN_SOCKET_PATH: Explanation(
        Status.WARN,
        "a unix:// URL takes the database from ?db=, not from the path",
        "redis-py uses the whole path {path!r} as the socket file.",
        "Write unix:///path/to/redis.sock?db=N.",
    ),
    C.PATH_NOT_DB: Explanation(
        Status.WARN,
        "the path {path!r} is not a database number; redis-py uses db 0",
        "redis-py silently ignores a path that is not an integer, so keys land in database 0.",
        "Write the database number as the path: redis://HOST:6379/0 … /15.",
    ),
    C.DB_OVERRIDDEN: Explanation(
        Status.WARN,
        "?db={query_db} overrides the path's database {path_db}",
        "",
        "Give the database once, as the path: redis://HOST:6379/N.",
    ),
    C.DB_OUT_OF_RANGE: Explanation(
        Status.WARN,
        "database {db} is outside 0–{last}",
        "A default server has `databases {databases}`; SELECT {db} answers 'ERR DB index is out "
        "of range' unless redis.conf raises it. Redis Cluster has only database 0.",
        "Use a database from 0 to {last}, or raise `databases` in redis.conf.",
    ),
    C.URL_UNUSABLE: Explanation(
        Status.FAIL,
        "{shown} → redis-py cannot use this URL as written",
        "",
        "See the failing cache.url.* findings below.",
    ),
}
