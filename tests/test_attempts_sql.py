"""Attempt logs in PostgreSQL: the ADBC fast path of load_attempts, and summaries in the database.

Every table here is real (the machine's PostgreSQL); the pandas engine is the
reference the database's summary must match figure for figure.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from svc_nb import SvcNbError, plots
from svc_nb._report import Status
from svc_nb.webhooks import (
    AttemptsError,
    AttemptSummary,
    WebhooksCause,
    _arrow,
    load_attempts,
    summarize_attempts,
)

pytest.importorskip("adbc_driver_postgresql")

_ROWS = """
CREATE TABLE {t} AS
SELECT 'd' || d AS delivery_id, a AS attempt,
       timestamptz '2026-11-30' + d * interval '7 second' + (60 * a * (a - 1) / 2) * interval '1 second'
           AS scheduled_at,
       timestamptz '2026-11-30' + d * interval '7 second' + (60 * a * (a - 1) / 2) * interval '1 second'
           + interval '20 millisecond' AS started_at,
       CASE WHEN (d + a) % 9 = 0 THEN NULL ELSE ((d * 37 + a * 11) % 900) + 0.5 END AS duration_ms,
       CASE WHEN a = 1 + d % 4 THEN 200 WHEN (d + a) % 3 = 0 THEN NULL ELSE 503 END AS status_code,
       CASE WHEN a = 1 + d % 4 THEN 'delivered' WHEN (d + a) % 3 = 0 THEN 'timeout'
            ELSE 'http_error' END AS outcome,
       'err' AS error, '' AS response_excerpt, 'topic.' || (d % 3) AS topic
FROM generate_series(0, 599) AS d, generate_series(1, 4) AS a
WHERE a <= 1 + d % 4
"""


@pytest.fixture
def table(engine: sa.Engine) -> Iterator[str]:
    name = f"svcnb_attempts_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(_ROWS.format(t=name)))
    yield name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))


# -- load_attempts: the ADBC path and the general path agree -----------------------------


def test_fast_path_gives_the_same_frame_as_the_general_path(
    pg_url: str, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql = f"SELECT * FROM {table} ORDER BY delivery_id, attempt"
    fetched: list[str] = []
    real = _arrow.fetch_arrow
    monkeypatch.setattr(_arrow, "fetch_arrow", lambda *a: fetched.append("adbc") or real(*a))
    fast = load_attempts(url=pg_url, sql=sql)
    assert fetched == ["adbc"]
    monkeypatch.setattr(_arrow, "adbc_available", lambda: False)
    general = load_attempts(url=pg_url, sql=sql)
    pd.testing.assert_frame_equal(fast, general)
    assert fast.attrs["report"].ok and fast.attrs["bad_rows"].empty
    assert list(fast.dtypes.astype(str)) == list(general.dtypes.astype(str))


def test_fast_path_hands_bad_rows_to_the_general_path(pg_url: str, table: str) -> None:
    """A row the Arrow checks refuse is named with its reason, never silently dropped."""
    sql = (
        f"SELECT delivery_id, attempt, started_at, status_code, outcome FROM {table} "
        "UNION ALL SELECT 'dx', 0, now(), 200, 'delivered' "
        "UNION ALL SELECT '', 1, now(), 700, 'Delivered '"
    )
    df = load_attempts((pg_url, sql))
    bad = df.attrs["bad_rows"]
    assert len(bad) == 2
    assert "attempt is not a positive integer" in bad["reason"].iloc[0]
    assert "status_code is not an HTTP status" in bad["reason"].iloc[1]
    assert "delivery_id is empty" in bad["reason"].iloc[1]
    finding = df.attrs["report"]["webhooks.attempts.load"]
    assert finding.cause == WebhooksCause.BAD_ROWS


def test_fast_path_maps_columns_and_fills_optional_ones(pg_url: str, table: str) -> None:
    sql = f"SELECT delivery_id AS d, attempt AS n, started_at AS at, outcome FROM {table}"
    df = load_attempts(
        url=pg_url, sql=sql, columns={"d": "delivery_id", "n": "attempt", "at": "started_at"}
    )
    assert len(df) == 1500 and (df["scheduled_at"] == df["started_at"]).all()
    assert df["status_code"].isna().all() and df["duration_ms"].isna().all()
    assert (df["error"] == "").all() and str(df["status_code"].dtype) == "Int64"


def test_fast_path_reports_query_errors_and_timeouts(pg_url: str) -> None:
    with pytest.raises(AttemptsError, match="cannot read attempts") as failed:
        load_attempts(url=pg_url, sql="SELECT * FROM no_such_table_svcnb")
    assert isinstance(failed.value, SvcNbError)
    with pytest.raises(AttemptsError, match=r"did not finish within 2\.5 s"):
        load_attempts(url=pg_url, sql="SELECT pg_sleep(5)", timeout=2.5)


def test_a_silent_server_costs_one_timeout_not_two() -> None:
    """ADBC's connect and the asyncpg path share one budget."""
    import time

    from tests._support import SilentServer

    with SilentServer() as silent:
        url = f"postgresql://postgres@127.0.0.1:{silent.port}/test"
        started = time.perf_counter()
        with pytest.raises(AttemptsError, match="did not finish within 2 s"):
            load_attempts(url=url, sql="SELECT 1", timeout=2)
        assert time.perf_counter() - started < 2 + 1.0


