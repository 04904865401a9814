"""Real deliveries to local receivers: retries, Retry-After, 410, redirects, timeouts, logs."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from svc_nb.webhooks import (
    ATTEMPT_COLUMNS,
    AttemptsError,
    DeliveryLog,
    Receiver,
    Respond,
    RetryPolicy,
    WebhooksError,
    deliver,
    deliver_many,
    load_attempts,
    parse_retry_after,
)

SECRET = "whsec-test-delivery-9c1f"
FAST = 0.001  # svc-infra's minutes become tens of milliseconds


def _rx_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("svc_nb-r")]


# -- policies -------------------------------------------------------------------


def test_presets_are_the_documented_schedules() -> None:
    real = RetryPolicy.svc_infra()
    assert real.delays() == [60, 120, 180, 240]
    assert real.attempts == 5
    assert real.give_up_after() == 600
    assert RetryPolicy.guide().delays() == [5, 30, 300, 3600, 86400]
    std = RetryPolicy.standard_webhooks()
    assert std.delays() == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert std.attempts == 8
    assert RetryPolicy.svix().delays() == std.delays()
    sched = real.schedule()
    assert list(sched["at_s"]) == [0, 60, 180, 360, 600]


def test_exponential_caps_and_jitter_is_seeded() -> None:
    p = RetryPolicy.exponential(base=1, factor=10, max_delay=500, attempts=5)
    assert p.delays() == [1, 10, 100, 500]
    a = RetryPolicy.exponential(base=10, attempts=6, jitter=0.5, seed=7)
    b = RetryPolicy.exponential(base=10, attempts=6, jitter=0.5, seed=7)
    assert a.delays() == b.delays()
    assert a.delays() != a.nominal
    assert all(0.5 * n <= w <= 1.5 * n for w, n in zip(a.delays(), a.nominal, strict=True))
    with pytest.raises(WebhooksError, match="jitter"):
        RetryPolicy.exponential(jitter=2)


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Thu, 01 Jan 2026 00:02:00 GMT", now=now) == 120
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# -- deliveries against the receiver ----------------------------------------------------


async def test_fails_twice_then_succeeds_under_svc_infra_policy() -> None:
    with Receiver(fail_first=2, status=503, secret=SECRET) as rx:
        started = time.perf_counter()
        log = await deliver(rx.url, {"order": 1}, SECRET, time_scale=FAST, topic="order.paid")
        elapsed = time.perf_counter() - started
        received = rx.received
    df = log.attempts
    assert list(df.columns) == list(ATTEMPT_COLUMNS)
    assert list(df["outcome"]) == ["http_error", "http_error", "delivered"]
    assert list(df["status_code"]) == [503, 503, 200]
    assert log.delivered
    # nominal schedule kept: 60 s then 120 s after, although the run took well under a second
    gaps = df["scheduled_at"].diff().dt.total_seconds().tolist()[1:]
    assert gaps == [60.0, 120.0]
    assert elapsed < 3.0
    actual = df["started_at"].diff().dt.total_seconds().tolist()[1:]
    assert all(g < 5 for g in actual)
    # the receiver saw three signed attempts of one event, each verified with the secret
    assert list(received["attempt"]) == [1, 2, 3]
    assert received["signature_ok"].all()
    assert set(received["topic"]) == {"order.paid"}
    assert list(received["status"]) == [503, 503, 200]
    assert str(df["error"][0]) == "webhook delivery failed: 503"
    report = log.report()
    assert report["webhooks.delivery"].status.value == "ok"
    assert report["webhooks.delivery.server_error"].status.value == "warn"
    assert SECRET not in str(log) + log._repr_html_() + str(report)


async def test_wrong_secret_is_seen_by_the_receiver() -> None:
    with Receiver(secret=SECRET) as rx:
        await deliver(rx.url, {"x": 1}, "another-secret-entirely", time_scale=FAST)
        rec = rx.requests[0]
    assert rec.signature_ok is False
    assert rec.verification is not None and not rec.verification.ok


async def test_standard_webhooks_scheme_verifies() -> None:
    import base64

    secret = "whsec_" + base64.b64encode(b"standard-webhooks-key-123456").decode()
    with Receiver(secret=secret) as rx:
        log = await deliver(rx.url, {"x": 1}, secret, scheme="standard", time_scale=FAST)
        rec = rx.requests[0]
    assert log.delivered
    assert "webhook-signature" in rec.headers
    assert rec.signature_ok is True


async def test_retry_after_seconds_stretches_the_wait() -> None:
    with Receiver(behaviour=[Respond.retry_after(300), 200]) as rx:
        log = await deliver(rx.url, {}, SECRET, policy=[60, 60], time_scale=FAST)
    df = log.attempts
    assert list(df["status_code"]) == [503, 200]
    # the policy says 60 s; the endpoint asked for 300 s, and a generic policy honours it
    assert df["scheduled_at"].diff().dt.total_seconds().iloc[1] == 300.0


async def test_retry_after_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=200)
    with Receiver(behaviour=[Respond.retry_after(when, status=429), 200]) as rx:
        log = await deliver(rx.url, {}, SECRET, policy="standard-webhooks", time_scale=FAST)
    gap = log.attempts["scheduled_at"].diff().dt.total_seconds().iloc[1]
    assert 190 <= gap <= 200


async def test_410_stops_retrying_under_a_policy_that_says_so() -> None:
    with Receiver(behaviour=[500, 410, 200]) as rx:
        log = await deliver(rx.url, {}, SECRET, policy=[60, 60, 60], time_scale=FAST)
        seen = len(rx.requests)
    assert seen == 2
    assert list(log.attempts["status_code"]) == [500, 410]
    assert not log.delivered
    gone = log.report()["webhooks.delivery.gone"]
    assert (
        gone.status.value == "fail" and gone.cause == "gone" and "stopped retrying" in gone.detail
    )


async def test_svc_infra_policy_retries_410_and_ignores_retry_after() -> None:
    # svc-infra retries every non-2xx (410 included) and never reads Retry-After.
    policy = RetryPolicy.svc_infra()
    assert not policy.stop_on_gone and not policy.honour_retry_after
    assert "410 retried" in str(policy) and "Retry-After ignored" in str(policy)
    with Receiver(behaviour=[Respond.retry_after(900), 410, 200]) as rx:
        log = await deliver(rx.url, {}, SECRET, time_scale=FAST)
    df = log.attempts
    assert list(df["status_code"]) == [503, 410, 200]
    assert df["scheduled_at"].diff().dt.total_seconds().tolist()[1:] == [60.0, 120.0]
    assert log.delivered
    gone = log.report()["webhooks.delivery.gone"]
    assert gone.cause == "gone" and "retries it like any failure" in gone.detail


def test_every_preset_documents_its_410_and_retry_after_rules() -> None:
    for make in (
        RetryPolicy.svc_infra,
        RetryPolicy.guide,
        RetryPolicy.standard_webhooks,
        RetryPolicy.svix,
    ):
        doc = make.__doc__ or ""
        assert "410" in doc and "Retry-After" in doc, make.__name__
    assert (
        RetryPolicy.standard_webhooks().stop_on_gone
        and RetryPolicy.standard_webhooks().honour_retry_after
    )


async def test_redirect_is_a_failed_attempt_not_followed() -> None:
    with Receiver(behaviour=[Respond.redirect("/elsewhere"), 200]) as rx:
        log = await deliver(rx.url, {}, SECRET, time_scale=FAST)
        paths = [r.path for r in rx.requests]
    assert paths == ["/webhook", "/webhook"]  # never went to /elsewhere
    df = log.attempts
    assert df["outcome"].iloc[0] == "http_error"
    assert df["status_code"].iloc[0] == 301
    assert "/elsewhere" in df["error"].iloc[0]
    assert log.report()["webhooks.delivery.redirect"].status.value == "fail"


async def test_connection_closed_abruptly_is_connect_error() -> None:
    with Receiver(behaviour=["close", 200]) as rx:
        log = await deliver(rx.url, {}, SECRET, time_scale=FAST)
    df = log.attempts
    assert list(df["outcome"]) == ["connect_error", "delivered"]
    assert pd.isna(df["status_code"].iloc[0])
    assert "closed" in df["error"].iloc[0]


async def test_slow_endpoint_is_timeout_within_bound() -> None:
    with Receiver(behaviour=[Respond.hang(5.0), 200]) as rx:
        started = time.perf_counter()
        log = await deliver(rx.url, {}, SECRET, time_scale=FAST, timeout=0.3)
        elapsed = time.perf_counter() - started
    assert list(log.attempts["outcome"]) == ["timeout", "delivered"]
    assert elapsed < 0.3 + 0.3 + 1.0
    assert log.report()["webhooks.delivery.timeout"].status.value == "warn"


async def test_refused_port_exhausts_policy(refused_port: int) -> None:
    log = await deliver(
        f"http://127.0.0.1:{refused_port}/hook", {}, SECRET, policy=[1, 2], time_scale=FAST
    )
    df = log.attempts
    assert list(df["attempt"]) == [1, 2, 3]
    assert set(df["outcome"]) == {"connect_error"}
    assert log.report()["webhooks.delivery.connect"].status.value == "fail"


async def test_https_to_plain_http_is_tls_error() -> None:
    with Receiver() as rx:
        url = rx.url.replace("http://", "https://")
        log = await deliver(url, {}, SECRET, policy=[], time_scale=FAST, timeout=2)
    assert list(log.attempts["outcome"]) == ["tls_error"]


async def test_cancellation_mid_schedule_keeps_the_log() -> None:
    log = DeliveryLog()
    with Receiver(fail_first=10) as rx:
        task = asyncio.create_task(deliver(rx.url, {}, SECRET, time_scale=1.0, log=log))
        for _ in range(100):
            if len(log) >= 1:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert log.cancelled
    assert len(log) == 1  # the one attempt made; the 60 s wait was interrupted
    assert log.attempts["status_code"].iloc[0] == 500
    assert log.report()["webhooks.delivery.cancelled"].status.value == "warn"
    assert not _rx_threads()


async def test_deliver_many_shares_one_pool_and_bounds_concurrency() -> None:
    with Receiver(fail_first=1, secret=SECRET) as rx:
        log = await deliver_many(
            rx.url,
            [{"i": i} for i in range(120)],
            SECRET,
            concurrency=8,
            time_scale=0.0,
            progress=False,
        )
        connections = rx.connections
        received = rx.received
    assert log.delivered
    d = log.deliveries
    assert len(d) == 120
    assert (d["attempts"] == 2).all()
    assert len(log.attempts) == 240
    assert connections <= 8  # one pool, keep-alive reuse
    assert received["signature_ok"].all()


async def test_deliver_many_cancelled_in_flight_records_every_attempt() -> None:
    log = DeliveryLog()
    with Receiver(behaviour=[Respond.hang(3.0)]) as rx:
        batch = deliver_many(
            rx.url, [{} for _ in range(6)], SECRET, concurrency=3, progress=False, log=log
        )
        task = asyncio.create_task(batch)
        for _ in range(100):
            if len(rx.requests) >= 3:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    df = log.attempts
    assert log.cancelled
    assert len(df) == 3
    assert set(df["outcome"]) == {"cancelled"}


def test_receiver_shuts_down_cleanly() -> None:
    rx = Receiver()
    with rx:
        client = httpx.Client()
        client.post(rx.url, content=b"{}")  # leaves a keep-alive connection open
    assert not _rx_threads()
    client.close()
    with pytest.raises(WebhooksError):
        _ = rx.url


def test_misuse_is_a_clear_error() -> None:
    with pytest.raises(WebhooksError, match="http"):
        asyncio.run(deliver("ftp://x", {}, SECRET))
    with pytest.raises(WebhooksError, match="secret"):
        asyncio.run(deliver("http://127.0.0.1:1/", {}, ""))
    with pytest.raises(WebhooksError, match="unknown retry policy"):
        asyncio.run(deliver("http://127.0.0.1:1/", {}, SECRET, policy="nope"))


# -- logs: save/load round trips and load_attempts --------------------------------------------


@pytest.fixture
def mixed_log() -> DeliveryLog:
    async def make() -> DeliveryLog:
        with Receiver(behaviour=[503, "close", 200]) as rx:
            return await deliver_many(
                rx.url, [{"i": i} for i in range(3)], SECRET, time_scale=FAST, progress=False
            )

    return asyncio.run(make())


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_save_load_round_trip_is_exact(mixed_log: DeliveryLog, tmp_path: Path, suffix: str) -> None:
    path = mixed_log.save(tmp_path / f"log{suffix}")
    back = DeliveryLog.load(path)
    original = mixed_log.attempts
    pd.testing.assert_frame_equal(back.attempts, original)
    assert str(back.attempts["started_at"].dt.tz) == "UTC"
    assert back.attempts["status_code"].dtype == "Int64"
    assert back.attempts["status_code"].isna().sum() == 3  # the dropped connections
    # and load_attempts reads the same file to the same frame
    pd.testing.assert_frame_equal(load_attempts(path), original)


def test_load_attempts_maps_columns_and_reports_bad_rows() -> None:
    raw = pd.DataFrame(
        {
            "id": ["a", "a", "b", "c"],
            "try": [1, 2, "x", 1],
            "at": [
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:01:00Z",
                "2026-01-01T00:00:00Z",
                "not a time",
            ],
            "code": [500, 200, 200, 200],
        }
    )
    df = load_attempts(
        raw,
        columns={"id": "delivery_id", "try": "attempt", "at": "started_at", "code": "status_code"},
    )
    assert list(df.columns) == list(ATTEMPT_COLUMNS)
    assert list(df["outcome"]) == ["http_error", "delivered"]  # derived from the status code
    bad = df.attrs["bad_rows"]
    assert list(bad["row"]) == [2, 3]
    assert "attempt" in bad["reason"].iloc[0]
    assert "started_at" in bad["reason"].iloc[1]
    assert df.attrs["report"]["webhooks.attempts.load"].status.value == "warn"


def test_load_attempts_names_missing_columns() -> None:
    with pytest.raises(AttemptsError, match=r"delivery_id.*columns present: foo"):
        load_attempts(
            pd.DataFrame(
                {"foo": [1], "attempt": [1], "started_at": ["2026-01-01"], "outcome": ["delivered"]}
            )
        )
    with pytest.raises(AttemptsError, match=r"\.csv or \.jsonl"):
        load_attempts("attempts.parquet")


def test_load_attempts_from_postgres(pg_url: str) -> None:
    import asyncpg

    table = f"svcnb_attempts_{uuid.uuid4().hex[:8]}"

    async def setup() -> None:
        conn = await asyncpg.connect(pg_url)
        try:
            await conn.execute(
                f"CREATE TABLE {table} (delivery text, n int, at timestamptz, ms float8, code int, result text)"
            )
            await conn.executemany(
                f"INSERT INTO {table} VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    ("d1", 1, datetime(2026, 1, 1, tzinfo=UTC), 12.5, 503, "http_error"),
                    ("d1", 2, datetime(2026, 1, 1, 0, 1, tzinfo=UTC), 8.0, 200, "delivered"),
                    ("d2", 1, datetime(2026, 1, 1, tzinfo=UTC), None, None, "timeout"),
                ],
            )
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(pg_url)
        try:
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            await conn.close()

    asyncio.run(setup())
    try:
        df = load_attempts(
            (pg_url, f"SELECT * FROM {table} ORDER BY delivery, n"),
            columns={
                "delivery": "delivery_id",
                "n": "attempt",
                "at": "started_at",
                "ms": "duration_ms",
                "code": "status_code",
                "result": "outcome",
            },
        )
        assert list(df["delivery_id"]) == ["d1", "d1", "d2"]
        assert list(df["outcome"]) == ["http_error", "delivered", "timeout"]
        assert df["status_code"].dtype == "Int64" and pd.isna(df["status_code"].iloc[2])
        assert str(df["started_at"].dt.tz) == "UTC"
        with pytest.raises(AttemptsError, match="cannot read attempts"):
            load_attempts(url=pg_url, sql="SELECT * FROM no_such_table_svcnb")
    finally:
        asyncio.run(drop())


# -- trust: misuse, hostile peers, messy logs ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://127.0.0.1:99999/hook", "port"),
        ("http://[::1", "malformed"),
        ("http://[::1/x", "malformed"),
        ("http://127.0.0.1:0/x", "port"),
        ("http:///x", "host"),
        ("http://127.0.0.1:abc/x", "port"),
    ],
)
def test_unusable_url_is_a_clear_error(url: str, named: str) -> None:
    # port 99999 used to escape as ExceptionGroup(OverflowError) from the connect
    with pytest.raises(WebhooksError, match=named):
        asyncio.run(deliver(url, {}, SECRET, policy=[]))
    with pytest.raises(WebhooksError, match=named):
        asyncio.run(deliver_many(url, [{}], SECRET, policy=[], progress=False))


def test_non_finite_numbers_are_refused_at_once() -> None:
    for kwargs in (
        {"timeout": float("nan")},
        {"timeout": float("inf")},
        {"timeout": 0},
        {"time_scale": float("nan")},
        {"time_scale": -1},
        {"policy": [float("nan")]},
    ):
        with pytest.raises(ValueError):
            asyncio.run(deliver("http://127.0.0.1:1/", {}, SECRET, **kwargs))  # type: ignore[arg-type]
    for timeout in ("5", None):
        with pytest.raises(TypeError, match="timeout"):
            asyncio.run(deliver("http://127.0.0.1:1/", {}, SECRET, timeout=timeout))  # type: ignore[arg-type]
    with pytest.raises(WebhooksError, match="JSON"):
        asyncio.run(deliver("http://127.0.0.1:1/", {"x": float("nan")}, SECRET))
    with pytest.raises(WebhooksError, match="nested too deeply"):
        deep: Any = []
        for _ in range(100_000):
            deep = [deep]
        asyncio.run(deliver_many("http://127.0.0.1:1/", [deep], SECRET, progress=False))


async def test_trickling_answer_is_bounded_by_the_timeout() -> None:
    from tests._fault_support import Peer

    # The peer sends one byte every 0.1 s: each read succeeds, so only a bound on the
    # whole attempt stops it (it used to take 1.2 s per attempt, 1.4 s in all).
    with Peer("trickle", delay=0.1) as peer:
        started = time.perf_counter()
        log = await deliver(peer.url, {}, SECRET, policy=[], timeout=1)
        elapsed = time.perf_counter() - started
    df = log.attempts
    assert list(df["outcome"]) == ["timeout"]
    assert df["duration_ms"].iloc[0] < 1000 + 100
    assert elapsed < 1.0 + 0.3
    assert log.report()["webhooks.delivery.timeout"].cause == "timeout"


def test_loading_a_messy_csv_gives_findings_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "messy.csv"
    path.write_text(
        "delivery_id,attempt,started_at,status_code,duration_ms,outcome\n"
        "a,1,2026-01-01T00:00:00Z,503,12.5,http_error\n"
        "a,2,2026-01-01T00:01:00Z,200,8,delivered\n"
        "b,x,garbage,abc,NaN,delivered\n"
        "c,,,,,\n"
        "d,1,2026-01-01T00:00:00Z,99999,inf,exploded\n"
        "e,1e300,2026-01-01T00:00:00Z,200,-5,delivered\n",
        encoding="utf-8",
    )
    log = DeliveryLog.load(path)
    assert list(log.attempts["delivery_id"]) == ["a", "a"]
    report = log.report()
    load = report["webhooks.attempts.load"]
    assert load.status.value == "warn" and load.cause == "bad_rows"
    assert "row 2" in load.detail and "attempt is not a positive integer" in load.detail
    assert report["webhooks.delivery"].status.value == "ok"
    # missing columns: a clear error naming them, not a pandas KeyError
    bare = tmp_path / "bare.csv"
    bare.write_text("foo,bar\n1,2\nNaN,\n", encoding="utf-8")
    with pytest.raises(AttemptsError, match=r"missing attempt column\(s\) delivery_id, attempt"):
        DeliveryLog.load(bare)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage\x00" * 100)
    with pytest.raises(WebhooksError):
        DeliveryLog.load(binary)


async def test_on_progress_is_called_with_done_and_total() -> None:
    seen: list[tuple[int, int]] = []
    with Receiver() as rx:
        log = await deliver_many(
            rx.url,
            [{"i": i} for i in range(5)],
            SECRET,
            time_scale=0.0,
            on_progress=lambda done, total: seen.append((done, total)),
        )
    assert log.delivered
    assert seen[0] == (0, 5) and seen[-1] == (5, 5) and len(seen) == 6


def test_delivery_code_has_no_view_imports() -> None:
    import ast

    import svc_nb.webhooks._delivery as delivery

    tree = ast.parse(Path(delivery.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("ipywidgets", "IPython")}
    # outside a kernel no bar is made, even when asked for
    assert delivery._default_progress(10, True) is None


def test_progress_bar_widget_follows_the_callback() -> None:
    from svc_nb.widgets import progress_bar

    bar = progress_bar(4, description="deliveries", display=False)
    bar(0, 4)
    bar(4, 4)
    assert bar.widget.value == 4 and bar.widget.max == 4 and bar.widget.bar_style == "success"


async def test_delivery_report_causes() -> None:
    with Receiver(behaviour=[401, Respond.redirect("/x"), 404, 503]) as rx:
        log = await deliver(rx.url, {}, SECRET, policy=[1, 1, 1], time_scale=FAST)
    report = log.report()
    causes = {f.check: f.cause for f in report}
    assert causes == {
        "webhooks.delivery": "not_delivered",
        "webhooks.delivery.rejected": "auth",
        "webhooks.delivery.redirect": "redirect",
        "webhooks.delivery.client_error": "client_error",
        "webhooks.delivery.server_error": "server_error",
    }
    assert DeliveryLog().report()["webhooks.delivery"].cause == "no_attempts"
