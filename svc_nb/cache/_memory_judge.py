"""Judge Redis' memory: used vs maxmemory under the eviction policy, and fragmentation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import scrub
from svc_nb._report import Finding, Status
from svc_nb.cache._causes import CacheCause
from svc_nb.cache._classify import write_cause
from svc_nb.cache._common import (
    FRAGMENTATION_HIGH,
    FRAGMENTATION_MIN_BYTES,
    NEAR_LIMIT,
    clip,
    figure,
    human,
    ok,
)

__all__ = ["memory_findings"]

C = CacheCause

_MEMORY: Mapping[CacheCause, Explanation] = {
    C.OOM: Explanation(
        Status.FAIL,
        "writes are refused: {head}",
        "A real write answered: {message} With policy {policy} Redis refuses writes instead of "
        "evicting; svc-infra's cache writes and job enqueues fail.",
        "Raise maxmemory (CONFIG SET maxmemory 512mb and persist it), or let Redis evict cache "
        "entries: CONFIG SET maxmemory-policy allkeys-lru (use volatile-lru if the same Redis also "
        "holds svc-infra's job queue, so keys without TTL are kept). Then find the big keys: "
        "redis-cli --bigkeys.",
    ),
    C.NEAR_LIMIT: Explanation(
        Status.WARN,
        "near the limit with noeviction: {head}",
        "When used memory passes maxmemory, Redis with noeviction refuses every write with "
        "'OOM command not allowed when used memory > maxmemory'.",
        "Raise maxmemory, or switch to an evicting policy for a pure cache (allkeys-lru) / mixed "
        "use (volatile-lru), and look for big or TTL-less keys (redis-cli --bigkeys).",
    ),
    C.NEAR_LIMIT_TTL_ONLY: Explanation(
        Status.WARN,
        "near the limit: {head}",
        "{policy} only evicts keys with a TTL; if most memory is in keys without one, writes fail "
        "with OOM.",
        "Give cache keys TTLs (svc-infra's decorators do), or raise maxmemory.",
    ),
}


def _memory_cause(oom: bool, maxmemory: int, policy: str, share: float) -> CacheCause | None:
    if oom:
        return C.OOM
    if maxmemory and share >= NEAR_LIMIT and policy == "noeviction":
        return C.NEAR_LIMIT
    if maxmemory and share >= NEAR_LIMIT and policy.startswith("volatile"):
        return C.NEAR_LIMIT_TTL_ONLY
    return None


def _memory_finding(info: Mapping[str, Any], write_error: BaseException | None) -> Finding:
    used = figure(info, "used_memory")
    maxmemory = figure(info, "maxmemory")
    policy = clip(str(info.get("maxmemory_policy", "noeviction")), 40)
    data: dict[str, Any] = {
        "used_memory": used,
        "maxmemory": maxmemory,
        "maxmemory_policy": policy,
        "used_memory_peak": figure(info, "used_memory_peak"),
    }
    share = used / maxmemory if maxmemory else 0.0
    if maxmemory:
        data["used_pct"] = round(share * 100, 1)
        head = f"{human(used)} used of maxmemory {human(maxmemory)} ({share:.0%}), policy {policy}"
    else:
        head = f"{human(used)} used, no maxmemory limit, policy {policy}"
    cause = _memory_cause(write_cause(write_error) is C.OOM, maxmemory, policy, share)
    if cause is not None:
        message = scrub(clip(str(write_error), 300)) if write_error is not None else ""
        return explain(
            "cache.memory", cause, _MEMORY, data=data, head=head, policy=policy, message=message
        )
    detail = ""
    if not maxmemory:
        detail = (
            "Without maxmemory Redis grows until the OS or the container's memory limit kills "
            "it. Set maxmemory below the container limit for a cache."
        )
    elif policy != "noeviction":
        detail = f"{policy}: at the limit Redis evicts keys instead of refusing writes."
    return ok("cache.memory", head, detail, **data)


_FRAGMENTATION: Mapping[CacheCause, Explanation] = {
    C.HIGH_FRAGMENTATION: Explanation(
        Status.WARN,
        "high memory fragmentation: RSS {rss} for {used} of data (ratio {ratio:.2f})",
        "The allocator holds memory freed by deleted/expired keys; the OS sees more memory used "
        "than Redis counts toward maxmemory.",
        "Enable active defragmentation (CONFIG SET activedefrag yes, jemalloc builds) or restart "
        "the server during a quiet period.",
    ),
    C.SWAPPING: Explanation(
        Status.WARN,
        "RSS {rss} is below used memory {used} (ratio {ratio:.2f}): Redis is swapping",
        "Part of the dataset is in swap; latency suffers badly.",
        "Give the host/container more memory or set maxmemory lower; disable swap for Redis hosts.",
    ),
}


def _fragmentation_finding(info: Mapping[str, Any]) -> Finding | None:
    if info.get("mem_fragmentation_ratio") is None:
        return None
    ratio = figure(info, "mem_fragmentation_ratio", float)
    used = figure(info, "used_memory")
    rss = figure(info, "used_memory_rss")
    data: dict[str, Any] = {
        "mem_fragmentation_ratio": ratio,
        "used_memory_rss": rss,
        "used_memory": used,
    }
    if used < FRAGMENTATION_MIN_BYTES:
        return ok(
            "cache.fragmentation",
            f"fragmentation ratio {ratio:.2f} (not meaningful below {human(FRAGMENTATION_MIN_BYTES)} of data)",
            "With a nearly empty dataset the process's fixed overhead dominates RSS.",
            **data,
        )
    cause = (
        C.HIGH_FRAGMENTATION
        if ratio > FRAGMENTATION_HIGH
        else (C.SWAPPING if ratio < 1.0 else None)
    )
    if cause is None:
        return ok("cache.fragmentation", f"fragmentation ratio {ratio:.2f}", **data)
    return explain(
        "cache.fragmentation",
        cause,
        _FRAGMENTATION,
        data=data,
        rss=human(rss),
        used=human(used),
        ratio=ratio,
    )


def memory_findings(
    info: Mapping[str, Any], write_error: BaseException | None = None
) -> list[Finding]:
    """``cache.memory`` and ``cache.fragmentation`` from INFO memory (and the test write's error)."""
    fragmentation = _fragmentation_finding(info)
    return [_memory_finding(info, write_error), *([fragmentation] if fragmentation else [])]