def test_adbc_uri_carries_the_timeout_and_reads_svc_infra_urls() -> None:
    uri = _arrow.libpq_uri("postgresql+asyncpg://u:p%40ss@db:5432/app?ssl=require&x=1", 2.5)
    assert uri.startswith("postgresql://u:p%40ss@db:5432/app?sslmode=require&")
    assert "connect_timeout=3" in uri and "statement_timeout%3D2500" in uri and "x=1" not in uri
    with pytest.raises(_arrow.AdbcUnavailable):
        _arrow.libpq_uri("mysql://db/app", 1)


def test_import_svc_nb_does_not_load_arrow() -> None:
    import subprocess
    import sys

    code = "import svc_nb, svc_nb.webhooks, sys; print('pyarrow' in sys.modules, 'adbc_driver_manager' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- summarize_attempts: the database and pandas agree ------------------------------------


def _same(a: AttemptSummary, b: AttemptSummary) -> None:
    for name in (
        "totals",
        "by_attempt",
        "latency_histogram",
        "timeline",
        "attempts_per_delivery",
        "retry_waits",
    ):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), rtol=1e-9, obj=name)


def test_summary_in_the_database_matches_pandas(pg_url: str, table: str) -> None:
    in_db = summarize_attempts(pg_url, table=table, bucket="1h")
    frame = load_attempts(url=pg_url, sql=f"SELECT * FROM {table}")
    in_memory = summarize_attempts(frame, bucket="1h")
    _same(in_db, in_memory)
    assert in_db.engine == "postgresql" and in_memory.engine == "pandas"
    totals = in_db.totals.iloc[0]
    assert totals["attempts"] == 1500 and totals["deliveries"] == 600
    assert totals["delivered"] == 600 and totals["timed"] == frame["duration_ms"].notna().sum()
    assert totals["p50_ms"] == pytest.approx(frame["duration_ms"].quantile(0.5))
    assert totals["p99_ms"] == pytest.approx(frame["duration_ms"].quantile(0.99))
    taken = in_db.attempts_per_delivery.set_index("attempts")["deliveries"].to_dict()
    assert taken == {1: 150, 2: 150, 3: 150, 4: 150}
    waits = in_db.retry_waits.set_index("attempt")
    assert waits.loc[2, "mean_s"] == pytest.approx(60) and waits.loc[4, "max_s"] == pytest.approx(
        180
    )
    assert waits.loc[3, "retries"] == 300
    codes = in_db.status_codes.set_index("status_code")["attempts"]
    assert codes[200] == 600 and codes.sum() == 1500
    assert in_db.timeline["attempts"].sum() == 1500
    assert in_db.timeline["first_attempts"].sum() == 600


def test_summary_of_a_query_with_mapping_grouping_and_time_window(
    pg_url: str, table: str, engine: sa.Engine
) -> None:
    sql = (
        f"SELECT delivery_id AS id, attempt AS n, started_at AS at, status_code, topic FROM {table}"
    )
    mapping = {"id": "delivery_id", "n": "attempt", "at": "started_at"}
    since = datetime(2026, 11, 30, 0, 10, tzinfo=UTC)
    in_db = summarize_attempts(
        (pg_url, sql), columns=mapping, by="topic", bucket=timedelta(minutes=15), since=since
    )
    with engine.connect() as conn:
        raw = pd.read_sql(sa.text(sql), conn)  # the same rows, in memory, topic included
    in_memory = summarize_attempts(
        raw, columns=mapping, by="topic", bucket=900, since=since.timestamp()
    )
    _same(in_db, in_memory)
    assert set(in_db.totals["by"]) == {"topic.0", "topic.1", "topic.2"}
    assert in_db.bucket_s == 900
    assert (in_db.timeline["bucket_start"] >= since - timedelta(minutes=15)).all()
    # without an outcome column, the outcome is derived from the code, as load_attempts does
    assert set(in_db.by_attempt["outcome"]) == {"delivered", "http_error", "connect_error"}


