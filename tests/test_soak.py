"""Soak: ``diagnose()`` over and over against the local services stays flat and correct.

Targets: the machine's PostgreSQL and Redis and a local webhook receiver
(``SVC_NB_WEBHOOK_URL``), loopback only. One ``diagnose()`` takes ~30–40 ms here
(2 cores), so the full 1 000 sequential runs fit (~30–45 s measured) after a
warm-up; then ``CONCURRENT_BATCHES`` batches of ``CONCURRENT_RUNS`` (50) at once
with ``asyncio.gather`` (~1 s a batch).

Asserted: every run has the same check ids and no failure; the process's RSS
(``VmRSS``) grows by less than ``RSS_GROWTH_LIMIT_MB`` after warm-up, and by less than
half that between the first quarter and the end (no steady climb); open file
descriptors return to the warm-up count; no PostgreSQL session of the soak (its
own ``application_name``) is left in ``pg_stat_activity``; every run returns
within its timeout + 0.3 s.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

import svc_nb
from svc_nb import Status
from svc_nb.webhooks import Receiver
from tests._support import LOCAL_PG_URL, LOCAL_REDIS_URL

pytestmark = pytest.mark.slow

SEQUENTIAL_RUNS = 1000
CONCURRENT_RUNS = 50
CONCURRENT_BATCHES = 3
WARMUP_RUNS = 20
TIMEOUT_S = 2.0
# 50 diagnoses share one event loop on 2 cores (~1 s a batch idle): room for a busy machine.
CONCURRENT_TIMEOUT_S = 5.0
RSS_GROWTH_LIMIT_MB = 25.0
FD_SLACK = 2
APP_NAME = f"svcnb_soak_{secrets.token_hex(4)}"


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


async def soak_sessions() -> int:
    """Sessions on the local server that the soak's checks opened (as its own role)."""
    conn = await asyncpg.connect(LOCAL_PG_URL)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", APP_NAME
            )
        )
    finally:
        await conn.close()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(LOCAL_PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def settled(fn: Any, target: int, wait: float = 3.0) -> int:
    deadline = time.monotonic() + wait
    while True:
        gc.collect()
        value = await fn() if asyncio.iscoroutinefunction(fn) else fn()
        if value <= target or time.monotonic() > deadline:
            return int(value)
        await asyncio.sleep(0.05)


@pytest.fixture
def environ() -> Iterator[dict[str, str]]:
    # A role of its own names the checks' sessions, so the count is exact even while other
    # tests use the same server. (application_name in SQL_URL would break svc-infra itself:
    # asyncpg.connect() takes no such keyword, and svc_nb now says so.)
    asyncio.run(_admin(f'CREATE ROLE "{APP_NAME}" LOGIN'))
    user_url = LOCAL_PG_URL.replace("://postgres@", f"://{APP_NAME}@")
    try:
        with Receiver(status=200) as receiver:
            yield _soak_environ(user_url, receiver.url)
    finally:
        asyncio.run(_admin(f'DROP ROLE IF EXISTS "{APP_NAME}"'))


def _soak_environ(sql_url: str, webhook_url: str) -> dict[str, str]:
    return {
        "SQL_URL": sql_url,
        "REDIS_URL": LOCAL_REDIS_URL,
        "SVC_NB_WEBHOOK_URL": webhook_url,
        "APP_ENV": "local",
    }


def shape(report: svc_nb.Report) -> tuple[str, ...]:
    return tuple(f.check for f in report)


def failures(report: svc_nb.Report) -> list[str]:
    return [f"{f.check}: {f.summary}" for f in report if f.status is Status.FAIL]


async def timed_diagnose(environ: dict[str, str], timeout: float) -> tuple[svc_nb.Report, float]:
    started = time.monotonic()
    report = await svc_nb.diagnose(environ, timeout=timeout)
    return report, time.monotonic() - started


async def test_sequential_soak(environ: dict[str, str]) -> None:
    first, _ = await timed_diagnose(environ, TIMEOUT_S)
    expected = shape(first)
    assert not failures(first), failures(first)
    assert {"db.auth", "cache.write", "webhooks.http"} <= set(expected), expected
    for _ in range(WARMUP_RUNS):
        await timed_diagnose(environ, TIMEOUT_S)
    gc.collect()
    rss0, fds0 = rss_mb(), fd_count()
    samples: list[float] = []
    slowest = 0.0
    started = time.monotonic()
    for i in range(SEQUENTIAL_RUNS):
        report, elapsed = await timed_diagnose(environ, TIMEOUT_S)
        slowest = max(slowest, elapsed)
        assert shape(report) == expected, f"run {i}: check ids changed"
        assert not failures(report), f"run {i}: {failures(report)}"
        if i % 25 == 24:
            gc.collect()
            samples.append(rss_mb())
    total = time.monotonic() - started
    gc.collect()
    growth = rss_mb() - rss0
    quarter = len(samples) // 4
    trend = samples[-1] - samples[quarter]
    assert growth < RSS_GROWTH_LIMIT_MB, (
        f"RSS grew {growth:.1f} MB over {SEQUENTIAL_RUNS} runs: {samples}"
    )
    assert trend < RSS_GROWTH_LIMIT_MB / 2, f"RSS still climbing late in the soak: {samples}"
    assert slowest <= TIMEOUT_S + 0.3, f"slowest run {slowest:.2f} s"
    fds = await settled(fd_count, fds0 + FD_SLACK)
    assert fds <= fds0 + FD_SLACK, f"open fds {fds0} -> {fds}"
    assert await settled(soak_sessions, 0) == 0, "PostgreSQL sessions left open by the checks"
    print(
        f"{SEQUENTIAL_RUNS} runs in {total:.1f} s ({total / SEQUENTIAL_RUNS * 1000:.0f} ms each), "
        f"RSS {rss0:.1f} -> {rss0 + growth:.1f} MB, fds {fds0} -> {fds}"
    )


async def test_concurrent_soak(environ: dict[str, str]) -> None:
    first, _ = await timed_diagnose(environ, TIMEOUT_S)
    expected = shape(first)
    fds0 = fd_count()
    rss_after: list[float] = []
    for batch in range(CONCURRENT_BATCHES):
        results = await asyncio.gather(
            *(timed_diagnose(environ, CONCURRENT_TIMEOUT_S) for _ in range(CONCURRENT_RUNS))
        )
        slowest = max(elapsed for _, elapsed in results)
        broken = {f for report, _ in results for f in failures(report)}
        assert all(shape(report) == expected for report, _ in results), (
            f"batch {batch}: check ids changed"
        )
        assert not broken, (
            f"batch {batch}: {len(broken)} distinct failures, e.g. {sorted(broken)[:5]}"
        )
        assert slowest <= CONCURRENT_TIMEOUT_S + 0.3, f"batch {batch}: slowest {slowest:.2f} s"
        del results
        gc.collect()
        rss_after.append(rss_mb())
    # The first batch sizes the heap for 50 concurrent checks (the warm-up); later ones must not grow it.
    growth = rss_after[-1] - rss_after[0]
    assert growth < RSS_GROWTH_LIMIT_MB / 2, (
        f"RSS after each batch of {CONCURRENT_RUNS}: {rss_after}"
    )
    fds = await settled(fd_count, fds0 + FD_SLACK)
    assert fds <= fds0 + FD_SLACK, f"open fds {fds0} -> {fds}"
    assert await settled(soak_sessions, 0) == 0, "PostgreSQL sessions left open by the checks"
    print(
        f"{CONCURRENT_BATCHES} batches of {CONCURRENT_RUNS}: RSS after each {rss_after}, fds {fds0} -> {fds}"
    )
