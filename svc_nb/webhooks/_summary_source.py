"""Where a summary's rows live in the database: the engine, the columns, and the indexes.

A source is a table (``table=``) or a query (``sql=``) reached through a URL,
a SQLAlchemy ``Engine`` or a ``Connection``. Its column names are read
without reading rows (the inspector, or the query with ``LIMIT 0``), then
mapped onto the attempt columns exactly as :func:`load_attempts` maps them.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from svc_nb._redact import mask_url, scrub
from svc_nb.webhooks._errors import AttemptsError
from svc_nb.webhooks._summary_sql import Columns

__all__ = [
    "SqlSource",
    "connect",
    "index_advice",
    "require_sqlalchemy",
    "resolve_columns",
    "snapshot_twin",
]

_REQUIRED = ("delivery_id", "attempt")
_TIME = ("started_at", "scheduled_at")


@dataclass
class SqlSource:
    """A table or query in a database, and how to reach it."""

    target: Any  # a URL string, an Engine or a Connection
    table: str | None = None
    sql: str | None = None
    shown: str = ""
    names: list[str] = field(default_factory=list)
    # True when svc_nb made the engine from a URL: a second connection may share its snapshot.
    own_engine: bool = False

    def selectable(self) -> Any:
        import sqlalchemy as sa

        if self.table is not None:
            schema, _, name = self.table.rpartition(".")
            return sa.table(name, *(sa.column(n) for n in self.names), schema=schema or None)
        cols: list[Any] = [sa.column(n) for n in self.names]
        return sa.text(self.sql or "").columns(*cols).subquery("source")


_INSTALL = "pip install 'svc-nb[sql]' (SQLAlchemy and psycopg)"


def _engine_url(url: str) -> str:
    """A synchronous SQLAlchemy URL: PostgreSQL goes through psycopg (3), whatever the driver."""
    import importlib.util

    scheme, sep, rest = url.partition("://")
    base = scheme.split("+", 1)[0]
    if not (sep and base in ("postgresql", "postgres")):
        return url
    if importlib.util.find_spec("psycopg") is not None:
        return f"postgresql+psycopg://{rest}"
    if importlib.util.find_spec("psycopg2") is not None:
        return f"postgresql+psycopg2://{rest}"
    raise AttemptsError(f"summaries in PostgreSQL need a synchronous driver: {_INSTALL}")


def require_sqlalchemy() -> None:
    import importlib.util

    if importlib.util.find_spec("sqlalchemy") is None:
        raise AttemptsError(f"summaries in a database go through SQLAlchemy: {_INSTALL}")


@contextlib.contextmanager
def connect(source: SqlSource, timeout: float) -> Iterator[Any]:
    """A connection in a transaction, bounded by ``timeout`` where the dialect allows it."""
    import sqlalchemy as sa

    engine = None
    target = source.target
    try:
        if isinstance(target, str):
            args = {"connect_timeout": max(2, math.ceil(timeout))}
            engine = sa.create_engine(
                _engine_url(target),
                poolclass=sa.pool.NullPool,
                connect_args=args if target.startswith("postgres") else {},
            )
            target = engine
            source.own_engine = True
        if isinstance(target, sa.engine.Engine):
            with target.connect() as conn, conn.begin():
                _session_settings(conn, timeout, fresh=True)
                yield conn
        else:
            fresh = not target.in_transaction()
            with _transaction(target):
                _session_settings(target, timeout, fresh=fresh)
                yield target
    except sa.exc.SQLAlchemyError as exc:
        raise AttemptsError(_failure(source, exc, timeout)) from None
    finally:
        if engine is not None:
            engine.dispose()


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


@contextlib.contextmanager
def snapshot_twin(source: SqlSource, conn: Any, timeout: float) -> Iterator[Any | None]:
    """A second PostgreSQL connection that reads the very snapshot ``conn`` reads, or None.

    Two statements then run at once, one per core, and still see one table.
    Only on the engine svc_nb made from a URL: a caller's engine has a pool that
    a second connection could exhaust, and a caller's open transaction may hold
    writes that no other connection sees. Anything that stops the twin (a server
    that cannot export or import snapshots, a proxy that sends the second
    connection elsewhere) leaves the summary on one connection, not failed.
    """
    import sqlalchemy as sa

    opened = _open_twin(conn, timeout) if source.own_engine else None
    if opened is None:
        yield None
        return
    twin, transaction = opened
    try:
        yield twin
    finally:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            transaction.rollback()
        twin.close()


def _open_twin(conn: Any, timeout: float) -> tuple[Any, Any] | None:
    import sqlalchemy as sa

    if conn.dialect.name != "postgresql" or (conn.dialect.server_version_info or (0,)) < (10,):
        return None
    try:
        # Not in a savepoint (PostgreSQL exports no snapshot from one), so asked only where
        # it works: a failure here would abort the summary's own transaction.
        if conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar_one():
            return None
        snapshot = str(conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one())
        if not _SNAPSHOT_ID.fullmatch(snapshot):
            return None
        twin = conn.engine.connect()
    except sa.exc.SQLAlchemyError:
        return None
    try:
        transaction = twin.begin()
        twin.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        import_snapshot(twin, snapshot)
        _session_settings(twin, timeout, fresh=False)
    except sa.exc.SQLAlchemyError:
        twin.close()
        return None
    return twin, transaction


def import_snapshot(twin: Any, snapshot: str) -> None:
    """Make ``twin``'s transaction read ``snapshot`` (checked against its format first)."""
    import sqlalchemy as sa

    # SET cannot take a bound parameter: the id is written in, after the format check.
    twin.execute(sa.text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))


