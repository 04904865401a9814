"""svc-infra-shaped demo jobs for notebooks and tests: write them, then remove exactly those keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from svc_nb._clock import Now, utc_datetime
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout
from svc_nb.cache import client as redis_client

__all__ = ["clear_demo_queue", "seed_demo_queue"]

_DEMO_SPECS: tuple[tuple[str, str, int, str, str | None], ...] = (
    # (state, topic, attempts, last_error, mode)
    ("ready", "order.created", 0, "", None),
    ("delayed", "order.paid", 2, "webhook delivery failed: 503", "delayed"),
    ("processing", "order.shipped", 1, "", "stuck"),
    ("dlq", "invoice.failed", 5, "webhook delivery failed: 500", None),
    ("dlq", "invoice.paid", 5, "webhook delivery failed: 503", None),
)


async def _seed_job(
    client: Any,
    prefix: str,
    outbox_prefix: str,
    n: int,
    spec: tuple[str, str, int, str, str | None],
    url: str,
    t: datetime,
) -> list[str]:
    state, topic, attempts, last_error, mode = spec
    job_id = str(await client.incr(f"{prefix}:seq"))
    payload = {
        "outbox_id": n,
        "topic": topic,
        "payload": {
            "event": {
                "topic": topic,
                "payload": {"order_id": 1000 + n},
                "version": 1,
                "created_at": (t - timedelta(minutes=10)).isoformat(),
            },
            "subscription": {
                "url": url,
                "secret": f"demo-subscription-secret-{n:02d}",
                "id": f"sub_{n}",
            },
        },
    }
    available = t + timedelta(seconds=120) if mode == "delayed" else t - timedelta(minutes=5)
    visible = t - timedelta(seconds=300) if mode == "stuck" else None
    await client.hset(
        f"{prefix}:job:{job_id}",
        mapping={
            "id": job_id,
            "name": f"outbox.{topic}",
            "payload": json.dumps(payload),
            "available_at": available.isoformat(),
            "attempts": str(attempts),
            "max_attempts": "5",
            "backoff_seconds": "60",
            "last_error": last_error,
            "visible_at": visible.isoformat() if visible else "",
        },
    )
    if state == "delayed":
        await client.zadd(f"{prefix}:delayed", {job_id: available.timestamp()})
    elif state == "processing" and visible is not None:
        await client.rpush(f"{prefix}:processing", job_id)
        await client.zadd(f"{prefix}:processing_vt", {job_id: visible.timestamp()})
    else:
        await client.rpush(f"{prefix}:{state}", job_id)
    outbox_key = f"{outbox_prefix}:{job_id}"
    await client.hset(outbox_key, mapping={"topic": topic, "outbox_id": str(n)})
    return [f"{prefix}:job:{job_id}", outbox_key]


async def seed_demo_queue(
    redis_url: str,
    *,
    prefix: str = "jobs",
    outbox_prefix: str = "webhooks:outbox",
    endpoint: str = "http://127.0.0.1:9/webhooks/orders",
    now: Now = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> list[str]:
    """Write svc-infra-shaped jobs (ready, delayed, stuck, dead-lettered) and return the keys written.

    For notebooks and tests: use a spare database (``/15``) or a unique ``prefix``,
    and remove the keys with :func:`clear_demo_queue`.
    """
    seconds = check_timeout(timeout)
    t = utc_datetime(now)
    broken = endpoint.rsplit("/", 1)[0] + "/broken"
    client = redis_client(redis_url, timeout=seconds, decode_responses=True)
    keys: list[str] = [f"{prefix}:seq"]
    try:
        async with asyncio.timeout(seconds):
            for n, spec in enumerate(_DEMO_SPECS, 1):
                url = broken if spec[0] == "dlq" else endpoint
                keys += await _seed_job(client, prefix, outbox_prefix, n, spec, url, t)
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose
    keys += [f"{prefix}:{s}" for s in ("ready", "delayed", "processing", "processing_vt", "dlq")]
    return keys


async def clear_demo_queue(
    redis_url: str, keys: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S
) -> int:
    """Delete exactly the keys :func:`seed_demo_queue` wrote; returns how many existed."""
    seconds = check_timeout(timeout)
    if not keys:
        return 0
    client = redis_client(redis_url, timeout=seconds)
    try:
        async with asyncio.timeout(seconds):
            return int(await client.delete(*keys))
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose
