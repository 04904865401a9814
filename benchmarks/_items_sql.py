"""Attempt logs in PostgreSQL: loading them (#7) and summarising them where they are (#11).

Times are medians of runs alternated in this process; peak memory is read in
a fresh process per run (its high-water resident set), so that one run's
allocations cannot hide in another's.
"""

from __future__ import annotations

from typing import Any

from benchmarks._data import PG_URL, attempts_table, engine
from benchmarks._harness import Row, child, interleaved, median_time

_MB = 2**20


def _label(rows: int) -> str:
    return f"{rows // 1_000_000} M" if rows >= 1_000_000 else f"{rows // 1000} k"


def _adbc_frame(sql: str) -> Any:
    """The baseline: Arrow's PostgreSQL driver, its Arrow table, then pandas."""
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(PG_URL) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetch_arrow_table().to_pandas()


def _read_sql_frame(sql: str) -> Any:
    import pandas as pd
    import sqlalchemy as sa

    with engine().connect() as conn:
        return pd.read_sql(sa.text(sql), conn)


_LOAD_CHILD = """
import time
from svc_nb import webhooks
import adbc_driver_postgresql.dbapi, pyarrow, pandas  # the fast path's imports, before the mark
webhooks.load_attempts(url={url!r}, sql={sql!r} + " LIMIT 1")  # the driver loaded and warm
mark()
started = time.perf_counter()
frame = webhooks.load_attempts(url={url!r}, sql={sql!r}, timeout=3600)
seconds = time.perf_counter() - started
done(seconds=seconds, rows=len(frame), frame_mb=frame.memory_usage(deep=True).sum() / 2**20)
"""


def load_attempts_sql(quick: bool = False) -> Row:
    """load_attempts from PostgreSQL vs ADBC → Arrow → pandas, and vs pandas.read_sql."""
    from svc_nb import webhooks

    sizes = [20_000] if quick else [1_000_000, 10_000_000]
    read_sql_at = sizes[0]
    scaling: list[tuple[str, float, float]] = []
    memory: list[tuple[str, float, str]] = []
    ratios: dict[str, float] = {}
    worst_memory = 0.0
    for rows in sizes:
        sql = f"SELECT * FROM {attempts_table(rows)}"
        big = rows >= 5_000_000
        repeat = 1 if big else 3

        def ours(sql: str = sql, rows: int = rows) -> None:
            frame = webhooks.load_attempts(url=PG_URL, sql=sql, timeout=3600)
            assert len(frame) == rows, len(frame)

        # Warm-up at every size: the first gigabyte-sized frame of a process pays the allocator
        # (fresh mmaps, page faults) that later ones reuse, whichever side happens to go first.
        a, b = interleaved(ours, lambda sql=sql: _adbc_frame(sql), repeat=repeat, warmup=True)
        scaling.append((f"{_label(rows)} rows, vs ADBC", a, b))
        ratios["adbc"] = b / a
        if rows == read_sql_at:
            base = median_time(
                lambda sql=sql: _read_sql_frame(sql),
                repeat=1 if rows >= 1_000_000 else 3,
                warmup=0,  # read_sql is the slow side: one cold run is its best case anyway
            )
            scaling.append((f"{_label(rows)} rows, vs read_sql", a, base))
            ratios["read_sql"] = base / a
        measured = child(_LOAD_CHILD.format(url=PG_URL, sql=sql))
        used = measured["peak_mb"] - measured["base_mb"]
        worst_memory = max(worst_memory, used / measured["frame_mb"])
        memory.append(
            (
                f"load_attempts, {_label(rows)} rows",
                used,
                f"peak above the imports; the DataFrame itself is {measured['frame_mb']:.0f} MB "
                f"({used / measured['frame_mb']:.2f}×)",
            )
        )
    met = ratios["adbc"] >= 0.7 and ratios["read_sql"] >= 4 and worst_memory <= 2
    return Row(
        "7",
        f"`load_attempts` of {_label(sizes[-1])} rows from PostgreSQL",
        "`adbc-driver-postgresql` → Arrow → pandas (`fetch_arrow_table().to_pandas()`)",
        ratios["adbc"],
        "≥ 0.7×; ≥ 4× `read_sql`; peak ≤ 2× frame",
        met,
        scaling=scaling,
        memory=memory,
        note=f"{ratios['adbc']:.2f}× ADBC's speed, {ratios['read_sql']:.1f}× `pandas.read_sql` "
        f"(SQLAlchemy + psycopg) at {_label(read_sql_at)} rows, peak memory up to "
        f"{worst_memory:.2f}× the final DataFrame. The fast path is ADBC itself: binary COPY into "
        "Arrow, checks as Arrow kernels, then pandas without a row-by-row step",
    )