@contextlib.contextmanager
def _transaction(conn: Any) -> Iterator[None]:
    if conn.in_transaction():
        with conn.begin_nested():
            yield
    else:
        with conn.begin():
            yield


def _session_settings(conn: Any, timeout: float, *, fresh: bool) -> None:
    """PostgreSQL: read only, the timeout, JIT off until the row count says so, room to hash.

    ``SET LOCAL`` ends with the transaction; in a caller's open transaction the
    settings end with it too (read only can only start a transaction).
    """
    import sqlalchemy as sa

    if conn.dialect.name != "postgresql":
        return
    if fresh:
        # A summary never writes; one snapshot for all its statements, so the percentiles
        # ranked from the histogram find the very rows the histogram counted.
        conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    conn.execute(sa.text(f"SET LOCAL statement_timeout = {max(1, round(timeout * 1000))}"))
    # A plan that merely looks costly (a small table, a complex sql=) would spend longer
    # compiling than running; _summary_tables turns JIT on once the totals show many rows.
    conn.execute(sa.text("SET LOCAL jit = off"))
    # Grouping by delivery hashes one entry per delivery: without room it spills to disk.
    conn.execute(sa.text("SET LOCAL work_mem = '64MB'"))


def _failure(source: SqlSource, exc: Exception, timeout: float) -> str:
    text = str(getattr(exc, "orig", None) or exc).splitlines()
    message = scrub(text[0] if text else type(exc).__name__)[:300]
    if "statement timeout" in message or "canceling statement" in message:
        return f"the summary on {source.shown} did not finish within {timeout:g} s"
    return f"cannot summarise attempts from {source.shown}: {message}"


def read_names(conn: Any, source: SqlSource) -> list[str]:
    """The source's column names, without reading a row."""
    import sqlalchemy as sa

    if source.table is not None:
        schema, _, name = source.table.rpartition(".")
        inspector = sa.inspect(conn)
        if not inspector.has_table(name, schema=schema or None):
            raise AttemptsError(f"no table {source.table!r} in {source.shown}")
        return [c["name"] for c in inspector.get_columns(name, schema=schema or None)]
    probe = sa.text(f"SELECT * FROM ({source.sql}) AS source LIMIT 0")
    return list(conn.execute(probe).keys())


