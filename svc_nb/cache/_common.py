"""What every stage of the cache section shares: limits, the parsed target, small helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from svc_nb._exceptions import SvcNbError
from svc_nb._report import Finding, Status

__all__ = [
    "CASHEWS_OPTIONS",
    "DEFAULT_DATABASES",
    "DEFAULT_PORT",
    "FALLBACK_EXPLANATION",
    "FRAGMENTATION_HIGH",
    "FRAGMENTATION_MIN_BYTES",
    "MEM_EXPLANATION",
    "NEAR_LIMIT",
    "PING_SAMPLES",
    "POOL_OPTIONS",
    "PROBE_KEY",
    "CacheError",
    "Target",
    "clip",
    "figure",
    "human",
    "ok",
]

DEFAULT_PORT = 6379
# redis.conf's default `databases 16`: indexes 0..15.
DEFAULT_DATABASES = 16
# Round trips timed for the latency median (each is one a remote user waits for).
PING_SAMPLES = 3
# Share of maxmemory from which a server that cannot evict freely is "near the limit".
NEAR_LIMIT = 0.90
# Below this much allocated memory Redis' own MEMORY DOCTOR calls the ratio meaningless.
FRAGMENTATION_MIN_BYTES = 5 * 1024 * 1024
FRAGMENTATION_HIGH = 1.5
PROBE_KEY = "__svc_nb_probe__"

# Query options cashews (svc-infra's cache library) consumes itself before redis-py sees the URL.
CASHEWS_OPTIONS = frozenset(
    {"suppress", "client_side", "secret", "digestmod", "pickle_type", "enable", "disable", "prefix"}
)
# Options redis-py gives the connection pool rather than the connection.
POOL_OPTIONS = frozenset({"max_connections", "timeout"})

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
    '`except CacheConnectionError: init_cache(backend="memory")` cannot work: neither name '
    "exists). Fix Redis, or choose mem:// deliberately with CACHE_URL=mem:// for a dev/test "
    "instance that can live with per-process, non-shared, lost-on-restart caching."
)


class CacheError(SvcNbError, ValueError):
    """Misuse of svc_nb.cache: an argument value it cannot use (the message says what to pass)."""


@dataclass
class Target:
    """What redis-py would connect to, with the keyword arguments it would pass."""

    shown: str  # the URL as it may be displayed: password masked, long parts cut
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
            return f"unix socket {clip(self.path or '', 120)}"
        return f"{clip(self.host or 'localhost', 80)}:{self.port or DEFAULT_PORT}"

    @property
    def shown_user(self) -> str | None:
        """The user name as it may be shown: a user-only URL's "name" may be its password."""
        return self.username if self.password else None


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was: reports stay small."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text)} chars)"


def figure(info: Mapping[str, Any], name: str, kind: type[int] | type[float] = int) -> Any:
    """An INFO figure as a number; 0 when absent or not a number (a peer may send anything)."""
    try:
        return kind(info.get(name) or 0)
    except (TypeError, ValueError, OverflowError):
        return kind(0)


def human(n: float | None) -> str:
    """Bytes in binary units: 512 B, 1.5 MiB."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def ok(check: str, summary: str, detail: str = "", fix: str = "", **data: Any) -> Finding:
    """A passing finding (non-ok findings come from the cause tables, with their cause)."""
    return Finding(
        check=check, status=Status.OK, summary=summary, detail=detail, fix=fix, data=data
    )
