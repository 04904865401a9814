"""svc-infra's Redis job queue: jobs written in its real format to the machine's Redis."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from svc_nb.webhooks import clear_demo_queue, parse_status, queue_snapshot, seed_demo_queue
from tests._support import SilentServer

DB15 = "redis://127.0.0.1:6379/15"  # a spare database; never db 0
SECRET = "sub-secret-in-clear-7d1e0a"


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A unique key prefix in db 15; every key under it is deleted afterwards."""
    p = f"svcnbtest-{uuid.uuid4().hex[:8]}"
    yield p
    client = aioredis.from_url(DB15)
    try:
        keys = [k async for k in client.scan_iter(match=f"{p}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()  # type: ignore[attr-defined]


async def _write_job(
    client: Any,
    prefix: str,
    *,
    state: str,
    url: str,
    attempts: int,
    last_error: str,
    secret: str = SECRET,
    score: float | None = None,
) -> str:
    """One job exactly as svc-infra's RedisJobQueue stores it."""
    job_id = str(await client.incr(f"{prefix}:jobs:seq"))
    payload = {
        "outbox_id": int(job_id),
        "topic": "invoice.paid",
        "payload": {
            "event": {
                "topic": "invoice.paid",
                "payload": {"id": job_id},
                "version": 1,
                "created_at": "2026-01-01T00:00:00+00:00",
            },
            "subscription": {"url": url, "secret": secret, "id": f"sub-{job_id}"},
        },
    }
    now = datetime.now(UTC)
    await client.hset(
        f"{prefix}:jobs:job:{job_id}",
        mapping={
            "id": job_id,
            "name": "outbox.invoice.paid",
            "payload": json.dumps(payload),
            "available_at": now.isoformat(),
            "attempts": str(attempts),
            "max_attempts": "5",
            "backoff_seconds": "60",
            "last_error": last_error,
            "visible_at": "",
        },
    )
    if state == "delayed":
        await client.zadd(f"{prefix}:jobs:delayed", {job_id: score or time.time() + 120})
    elif state == "processing":
        await client.rpush(f"{prefix}:jobs:processing", job_id)
        await client.zadd(f"{prefix}:jobs:processing_vt", {job_id: score or time.time() + 60})
    else:
        await client.rpush(f"{prefix}:jobs:{state}", job_id)
    return job_id


async def test_snapshot_reads_every_state_and_masks_secrets(prefix: str) -> None:
    client = aioredis.from_url(DB15)
    try:
        ok = "http://127.0.0.1:9/ok"
        bad = "http://user:pw-in-url@127.0.0.1:9/bad"
        await _write_job(client, prefix, state="ready", url=ok, attempts=0, last_error="")
        delayed = await _write_job(
            client,
            prefix,
            state="delayed",
            url=ok,
            attempts=2,
            last_error="webhook delivery failed: 503",
            score=time.time() + 240,
        )
        stuck = await _write_job(
            client,
            prefix,
            state="processing",
            url=ok,
            attempts=1,
            last_error="",
            score=time.time() - 90,
        )
        await _write_job(client, prefix, state="processing", url=ok, attempts=1, last_error="")
        dead1 = await _write_job(
            client,
            prefix,
            state="dlq",
            url=bad,
            attempts=5,
            last_error="webhook delivery failed: 500",
        )
        await _write_job(
            client,
            prefix,
            state="dlq",
            url=bad,
            attempts=5,
            last_error="ConnectError: connection refused",
        )
        await client.rpush(f"{prefix}:jobs:ready", "999")  # listed, but no hash
        await client.hset(f"{prefix}:webhooks:outbox:1", mapping={"topic": "invoice.paid"})
    finally:
        await client.aclose()  # type: ignore[attr-defined]

    snap = await queue_snapshot(
        DB15, prefix=f"{prefix}:jobs", outbox_prefix=f"{prefix}:webhooks:outbox"
    )
    jobs: Any = snap.jobs.set_index("job_id")
    assert snap.counts() == {"ready": 2, "delayed": 1, "processing": 2, "dlq": 2}
    assert jobs.loc[delayed, "status_code"] == 503
    assert jobs.loc[delayed, "attempts_of_max"] == "2/5"
    assert (
        abs((jobs.loc[delayed, "next_attempt_at"] - datetime.now(UTC)).total_seconds() - 240) < 30
    )
    assert jobs.loc[dead1, "state"] == "dlq" and jobs.loc[dead1, "status_code"] == 500
    assert jobs.loc[dead1, "topic"] == "invoice.paid"
    assert len(snap.outbox) == 1
    report = snap.report
    assert report["webhooks.queue.dlq"].status.value == "fail"
    assert report["webhooks.queue.dlq"].data["dead"] == 2
    stuck_f = report["webhooks.queue.stuck"]
    assert stuck_f.data["stuck"] == 1 and f"job {stuck}" in stuck_f.detail
    ends = report["webhooks.queue.endpoints"]
    assert ends.data["endpoints"] == 1 and "/bad" in ends.detail and "/ok" not in ends.detail
    assert report["webhooks.queue.orphans"].status.value == "warn"
    # secrets (subscription secret, URL password) never shown
    shown = str(snap) + snap._repr_html_() + snap.jobs.to_string() + report.to_json()
    assert SECRET not in shown and "pw-in-url" not in shown
    assert jobs.loc[dead1, "secret"].startswith("****")


async def test_seeded_demo_queue_and_cleanup(prefix: str) -> None:
    keys = await seed_demo_queue(DB15, prefix=f"{prefix}:jobs", outbox_prefix=f"{prefix}:outbox")
    snap = await queue_snapshot(
        DB15,
        prefix=f"{prefix}:jobs",
        outbox_prefix=f"{prefix}:outbox",
        now=datetime.now(UTC) + timedelta(seconds=1),
    )
    assert snap.counts() == {"ready": 1, "delayed": 1, "processing": 1, "dlq": 2}
    assert {"webhooks.queue.dlq", "webhooks.queue.stuck", "webhooks.queue.endpoints"} <= set(
        snap.report.checks
    )
    assert await clear_demo_queue(DB15, keys) == len(keys)
    empty = await queue_snapshot(DB15, prefix=f"{prefix}:jobs", outbox_prefix=f"{prefix}:outbox")
    assert empty.jobs.empty and empty.report.ok


async def test_unreachable_redis_is_a_finding(refused_port: int) -> None:
    snap = await queue_snapshot(f"redis://127.0.0.1:{refused_port}/0", timeout=1.0)
    f = snap.report["webhooks.queue.connect"]
    assert f.status.value == "fail" and f.fix
    assert snap.jobs.empty


async def test_silent_redis_returns_within_timeout(silent_server: SilentServer) -> None:
    started = time.perf_counter()
    snap = await queue_snapshot(f"redis://127.0.0.1:{silent_server.port}/0", timeout=0.5)
    assert time.perf_counter() - started < 0.5 + 0.3
    assert snap.report["webhooks.queue.connect"].status.value == "fail"


def test_parse_status() -> None:
    assert parse_status("webhook delivery failed: 503") == 503
    assert parse_status("ConnectError: [Errno 111]") is None
    assert parse_status("") is None


async def test_diagnose_check_counts_dead_letters(prefix: str) -> None:
    from svc_nb._diagnose import registered_checks
    from svc_nb.webhooks._queue import _queue_check, _queue_counts

    assert "webhooks.queue" in registered_checks()
    keys = await seed_demo_queue(DB15, prefix=f"{prefix}:jobs", outbox_prefix=f"{prefix}:outbox")
    try:
        findings = {f.check: f for f in await _queue_counts(DB15, 2.0, prefix=f"{prefix}:jobs")}
    finally:
        await clear_demo_queue(DB15, keys)
    assert findings["webhooks.queue"].data["ready"] == 1
    assert findings["webhooks.queue.dlq"].data["dead"] == 2
    assert findings["webhooks.queue.stuck"].data["stuck"] == 1
    # JOBS_DRIVER unset: svc-infra's queue is in process memory, never an all-clear.
    in_memory = _queue_check({"CACHE_URL": "mem://"}, 1.0)
    assert in_memory.status.value == "warn"
    assert in_memory.cause == "in_memory_queue"


# -- trust: corrupt Redis data, bad timeouts, what dead letters really record -----------------


async def _corrupt_job(
    client: Any, prefix: str, state: str, *, score: float | None = None, **fields: str
) -> str:
    job_id = str(await client.incr(f"{prefix}:jobs:seq"))
    mapping = {
        "id": job_id,
        "name": "outbox.invoice.paid",
        "attempts": "1",
        "max_attempts": "5",
        "payload": json.dumps(
            {
                "outbox_id": 1,
                "topic": "invoice.paid",
                "payload": {
                    "subscription": {"url": "http://127.0.0.1:9/x", "secret": SECRET, "id": "s"}
                },
            }
        ),
    }
    mapping.update(fields)
    await client.hset(f"{prefix}:jobs:job:{job_id}", mapping=mapping)
    if state == "delayed":
        await client.zadd(f"{prefix}:jobs:delayed", {job_id: score})
    elif state == "processing":
        await client.rpush(f"{prefix}:jobs:processing", job_id)
        await client.zadd(f"{prefix}:jobs:processing_vt", {job_id: score})
    else:
        await client.rpush(f"{prefix}:jobs:{state}", job_id)
    return job_id


def _payload_with_secret(secret: Any) -> str:
    return json.dumps(
        {
            "outbox_id": 2,
            "topic": "invoice.paid",
            "payload": {"subscription": {"url": "http://127.0.0.1:9/x", "secret": secret}},
        }
    )


async def test_corrupt_jobs_are_findings_naming_each_job(prefix: str) -> None:
    client = aioredis.from_url(DB15)
    try:
        expected = {
            await _corrupt_job(client, prefix, "delayed", score=float("inf")): "delayed score",
            await _corrupt_job(client, prefix, "delayed", score=1e300): "delayed score",
            await _corrupt_job(client, prefix, "processing", score=-1e300): "visibility deadline",
            await _corrupt_job(client, prefix, "ready", available_at="1e999"): "available_at",
            await _corrupt_job(
                client, prefix, "ready", available_at="9999-12-31T00:00:00"
            ): "available_at",
            await _corrupt_job(
                client, prefix, "ready", payload=_payload_with_secret(12345678)
            ): "secret is a JSON int",
            await _corrupt_job(
                client, prefix, "ready", payload=_payload_with_secret(["a-secret-in-a-list"])
            ): "secret is a JSON list",
            await _corrupt_job(
                client, prefix, "dlq", payload=_payload_with_secret({"k": "v-secret-in-dict"})
            ): "secret is a JSON dict",
            await _corrupt_job(client, prefix, "ready", payload="[" * 100_000): "nested too deeply",
            await _corrupt_job(
                client, prefix, "ready", payload='{"a":' * 100_000
            ): "nested too deeply",
            await _corrupt_job(client, prefix, "ready", attempts=str(10**30)): "attempts",
            await _corrupt_job(client, prefix, "ready", payload=b"\xff\xfe not utf-8"): "not JSON",  # type: ignore[arg-type]
        }
        fine = await _write_job(
            client, prefix, state="ready", url="http://127.0.0.1:9/ok", attempts=0, last_error=""
        )
    finally:
        await client.aclose()  # type: ignore[attr-defined]

    started = time.perf_counter()
    snap = await queue_snapshot(
        DB15, prefix=f"{prefix}:jobs", outbox_prefix=f"{prefix}:webhooks:outbox"
    )
    assert time.perf_counter() - started < 3.0
    corrupt = snap.report["webhooks.queue.corrupt"]
    assert corrupt.status.value == "warn" and corrupt.cause == "corrupt_job"
    assert set(corrupt.data["jobs"]) == set(expected)
    for job_id, what in expected.items():
        assert (
            f"job {job_id}: " in corrupt.detail
            and what in corrupt.detail.split(f"job {job_id}: ")[1]
        )
    assert fine not in corrupt.data["jobs"]
    assert len(snap.jobs) == len(expected) + 1
    shown = str(snap) + snap._repr_html_() + snap.report.to_json()
    assert (
        "a-secret-in-a-list" not in shown
        and "v-secret-in-dict" not in shown
        and SECRET not in shown
    )


async def test_non_finite_or_missing_timeout_raises_at_once() -> None:
    for timeout in (float("nan"), float("inf"), 0, -1):
        with pytest.raises(ValueError, match="timeout"):
            await asyncio.wait_for(queue_snapshot(DB15, timeout=timeout), 1.0)
    with pytest.raises(TypeError, match="timeout"):
        await asyncio.wait_for(queue_snapshot(DB15, timeout=None), 1.0)  # type: ignore[arg-type]


async def test_dead_letters_say_whose_error_they_show(prefix: str) -> None:
    keys = await seed_demo_queue(DB15, prefix=f"{prefix}:jobs", outbox_prefix=f"{prefix}:outbox")
    try:
        snap = await queue_snapshot(DB15, prefix=f"{prefix}:jobs", outbox_prefix=f"{prefix}:outbox")
    finally:
        await clear_demo_queue(DB15, keys)
    dlq = snap.report["webhooks.queue.dlq"]
    assert dlq.cause == "dead_lettered"
    assert "attempt before its last" in dlq.detail and "attempt 4 of 5" in dlq.detail
    assert (
        "attempt before its last" in str(snap) and "attempt before its last" in snap._repr_html_()
    )
    causes = {f.check: f.cause for f in snap.report}
    assert causes["webhooks.queue.stuck"] == "stuck_processing"
    assert causes["webhooks.queue.endpoints"] == "endpoint_failing"
    assert causes["webhooks.queue"] is None


async def test_unreachable_redis_causes(refused_port: int, silent_server: SilentServer) -> None:
    refused = await queue_snapshot(f"redis://127.0.0.1:{refused_port}/0", timeout=1.0)
    assert refused.report["webhooks.queue.connect"].cause == "connect_failed"
    silent = await queue_snapshot(f"redis://127.0.0.1:{silent_server.port}/0", timeout=0.3)
    assert silent.report["webhooks.queue.connect"].cause == "timeout"