def test_index_advice_names_the_missing_indexes(pg_url: str, table: str, engine: sa.Engine) -> None:
    summary = summarize_attempts(pg_url, table=table)
    advice = summary.report["webhooks.attempts.index"]
    assert advice.status is Status.WARN and advice.cause == WebhooksCause.MISSING_INDEX
    statements = advice.fix.splitlines()
    assert statements == [
        f"CREATE INDEX CONCURRENTLY {table}_delivery_id_attempt_idx ON {table} "
        "(delivery_id, attempt) INCLUDE (scheduled_at, outcome);",
        f"CREATE INDEX CONCURRENTLY {table}_started_at_idx ON {table} (started_at);",
    ]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for statement in statements:  # the advice runs as given (CONCURRENTLY: no transaction)
            conn.execute(sa.text(statement))
    indexed = summarize_attempts(engine, table=table)
    assert indexed.report.get("webhooks.attempts.index") is None
    assert indexed.report["webhooks.attempts.summary"].status is Status.OK


def test_summary_returns_aggregates_not_rows(pg_url: str, table: str) -> None:
    summary = summarize_attempts(pg_url, table=table, bucket="1min")
    finding = summary.report["webhooks.attempts.summary"]
    assert finding.data["attempts"] == 1500 and finding.data["rows_returned"] < 1500 / 2
    assert "in the database" in finding.summary


def test_summary_errors_are_attempts_errors(pg_url: str, table: str) -> None:
    with pytest.raises(AttemptsError, match="no table 'no_such_svcnb'"):
        summarize_attempts(pg_url, table="no_such_svcnb")
    with pytest.raises(AttemptsError, match="missing attempt column"):
        summarize_attempts(pg_url, sql=f"SELECT delivery_id FROM {table}")
    with pytest.raises(AttemptsError, match=r"did not finish within 0\.5 s"):
        slow = f"SELECT t.* FROM {table} AS t, (SELECT pg_sleep(2)) AS pause"
        summarize_attempts(pg_url, sql=slow, timeout=0.5)
    with pytest.raises(AttemptsError, match="table='attempts' or sql="):
        summarize_attempts(pg_url)
    with pytest.raises(AttemptsError, match="need a database"):
        summarize_attempts(pd.DataFrame(), table="x")
    for bad in ("soon", "0s", -1, float("nan")):
        with pytest.raises(SvcNbError, match="bucket"):
            summarize_attempts(pg_url, table=table, bucket=bad)


def test_password_never_shown(pg_url: str, table: str) -> None:
    url = pg_url.replace("postgres@", "postgres:Sup3r-secret-pw@")
    summary = summarize_attempts(url, table=table)
    views = str(summary) + summary._repr_html_() + repr(summary)
    assert "Sup3r-secret-pw" not in views


# -- the charts draw from aggregates -------------------------------------------------------


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_charts_draw_from_a_summary(pg_url: str, table: str) -> None:
    summary = summarize_attempts(pg_url, table=table, bucket="5min")
    status = plots.status_by_attempt(summary)
    bars = status.axes[0].patches
    assert sum(p.get_height() for p in bars) == pytest.approx(1500)
    latency = plots.latency_distribution(summary)
    labels = latency.axes[0].get_legend_handles_labels()[1]
    assert any(label.startswith("p50") for label in labels) and "delivered" in labels
    volume = plots.attempt_volume(summary)
    assert "attempts per 5 min" in volume.axes[0].get_ylabel()
    for fig in (status, latency, volume):
        assert _png(fig).startswith(b"\x89PNG")
    frame = load_attempts(url=pg_url, sql=f"SELECT * FROM {table}")
    assert _png(plots.attempt_volume(frame, bucket="1h")).startswith(b"\x89PNG")


def test_summary_inside_the_callers_transaction(engine: sa.Engine, table: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT 1"))
        summary = summarize_attempts(conn, table=table, bucket="1h")
        assert conn.in_transaction()  # the caller's transaction is left open for the caller
    assert summary.attempts == 1500 and summary.deliveries == 600


def test_the_same_queries_run_on_another_dialect(pg_url: str, table: str) -> None:
    """SQLite through SQLAlchemy: every table but the percentiles, which it cannot compute."""
    frame = load_attempts(url=pg_url, sql=f"SELECT * FROM {table}")
    lite = sa.create_engine("sqlite://")
    stored = frame.copy()
    for column in ("scheduled_at", "started_at"):
        stored[column] = frame[column].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    stored.to_sql("attempts", lite, index=False)
    in_sqlite = summarize_attempts(lite, table="attempts", bucket="1h")
    in_memory = summarize_attempts(frame, bucket="1h")
    for name in ("by_attempt", "latency_histogram", "timeline", "attempts_per_delivery"):
        pd.testing.assert_frame_equal(getattr(in_sqlite, name), getattr(in_memory, name), obj=name)
    # julianday() keeps milliseconds, not microseconds
    pd.testing.assert_frame_equal(in_sqlite.retry_waits, in_memory.retry_waits, rtol=1e-4)
    assert in_sqlite.totals["p50_ms"].isna().all()
    missing = in_sqlite.report["webhooks.attempts.percentiles"]
    assert missing.cause == WebhooksCause.NO_PERCENTILES and "sqlite" in missing.summary
    assert in_sqlite.report["webhooks.attempts.index"].cause == WebhooksCause.MISSING_INDEX
