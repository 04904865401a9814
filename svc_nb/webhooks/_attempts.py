"""Attempt logs as DataFrames: the one column set, exact dtypes, save/load, and readers.

svc-infra keeps no per-attempt history (only ``attempts`` and ``last_error`` per
job), so attempt logs come from svc_nb's own deliveries or from your tables.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from svc_nb._explain import Explanation, explain
from svc_nb._redact import mask_url, scrub
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import check_timeout
from svc_nb.webhooks._causes import WebhooksCause
from svc_nb.webhooks._errors import AttemptsError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ATTEMPT_COLUMNS",
    "OUTCOMES",
    "AttemptsError",
    "coerce_attempts",
    "load_attempts",
    "read_attempts_file",
    "write_attempts_file",
]

ATTEMPT_COLUMNS = (
    "delivery_id",
    "attempt",
    "scheduled_at",
    "started_at",
    "duration_ms",
    "status_code",
    "outcome",
    "error",
    "response_excerpt",
)
# "cancelled" marks an attempt in flight when the run was interrupted.
OUTCOMES = ("delivered", "http_error", "timeout", "connect_error", "tls_error", "cancelled")
_TIME_COLUMNS = ("scheduled_at", "started_at")
_TEXT_COLUMNS = ("delivery_id", "outcome", "error", "response_excerpt")
_TIME_DTYPE: Final = "datetime64[us, UTC]"


_BAD_ROWS = {
    WebhooksCause.BAD_ROWS: Explanation(
        Status.WARN,
        "{rows} attempts read from {origin}; {bad} bad row(s) left out",
        "{rows_detail}",
        "Inspect df.attrs['bad_rows'] and fix those rows at the source.",
    )
}


class LoadReport(Report):
    """The findings of one load; immutable, so pandas may "deep-copy" it from ``df.attrs`` as is."""

    def __deepcopy__(self, memo: dict[int, Any]) -> LoadReport:
        return self


def empty_attempts() -> pd.DataFrame:
    """An attempt log with no rows and the exact dtypes."""
    import pandas as pd

    return coerce_attempts(pd.DataFrame({c: [] for c in ATTEMPT_COLUMNS}))


def coerce_attempts(df: pd.DataFrame) -> pd.DataFrame:
    """Give an attempt frame its exact column order and dtypes (tz-aware UTC times, Int64 codes)."""
    import pandas as pd

    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for col in ATTEMPT_COLUMNS:
        if col in df.columns:
            values = df[col].reset_index(drop=True)
        else:
            values = pd.Series([None] * len(df), dtype=object)
        if col in _TIME_COLUMNS:
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                out[col] = values.dt.tz_convert("UTC").astype(
                    _TIME_DTYPE
                )  # already times: no parsing
            else:
                out[col] = pd.to_datetime(values, utc=True, format="ISO8601").astype(_TIME_DTYPE)
        elif col == "attempt":
            out[col] = values.astype("int64")
        elif col == "duration_ms":
            out[col] = pd.to_numeric(values, errors="raise").astype("float64")
        elif col == "status_code":
            out[col] = pd.to_numeric(values, errors="raise").astype("Int64")
        elif pd.api.types.is_string_dtype(values.dtype) and not values.hasnans:
            out[col] = values.astype(str)
        else:
            series = values.astype(object)
            out[col] = series.where(series.notna(), "").astype(str)
    return out


# -- files -------------------------------------------------------------------------


def _fmt_path(path: str | Path) -> Path:
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise AttemptsError(
            f"attempt logs are saved as .csv or .jsonl (JSON lines), not {p.suffix or 'no suffix'!r}"
        )
    return p


def write_attempts_file(df: pd.DataFrame, path: str | Path) -> Path:
    """Write an attempt frame to CSV or JSON lines so that reading it back is identical."""
    p = _fmt_path(path)
    frame = coerce_attempts(df)
    if p.suffix.lower() == ".csv":
        out = frame.copy()
        for col in _TIME_COLUMNS:
            out[col] = frame[col].map(lambda t: t.isoformat() if t is not None and t == t else "")
        out.to_csv(p, index=False)
        return p
    with p.open("w", encoding="utf-8") as fh:
        for row in _records(frame):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return p


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    cols = {c: frame[c].tolist() for c in ATTEMPT_COLUMNS}
    for i in range(len(frame)):
        row: dict[str, Any] = {}
        for c in ATTEMPT_COLUMNS:
            v = cols[c][i]
            if c in _TIME_COLUMNS:
                v = None if v is None or v != v else v.isoformat()
            elif c == "status_code":
                v = None if v is None or v is _na() else int(v)
            elif c == "duration_ms":
                v = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            row[c] = v
        rows.append(row)
    return rows


def _na() -> Any:
    import pandas as pd

    return pd.NA


def read_attempts_file(path: str | Path) -> pd.DataFrame:
    """Read a CSV or JSON-lines attempt log written by :func:`write_attempts_file`."""
    import pandas as pd

    p = _fmt_path(path)
    if not p.exists():
        raise AttemptsError(f"no attempt log at {p}")
    if p.suffix.lower() == ".csv":
        try:
            raw = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
        except pd.errors.EmptyDataError:
            raise AttemptsError(f"{p} is empty: no header row with the attempt columns") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise AttemptsError(f"{p} is not a readable CSV file: {reason}") from None
        raw = raw.replace({"": None}) if len(raw) else raw
        for col in _TEXT_COLUMNS:
            if col in raw.columns:
                raw[col] = raw[col].fillna("")
        return raw
    rows = []
    try:
        with p.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise AttemptsError(f"{p}: line {n} is not JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise AttemptsError(
                        f"{p}: line {n} is not a JSON object (one attempt per line)"
                    )
                rows.append(row)
    except UnicodeDecodeError:
        raise AttemptsError(f"{p} is not UTF-8 text") from None
    return pd.DataFrame(rows)


# -- load_attempts: any source mapped onto the attempt columns ----------------------------


def load_attempts(
    source: Any = None,
    *,
    columns: Mapping[str, str] | None = None,
    sql: str | None = None,
    url: str | None = None,
    timeout: float = 30.0,
) -> pd.DataFrame:
    """Read attempts from a DataFrame, a CSV/JSON-lines path or a PostgreSQL query.

    ``columns`` maps your column names onto svc_nb's (``{"theirs": "ours"}``).
    Missing required columns raise :class:`AttemptsError` naming them; rows that
    cannot be parsed are kept out of the result but listed in
    ``df.attrs["bad_rows"]`` and ``df.attrs["report"]`` (never silently dropped).
    """
    import pandas as pd

    timeout = check_timeout(timeout)
    if isinstance(source, tuple) and len(source) == 2:
        url, sql = source
    elif isinstance(source, str) and sql is not None and url is None and "://" in source:
        url = source  # load_attempts("postgresql://…", sql="SELECT …")
    if sql is not None or url is not None:
        if not (isinstance(url, str) and isinstance(sql, str)):
            raise AttemptsError(
                "a SQL source needs both url= (postgresql://...) and sql= (SELECT ...)"
            )
        origin = f"query on {mask_url(url)}"
        started = time.monotonic()
        fast = _load_arrow(url, sql, timeout, columns, origin)
        if fast is not None:
            return fast
        from svc_nb._runtime import run

        # What an ADBC connect that failed already spent comes out of the same budget.
        left = timeout - (time.monotonic() - started)
        if left <= 0:
            raise AttemptsError(f"query on {mask_url(url)} did not finish within {timeout:g} s")
        raw = run(_fetch_sql(url, sql, left))
    elif isinstance(source, pd.DataFrame):
        raw = source.copy()
        origin = "DataFrame"
    elif isinstance(source, str | Path):
        raw = read_attempts_file(source)
        origin = str(source)
    elif source is not None and hasattr(source, "attempts"):
        raw = source.attempts
        origin = type(source).__name__
    else:
        raise AttemptsError(
            "load_attempts takes a DataFrame, a .csv/.jsonl path, or a query "
            "(('postgresql://...', 'SELECT ...') or url=..., sql=...), "
            f"got {type(source).__name__}"
        )
    if columns:
        raw = raw.rename(columns=dict(columns))
    return _normalise(raw, origin)


def _check_columns(raw: pd.DataFrame, origin: str) -> None:
    dupes = sorted({str(c) for c in raw.columns[raw.columns.duplicated()]})
    if dupes:
        raise AttemptsError(f"{origin}: column(s) {', '.join(dupes)} appear more than once")
    missing = [c for c in ("delivery_id", "attempt") if c not in raw.columns]
    if "scheduled_at" not in raw.columns and "started_at" not in raw.columns:
        missing.append("started_at (or scheduled_at)")
    if "outcome" not in raw.columns and "status_code" not in raw.columns:
        missing.append("outcome (or status_code)")
    if missing:
        raise AttemptsError(
            f"{origin}: missing attempt column(s) {', '.join(missing)}; columns present: "
            f"{', '.join(map(str, raw.columns))[:500] or 'none'}. Map yours with "
            "columns={'your_name': 'started_at', ...}"
        )


class _Reasons:
    """Why each row is bad ('' for a good row), accumulated check by check."""

    def __init__(self, rows: int) -> None:
        import pandas as pd

        self.text = pd.Series([""] * rows, dtype=object)

    def flag(self, mask: pd.Series, why: str) -> None:
        hit = mask.fillna(False).astype(bool).to_numpy()
        self.text[hit] = self.text[hit].map(lambda r: f"{r}; {why}" if r else why)


def _derived_outcome(codes: pd.Series) -> list[str]:
    """An outcome from the status code when a log has none: 2xx delivered, other codes http_error."""
    return [
        "delivered"
        if c == c and c is not None and 200 <= c < 300
        else ("http_error" if c == c and c is not None else "connect_error")
        for c in codes
    ]


def _parse_columns(df: pd.DataFrame, reasons: _Reasons) -> None:
    """Parse every attempt column in place, flagging the rows whose values do not parse."""
    attempt = _numbers(df["attempt"])
    reasons.flag(
        attempt.isna() | (attempt < 1) | (attempt > 1_000_000) | (attempt != attempt.round()),
        "attempt is not a positive integer",
    )
    df["attempt"] = attempt
    for col in _TIME_COLUMNS:
        parsed = _times(df[col])
        reasons.flag(parsed.isna() & df[col].notna(), f"{col} is not a time")
        reasons.flag(df[col].isna(), f"{col} is empty")
        df[col] = parsed
    if "status_code" in df.columns:
        codes = _numbers(df["status_code"])
        bad = codes.notna() & ((codes < 100) | (codes > 599) | (codes != codes.round()))
        reasons.flag(_unparsed(codes, df["status_code"]) | bad, "status_code is not an HTTP status")
        df["status_code"] = codes.where(~bad)
    if "duration_ms" in df.columns:
        dur = _numbers(df["duration_ms"])
        reasons.flag(_unparsed(dur, df["duration_ms"]), "duration_ms is not a number")
        reasons.flag(
            dur.notna() & ((dur < 0) | (dur == math.inf)),
            "duration_ms is not a finite, non-negative number",
        )
        df["duration_ms"] = dur
    if "outcome" not in df.columns:
        df["outcome"] = _derived_outcome(df["status_code"])
    outcome = df["outcome"].astype(str).str.strip().str.lower()
    reasons.flag(~outcome.isin(OUTCOMES), f"outcome is not one of {', '.join(OUTCOMES)}")
    df["outcome"] = outcome
    empty_id = df["delivery_id"].isna() | (df["delivery_id"].astype(str) == "")
    reasons.flag(empty_id, "delivery_id is empty")


def _normalise(raw: pd.DataFrame, origin: str) -> pd.DataFrame:
    raw = raw.reset_index(drop=True)
    _check_columns(raw, origin)
    df = raw.copy()
    if "scheduled_at" not in df.columns:
        df["scheduled_at"] = df["started_at"]
    if "started_at" not in df.columns:
        df["started_at"] = df["scheduled_at"]
    reasons = _Reasons(len(df))
    _parse_columns(df, reasons)
    bad = (reasons.text != "").to_numpy()
    result = coerce_attempts(df[~bad].reset_index(drop=True))
    bad_rows = raw[bad].copy()
    bad_rows.insert(0, "reason", reasons.text[bad].to_numpy())
    bad_rows.insert(0, "row", bad_rows.index)
    return _with_report(result, bad_rows, origin)


def _with_report(result: pd.DataFrame, bad_rows: pd.DataFrame, origin: str) -> pd.DataFrame:
    result.attrs["bad_rows"] = bad_rows
    result.attrs["report"] = LoadReport(
        [_load_finding(origin, len(result), bad_rows)], title="attempt log"
    )
    return result


def _load_arrow(
    url: str, sql: str, timeout: float, columns: Mapping[str, str] | None, origin: str
) -> pd.DataFrame | None:
    """The ADBC fast path (see ``_arrow``); None when ADBC is not installed or cannot connect."""
    from svc_nb.webhooks import _arrow

    if not _arrow.adbc_available() or timeout < _arrow.MIN_TIMEOUT_S:
        return None  # libpq cannot bound a connect by less than two seconds; asyncpg can
    try:
        table = _arrow.fetch_arrow(url, sql, timeout)
    except _arrow.AdbcUnavailable:
        return None
    if columns:
        table = table.rename_columns([columns.get(n, n) for n in table.column_names])
    typed = _arrow.typed_columns(table)
    if typed is None:  # something to parse or a bad row: the pandas path names each one
        raw = table.to_pandas()
        del table
        return _normalise(raw, origin)
    raw_columns = table.column_names
    del table
    import pandas as pd

    bad_rows = pd.DataFrame(columns=["row", "reason", *raw_columns])
    return _with_report(_arrow.to_frame(typed), bad_rows, origin)


def _load_finding(origin: str, rows: int, bad_rows: pd.DataFrame) -> Finding:
    data = {"rows": rows, "bad_rows": len(bad_rows)}
    if not len(bad_rows):
        return Finding(
            "webhooks.attempts.load", Status.OK, f"{rows} attempts read from {origin}", data=data
        )
    shown = zip(bad_rows["row"][:10], bad_rows["reason"][:10], strict=False)
    return explain(
        "webhooks.attempts.load",
        WebhooksCause.BAD_ROWS,
        _BAD_ROWS,
        data=data,
        rows=rows,
        origin=origin,
        bad=len(bad_rows),
        rows_detail="; ".join(f"row {r}: {why}" for r, why in shown),
    )


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers where they parse, NaN elsewhere (lists, dicts, text never raise)."""
    import pandas as pd

    try:
        return pd.to_numeric(values, errors="coerce").astype("float64")
    except (TypeError, ValueError, OverflowError):

        def one(v: Any) -> float:
            try:
                return float(v)
            except (TypeError, ValueError, OverflowError):
                return float("nan")

        return values.map(one).astype("float64")


