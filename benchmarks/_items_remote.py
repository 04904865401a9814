"""Items where waiting dominates: services 10 ms away, and whole command-line processes.

Each service sits behind a :class:`~benchmarks._proxy.LatencyProxy` on
loopback that holds every chunk 10 ms in each direction, so a round trip costs
20 ms: what a user waits for against a database in the next availability zone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from benchmarks._data import PG_URL, REDIS_URL
from benchmarks._harness import Row, interleaved
from benchmarks._items import diagnose_vs_slowest, healthy_env
from benchmarks._proxy import LatencyProxy

DELAY_S = 0.010  # each way


def _port(url: str, default: int) -> int:
    hostport = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    return int(hostport.rsplit(":", 1)[1]) if ":" in hostport else default


@contextmanager
def _remote_services() -> Iterator[tuple[str, str, str]]:
    """PostgreSQL, Redis and a webhook receiver, each behind its own 10 ms proxy."""
    from svc_nb.webhooks import Receiver

    with ExitStack() as stack:
        pg = stack.enter_context(LatencyProxy(_port(PG_URL, 5432), delay=DELAY_S))
        redis = stack.enter_context(LatencyProxy(_port(REDIS_URL, 6379), delay=DELAY_S))
        receiver = stack.enter_context(Receiver())
        http = stack.enter_context(LatencyProxy(_port(receiver.url, 80), delay=DELAY_S))
        pg_url = PG_URL.replace(f":{_port(PG_URL, 5432)}/", f":{pg.port}/", 1)
        redis_url = REDIS_URL.replace(f":{_port(REDIS_URL, 6379)}/", f":{redis.port}/", 1)
        http_url = receiver.url.replace(f":{_port(receiver.url, 80)}", f":{http.port}", 1)
        yield pg_url, redis_url, http_url


async def _bare_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


async def _bare_redis(url: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)  # redis-py's defaults, as a user writes it
    try:
        await client.ping()
    finally:
        await client.aclose()


def checks_through_proxy(quick: bool = False) -> Row:
    """db.check and cache.check 10 ms away vs a bare connect + SELECT 1 / PING through the same proxy."""
    import svc_nb
    from svc_nb import cache, db

    repeat = 2 if quick else 9
    with _remote_services() as (pg_url, redis_url, _):
        db_report = svc_nb.run(db.check(pg_url))
        cache_report = svc_nb.run(cache.check(redis_url))
        assert db_report["db.server"].status.value == "ok", str(db_report)
        assert cache_report["cache.connect"].status.value == "ok", str(cache_report)
        db_s, bare_pg_s = interleaved(
            lambda: svc_nb.run(db.check(pg_url)), lambda: svc_nb.run(_bare_postgres(pg_url)), repeat
        )
        cache_s, bare_redis_s = interleaved(
            lambda: svc_nb.run(cache.check(redis_url)),
            lambda: svc_nb.run(_bare_redis(redis_url)),
            repeat,
        )
    db_ratio, cache_ratio = db_s / bare_pg_s, cache_s / bare_redis_s
    worst = max(db_ratio, cache_ratio)
    return Row(
        "10",
        "`db.check` and `cache.check` on healthy servers 10 ms away (each way)",
        "a bare asyncpg connect + `SELECT 1` + close, and a fresh redis-py client's `PING` + close, "
        "through the same proxy",
        worst,
        "≤ 1.5× each",
        worst <= 1.5,
        scaling=[("db.check", db_s, bare_pg_s), ("cache.check", cache_s, bare_redis_s)],
        note=f"db.check {db_ratio:.2f}× ({db_s * 1000:.0f} vs {bare_pg_s * 1000:.0f} ms), cache.check "
        f"{cache_ratio:.2f}× ({cache_s * 1000:.0f} vs {bare_redis_s * 1000:.0f} ms); figure is the "
        "higher. Same findings as on loopback: the queries after login go as one batch, the Redis "
        "commands after the latency samples as one pipeline, and no HELLO / CLIENT round trips",
    )


def diagnose_through_proxy(quick: bool = False) -> Row:
    """diagnose() with every service 10 ms away vs its slowest single probe."""
    with _remote_services() as (pg_url, redis_url, http_url):
        env = healthy_env(http_url, pg_url=pg_url, redis_url=redis_url)
        whole_s, singles = diagnose_vs_slowest(env, 2 if quick else 7)
    slowest_name, slowest_s = max(singles.items(), key=lambda kv: kv[1])
    ratio = whole_s / slowest_s
    return Row(
        "10b",
        "`await diagnose()` with PostgreSQL, Redis and HTTP each 10 ms away",
        f"its slowest single probe alone ({slowest_name}), through the same proxies",
        ratio,
        "≤ 1.2×",
        ratio <= 1.2,
        note=f"diagnose {whole_s * 1000:.0f} ms vs slowest probe {slowest_s * 1000:.0f} ms; the "
        f"probes one after another would take {sum(singles.values()) * 1000:.0f} ms",
    )


def _process_s(cmd: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(cmd, capture_output=True, env=env, check=False)


def doctor_process(quick: bool = False) -> Row:
    """svc-nb doctor whole process vs pg_isready + redis-cli ping, one after another."""
    from svc_nb.webhooks import Receiver

    repeat = 1 if quick else 7
    missing = [t for t in ("pg_isready", "redis-cli") if shutil.which(t) is None]
    if missing:
        return Row(
            "9",
            "`svc-nb doctor` whole process",
            "`pg_isready` + `redis-cli ping`",
            float("nan"),
            "≤ 6×",
            None,
            note=f"skipped: {', '.join(missing)} not installed",
        )
    pg_port, redis_port = str(_port(PG_URL, 5432)), str(_port(REDIS_URL, 6379))
    with Receiver() as receiver:
        env = {**_with_bytecode(os.environ), **healthy_env(receiver.url)}
        doctor = [sys.executable, "-m", "svc_nb", "doctor", "--json"]

        def manual() -> None:
            _process_s(["pg_isready", "-h", "127.0.0.1", "-p", pg_port])
            _process_s(["redis-cli", "-h", "127.0.0.1", "-p", redis_port, "ping"])

        a, b = interleaved(lambda: _process_s(doctor, env), manual, repeat=repeat)
        heavy = _heavy_imports(env)
    ratio = a / b
    return Row(
        "9",
        "`svc-nb doctor` whole process on healthy services",
        "`pg_isready` + `redis-cli ping`, one after another",
        ratio,
        "≤ 6×",
        ratio <= 6,
        note=f"doctor {a * 1000:.0f} ms (every section's checks) vs {b * 1000:.0f} ms for two bare "
        f"pings; the doctor process imports {heavy or 'none of pandas, matplotlib, ipywidgets'}; "
        "bytecode cached, as in an installed package (PYTHONDONTWRITEBYTECODE dropped for the "
        "doctor process, whose warm-up run writes it)",
    )


def _with_bytecode(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without PYTHONDONTWRITEBYTECODE.

    With it set, every run compiles each svc_nb module from source again: a
    cost no user of an installed package (whose bytecode pip wrote) ever pays.
    """
    return {k: v for k, v in environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _heavy_imports(env: dict[str, str]) -> str:
    """Which of pandas, matplotlib, ipywidgets a doctor run imports."""
    code = (
        "import sys, runpy, contextlib, io\n"
        "sys.argv = ['svc-nb', 'doctor', '--json']\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    runpy.run_module('svc_nb', run_name='__main__')\n"
        "print(','.join(m for m in ('pandas', 'matplotlib', 'ipywidgets') if m in sys.modules))\n"
    )
    out: Any = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    return str(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "")
