"""``summarize_attempts``: delivery analytics for attempt logs too big for a notebook's memory.

When the log lives in a database, the database computes the summary and only
aggregates come back (a few hundred rows, whatever the table's size): the
notebook's memory stays flat from a thousand rows to tens of millions. A
DataFrame (or file, or DeliveryLog) is summarised with pandas, with the same
definitions. The charts in :mod:`svc_nb.plots` draw either.
"""

from __future__ import annotations

import html
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from svc_nb._clock import Now, utc_datetime
from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Report, ReprMixin, Status
from svc_nb._validate import check_timeout
from svc_nb.webhooks._causes import WebhooksCause
from svc_nb.webhooks._errors import AttemptsError
from svc_nb.webhooks._summary_tables import assemble, pandas_tables, sql_tables

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AttemptSummary", "summarize_attempts"]

CHECK = "webhooks.attempts.summary"
# Bucket widths a person reads at a glance; the automatic choice keeps to about 200 buckets.
_BUCKETS = (1, 5, 10, 30, 60, 300, 900, 1800, 3600, 10800, 21600, 43200, 86400, 604800)
_MOST_BUCKETS = 200
_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_BUCKET_TEXT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")

_ADVICE = {
    WebhooksCause.MISSING_INDEX: Explanation(
        Status.WARN,
        "{table_name} has no index for {what}",
        "The per-delivery figures group the attempts by delivery: without an index leading with "
        "it, PostgreSQL hashes every delivery in memory (spilling to disk for millions), while "
        "with the covering index below it reads them in order from the index alone. A time "
        "window (since=/until=) needs an index on the start time, or reads the whole table.",
        "{statements}",
    ),
    WebhooksCause.NO_PERCENTILES: Explanation(
        Status.WARN,
        "latency percentiles not computed: {dialect} has no percentile_cont",
        "Counts, histograms, waits and the timeline are complete; p50/p90/p95/p99 are empty.",
        "Read the percentiles from the latency histogram, or summarise on PostgreSQL.",
    ),
}


@dataclass(frozen=True, eq=False)
class AttemptSummary(ReprMixin):
    """Aggregates of an attempt log; every table is small, whatever the log's size.

    ``totals`` (attempts, deliveries, delivered, latency mean/max/p50/p90/p95/p99,
    first and last attempt), ``by_attempt`` (attempts per attempt number, status
    code and outcome), ``latency_histogram`` (log-spaced bins per outcome),
    ``timeline`` (attempts per time bucket and outcome), ``attempts_per_delivery``
    and ``retry_waits`` (seconds between attempt n-1 and n). With ``by``, each
    table has a ``by`` column first. ``report`` says where it was computed and
    which index would help.
    """

    totals: pd.DataFrame
    by_attempt: pd.DataFrame
    latency_histogram: pd.DataFrame
    timeline: pd.DataFrame
    attempts_per_delivery: pd.DataFrame
    retry_waits: pd.DataFrame
    report: Report
    bucket_s: float
    by: str | None
    engine: str
    source: str

    @property
    def status_codes(self) -> pd.DataFrame:
        """Attempts per HTTP status code (no code: a network outcome), most frequent first."""
        keys = ["by"] if self.by is not None else []
        table = self.by_attempt.groupby([*keys, "status_code"], dropna=False, sort=False)
        out = table["attempts"].sum().reset_index()
        return out.sort_values("attempts", ascending=False, kind="stable").reset_index(drop=True)

    @property
    def attempts(self) -> int:
        return int(self.totals["attempts"].sum()) if len(self.totals) else 0

    @property
    def deliveries(self) -> int:
        return int(self.totals["deliveries"].sum()) if len(self.totals) else 0

    def headline(self) -> str:
        delivered = int(self.totals["delivered"].sum()) if len(self.totals) else 0
        return (
            f"{self.attempts} attempts, {self.deliveries} deliveries ({delivered} delivered) "
            f"from {self.source}, computed by {self.engine}"
        )

    def __str__(self) -> str:
        return "\n\n".join([self.headline(), self.totals.to_string(index=False), str(self.report)])

    def __repr__(self) -> str:
        return f"<AttemptSummary {self.headline()!r}>"

    def _repr_html_(self) -> str:
        return (
            f'<div class="svcnb-attempt-summary"><div style="font-weight:bold">'
            f"{html.escape(self.headline())}</div>"
            f"{self.totals.to_html(index=False, border=0)}{self.report._repr_html_()}</div>"
        )


