"""From either engine's raw aggregates to the summary's tables, with exact column types."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from svc_nb.webhooks._errors import AttemptsError
from svc_nb.webhooks._summary_percentiles import ranked_percentiles
from svc_nb.webhooks._summary_sql import (
    BINS_PER_E,
    PERCENTILES,
    Columns,
    counts_query,
    deliveries_query,
    has_percentiles,
    totals_query,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["assemble", "pandas_tables", "sql_tables"]

_P = [f"p{round(q * 100)}_ms" for q in PERCENTILES]
Window = tuple[datetime | None, datetime | None]


def _frame(result: Any) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _base(c: Columns, window: Window) -> Columns:
    """The columns over one subquery that applies the time window (the only filter)."""
    import sqlalchemy as sa

    fields = {
        "delivery_id": c.delivery_id,
        "attempt": c.attempt,
        "scheduled_at": c.scheduled_at,
        "started_at": c.started_at,
        "duration_ms": c.duration_ms,
        "status_code": c.status_code,
        "outcome": c.outcome,
    }
    if c.by is not None:
        fields["by"] = c.by
    query = sa.select(*(expr.label(name) for name, expr in fields.items()))
    since, until = window
    if since is not None:
        query = query.where(c.started_at >= since)
    if until is not None:
        query = query.where(c.started_at < until)
    base = query.subquery("a")
    return Columns(**{name: base.c[name] for name in fields})


def sql_tables(
    database: Any,
    table: str | None,
    sql: str | None,
    columns: Mapping[str, str] | None,
    by: str | None,
    width: float | None,
    window: Window,
    timeout: float,
) -> tuple[dict[str, Any], list[str]]:
    """The aggregate queries in one snapshot; the raw tables and any index advice."""
    from svc_nb.webhooks._summary import auto_bucket
    from svc_nb.webhooks._summary_source import (
        SqlSource,
        connect,
        index_advice,
        read_names,
        require_sqlalchemy,
        resolve_columns,
        shown_target,
        snapshot_twin,
    )

    require_sqlalchemy()

    what = f"table {table}" if table is not None else "query"
    source = SqlSource(database, table=table, sql=sql, shown=f"{what} on {shown_target(database)}")
    with connect(source, timeout) as conn:
        source.names = read_names(conn, source)
        resolved, theirs = resolve_columns(source, columns, by)
        c = _base(resolved, window)
        dialect = conn.dialect.name
        # PostgreSQL ranks the percentiles from the histogram (in _rest) instead of sorting.
        ranked = dialect == "postgresql"
        totals = _frame(conn.execute(totals_query(c, dialect, percentiles=not ranked)))
        if width is None:
            width = auto_bucket(
                _seconds(totals["first_at"].min()), _seconds(totals["last_at"].max())
            )
        with snapshot_twin(source, conn, timeout) as twin:
            totals, counts, deliveries = _rest(conn, twin, c, totals, width, by)
            connections = 1 if twin is None else 2
        advice = index_advice(conn, source, theirs)
    raw = {
        "totals": totals,
        "counts": _split_counts(counts, ["by"] if by is not None else []),
        "deliveries": deliveries,
    }
    result = {
        "tables": raw,
        "engine": dialect,
        "bucket_s": width,
        "shown": source.shown,
        "percentiles": has_percentiles(dialect),
        "rows_returned": len(totals) + len(counts) + len(deliveries),
        "connections": connections,
        "alone": source.alone,
    }
    return result, advice


def _rest(
    conn: Any, twin: Any | None, c: Columns, totals: pd.DataFrame, width: float, by: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The counts, the percentiles and the per-delivery figures; the last on ``twin`` if any."""
    from svc_nb.webhooks._summary_source import alongside

    dialect = conn.dialect.name
    per_delivery = deliveries_query(c, int(_number(totals["max_attempt"].max()) or 1))
    rows = _number(totals["attempts"].sum()) or 0
    if dialect == "postgresql" and rows >= _JIT_MIN_ROWS:
        for each in filter(None, (conn, twin)):
            _compile_expressions(each)
    with alongside(twin) as later:
        deliveries_later = later(lambda on: _without_workers(on, per_delivery))
        counts = _frame(conn.execute(counts_query(c, width)))
        if dialect == "postgresql":
            keys = ["by"] if by is not None else []
            filled = ranked_percentiles(conn, c, totals, _histogram(counts, keys), keys)
            if filled is None:
                filled = _frame(conn.execute(totals_query(c, dialect)))
            totals = filled
        deliveries = deliveries_later(conn)
    return totals, counts, deliveries


# From here on PostgreSQL's JIT pays for its compiling: at 10 M rows it takes a fifth to a
# third off each aggregate. Below, or on a query whose plan merely looks costly, it may cost
# more than it saves, so the connection starts with it off and the row count decides.
_JIT_MIN_ROWS = 2_000_000


