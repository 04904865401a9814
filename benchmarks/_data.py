"""Attempt logs of a given size in the local PostgreSQL, shared by the items that read them.

Deliveries take one to five attempts (three on average), wait 60 s × n between
attempts like svc-infra's queue, and end delivered, failed with 503/500, timed
out or refused; durations spread over three orders of magnitude. Each size is
built once per run (``UNLOGGED``: the benchmark reads it, nothing needs it to
survive a crash) and dropped at exit.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

PG_URL = os.environ.get("SVC_NB_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SVC_NB_BENCH_REDIS", "redis://127.0.0.1:6379/0")
_PREFIX = "svcnb_bench_attempts_"
_made: set[str] = set()


def engine() -> Any:
    import sqlalchemy as sa

    return sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))


def attempts_table(rows: int) -> str:
    """The name of a table holding ``rows`` attempts (built on first use)."""
    import sqlalchemy as sa

    name = f"{_PREFIX}{rows}"
    if name in _made:
        return name
    deliveries = rows // 3 + 1
    with engine().begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        conn.execute(sa.text("SELECT setseed(0.42)"))
        conn.execute(
            sa.text(
                f"""
                CREATE UNLOGGED TABLE {name} AS
                SELECT 'd' || d.id AS delivery_id, a AS attempt,
                       d.t0 + (30 * a * (a - 1)) * interval '1 second' AS scheduled_at,
                       d.t0 + (30 * a * (a - 1)) * interval '1 second'
                            + (random() * 50) * interval '1 millisecond' AS started_at,
                       exp(random() * 7) AS duration_ms,
                       CASE WHEN a = d.k AND d.ok THEN 200
                            WHEN (d.id + a) % 4 = 0 THEN 500
                            WHEN (d.id + a) % 4 = 1 THEN NULL
                            WHEN (d.id + a) % 4 = 2 THEN NULL
                            ELSE 503 END AS status_code,
                       CASE WHEN a = d.k AND d.ok THEN 'delivered'
                            WHEN (d.id + a) % 4 = 1 THEN 'timeout'
                            WHEN (d.id + a) % 4 = 2 THEN 'connect_error'
                            ELSE 'http_error' END AS outcome,
                       '' AS error, '' AS response_excerpt
                FROM (SELECT id, timestamptz '2026-11-01' + id * interval '300 millisecond' AS t0,
                             1 + (id * 7) % 5 AS k, id % 11 <> 0 AS ok
                      FROM generate_series(0, {deliveries}) AS id) AS d,
                     generate_series(1, d.k) AS a
                LIMIT {rows}
                """
            )
        )
        # The indexes summarize_attempts advises, as a production attempts table has them.
        conn.execute(
            sa.text(
                f"CREATE INDEX {name}_delivery ON {name} (delivery_id, attempt) "
                "INCLUDE (scheduled_at, outcome)"
            )
        )
        conn.execute(sa.text(f"CREATE INDEX {name}_started ON {name} (started_at)"))
    with engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {name}"))  # what autovacuum does: index-only scans
    if not _made:
        atexit.register(drop_tables)
    _made.add(name)
    return name


def drop_tables() -> None:
    import sqlalchemy as sa

    with engine().begin() as conn:
        for name in sorted(_made):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    _made.clear()
