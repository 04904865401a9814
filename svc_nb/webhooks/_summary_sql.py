"""The attempt summary computed by the database: SQLAlchemy queries that return aggregates only.

Three statements, whatever the table's size: totals with latency percentiles,
the counts (by attempt, by latency bin, by time bucket) and the per-delivery
figures (attempts each delivery took, waits between attempts). Each comes back
as a few hundred rows at most.

Portable SQL where it exists (GROUP BY, CASE, window-free pivots, UNION ALL);
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
    "totals_query",
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
# Dialects that aggregate several GROUP BYs in one scan with GROUPING SETS.
_GROUPING_SETS_DIALECTS = frozenset(
    {"postgresql", "oracle", "snowflake", "mssql", "duckdb", "trino", "bigquery"}
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

    class epoch_seconds(FunctionElement[float]):  # noqa: N801 - a SQL function name
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


def totals_query(c: Columns, dialect: str) -> sa.Select[Any]:
    """Per ``by`` group: counts, time range, mean/max latency and its percentiles."""
    import sqlalchemy as sa

    duration = c.duration_ms
    started = epoch(c.started_at)
    percentiles = [
        _percentile(q, duration, dialect).label(f"p{round(q * 100)}_ms") for q in PERCENTILES
    ]
    query = sa.select(
        *c.keys,
        sa.func.count().label("attempts"),
        sa.func.count(duration).label("timed"),
        sa.func.min(started).label("first_s"),
        sa.func.max(started).label("last_s"),
        sa.func.avg(duration).label("mean_ms"),
        sa.func.max(duration).label("max_ms"),
        sa.func.max(c.attempt).label("max_attempt"),
        *percentiles,
    )
    return query.group_by(c.by) if c.by is not None else query


def _count_columns(c: Columns, bucket_s: float) -> tuple[Any, Any]:
    import sqlalchemy as sa

    # Constants are written into the SQL, not bound: a GROUP BY expression must match its
    # SELECT twin exactly, and two bound parameters ($1, $2) never match.
    latency_bin = sa.case(
        (
            c.duration_ms > sa.literal_column("0"),
            sa.func.floor(sa.func.ln(c.duration_ms) * sa.literal_column(repr(BINS_PER_E))),
        ),
        else_=sa.null(),
    )
    bucket = sa.func.floor(epoch(c.started_at) / sa.literal_column(repr(float(bucket_s))))
    return latency_bin, bucket


def counts_query(c: Columns, bucket_s: float, dialect: str) -> Any:
    """Attempts by (attempt, status, outcome), by (outcome, latency bin) and by (bucket, outcome).

    One scan with GROUPING SETS where the dialect has them, else three scans in
    one UNION ALL. Rows carry ``kind``: "attempt", "latency" or "bucket".
    """
    import sqlalchemy as sa

    latency_bin, bucket = _count_columns(c, bucket_s)
    one, zero = sa.literal_column("1"), sa.literal_column("0")
    first = sa.func.sum(sa.case((c.attempt == one, one), else_=zero))
    if dialect in _GROUPING_SETS_DIALECTS:
        rows = sa.select(
            *c.keys,
            c.attempt.label("attempt"),
            c.status_code.label("status_code"),
            c.outcome.label("outcome"),
            latency_bin.label("latency_bin"),
            bucket.label("bucket"),
        ).subquery("rows")
        key = [rows.c.by] if c.by is not None else []
        sets = sa.func.grouping_sets(
            sa.tuple_(*key, rows.c.attempt, rows.c.status_code, rows.c.outcome),
            sa.tuple_(*key, rows.c.outcome, rows.c.latency_bin),
            sa.tuple_(*key, rows.c.bucket, rows.c.outcome),
        )
        kind = sa.case(
            (sa.func.grouping(rows.c.attempt) == 0, "attempt"),
            (sa.func.grouping(rows.c.latency_bin) == 0, "latency"),
            else_="bucket",
        )
        first_rows = sa.func.sum(sa.case((rows.c.attempt == one, one), else_=zero))
        return sa.select(
            kind.label("kind"),
            *key,
            rows.c.attempt,
            rows.c.status_code,
            rows.c.outcome,
            rows.c.latency_bin,
            rows.c.bucket,
            sa.func.count().label("attempts"),
            first_rows.label("first_attempts"),
        ).group_by(sets)
    null_int = sa.cast(sa.null(), sa.Integer)
    null_float = sa.cast(sa.null(), sa.Float)
    by_key = [c.by] if c.by is not None else []
    parts = [
        sa.select(
            sa.literal("attempt").label("kind"),
            *c.keys,
            c.attempt.label("attempt"),
            c.status_code.label("status_code"),
            c.outcome.label("outcome"),
            null_float.label("latency_bin"),
            null_float.label("bucket"),
            sa.func.count().label("attempts"),
            first.label("first_attempts"),
        ).group_by(*by_key, c.attempt, c.status_code, c.outcome),
        sa.select(
            sa.literal("latency"),
            *c.keys,
            null_int,
            null_int,
            c.outcome,
            latency_bin,
            null_float,
            sa.func.count(),
            first,
        ).group_by(*by_key, c.outcome, latency_bin),
        sa.select(
            sa.literal("bucket"),
            *c.keys,
            null_int,
            null_int,
            c.outcome,
            null_float,
            bucket,
            sa.func.count(),
            first,
        ).group_by(*by_key, bucket, c.outcome),
    ]
    return sa.union_all(*parts)


def deliveries_query(c: Columns, max_attempt: int, dialect: str) -> Any:
    """Per delivery (one pass): attempts taken and success, then the waits between attempts.

    The waits pivot each delivery's scheduled times by attempt number
    (``min(CASE WHEN attempt = k ...)``) instead of a window function: one
    hash aggregate, no sort of the whole table. Rows carry ``kind``: "delivery"
    (attempts, delivered, deliveries) or "wait" (attempt, retries, mean/p50/p95/max).
    """
    import sqlalchemy as sa

    last = max(1, min(int(max_attempt or 1), MAX_WAIT_ATTEMPTS))
    scheduled = epoch(c.scheduled_at)
    at = [
        sa.func.min(sa.case((c.attempt == k, scheduled), else_=sa.null())).label(f"t{k}")
        for k in range(1, last + 1)
    ]
    delivered = sa.func.max(sa.case((c.outcome == "delivered", 1), else_=0))
    by_key = [c.by] if c.by is not None else []
    per = (
        sa.select(
            *c.keys,
            sa.func.count().label("n"),
            delivered.label("ok"),
            *at,
        )
        .group_by(*by_key, c.delivery_id)
        .cte("per_delivery")
    )
    key = [per.c.by] if c.by is not None else []
    null = sa.cast(sa.null(), sa.Float)
    histogram = sa.select(
        sa.literal("delivery").label("kind"),
        *key,
        per.c.n.label("number"),
        per.c.ok.label("ok"),
        sa.func.count().label("count"),
        null.label("mean_s"),
        null.label("p50_s"),
        null.label("p95_s"),
        null.label("max_s"),
    ).group_by(*key, per.c.n, per.c.ok)
    if last < 2:
        return histogram
    numbers = sa.union_all(
        *(sa.select(sa.literal(k, sa.Integer).label("k")) for k in range(2, last + 1))
    ).subquery("numbers")
    wait = sa.case(
        *((numbers.c.k == k, per.c[f"t{k}"] - per.c[f"t{k - 1}"]) for k in range(2, last + 1)),
        else_=sa.null(),
    )
    waits = sa.select(*key, numbers.c.k.label("k"), wait.label("wait")).select_from(
        per.join(numbers, sa.true())
    )
    w = waits.subquery("waits")
    wkey = [w.c.by] if c.by is not None else []
    wait_rows = (
        sa.select(
            sa.literal("wait"),
            *wkey,
            w.c.k,
            sa.cast(sa.null(), sa.Integer),
            sa.func.count(w.c.wait),
            sa.func.avg(w.c.wait),
            _percentile(0.5, w.c.wait, dialect),
            _percentile(0.95, w.c.wait, dialect),
            sa.func.max(w.c.wait),
        )
        .where(w.c.wait.is_not(None))
        .group_by(*wkey, w.c.k)
    )
    return sa.union_all(histogram, wait_rows)

