"""Summaries in PostgreSQL: percentiles ranked from the histogram, and the statement run alongside.

``percentile_cont`` is the oracle: the ranked percentiles must equal it to the
last bit on awkward data (ties, zeros, negatives, NULLs, bin edges, integer
and numeric columns, groups of one), and fall back to it, never guess, when
the histogram cannot account for every row. The second connection must read
the first one's snapshot, and every way it can fail (refused, cancelled, timed
out, interrupted) must end in a clear error or one connection, with no backend
left running.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from svc_nb._redact import isolated_registry
from svc_nb.webhooks import (
    AttemptsError,
    _summary_percentiles,
    _summary_source,
    _summary_tables,
    summarize_attempts,
)
from svc_nb.webhooks._summary_sql import BINS_PER_E

pytest.importorskip("psycopg")

# Durations chosen to be hard: exact bin edges, ties, zero, negatives, NULLs, a huge value.
_EDGES = [math.exp(b / BINS_PER_E) for b in (-3, 0, 1, 17, 40)]
_AWKWARD = [0.0, -5.0, None, 1.0, 1.0, 1.0, 2.5, 1e9, 0.001, *_EDGES, *_EDGES]
_P = ["p50_ms", "p90_ms", "p95_ms", "p99_ms"]

MakeTable = Callable[..., str]


@pytest.fixture
def make_table(engine: sa.Engine) -> Iterator[MakeTable]:
    """``make_table(rows, duration_type)``: a fresh attempts table, dropped after the test."""
    made: list[str] = []

    def make(rows: list[dict[str, Any]], duration_type: str = "double precision") -> str:
        name = f"svcnb_ranked_{uuid.uuid4().hex[:8]}"
        made.append(name)
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

    yield make
    with engine.begin() as conn:
        for name in made:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))


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


def _few(n: int = 40) -> list[dict[str, Any]]:
    return _rows([float(i) for i in range(n)], ["t"])


def _oracle(engine: sa.Engine, table: str, by: str | None) -> pd.DataFrame:
    """percentile_cont itself, per group."""
    key = f"{by} AS by, " if by else ""
    group = f"GROUP BY {by}" if by else ""
    figures = ", ".join(
        f"percentile_cont({q}) WITHIN GROUP (ORDER BY duration_ms) AS {name}"
        for q, name in zip((0.5, 0.9, 0.95, 0.99), _P, strict=True)
    )
    with engine.connect() as conn:
        return pd.read_sql(sa.text(f"SELECT {key}{figures} FROM {table} {group}"), conn)


def _assert_equal_to_oracle(totals: pd.DataFrame, oracle: pd.DataFrame, by: str | None) -> None:
    """Bit for bit: check_exact, and NaN only where percentile_cont has NaN."""
    if by is None:
        mine, theirs = totals[_P].reset_index(drop=True), oracle[_P].astype(float)
    else:
        mine = totals.set_index("by")[_P].sort_index(na_position="first")
        theirs = oracle.set_index("by")[_P].astype(float).sort_index(na_position="first")
    pd.testing.assert_frame_equal(mine, theirs, check_exact=True, check_names=False)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """How often the ranked path answered, how often it handed back, and the backend it ran on."""
    calls: dict[str, Any] = {"ranked": 0, "fallback": 0, "pids": []}
    real = _summary_tables.ranked_percentiles

    def counted(conn: Any, *args: Any) -> Any:
        calls["pids"].append(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        result = real(conn, *args)
        calls["ranked" if result is not None else "fallback"] += 1
        return result

    monkeypatch.setattr(_summary_tables, "ranked_percentiles", counted)
    return calls


@dataclass
class PerDelivery:
    """Where the per-delivery statement ran: thread, backend and JIT setting, per call."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    before: Callable[[], None] | None = None  # run on its connection's thread, first

    @property
    def threads(self) -> list[int]:
        return [c["thread"] for c in self.calls]


@pytest.fixture
def per_delivery(monkeypatch: pytest.MonkeyPatch) -> PerDelivery:
    record = PerDelivery()
    real = _summary_tables._without_workers

    def spied(conn: Any, query: Any) -> Any:
        if record.before is not None:
            record.before()
        record.calls.append(
            {
                "thread": threading.get_ident(),
                "pid": conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one(),
                "jit": conn.execute(sa.text("SHOW jit")).scalar_one(),
            }
        )
        return real(conn, query)

    monkeypatch.setattr(_summary_tables, "_without_workers", spied)
    return record


def _summary_finding(summary: Any) -> Any:
    return next(f for f in summary.report.findings if f.check == "webhooks.attempts.summary")


