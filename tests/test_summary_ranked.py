"""Summaries in PostgreSQL: percentiles ranked from the histogram, and the statement run alongside.

``percentile_cont`` is the oracle: the ranked percentiles must equal it to the
last bit on awkward data (ties, zeros, negatives, NULLs, bin edges, integer
and numeric columns, groups of one), and fall back to it, never guess, when
the histogram cannot account for every row.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from svc_nb.webhooks import AttemptsError, _summary_tables, summarize_attempts
from svc_nb.webhooks._summary_sql import BINS_PER_E

pytest.importorskip("psycopg")

# Durations chosen to be hard: exact bin edges, ties, zero, negatives, NULLs, a huge value.
_EDGES = [math.exp(b / BINS_PER_E) for b in (-3, 0, 1, 17, 40)]
_AWKWARD = [0.0, -5.0, None, 1.0, 1.0, 1.0, 2.5, 1e9, 0.001, *_EDGES, *_EDGES]


@pytest.fixture
def engine(pg_url: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield eng
    eng.dispose()


def _make(engine: sa.Engine, rows: list[dict[str, Any]], duration_type: str) -> str:
    name = f"svcnb_ranked_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"CREATE TABLE {name} (delivery_id text, attempt int, started_at timestamptz, "
                f"duration_ms {duration_type}, outcome text, topic text)"
            )
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {name} VALUES (:delivery_id, :attempt, "
                "timestamptz '2026-11-30' + :attempt * interval '1 minute', "
                ":duration_ms, :outcome, :topic)"
            ),
            rows,
        )
    return name


def _rows(durations: list[float | None], topics: list[str | None]) -> list[dict[str, Any]]:
    return [
        {
            "delivery_id": f"d{i // 2}",
            "attempt": 1 + i % 2,
            "duration_ms": d,
            "outcome": "delivered" if i % 2 else "timeout",
            "topic": topics[i % len(topics)],
        }
        for i, d in enumerate(durations)
    ]


def _oracle(engine: sa.Engine, table: str, by: str | None) -> pd.DataFrame:
    """percentile_cont itself, per group."""
    key = f"{by} AS by, " if by else ""
    group = f"GROUP BY {by}" if by else ""
    sql = (
        f"SELECT {key}percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms, "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY duration_ms) AS p90_ms, "
        "percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms, "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99_ms "
        f"FROM {table} {group}"
    )
    with engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the ranked path answered, and how often it handed back to percentile_cont."""
    calls = {"ranked": 0, "fallback": 0}
    real = _summary_tables.ranked_percentiles

    def counted(*args: Any) -> Any:
        result = real(*args)
        calls["ranked" if result is not None else "fallback"] += 1
        return result

    monkeypatch.setattr(_summary_tables, "ranked_percentiles", counted)
    return calls


def _drop(engine: sa.Engine, table: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))


@pytest.mark.parametrize("duration_type", ["double precision", "numeric", "real"])
@pytest.mark.parametrize("by", [None, "topic"])
def test_ranked_percentiles_equal_percentile_cont(
    pg_url: str, engine: sa.Engine, spy: dict[str, int], duration_type: str, by: str | None
) -> None:
    durations = _AWKWARD * 7 + [float(i % 13) for i in range(200)]
    table = _make(engine, _rows(durations, ["a", "b", None, "c"]), duration_type)
    try:
        summary = summarize_attempts(pg_url, table=table, by=by, bucket="1h")
        oracle = _oracle(engine, table, by)
    finally:
        _drop(engine, table)
    assert spy == {"ranked": 1, "fallback": 0}
    ours = summary.totals.rename(columns={"by": "by"})
    columns = ["p50_ms", "p90_ms", "p95_ms", "p99_ms"]
    if by is None:
        assert ours[columns].iloc[0].tolist() == oracle[columns].iloc[0].astype(float).tolist()
    else:
        mine = ours.set_index("by")[columns].sort_index(na_position="first")
        theirs = oracle.set_index("by")[columns].astype(float).sort_index(na_position="first")
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True, check_names=False)


def test_groups_of_one_and_groups_without_timings(
    pg_url: str, engine: sa.Engine, spy: dict[str, int]
) -> None:
    rows = _rows([42.0, None, None, 7.0, 7.0], ["one", "none", "none", "two", "two"])
    rows[0]["topic"], rows[1]["topic"], rows[2]["topic"] = "one", "none", "none"
    rows[3]["topic"] = rows[4]["topic"] = "two"
    table = _make(engine, rows, "double precision")
    try:
        totals = summarize_attempts(pg_url, table=table, by="topic").totals.set_index("by")
    finally:
        _drop(engine, table)
    assert spy["ranked"] == 1
    assert totals.loc["one", "p99_ms"] == 42.0 and totals.loc["two", "p50_ms"] == 7.0
    assert totals.loc["none", ["p50_ms", "p99_ms"]].isna().all()


