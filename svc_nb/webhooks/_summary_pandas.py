"""The attempt summary computed with pandas, for logs that fit in memory.

The same tables, with the same definitions, as the database computes in
``_summary_sql``: a DataFrame source is summarised here, and the tests hold
the two engines to the same figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svc_nb.webhooks._summary_sql import BINS_PER_E, PERCENTILES, wait_attempts

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["summary_tables"]


def _keys(by: str | None) -> list[str]:
    return [] if by is None else ["by"]


def _totals(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    import pandas as pd

    def one(part: pd.DataFrame) -> dict[str, Any]:
        duration = part["duration_ms"]
        quantiles = duration.quantile(list(PERCENTILES)) if duration.notna().any() else None
        row: dict[str, Any] = {
            "attempts": len(part),
            "timed": int(duration.notna().sum()),
            "first_at": part["started_at"].min(),
            "last_at": part["started_at"].max(),
            "mean_ms": duration.mean(),
            "max_ms": duration.max(),
            "max_attempt": int(part["attempt"].max()) if len(part) else 0,
        }
        for q in PERCENTILES:
            row[f"p{round(q * 100)}_ms"] = None if quantiles is None else float(quantiles[q])
        return row

    if not keys:
        return pd.DataFrame([one(df)])
    rows = [{"by": key, **one(part)} for key, part in df.groupby("by", sort=True, dropna=False)]
    return pd.DataFrame(rows)


def _counts(df: pd.DataFrame, keys: list[str], bucket_s: float) -> dict[str, pd.DataFrame]:
    import numpy as np

    first = (df["attempt"] == 1).astype("int64")
    frame = df.assign(first_attempts=first, n=1)
    duration = df["duration_ms"].to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        latency_bin = np.where(duration > 0, np.floor(np.log(duration) * BINS_PER_E), np.nan)
    frame["latency_bin"] = latency_bin
    frame["bucket"] = np.floor(df["started_s"].to_numpy() / bucket_s)

    def count(by: list[str]) -> pd.DataFrame:
        out = frame.groupby(by, sort=True, dropna=False).agg(
            attempts=("n", "sum"), first_attempts=("first_attempts", "sum")
        )
        return out.reset_index()

    return {
        "attempt": count([*keys, "attempt", "status_code", "outcome"]),
        "latency": count([*keys, "outcome", "latency_bin"]),
        "bucket": count([*keys, "bucket", "outcome"]),
    }


def _deliveries(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per (attempts taken, delivered): deliveries, and each wait's count, sum, min and max."""
    group = [*keys, "delivery_id"]
    per = df.assign(ok=(df["outcome"] == "delivered").astype("int64")).groupby(
        group, sort=False, dropna=False
    )
    taken = per.agg(number=("attempt", "size"), ok=("ok", "max"))
    last = wait_attempts(df["attempt"].max() if len(df) else 1)
    # The scheduled time of each attempt number (the earliest, as min(CASE ...) in SQL).
    limited = df[df["attempt"] <= last]
    at = (
        limited.groupby([*group, "attempt"], sort=False, dropna=False)["scheduled_s"]
        .min()
        .unstack("attempt")
        .reindex(columns=range(1, last + 1))
    )
    aggregations: dict[str, tuple[str, str]] = {"count": ("number", "size")}
    for k in range(2, last + 1):
        taken[f"w{k}"] = at[k] - at[k - 1]
        for stat in ("count", "sum", "min", "max"):
            aggregations[f"w{k}_{stat}"] = (f"w{k}", stat)
    grouped = taken.reset_index().groupby([*keys, "number", "ok"], sort=True, dropna=False)
    return grouped.agg(**aggregations).reset_index()


def summary_tables(df: pd.DataFrame, by: str | None, bucket_s: float) -> dict[str, Any]:
    """The raw aggregates of an attempt frame (plus an optional ``by`` column), as the SQL gives."""
    keys = _keys(by)
    frame = df.copy(deep=False)
    if by is not None:
        frame["by"] = df[by]
    frame["started_s"] = _seconds(df["started_at"])
    frame["scheduled_s"] = _seconds(df["scheduled_at"])
    return {
        "totals": _totals(frame, keys),
        "counts": _counts(frame, keys, bucket_s),
        "deliveries": _deliveries(frame, keys),
    }


def _seconds(times: pd.Series) -> Any:
    """Seconds since 1970 as floats (microsecond precision, like EXTRACT(EPOCH ...))."""
    return times.astype("datetime64[us, UTC]").astype("int64") / 1e6