def _left_behind(engine: sa.Engine, application: str) -> list[str]:
    """What a summary tagged with ``application`` left: its backends still connected (their
    states; a closed one may take a moment to leave pg_stat_activity) and its threads."""
    sql = sa.text("SELECT state FROM pg_stat_activity WHERE application_name = :a")
    deadline = time.monotonic() + 5
    while True:
        with engine.connect() as conn:
            states = [str(s) for s in conn.execute(sql, {"a": application}).scalars()]
        if not states or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    threads = [t.name for t in threading.enumerate() if t.name.startswith("svc_nb-summary")]
    return states + threads


def _tagged(pg_url: str) -> tuple[str, str]:
    """``pg_url`` with an application_name of its own, and that name."""
    application = f"svcnb_summary_{uuid.uuid4().hex[:8]}"
    return f"{pg_url}?application_name={application}", application


def _sleep_instead_of_per_delivery(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    sleep = sa.select(sa.func.pg_sleep(seconds).label("slept"))
    monkeypatch.setattr(_summary_tables, "deliveries_query", lambda c, m: sleep)


# -- the ranked percentiles ----------------------------------------------------------------------


@pytest.mark.parametrize("duration_type", ["double precision", "numeric", "real"])
@pytest.mark.parametrize("by", [None, "topic"])
def test_ranked_percentiles_equal_percentile_cont(
    pg_url: str,
    engine: sa.Engine,
    make_table: MakeTable,
    spy: dict[str, Any],
    duration_type: str,
    by: str | None,
) -> None:
    durations = _AWKWARD * 7 + [float(i % 13) for i in range(200)]
    table = make_table(_rows(durations, ["a", "b", None, "c"]), duration_type)
    summary = summarize_attempts(pg_url, table=table, by=by, bucket="1h")
    assert (spy["ranked"], spy["fallback"]) == (1, 0)
    _assert_equal_to_oracle(summary.totals, _oracle(engine, table, by), by)


def test_groups_of_one_and_groups_without_timings(
    pg_url: str, make_table: MakeTable, spy: dict[str, Any]
) -> None:
    rows = _rows([42.0, None, None, 7.0, 7.0], ["one", "none", "none", "two", "two"])
    table = make_table(rows)
    totals = summarize_attempts(pg_url, table=table, by="topic").totals.set_index("by")
    assert spy["ranked"] == 1
    assert totals.loc["one", "p99_ms"] == 42.0 and totals.loc["two", "p50_ms"] == 7.0
    assert totals.loc["none", ["p50_ms", "p99_ms"]].isna().all()


def test_nan_durations_hand_back_to_percentile_cont(
    pg_url: str, engine: sa.Engine, make_table: MakeTable, spy: dict[str, Any]
) -> None:
    """NaN has no bin PostgreSQL and pandas agree on: the exact sort answers instead."""
    table = make_table(_rows([1.0, 2.0, float("nan"), 3.0] * 5, ["t"]))
    summary = summarize_attempts(pg_url, table=table)
    assert (spy["ranked"], spy["fallback"]) == (0, 1)
    _assert_equal_to_oracle(summary.totals, _oracle(engine, table, None), None)
    assert math.isnan(summary.totals["p99_ms"].iloc[0])  # NaN sorts last, as percentile_cont says


def test_many_groups_hand_back_to_percentile_cont(
    pg_url: str,
    engine: sa.Engine,
    make_table: MakeTable,
    spy: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each group would return its rows at every group's offsets: past a bound, the sort wins."""
    topics = [f"t{i}" for i in range(30)]
    table = make_table(_rows([float(i % 97) for i in range(3000)], topics))
    monkeypatch.setattr(_summary_percentiles, "_MOST_ROWS", 50)
    summary = summarize_attempts(pg_url, table=table, by="topic")
    assert (spy["ranked"], spy["fallback"]) == (0, 1)
    _assert_equal_to_oracle(summary.totals, _oracle(engine, table, "topic"), "topic")


# -- the second connection -----------------------------------------------------------------------


def test_the_per_delivery_statement_runs_on_a_second_connection_in_the_same_snapshot(
    pg_url: str,
    engine: sa.Engine,
    make_table: MakeTable,
    spy: dict[str, Any],
    per_delivery: PerDelivery,
) -> None:
    """Alongside, on another backend; and what it reads is what the first statement read."""
    table = make_table(_few())

    def commit_a_late_row() -> None:  # after the snapshot was taken: must not be counted
        with engine.begin() as other:
            sql = f"INSERT INTO {table} VALUES ('late', 1, now(), 1.0, 'delivered', 't')"
            other.execute(sa.text(sql))

    per_delivery.before = commit_a_late_row
    url, application = _tagged(pg_url)
    summary = summarize_attempts(url, table=table)
    (call,) = per_delivery.calls
    assert call["thread"] != threading.get_ident() and call["pid"] not in spy["pids"]
    assert summary.attempts == 40 and summary.deliveries == 20  # the late row is in neither
    assert _summary_finding(summary).data["connections"] == 2
    assert _left_behind(engine, application) == []


def test_a_callers_transaction_is_summarised_on_its_own_connection(
    engine: sa.Engine, make_table: MakeTable, per_delivery: PerDelivery
) -> None:
    """Its uncommitted rows are visible only to it: nothing runs on a second connection."""
    table = make_table(_few(4))
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO {table} VALUES ('mine', 1, now(), 9.0, 'delivered', 't')")
        )
        summary = summarize_attempts(conn, table=table)
    assert per_delivery.threads == [threading.get_ident()]
    assert summary.attempts == 5


def test_a_callers_engine_is_not_given_a_second_connection(
    engine: sa.Engine, make_table: MakeTable, per_delivery: PerDelivery
) -> None:
    """Its pool is the caller's: a second connection could wait for a free slot."""
    table = make_table(_few(4))
    summary = summarize_attempts(engine, table=table)
    assert per_delivery.threads == [threading.get_ident()] and summary.attempts == 4


def test_a_snapshot_the_server_refuses_to_import_leaves_the_summary_on_one_connection(
    pg_url: str, make_table: MakeTable, per_delivery: PerDelivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second connection that cannot share the snapshot is dropped, not an error."""
    table = make_table(_few(4))
    real = _summary_source.import_snapshot
    # A well-formed id of no exported snapshot: the real server refuses it.
    monkeypatch.setattr(
        _summary_source, "import_snapshot", lambda twin, _id: real(twin, "00000003-0000001B-1")
    )
    summary = summarize_attempts(pg_url, table=table)
    assert per_delivery.threads == [threading.get_ident()] and summary.attempts == 4
    finding = _summary_finding(summary)
    assert finding.data["connections"] == 1
    assert "could not share the snapshot (invalid snapshot identifier" in finding.detail


@pytest.fixture
def impostor(engine: sa.Engine) -> Iterator[str]:
    """A schema whose functions shadow pg_catalog's for a connection that puts it first."""
    schema = f"svcnb_impostor_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield schema
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        (
            "pg_export_snapshot() RETURNS text LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION "
            "'cannot export a snapshot here' USING ERRCODE = 'feature_not_supported'; END$$",
            "would not export the summary's snapshot (cannot export a snapshot here)",
        ),
        (
            "pg_is_in_recovery() RETURNS boolean LANGUAGE sql AS 'SELECT true'",
            "the server is a standby",
        ),
    ],
    ids=["export-refused", "standby"],
)
def test_a_server_that_exports_no_snapshot_gets_a_summary_on_one_connection(
    pg_url: str,
    engine: sa.Engine,
    make_table: MakeTable,
    spy: dict[str, Any],
    per_delivery: PerDelivery,
    impostor: str,
    function: str,
    reason: str,
) -> None:
    """The refusal aborts the transaction: a new one starts, before anything was read."""
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE FUNCTION {impostor}.{function}"))
    table = make_table(_rows([1.0, 2.0, 3.0, 4.0, None, 8.0], ["t"]))
    url = f"{pg_url}?options=-csearch_path%3D{impostor},pg_catalog,public"
    summary = summarize_attempts(url, table=table)
    assert per_delivery.threads == [threading.get_ident()]
    assert summary.attempts == 6 and spy["ranked"] == 1
    _assert_equal_to_oracle(summary.totals, _oracle(engine, table, None), None)
    finding = _summary_finding(summary)
    assert finding.data["connections"] == 1 and reason in finding.detail


