"""Benchmark items on the CPU side and on loopback, each returning a Row.

Every item runs against local services only (PostgreSQL and Redis on the
machine, HTTP servers on 127.0.0.1) and measures svc_nb and its baseline in
the same run. The SQL-backed items are in ``_items_sql``, the ones through a
latency-injecting proxy and whole processes in ``_items_remote``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks._data import PG_URL, REDIS_URL
from benchmarks._harness import Row, interleaved, median_time

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


def healthy_env(http_url: str, pg_url: str = PG_URL, redis_url: str = REDIS_URL) -> dict[str, str]:
    return {
        "SQL_URL": pg_url,
        "REDIS_URL": redis_url,
        "SVC_NB_WEBHOOK_URL": http_url,
        "AUTH_JWT__SECRET": SECRET,
        "APP_ENV": "local",
    }


def diagnose_vs_slowest(
    env: dict[str, str], repeat: int, timeout: float = 5.0
) -> tuple[float, dict[str, float]]:
    """Median time of ``diagnose(env)`` and of each registered probe alone."""
    import svc_nb
    from svc_nb import _diagnose

    names = _diagnose.registered_checks()
    builders = {n: _diagnose._builders[n][1] for n in names}

    def whole() -> None:
        svc_nb.run(svc_nb.diagnose(env, timeout=timeout))

    def one(name: str) -> None:
        async def go() -> Any:
            result = builders[name](env, timeout)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                return await result
            return result

        svc_nb.run(go())

    whole_s = median_time(whole, repeat=repeat)
    singles = {n: median_time(lambda n=n: one(n), repeat=repeat) for n in names}
    return whole_s, singles


def diagnose_concurrency(quick: bool = False) -> Row:
    """diagnose() on healthy PostgreSQL + Redis + HTTP on loopback vs its slowest single probe."""
    from svc_nb.webhooks import Receiver

    with Receiver() as receiver:
        whole_s, singles = diagnose_vs_slowest(healthy_env(receiver.url), 3 if quick else 7)
    slowest_name, slowest_s = max(singles.items(), key=lambda kv: kv[1])
    ratio = whole_s / slowest_s
    return Row(
        "1",
        "`await diagnose()` on healthy PostgreSQL + Redis + HTTP, all on loopback",
        f"its slowest single probe alone ({slowest_name})",
        ratio,
        "reported (CPU; #10b is the target)",
        None,
        note=f"diagnose {whole_s * 1000:.0f} ms vs slowest probe {slowest_s * 1000:.0f} ms "
        f"(sum of all probes {sum(singles.values()) * 1000:.0f} ms). On loopback nothing "
        "waits, so this measures CPU: one event loop runs the probes' Python one piece at a "
        "time, and diagnose() costs about the sum of their CPU; #10b measures the waiting",
    )


def diagnose_hung_peer(quick: bool = False) -> Row:
    """diagnose(timeout=T) with a database that accepts and never answers."""
    import svc_nb
    from tests._support import SilentServer

    timeout = 1.0
    samples = []
    with SilentServer() as silent:
        env = {
            "SQL_URL": f"postgresql://postgres@127.0.0.1:{silent.port}/test",
            "REDIS_URL": REDIS_URL,
        }
        for _ in range(1 if quick else 5):
            started = time.perf_counter()
            svc_nb.run(svc_nb.diagnose(env, timeout=timeout))
            samples.append(time.perf_counter() - started)
    worst = max(samples)
    over = worst - timeout
    return Row(
        "2",
        "`diagnose(timeout=T)`, one peer accepts and never answers",
        "T (1.0 s)",
        over,
        "≤ T + 0.3 s",
        over <= 0.3,
        unit="s over T",
        note=f"worst of {len(samples)} runs: {worst:.3f} s for T = {timeout} s",
    )


def token_inspect(quick: bool = False) -> Row:
    """tokens.inspect(token, key=…) throughput vs raw jwt.decode."""
    import jwt

    from svc_nb import tokens

    token = tokens.make({"sub": "user-1"}, secret=SECRET)
    sizes = [100, 1000, 10000] if not quick else [50, 500]
    scaling = []
    for n in sizes:

        def ours(n: int = n) -> None:
            for _ in range(n):
                tokens.inspect(token, key=SECRET)

        def raw(n: int = n) -> None:
            for _ in range(n):
                jwt.decode(token, SECRET, algorithms=["HS256"], audience="fastapi-users:auth")

        a, b = interleaved(ours, raw, repeat=2 if quick else 5)
        scaling.append((f"{n} tokens", a, b))
    _, a, b = scaling[-1]
    ratio = b / a  # throughput ratio: ours / raw
    return Row(
        "3",
        "`tokens.inspect(token, key=…)` throughput",
        "raw `jwt.decode` of the same token",
        ratio,
        "≥ 0.5×",
        ratio >= 0.5,
        scaling=scaling,
    )


def webhook_verify(quick: bool = False) -> Row:
    """webhooks.verify throughput on 1 KiB bodies vs raw hmac + compare_digest."""
    from svc_nb import webhooks

    event = {
        "topic": "invoice.paid",
        "payload": {"blob": "x" * 900, "id": 1},
        "version": 1,
        "created_at": "2026-11-30T00:00:00+00:00",
    }
    body = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    assert 900 < len(body) < 1100
    n = 2000 if quick else 20000
    key = SECRET.encode()
    ratios = {}
    scaling = []
    for scheme in ("svc-infra", "standard"):
        secret = (
            SECRET
            if scheme == "svc-infra"
            else "whsec_" + __import__("base64").b64encode(key).decode()
        )
        headers = webhooks.sign(body, secret, scheme=scheme)
        report = webhooks.verify(body, headers, secret, scheme=scheme)
        assert report.ok, str(report)
        now = time.time()

        def ours(
            headers: dict[str, str] = headers,
            secret: str = secret,
            scheme: str = scheme,
            now: float = now,
        ) -> None:
            for _ in range(n):  # as a receiver uses it: accept or reject on the verdict
                if not webhooks.verify(body, headers, secret, scheme=scheme, now=now).ok:
                    raise AssertionError("a valid delivery was rejected")

        expected = hmac.new(key, body, hashlib.sha256).hexdigest()

        def raw(expected: str = expected) -> None:
            for _ in range(n):
                hmac.compare_digest(hmac.new(key, body, hashlib.sha256).hexdigest(), expected)

        a, b = interleaved(ours, raw, repeat=3 if quick else 9)
        ratios[scheme] = b / a
        scaling.append((f"{scheme}, {n} × 1 KiB", a, b))
    worst = min(ratios.values())
    return Row(
        "4",
        "`webhooks.verify` throughput, 1 KiB body (svc-infra, standard)",
        "raw `hmac` + `compare_digest`",
        worst,
        "≥ 0.5×",
        worst >= 0.5,
        scaling=scaling,
        note=", ".join(f"{k} {v:.2f}×" for k, v in ratios.items()) + " (figure is the lower)",
    )


def deliver_many(quick: bool = False) -> Row:
    """deliver_many of 2 000 deliveries vs asyncio.gather over one shared httpx.AsyncClient."""
    import svc_nb
    from svc_nb import webhooks

    concurrency = 50
    sizes = [20, 200, 2000] if not quick else [20, 100]
    scaling = []
    with webhooks.Receiver() as receiver:
        for n in sizes:
            payloads = [{"n": i} for i in range(n)]

            def ours(payloads: list[dict[str, int]] = payloads) -> None:
                log = svc_nb.run(
                    webhooks.deliver_many(
                        receiver.url, payloads, SECRET, concurrency=concurrency, progress=False
                    )
                )
                assert len(log.attempts) == len(payloads)

            def gathered(payloads: list[dict[str, int]] = payloads) -> None:
                svc_nb.run(_gather_posts(receiver.url, payloads, concurrency))

            a, b = interleaved(ours, gathered, repeat=2 if quick else 5)
            scaling.append((f"{n} deliveries", a, b))
    _, a, b = scaling[-1]
    ratio = b / a
    return Row(
        "5",
        f"`deliver_many` of {sizes[-1]} deliveries to the local receiver",
        f"`asyncio.gather` of `post`s over one shared `httpx.AsyncClient`, {concurrency} at a "
        "time, no signing, no retries, no log",
        ratio,
        "≥ 0.9×",
        ratio >= 0.9,
        scaling=scaling,
        note=f"throughput {sizes[-1] / a:.0f} vs {sizes[-1] / b:.0f} deliveries/s: what signing, "
        "the retry policy and the attempt log cost on top of the bare posts",
    )


async def _gather_posts(url: str, payloads: list[dict[str, int]], concurrency: int) -> None:
    """What a competent user writes: one client, a semaphore, the same JSON bodies."""
    import httpx

    limiter = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def post(payload: dict[str, int]) -> None:
            event = {
                "topic": "test.event",
                "payload": payload,
                "version": 1,
                "created_at": "2026-11-30T00:00:00+00:00",
            }
            body = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
            async with limiter:
                response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()

        await asyncio.gather(*(post(p) for p in payloads))


def _synthetic_attempts(n: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    per = 4
    deliveries = max(n // per, 1)
    delivery = np.repeat(np.arange(deliveries), per)[:n]
    attempt = np.tile(np.arange(1, per + 1), deliveries)[:n]
    base = pd.Timestamp("2026-11-30", tz="UTC")
    scheduled = base + pd.to_timedelta(delivery * 5 + (attempt - 1) * attempt * 30, unit="s")
    outcomes = np.where(
        attempt == per, "delivered", rng.choice(["http_error", "timeout", "connect_error"], n)
    )
    return pd.DataFrame(
        {
            "delivery_id": [f"d{i}" for i in delivery],
            "attempt": attempt,
            "scheduled_at": scheduled,
            "started_at": scheduled,
            "duration_ms": rng.uniform(1, 500, n),
            "status_code": np.where(outcomes == "delivered", 200, 503),
            "outcome": outcomes,
            "error": "",
            "response_excerpt": "",
        }
    )


def attempt_timeline(quick: bool = False) -> Row:
    """attempt timeline of 100 000 attempts drawn to PNG vs a bare matplotlib scatter."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from svc_nb import plots

    sizes = [1000, 10000, 100000] if not quick else [1000]
    scaling = []
    for n in sizes:
        frame = _synthetic_attempts(n)
        x = frame["scheduled_at"].astype("int64").to_numpy() / 1e9
        y = frame["delivery_id"].str[1:].astype(int).to_numpy()

        def ours(frame: Any = frame) -> None:
            plots.attempt_timeline(frame).savefig(io.BytesIO(), format="png")

        def bare(x: Any = x, y: Any = y) -> None:
            fig = Figure(figsize=(10, 6))
            fig.add_subplot().scatter(x, y, s=4)
            fig.savefig(io.BytesIO(), format="png")

        a, b = interleaved(ours, bare, repeat=3)
        scaling.append((f"{n} attempts", a, b))
    _, a, b = scaling[-1]
    ratio = a / b
    return Row(
        "6",
        f"attempt timeline of {sizes[-1]} attempts (PNG)",
        "a bare matplotlib scatter",
        ratio,
        "≤ 3×",
        ratio <= 3,
        scaling=scaling,
    )


def _process_time(cmd: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def import_time(quick: bool = False) -> Row:
    """python -c "import svc_nb" vs python -c "import pandas"."""
    repeat = 2 if quick else 11
    ours = _process_time([sys.executable, "-c", "import svc_nb"], repeat)
    base = _process_time([sys.executable, "-c", "import pandas"], repeat)
    ratio = ours / base
    return Row(
        "8",
        '`python -c "import svc_nb"`',
        '`python -c "import pandas"`',
        ratio,
        "≤ 0.5×",
        ratio <= 0.5,
        note=f"{ours * 1000:.0f} ms vs {base * 1000:.0f} ms (whole processes)",
    )