def _times(values: pd.Series) -> pd.Series:
    """UTC times where they parse, NaT elsewhere."""
    import pandas as pd

    try:
        return pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    except (TypeError, ValueError, OverflowError):

        def one(v: Any) -> Any:
            try:
                return pd.to_datetime(v, utc=True, errors="coerce")
            except (TypeError, ValueError, OverflowError):
                return pd.NaT

        return pd.to_datetime(values.map(one), utc=True)


def _unparsed(parsed: pd.Series, raw: pd.Series) -> pd.Series:
    """Values present in ``raw`` (not empty) that did not parse."""
    missing = parsed.isna() & raw.notna()
    if not missing.any():
        return missing
    return missing & (raw.astype(str).str.strip() != "")


async def _fetch_sql(url: str, sql: str, timeout: float) -> pd.DataFrame:
    """Run a query with asyncpg and build the frame column by column (no per-row dicts)."""
    import asyncio

    import asyncpg
    import pandas as pd

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        async with asyncio.timeout(timeout):
            conn = await asyncpg.connect(dsn, timeout=timeout)
            try:
                stmt = await conn.prepare(sql)
                names = [a.name for a in stmt.get_attributes()]
                records = await stmt.fetch()
            finally:
                await conn.close()
    except TimeoutError:
        raise AttemptsError(
            f"query on {mask_url(url)} did not finish within {timeout:g} s"
        ) from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise AttemptsError(
            f"cannot read attempts from {mask_url(url)}: {type(exc).__name__}: {scrub(str(exc))}"
        ) from None
    if not records:
        return pd.DataFrame({n: [] for n in names})
    data: dict[str, Sequence[Any]] = dict(zip(names, zip(*records, strict=True), strict=True))
    frame = pd.DataFrame({n: _column(v) for n, v in data.items()})
    return frame


def _column(values: Sequence[Any]) -> Any:
    """Turn one fetched column into a typed array quickly (datetimes vectorised)."""
    import numpy as np
    import pandas as pd

    first = next((v for v in values if v is not None), None)
    if isinstance(first, datetime):
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True)
    if isinstance(first, int) and not isinstance(first, bool) and None not in values:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    return pd.Series(values, dtype=object)
