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
- :func:`memory` returns the memory figures and their findings as a
  :class:`CacheMemory`, drawn by :func:`svc_nb.plots.memory_usage`.

Every non-ok finding carries a :class:`CacheCause` code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING

from svc_nb._diagnose import register_check
from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb._report import Report
    from svc_nb.cache._causes import CacheCause
    from svc_nb.cache._client import client
    from svc_nb.cache._common import (
        DEFAULT_DATABASES,
        DEFAULT_PORT,
        FALLBACK_EXPLANATION,
        FRAGMENTATION_HIGH,
        FRAGMENTATION_MIN_BYTES,
        MEM_EXPLANATION,
        NEAR_LIMIT,
        PING_SAMPLES,
        PROBE_KEY,
        CacheError,
    )
    from svc_nb.cache._memory import MEMORY_COLUMNS, CacheMemory, memory
    from svc_nb.cache._parse import parse_url
    from svc_nb.cache._probe import check

__all__ = [
    "DEFAULT_DATABASES",
    "DEFAULT_PORT",
    "FALLBACK_EXPLANATION",
    "FRAGMENTATION_HIGH",
    "FRAGMENTATION_MIN_BYTES",
    "MEMORY_COLUMNS",
    "MEM_EXPLANATION",
    "NEAR_LIMIT",
    "PING_SAMPLES",
    "PROBE_KEY",
    "CacheCause",
    "CacheError",
    "CacheMemory",
    "check",
    "client",
    "memory",
    "parse_url",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


def _diagnose_builder(environ: Mapping[str, str], timeout: float) -> Awaitable[Report]:
    from svc_nb.cache._probe import check

    return check(timeout=timeout, environ=environ)


register_check("cache", _diagnose_builder, order=30, waits=True)
