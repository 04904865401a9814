"""The attempt summary computed by the database: SQLAlchemy queries that return aggregates only.

Three statements, whatever the table's size: totals with latency percentiles,
the counts (by attempt, by latency bin, by time bucket) and the per-delivery
figures (attempts each delivery took, waits between attempts). Each comes back
as a few hundred rows at most.

Portable SQL (GROUP BY, CASE, a window-free pivot, UNION ALL);
the two expressions that differ between engines — seconds since the epoch and
``percentile_cont`` — are compiled per dialect below.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "BINS_PER_E",
    "MAX_WAIT_ATTEMPTS",
    "PERCENTILES",
    "Columns",
    "counts_query",
    "deliveries_query",
    "has_percentiles",
    "latency_bin",
    "totals_query",
    "wait_attempts",
]

# Latency histogram: 20 bins per decade (bin = floor(ln(ms) * BINS_PER_E)), the same in SQL
# and pandas, so no first pass is needed to find the range.
BINS_PER_E = 20 / 2.302585092994046
PERCENTILES = (0.5, 0.9, 0.95, 0.99)
# Waits are pivoted per attempt number; later attempts are counted, not timed.
MAX_WAIT_ATTEMPTS = 20
# Dialects with the ordered-set aggregate percentile_cont(q) WITHIN GROUP (ORDER BY x).
_PERCENTILE_DIALECTS = frozenset(
    {"postgresql", "cockroachdb", "oracle", "snowflake", "redshift", "duckdb", "yugabytedb"}
)


@dataclass(frozen=True)
class Columns:
    """The attempt columns as expressions over the source, plus the optional ``by`` key."""

    delivery_id: Any
    attempt: Any
    scheduled_at: Any
    started_at: Any
    duration_ms: Any
    status_code: Any
    outcome: Any
    by: Any = None

    @property
    def keys(self) -> list[Any]:
        return [] if self.by is None else [self.by.label("by")]


@functools.cache
def _epoch_class() -> Any:
    """A SQL function: a timestamp as seconds since 1970, compiled per dialect."""
    import sqlalchemy as sa
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.sql.functions import FunctionElement

    class epoch_seconds(FunctionElement[float]):
        type = sa.Float()
        inherit_cache = True
        name = "epoch_seconds"

    def _standard(element: Any, compiler: Any, **kw: Any) -> str:
        return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"

    def _sqlite(element: Any, compiler: Any, **kw: Any) -> str:
        return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"

    def _mysql(element: Any, compiler: Any, **kw: Any) -> str:
        return f"UNIX_TIMESTAMP({compiler.process(element.clauses, **kw)})"

    def _mssql(element: Any, compiler: Any, **kw: Any) -> str:
        arg = compiler.process(element.clauses, **kw)
        return f"(DATEDIFF_BIG(microsecond, '1970-01-01', {arg}) / 1e6)"

    def _postgresql(element: Any, compiler: Any, **kw: Any) -> str:
        # date_part stays double precision; EXTRACT returns numeric since PostgreSQL 14,
        # several times slower to compute with over millions of rows.
        return f"date_part('epoch', {compiler.process(element.clauses, **kw)})"

    compiles(epoch_seconds)(_standard)
    compiles(epoch_seconds, "postgresql")(_postgresql)
    compiles(epoch_seconds, "sqlite")(_sqlite)
    compiles(epoch_seconds, "mysql")(_mysql)
    compiles(epoch_seconds, "mariadb")(_mysql)
    compiles(epoch_seconds, "mssql")(_mssql)
    return epoch_seconds


def epoch(expr: Any) -> Any:
    return _epoch_class()(expr)


def has_percentiles(dialect: str) -> bool:
    return dialect in _PERCENTILE_DIALECTS


def _percentile(q: float, expr: Any, dialect: str) -> Any:
    import sqlalchemy as sa

    if not has_percentiles(dialect):
        return sa.cast(sa.null(), sa.Float)
    return sa.func.percentile_cont(q).within_group(expr)


def totals_query(c: Columns, dialect: str, *, percentiles: bool = True) -> sa.Select[Any]:
    """Per ``by`` group: counts, time range, mean/max latency and its percentiles.

    ``percentiles=False`` leaves them NULL, for the caller to rank from the
    histogram (``_summary_percentiles``); ``non_positive`` counts the timed rows
    the histogram has no bin for.
    """
    import sqlalchemy as sa

    duration = c.duration_ms
    # percentile_cont sorts once for all the percentiles: they share the ORDER BY.
    figures = [
        (_percentile(q, duration, dialect) if percentiles else sa.cast(sa.null(), sa.Float)).label(
            f"p{round(q * 100)}_ms"
        )
        for q in PERCENTILES
    ]
    zero: Any = sa.literal_column("0")
    query = sa.select(
        *c.keys,
        sa.func.count().label("attempts"),
        sa.func.count(duration).label("timed"),
        sa.func.min(c.started_at).label("first_at"),
        sa.func.max(c.started_at).label("last_at"),
        sa.func.avg(duration).label("mean_ms"),
        sa.func.max(duration).label("max_ms"),
        sa.func.max(c.attempt).label("max_attempt"),
        sa.func.count(sa.case((duration <= zero, sa.literal_column("1")))).label("non_positive"),
        *figures,
    )
    return query.group_by(c.by) if c.by is not None else query


def latency_bin(c: Columns) -> Any:
    """``floor(ln(ms) * BINS_PER_E)``, NULL for durations that are NULL or not positive."""
    import sqlalchemy as sa

    # Constants are written into the SQL, not bound: a GROUP BY expression must match its
    # SELECT twin exactly, and two bound parameters ($1, $2) never match.
    # Cast to float too: PostgreSQL reads 3600.0 as numeric, and numeric arithmetic on every
    # row costs several times what double precision does.
    per_e = sa.cast(sa.literal_column(repr(BINS_PER_E)), sa.Float)
    return sa.case(
        (c.duration_ms > sa.literal_column("0"), sa.func.floor(sa.func.ln(c.duration_ms) * per_e)),
        else_=sa.null(),
    )


def _count_columns(c: Columns, bucket_s: float) -> tuple[Any, Any]:
    import sqlalchemy as sa

    width = sa.cast(sa.literal_column(repr(float(bucket_s))), sa.Float)
    bucket = sa.func.floor(epoch(c.started_at) / width)
    return latency_bin(c), bucket


def counts_query(c: Columns, bucket_s: float) -> Any:
    """Attempts by (attempt, status, outcome, latency bin), and by (time bucket, outcome).

    Two plain GROUP BYs in one UNION ALL: a few thousand groups at most, which
    Python adds up into the by-attempt table and the latency histogram. Not
    GROUPING SETS: the planner cannot estimate how many latency bins or time
    buckets there are and sorts the whole table for one of the sets, while a
    plain GROUP BY hashes (spilling if it must). Rows carry ``kind``: "attempt"
    or "bucket".
    """
    import sqlalchemy as sa

    latency_bin, bucket = _count_columns(c, bucket_s)
    one: Any = sa.literal_column("1")
    zero: Any = sa.literal_column("0")
    first = sa.func.sum(sa.case((c.attempt == one, one), else_=zero))
    null_int = sa.cast(sa.null(), sa.Integer)
    null_float = sa.cast(sa.null(), sa.Float)
    by_key = [c.by] if c.by is not None else []
    by_attempt = sa.select(
        sa.literal("attempt").label("kind"),
        *c.keys,
        c.attempt.label("attempt"),
        c.status_code.label("status_code"),
        c.outcome.label("outcome"),
        latency_bin.label("latency_bin"),
        null_float.label("bucket"),
        sa.func.count().label("attempts"),
        first.label("first_attempts"),
    ).group_by(*by_key, c.attempt, c.status_code, c.outcome, latency_bin)
    by_bucket = sa.select(
        sa.literal("bucket"),
        *c.keys,
        null_int,
        null_int,
        c.outcome,
        null_float,
        bucket,
        sa.func.count(),
        first,
    ).group_by(*by_key, bucket, c.outcome)
    return sa.union_all(by_attempt, by_bucket)


def deliveries_query(c: Columns, max_attempt: int) -> Any:
    """Per delivery: attempts taken, success, and the waits between attempts, in one pass.

    The inner query pivots each delivery's scheduled times by attempt number
    (``min(CASE WHEN attempt = k ...)``), a hash aggregate with no sort of the
    table and no window function, and turns them into waits once per delivery;
    the outer one groups deliveries by (attempts taken, delivered) and sums each
    wait's count, total, min and max, which Python adds up per attempt number.
    Rows: [by], number, ok, count, then ``w{k}_count``, ``w{k}_sum``,
    ``w{k}_min``, ``w{k}_max`` for k = 2..K.
    """
    import sqlalchemy as sa

    last = wait_attempts(max_attempt)
    # Times stay timestamps per row (a comparison each); seconds are computed per delivery.
    at = [
        epoch(sa.func.min(sa.case((c.attempt == k, c.scheduled_at), else_=sa.null())))
        for k in range(1, last + 1)
    ]
    waits = [(at[k - 1] - at[k - 2]).label(f"w{k}") for k in range(2, last + 1)]
    delivered = sa.func.max(sa.case((c.outcome == "delivered", 1), else_=0))
    by_key = [c.by] if c.by is not None else []
    per = (
        sa.select(*c.keys, sa.func.count().label("n"), delivered.label("ok"), *waits)
        .group_by(*by_key, c.delivery_id)
        .subquery("per_delivery")
    )
    key = [per.c.by] if c.by is not None else []
    figures = []
    for k in range(2, last + 1):
        wait = per.c[f"w{k}"]
        figures += [
            sa.func.count(wait).label(f"w{k}_count"),
            sa.func.sum(wait).label(f"w{k}_sum"),
            sa.func.min(wait).label(f"w{k}_min"),
            sa.func.max(wait).label(f"w{k}_max"),
        ]
    return sa.select(
        *key,
        per.c.n.label("number"),
        per.c.ok.label("ok"),
        sa.func.count().label("count"),
        *figures,
    ).group_by(*key, per.c.n, per.c.ok)


def wait_attempts(max_attempt: Any) -> int:
    """The highest attempt number whose wait is measured."""
    return max(1, min(int(max_attempt or 1), MAX_WAIT_ATTEMPTS))