def _compile_expressions(conn: Any) -> None:
    import sqlalchemy as sa

    conn.execute(sa.text("SET LOCAL jit = on"))


def _histogram(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Attempts per (group, latency bin), from the counts query's finest groups."""
    fine = counts[counts["kind"] == "attempt"]
    per_bin = fine.groupby([*keys, "latency_bin"], dropna=False, sort=False)["attempts"].sum()
    histogram = per_bin.reset_index()
    return histogram[histogram["latency_bin"].notna()]


def _without_workers(conn: Any, query: Any) -> pd.DataFrame:
    """Run the per-delivery aggregate with no parallel workers (PostgreSQL).

    One group per delivery is a third of the rows or so: each worker would build
    a partial table nearly as large, then sort and merge them, several times
    slower than one hash table, or than the index-only scan the index advice
    makes possible.
    """
    import sqlalchemy as sa

    if conn.dialect.name != "postgresql":
        return _frame(conn.execute(query))
    conn.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
    frame = _frame(conn.execute(query))
    # Only after success: a failed statement aborts the transaction (which ends the SET LOCAL
    # anyway), and a RESET there would replace the error, a timeout say, with "aborted".
    conn.execute(sa.text("RESET max_parallel_workers_per_gather"))
    return frame


def _split_counts(counts: pd.DataFrame, keys: list[str]) -> dict[str, pd.DataFrame]:
    """The by-attempt and latency tables, added up from the (attempt, code, outcome, bin) groups."""
    fine = counts[counts["kind"] == "attempt"]
    sums = {"attempts": "sum", "first_attempts": "sum"}

    def total(columns: list[str]) -> pd.DataFrame:
        return fine.groupby(columns, dropna=False, sort=True).agg(sums).reset_index()

    return {
        "attempt": total([*keys, "attempt", "status_code", "outcome"]),
        "latency": total([*keys, "outcome", "latency_bin"]),
        "bucket": counts[counts["kind"] == "bucket"],
    }


def _seconds(value: Any) -> float | None:
    """A time from the database (aware, naive meaning UTC, or ISO text) as Unix seconds."""
    import pandas as pd

    if value is None or value is pd.NaT:
        return None
    stamp = pd.Timestamp(value)
    return float((stamp if stamp.tzinfo else stamp.tz_localize("UTC")).timestamp())


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _frame_source(source: Any, columns: Mapping[str, str] | None, by: str | None) -> Any:
    """The attempt frame (with the ``by`` column of the rows kept) and its description."""
    import numpy as np

    from svc_nb.webhooks._attempts import load_attempts, read_attempts_file

    raw = source
    if isinstance(source, str) and by is not None:
        raw = read_attempts_file(source)
    elif hasattr(source, "attempts") and not hasattr(source, "columns"):
        raw = source.attempts
    frame = load_attempts(raw, columns=columns)
    shown = frame.attrs["report"].findings[0].summary.partition(" from ")[2] or "DataFrame"
    if by is None:
        return frame, shown
    if by not in getattr(raw, "columns", ()):
        raise AttemptsError(f"{shown}: no column {by!r} to group by")
    bad = frame.attrs["bad_rows"]["row"].to_numpy()
    good = np.setdiff1d(np.arange(len(raw)), bad.astype("int64"))
    frame = frame.assign(**{by: raw[by].iloc[good].to_numpy()})
    return frame, shown


def pandas_tables(
    source: Any,
    columns: Mapping[str, str] | None,
    by: str | None,
    width: float | None,
    window: Window,
) -> dict[str, Any]:
    """The raw tables of an in-memory log, computed with pandas."""
    from svc_nb.webhooks._summary import auto_bucket
    from svc_nb.webhooks._summary_pandas import summary_tables

    frame, shown = _frame_source(source, columns, by)
    since, until = window
    if since is not None:
        frame = frame[frame["started_at"] >= since]
    if until is not None:
        frame = frame[frame["started_at"] < until]
    if width is None:
        seconds = frame["started_at"].astype("int64") / 1e6 if len(frame) else None
        first = None if seconds is None else float(seconds.min())
        last = None if seconds is None else float(seconds.max())
        width = auto_bucket(first, last)
    raw = summary_tables(frame, by, width)
    rows = len(raw["totals"]) + sum(map(len, raw["counts"].values()))
    return {
        "tables": raw,
        "engine": "pandas",
        "bucket_s": width,
        "shown": shown,
        "percentiles": True,
        "rows_returned": rows + len(raw["deliveries"]),
    }


def _typed(df: pd.DataFrame, ints: tuple[str, ...] = (), floats: tuple[str, ...] = ()) -> Any:
    import pandas as pd

    out = df.reset_index(drop=True)
    for name in ints:
        out[name] = pd.to_numeric(out[name]).astype("int64")
    for name in floats:
        out[name] = pd.to_numeric(out[name], errors="coerce").astype("float64")
    return out


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.sort_values(keys, kind="stable").reset_index(drop=True) if len(df) else df


def _totals(raw: dict[str, Any], keys: list[str]) -> pd.DataFrame:
    import pandas as pd

    totals = _typed(raw["totals"], ints=("attempts", "timed"), floats=("mean_ms", "max_ms", *_P))
    deliveries = _typed(raw["deliveries"], ints=("number", "ok", "count"))
    if keys:
        per = deliveries.groupby("by", dropna=False)
        counted = per["count"].sum()
        delivered = deliveries[deliveries["ok"] == 1].groupby("by", dropna=False)["count"].sum()
        totals["deliveries"] = totals["by"].map(counted).fillna(0).astype("int64")
        totals["delivered"] = totals["by"].map(delivered).fillna(0).astype("int64")
    else:
        totals["deliveries"] = int(deliveries["count"].sum())
        totals["delivered"] = int(deliveries.loc[deliveries["ok"] == 1, "count"].sum())
    for side in ("first_at", "last_at"):
        totals[side] = pd.to_datetime(totals[side], utc=True, format="ISO8601").astype(
            "datetime64[us, UTC]"
        )
    order = [*keys, "attempts", "deliveries", "delivered", "timed", "mean_ms", "max_ms", *_P]
    return _sorted(totals[[*order, "first_at", "last_at"]], keys)


def _waits(deliveries: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Seconds between attempt n-1 and n: the per-group counts and sums added up per n."""
    import pandas as pd

    rows = []
    numbers = sorted(
        int(c[1:].split("_")[0])
        for c in deliveries.columns
        if c.startswith("w") and c.endswith("_count")
    )
    groups = deliveries.groupby(keys, dropna=False) if keys else [((), deliveries)]
    for key, part in groups:
        for k in numbers:
            retries = int(pd.to_numeric(part[f"w{k}_count"]).fillna(0).sum())
            if not retries:
                continue
            total = pd.to_numeric(part[f"w{k}_sum"]).fillna(0).sum()
            row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
            row.update(
                attempt=k,
                retries=retries,
                mean_s=float(total) / retries,
                min_s=float(pd.to_numeric(part[f"w{k}_min"]).min()),
                max_s=float(pd.to_numeric(part[f"w{k}_max"]).max()),
            )
            rows.append(row)
    columns = [*keys, "attempt", "retries", "mean_s", "min_s", "max_s"]
    return pd.DataFrame(rows, columns=columns)


def assemble(raw: dict[str, Any], by: str | None, bucket_s: float) -> dict[str, pd.DataFrame]:
    """The summary's six tables from the raw aggregates, typed and sorted."""
    import numpy as np
    import pandas as pd

    keys = ["by"] if by is not None else []
    counts = raw["counts"]
    by_attempt = _typed(counts["attempt"], ints=("attempt", "attempts"))
    by_attempt["status_code"] = pd.to_numeric(by_attempt["status_code"]).astype("Int64")
    by_attempt["outcome"] = by_attempt["outcome"].astype(str)
    latency = _typed(counts["latency"], ints=("attempts",), floats=("latency_bin",))
    latency = latency[latency["latency_bin"].notna()].copy()
    latency["low_ms"] = np.exp(latency["latency_bin"] / BINS_PER_E)
    latency["high_ms"] = np.exp((latency["latency_bin"] + 1) / BINS_PER_E)
    timeline = _typed(counts["bucket"], ints=("attempts", "first_attempts"), floats=("bucket",))
    timeline["bucket_start"] = pd.to_datetime(
        (timeline["bucket"] * bucket_s * 1e6).round(), unit="us", utc=True
    )
    deliveries = _typed(raw["deliveries"], ints=("number", "ok", "count"))
    waits = _waits(deliveries, keys)
    deliveries = deliveries.rename(columns={"number": "attempts", "count": "deliveries"})
    deliveries["delivered"] = deliveries["ok"] == 1
    return {
        "totals": _totals(raw, keys),
        "by_attempt": _sorted(
            by_attempt[[*keys, "attempt", "status_code", "outcome", "attempts"]],
            [*keys, "attempt", "status_code", "outcome"],
        ),
        "latency_histogram": _sorted(
            latency[[*keys, "outcome", "low_ms", "high_ms", "attempts"]],
            [*keys, "outcome", "low_ms"],
        ),
        "timeline": _sorted(
            timeline[[*keys, "bucket_start", "outcome", "attempts", "first_attempts"]],
            [*keys, "bucket_start", "outcome"],
        ),
        "attempts_per_delivery": _sorted(
            deliveries[[*keys, "attempts", "delivered", "deliveries"]],
            [*keys, "attempts", "delivered"],
        ),
        "retry_waits": _sorted(
            waits[[*keys, "attempt", "retries", "mean_s", "min_s", "max_s"]],
            [*keys, "attempt"],
        ),
    }