# -- failures: a clear error, and nothing left running -------------------------------------------


@pytest.mark.parametrize("given", ["url", "engine"])
def test_a_statement_timeout_says_so_on_either_connection(
    pg_url: str,
    engine: sa.Engine,
    make_table: MakeTable,
    monkeypatch: pytest.MonkeyPatch,
    given: str,
) -> None:
    """Not "current transaction is aborted": the statement that ran out of time is named."""
    table = make_table(_few())
    _sleep_instead_of_per_delivery(monkeypatch, 30)
    url, application = _tagged(pg_url)
    target: Any = url if given == "url" else engine
    started = time.perf_counter()
    with pytest.raises(AttemptsError, match=r"did not finish within 1 s: pass a larger timeout="):
        summarize_attempts(target, table=table, timeout=1)
    assert time.perf_counter() - started < 10
    assert _left_behind(engine, application) == []


def test_a_statement_cancelled_on_the_server_is_not_called_a_timeout(
    pg_url: str, engine: sa.Engine, make_table: MakeTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = make_table(_few())
    _sleep_instead_of_per_delivery(monkeypatch, 30)
    url, application = _tagged(pg_url)

    def cancel_the_sleep() -> None:
        sql = (
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :a AND state = 'active' AND query LIKE 'SELECT pg_sleep%'"
        )
        for _ in range(100):
            with engine.connect() as conn:
                if conn.execute(sa.text(sql), {"a": application}).first():
                    return
            time.sleep(0.1)

    canceller = threading.Thread(target=cancel_the_sleep)
    canceller.start()
    try:
        with pytest.raises(AttemptsError, match="was cancelled on the server") as caught:
            summarize_attempts(url, table=table, timeout=60)
    finally:
        canceller.join()
    assert "did not finish" not in str(caught.value)
    assert _left_behind(engine, application) == []


@pytest.mark.parametrize("interrupt", [AttemptsError("boom"), KeyboardInterrupt()])
def test_a_failure_first_cancels_the_statement_running_alongside(
    pg_url: str,
    engine: sa.Engine,
    make_table: MakeTable,
    monkeypatch: pytest.MonkeyPatch,
    interrupt: BaseException,
) -> None:
    """The other statement is stopped on the server, not awaited; both connections closed."""
    table = make_table(_few())
    _sleep_instead_of_per_delivery(monkeypatch, 30)

    def fail(*args: Any) -> Any:
        time.sleep(0.3)  # the sleep is running on the second connection
        raise interrupt

    monkeypatch.setattr(_summary_tables, "ranked_percentiles", fail)
    url, application = _tagged(pg_url)
    started = time.perf_counter()
    with pytest.raises(type(interrupt)):
        summarize_attempts(url, table=table, timeout=60)
    assert time.perf_counter() - started < 10
    assert _left_behind(engine, application) == []


def test_a_cancel_that_arrives_between_statements_is_sent_again(pg_url: str) -> None:
    """The first cancel finds the second connection idle (the server ignores it): not the last."""
    eng = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))

    def later_sleep(on: Any) -> Any:
        time.sleep(0.3)  # between statements when the block fails
        return on.execute(sa.text("SELECT pg_sleep(30)"))

    started = time.perf_counter()
    try:
        with (
            eng.connect() as twin,
            pytest.raises(AttemptsError, match="boom"),
            _summary_source.alongside(twin) as later,
        ):
            later(later_sleep)
            raise AttemptsError("boom")
    finally:
        eng.dispose()
    assert time.perf_counter() - started < 10