_SUMMARY_CHILD = """
import time
from svc_nb import webhooks
import pandas, sqlalchemy, psycopg, matplotlib  # a notebook's usual imports, before the mark
mark()
started = time.perf_counter()
summary = webhooks.summarize_attempts({url!r}, table={table!r}, timeout=3600)
done(seconds=time.perf_counter() - started, attempts=summary.attempts)
"""

_BASELINE_CHILD = """
import time
from svc_nb import webhooks
import pandas, sqlalchemy, psycopg, matplotlib, adbc_driver_postgresql.dbapi, pyarrow
mark()
started = time.perf_counter()
frame = webhooks.load_attempts(url={url!r}, sql="SELECT * FROM {table}", timeout=3600)
summary = webhooks.summarize_attempts(frame)
done(seconds=time.perf_counter() - started, attempts=summary.attempts)
"""


def summary_in_database(quick: bool = False) -> Row:
    """summarize_attempts computed in PostgreSQL vs loading the rows and summarising with pandas."""
    from svc_nb import webhooks

    sizes = [20_000, 200_000] if quick else [1_000_000, 10_000_000]
    scaling: list[tuple[str, float, float]] = []
    memory: list[tuple[str, float, str]] = []
    peaks: list[float] = []
    for rows in sizes:
        table = attempts_table(rows)
        big = rows >= 5_000_000

        def ours(table: str = table) -> Any:
            return webhooks.summarize_attempts(PG_URL, table=table, timeout=3600)

        def baseline(table: str = table) -> Any:
            frame = webhooks.load_attempts(url=PG_URL, sql=f"SELECT * FROM {table}", timeout=3600)
            return webhooks.summarize_attempts(frame)

        if not big:  # the two engines agree, and the table has the indexes the summary advises
            summary = ours()
            assert summary.totals["attempts"].sum() == baseline().totals["attempts"].sum() == rows
            assert summary.report.get("webhooks.attempts.index") is None, str(summary.report)
        a, b = interleaved(ours, baseline, repeat=1 if big else 3, warmup=False)
        scaling.append((f"{_label(rows)} rows", a, b))
        mine = child(_SUMMARY_CHILD.format(url=PG_URL, table=table))
        theirs = child(_BASELINE_CHILD.format(url=PG_URL, table=table))
        peaks.append(mine["peak_mb"])
        memory.append(
            (
                f"summarize_attempts in PostgreSQL, {_label(rows)} rows",
                mine["peak_mb"],
                "whole notebook process at its peak",
            )
        )
        memory.append(
            (
                f"load_attempts + pandas, {_label(rows)} rows",
                theirs["peak_mb"],
                "whole process at its peak, for comparison",
            )
        )
    _, a, b = scaling[-1]
    ratio = b / a
    growth = peaks[-1] / peaks[0]
    met = ratio >= 10 and growth <= 1.10
    return Row(
        "11",
        f"`summarize_attempts` of {_label(sizes[-1])} attempt rows in PostgreSQL (indexed as it advises)",
        "`load_attempts` of the same rows + the same summary with pandas",
        ratio,
        "≥ 10× faster; peak memory flat (±10 %)",
        met,
        scaling=scaling,
        memory=memory,
        note=f"{ratio:.1f}× faster at {_label(sizes[-1])} rows; the notebook's peak memory goes from "
        f"{peaks[0]:.0f} MB at {_label(sizes[0])} rows to {peaks[-1]:.0f} MB at "
        f"{_label(sizes[-1])} ({(growth - 1) * 100:+.1f} %): only aggregates come back",
    )