def resolve_columns(
    source: SqlSource, mapping: Mapping[str, str] | None, by: str | None
) -> tuple[Columns, dict[str, str]]:
    """The attempt columns as expressions over the source, and ours -> theirs for what exists."""
    import sqlalchemy as sa

    ours_of = {n: (mapping or {}).get(n, n) for n in source.names}
    theirs = {ours: name for name, ours in ours_of.items()}
    missing = [c for c in _REQUIRED if c not in theirs]
    if not any(c in theirs for c in _TIME):
        missing.append("started_at (or scheduled_at)")
    if "outcome" not in theirs and "status_code" not in theirs:
        missing.append("outcome (or status_code)")
    if missing:
        raise AttemptsError(
            f"{source.shown}: missing attempt column(s) {', '.join(missing)}; columns present: "
            f"{', '.join(source.names)[:500] or 'none'}. Map yours with "
            "columns={'your_name': 'started_at', ...}"
        )
    src = source.selectable().alias("attempts") if source.table else source.selectable()

    def col(ours: str) -> Any:
        return src.c[theirs[ours]]

    started = col("started_at") if "started_at" in theirs else col("scheduled_at")
    scheduled = col("scheduled_at") if "scheduled_at" in theirs else started
    codes = col("status_code") if "status_code" in theirs else sa.cast(sa.null(), sa.Integer)
    if "outcome" in theirs:
        outcome = col("outcome")
    else:  # as load_attempts derives it: 2xx delivered, another code http_error, none connect_error
        outcome = sa.case(
            (codes.between(sa.literal_column("200"), sa.literal_column("299")), "delivered"),
            (codes.is_not(None), "http_error"),
            else_="connect_error",
        )
    by_col = None
    if by is not None:
        name = theirs.get(by, by if by in source.names else None)
        if name is None:
            raise AttemptsError(f"{source.shown}: no column {by!r} to group by")
        by_col = src.c[name]
    duration = col("duration_ms") if "duration_ms" in theirs else sa.cast(sa.null(), sa.Float)
    columns = Columns(
        delivery_id=col("delivery_id"),
        attempt=col("attempt"),
        scheduled_at=scheduled,
        started_at=started,
        duration_ms=duration,
        status_code=codes,
        outcome=outcome,
        by=by_col,
    )
    return columns, theirs


def shown_target(target: Any) -> str:
    if isinstance(target, str):
        return mask_url(target)
    url = getattr(getattr(target, "engine", target), "url", None)
    return mask_url(str(url)) if url is not None else type(target).__name__


def index_advice(conn: Any, source: SqlSource, theirs: Mapping[str, str]) -> list[str]:
    """``CREATE INDEX`` statements for a table with no index leading with the columns read.

    The time filter (``since=``/``until=``) needs an index on the start time; the
    per-delivery figures group by delivery and attempt.
    """
    import sqlalchemy as sa

    if source.table is None:
        return []
    schema, _, name = source.table.rpartition(".")
    inspector = sa.inspect(conn)
    leading: set[str] = set()
    with contextlib.suppress(sa.exc.SQLAlchemyError, NotImplementedError):
        for index in inspector.get_indexes(name, schema=schema or None):
            if index.get("column_names"):
                leading.add(str(index["column_names"][0]))
        primary = inspector.get_pk_constraint(name, schema=schema or None)
        if primary.get("constrained_columns"):
            leading.add(str(primary["constrained_columns"][0]))
        for unique in inspector.get_unique_constraints(name, schema=schema or None):
            if unique.get("column_names"):
                leading.add(str(unique["column_names"][0]))
    statements = []
    delivery = theirs["delivery_id"]
    if delivery not in leading:
        # PostgreSQL can then read each delivery's attempts in order from the index alone
        # (an index-only scan): the per-delivery figures need no hash table at all.
        scheduled = theirs.get("scheduled_at") or theirs["started_at"]
        result = theirs.get("outcome") or theirs["status_code"]
        include = dict.fromkeys((scheduled, result))
        statements.append(_create_index(conn, name, schema, (delivery, theirs["attempt"]), include))
    time_col = theirs.get("started_at") or theirs["scheduled_at"]
    if time_col not in leading:
        statements.append(_create_index(conn, name, schema, (time_col,), {}))
    return statements


def _create_index(
    conn: Any, name: str, schema: str, cols: Sequence[str], include: Mapping[str, None]
) -> str:
    import sqlalchemy as sa

    metadata = sa.MetaData()
    every = dict.fromkeys([*cols, *include])
    table = sa.Table(name, metadata, *(sa.Column(c) for c in every), schema=schema or None)
    index_name = f"{name}_{'_'.join(cols)}_idx"[:63]
    index = sa.Index(index_name, *(table.c[c] for c in cols))
    if conn.dialect.name == "postgresql":  # builds without locking out the writers
        index.dialect_options["postgresql"]["concurrently"] = True
        index.dialect_options["postgresql"]["include"] = list(include)
    return str(sa.schema.CreateIndex(index).compile(dialect=conn.dialect)).strip() + ";"