def test_a_password_with_a_space_stays_out_of_the_summary_and_its_errors(
    make_table: MakeTable,
) -> None:
    """mask_url's pattern stops at a raw space: the password is registered instead."""
    table = make_table(_few(4))
    url = "postgresql://postgres:pass word 7Hq2@127.0.0.1:5432/test"  # trust auth: any password
    with isolated_registry():
        summary = summarize_attempts(url, table=table)
        with pytest.raises(AttemptsError) as caught:
            summarize_attempts(url, table="svcnb_no_such_table")
        shown = [summary.source, str(summary.report), repr(summary), str(caught.value)]
    assert all("7Hq2" not in text for text in shown) and "****" in summary.source


def test_a_url_that_cannot_be_read_is_an_attempts_error() -> None:
    with pytest.raises(AttemptsError, match=r"the URL cannot be read .* postgresql://user:"):
        summarize_attempts("postgresql://postgres:pw@127.0.0.1:port/test", table="t")


# -- JIT -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("threshold", "expected"), [(10, "on"), (10**9, "off")])
def test_jit_compiles_the_aggregates_only_for_many_rows(
    pg_url: str,
    make_table: MakeTable,
    per_delivery: PerDelivery,
    monkeypatch: pytest.MonkeyPatch,
    threshold: int,
    expected: str,
) -> None:
    """The row count the totals found decides, on the second connection too."""
    table = make_table(_few())
    monkeypatch.setattr(_summary_tables, "_JIT_MIN_ROWS", threshold)
    summary = summarize_attempts(pg_url, table=table)
    assert [c["jit"] for c in per_delivery.calls] == [expected] and summary.attempts == 40
    assert per_delivery.threads != [threading.get_ident()]