def test_nan_durations_hand_back_to_percentile_cont(
    pg_url: str, engine: sa.Engine, spy: dict[str, int]
) -> None:
    """NaN has no bin PostgreSQL and pandas agree on: the exact sort answers instead."""
    table = _make(engine, _rows([1.0, 2.0, float("nan"), 3.0] * 5, ["t"]), "double precision")
    try:
        summary = summarize_attempts(pg_url, table=table)
        oracle = _oracle(engine, table, None)
    finally:
        _drop(engine, table)
    assert spy == {"ranked": 0, "fallback": 1}
    assert summary.totals["p50_ms"].iloc[0] == float(oracle["p50_ms"].iloc[0])
    assert math.isnan(summary.totals["p99_ms"].iloc[0])  # NaN sorts last, as percentile_cont says


def test_the_per_delivery_statement_runs_on_a_second_connection_in_the_same_snapshot(
    pg_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alongside, on another backend; and what it reads is what the first statement read."""
    table = _make(engine, _rows([float(i) for i in range(40)], ["t"]), "double precision")
    seen: list[tuple[int, int]] = []
    real = _summary_tables._without_workers

    def spied(conn: Any, query: Any) -> Any:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        # A row committed now, after the snapshot was taken, must not be counted.
        with engine.begin() as other:
            other.execute(
                sa.text(f"INSERT INTO {table} VALUES ('late', 1, now(), 1.0, 'delivered', 't')")
            )
        seen.append((pid, threading.get_ident()))
        return real(conn, query)

    monkeypatch.setattr(_summary_tables, "_without_workers", spied)
    try:
        summary = summarize_attempts(pg_url, table=table)
    finally:
        _drop(engine, table)
    assert len(seen) == 1 and seen[0][1] != threading.get_ident()
    assert summary.attempts == 40 and summary.deliveries == 20  # the late row is in neither


def test_a_callers_transaction_is_summarised_on_its_own_connection(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its uncommitted rows are visible only to it: nothing runs on a second connection."""
    table = _make(engine, _rows([1.0, 2.0, 3.0, 4.0], ["t"]), "double precision")
    threads: list[int] = []
    real = _summary_tables._without_workers
    monkeypatch.setattr(
        _summary_tables,
        "_without_workers",
        lambda conn, q: threads.append(threading.get_ident()) or real(conn, q),
    )
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"INSERT INTO {table} VALUES ('mine', 1, now(), 9.0, 'delivered', 't')")
            )
            summary = summarize_attempts(conn, table=table)
    finally:
        _drop(engine, table)
    assert threads == [threading.get_ident()]
    assert summary.attempts == 5


def _threads_of_the_per_delivery_statement(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    threads: list[int] = []
    real = _summary_tables._without_workers
    monkeypatch.setattr(
        _summary_tables,
        "_without_workers",
        lambda conn, q: threads.append(threading.get_ident()) or real(conn, q),
    )
    return threads


def test_a_callers_engine_is_not_given_a_second_connection(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its pool is the caller's: a second connection could wait for a free slot."""
    table = _make(engine, _rows([1.0, 2.0, 3.0, 4.0], ["t"]), "double precision")
    threads = _threads_of_the_per_delivery_statement(monkeypatch)
    try:
        summary = summarize_attempts(engine, table=table)
    finally:
        _drop(engine, table)
    assert threads == [threading.get_ident()] and summary.attempts == 4


def test_a_snapshot_the_server_refuses_leaves_the_summary_on_one_connection(
    pg_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second connection that cannot share the snapshot is dropped, not an error."""
    from svc_nb.webhooks import _summary_source

    table = _make(engine, _rows([1.0, 2.0, 3.0, 4.0], ["t"]), "double precision")
    threads = _threads_of_the_per_delivery_statement(monkeypatch)
    real = _summary_source.import_snapshot
    # A well-formed id of no exported snapshot: the real server refuses it.
    monkeypatch.setattr(
        _summary_source, "import_snapshot", lambda twin, _id: real(twin, "00000003-0000001B-1")
    )
    try:
        summary = summarize_attempts(pg_url, table=table)
    finally:
        _drop(engine, table)
    assert threads == [threading.get_ident()] and summary.attempts == 4


def test_a_failure_cancels_the_statement_running_alongside(pg_url: str) -> None:
    """The other statement is stopped on the server, not waited for."""
    eng = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    started = time.perf_counter()
    try:
        with (
            eng.connect() as twin,
            pytest.raises(AttemptsError, match="boom"),
            _summary_tables._alongside(twin) as later,
        ):
            later(lambda on: on.execute(sa.text("SELECT pg_sleep(30)")))
            time.sleep(0.3)  # the sleep is running on the server
            raise AttemptsError("boom")
    finally:
        eng.dispose()
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(("threshold", "expected"), [(10, "on"), (10**9, "off")])
def test_jit_compiles_the_aggregates_only_for_many_rows(
    pg_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, threshold: int, expected: str
) -> None:
    """The row count the totals found decides, on both connections."""
    table = _make(engine, _rows([float(i) for i in range(40)], ["t"]), "double precision")
    monkeypatch.setattr(_summary_tables, "_JIT_MIN_ROWS", threshold)
    seen: list[str] = []
    real_workers = _summary_tables._without_workers

    def spied(conn: Any, query: Any) -> Any:
        seen.append(conn.execute(sa.text("SHOW jit")).scalar_one())
        return real_workers(conn, query)

    monkeypatch.setattr(_summary_tables, "_without_workers", spied)
    try:
        summary = summarize_attempts(pg_url, table=table)
    finally:
        _drop(engine, table)
    assert seen == [expected] and summary.attempts == 40