def _bucket_seconds(bucket: Any) -> float | None:
    """``bucket`` as seconds: a number, a timedelta or text such as "5min", "1h", "1d"."""
    if bucket is None:
        return None
    if isinstance(bucket, timedelta):
        seconds = bucket.total_seconds()
    elif isinstance(bucket, str):
        match = _BUCKET_TEXT.fullmatch(bucket.lower())
        if match is None or match.group(2) not in _UNITS:
            raise ArgumentValueError(
                f"bucket {bucket[:40]!r} is not a width such as '30s', '5min', '1h' or '1d'"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    elif isinstance(bucket, int | float) and not isinstance(bucket, bool):
        seconds = float(bucket)
    else:
        raise ArgumentTypeError(
            f"bucket must be seconds, a timedelta or text such as '1h', not {type(bucket).__name__}"
        )
    if not (math.isfinite(seconds) and seconds > 0):
        raise ArgumentValueError(f"bucket must be a positive, finite width, got {bucket!r:.40}")
    return seconds


def auto_bucket(first_s: float | None, last_s: float | None) -> float:
    """The narrowest readable width that draws the time range in at most about 200 buckets."""
    if first_s is None or last_s is None or not last_s > first_s:
        return 3600.0
    span = last_s - first_s
    return float(next((b for b in _BUCKETS if span / b <= _MOST_BUCKETS), _BUCKETS[-1]))


def _findings(
    summary: dict[str, Any], advice: list[str], table: str | None, dialect: str
) -> list[Finding]:
    tables = summary["tables"]
    attempts = int(tables["totals"]["attempts"].sum()) if len(tables["totals"]) else 0
    data = {
        "attempts": attempts,
        "engine": summary["engine"],
        "elapsed_ms": summary["elapsed_ms"],
        "rows_returned": summary["rows_returned"],
    }
    where = "in the database" if summary["engine"] != "pandas" else "with pandas"
    detail = f"{summary['rows_returned']} aggregate rows came back in {summary['elapsed_ms']:g} ms."
    if "connections" in summary:
        data["connections"] = summary["connections"]
    if summary.get("alone"):
        # Not a failure: the same figures, the per-delivery statement run after the others.
        detail += f" Its statements ran one after another on one connection: {summary['alone']}."
    findings = [
        Finding(
            CHECK,
            Status.OK,
            f"{attempts} attempts summarised {where} ({summary['engine']})",
            detail,
            data=data,
        )
    ]
    if advice:
        what = " or ".join(
            "(delivery, attempt)" if ", " in statement.rsplit("(", 1)[-1] else "the start time"
            for statement in advice
        )
        findings.append(
            explain(
                "webhooks.attempts.index",
                WebhooksCause.MISSING_INDEX,
                _ADVICE,
                data={"statements": advice},
                table_name=table,
                what=what,
                statements="\n".join(advice),
            )
        )
    if summary["engine"] != "pandas" and not summary["percentiles"]:
        findings.append(
            explain(
                "webhooks.attempts.percentiles",
                WebhooksCause.NO_PERCENTILES,
                _ADVICE,
                dialect=dialect,
                data={"dialect": dialect},
            )
        )
    return findings


def _source_kind(source: Any, url: Any, table: Any, sql: Any) -> tuple[Any, str | None, str | None]:
    """(database target or None, table, sql) from the several ways of naming a source."""
    if isinstance(source, tuple) and len(source) == 2:
        url, sql = source
        source = None
    database = url if url is not None else None
    if (source is not None and (isinstance(source, str) and "://" in source)) or (
        source is not None and type(source).__module__.startswith("sqlalchemy")
    ):
        database = source
    if database is None:
        if table is not None or sql is not None:
            raise AttemptsError(
                "table= and sql= need a database: pass its URL or a SQLAlchemy engine first"
            )
        return None, None, None
    if (table is None) == (sql is None):
        raise AttemptsError("name what to summarise: table='attempts' or sql='SELECT ...'")
    if table is not None and not isinstance(table, str):
        raise ArgumentTypeError(f"table must be a str, not {type(table).__name__}")
    if sql is not None and not isinstance(sql, str):
        raise ArgumentTypeError(f"sql must be a str, not {type(sql).__name__}")
    return database, table, (sql.strip().rstrip(";") if sql is not None else None)


def summarize_attempts(
    source: Any = None,
    *,
    table: str | None = None,
    sql: str | None = None,
    url: str | None = None,
    columns: Mapping[str, str] | None = None,
    by: str | None = None,
    bucket: float | timedelta | str | None = None,
    since: Now = None,
    until: Now = None,
    timeout: float = 120.0,
) -> AttemptSummary:
    """Summarise delivery attempts where they are: in the database, or in a DataFrame.

    ``source`` is a database URL or SQLAlchemy engine/connection (with
    ``table=`` or ``sql=``), a ``(url, sql)`` pair, or anything
    :func:`load_attempts` reads (DataFrame, .csv/.jsonl path, DeliveryLog).
    ``columns`` maps your column names onto svc_nb's (``{"theirs": "ours"}``);
    ``by`` names a column to split every aggregate by (a topic, an endpoint);
    ``bucket`` is the timeline's width (seconds, timedelta, or "5min", "1h";
    None picks one); ``since``/``until`` keep attempts started in that range.
    """
    timeout = check_timeout(timeout)
    width = _bucket_seconds(bucket)
    window = (
        None if since is None else utc_datetime(since),
        None if until is None else utc_datetime(until),
    )
    if by is not None and not isinstance(by, str):
        raise ArgumentTypeError(f"by must be a column name (str), not {type(by).__name__}")
    started = time.perf_counter()
    database, table, sql = _source_kind(source, url, table, sql)
    if database is None:
        result = pandas_tables(source, columns, by, width, window)
        advice: list[str] = []
    else:
        result, advice = sql_tables(database, table, sql, columns, by, width, window, timeout)
    result["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    findings = _findings(result, advice, table, result["engine"])
    tables = assemble(result["tables"], by, result["bucket_s"])
    return AttemptSummary(
        **tables,
        report=Report(findings, title="attempt summary"),
        bucket_s=result["bucket_s"],
        by=by,
        engine=result["engine"],
        source=result["shown"],
    )
