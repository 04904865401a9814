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
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from svc_nb._redact import mask_url, register_secret, scrub
from svc_nb.webhooks._errors import AttemptsError
from svc_nb.webhooks._summary_sql import Columns

__all__ = [
    "SqlSource",
    "alongside",
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
    # The summary's snapshot, exported for a second connection: only on the engine svc_nb
    # made from a URL (see snapshot_twin), and only when the server agreed to export it.
    snapshot: str | None = None
    # Why the summary ran on one connection where it could have had two ("" otherwise).
    alone: str = ""

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
            target = engine = _own_engine(source, target, timeout)
        if isinstance(target, sa.engine.Engine):
            with target.connect() as conn, _begin(conn, source, timeout, export=engine is not None):
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


def _own_engine(source: SqlSource, url: str, timeout: float) -> Any:
    import sqlalchemy as sa

    args = {"connect_timeout": max(2, math.ceil(timeout))}
    try:
        return sa.create_engine(
            _engine_url(url),
            poolclass=sa.pool.NullPool,
            connect_args=args if url.startswith("postgres") else {},
        )
    except (ValueError, TypeError) as exc:  # SQLAlchemy's URL parser: a port that is no number
        raise AttemptsError(
            f"cannot summarise attempts from {source.shown}: the URL cannot be read "
            f"({scrub(str(exc))[:200]}); write it as postgresql://user:password@host:5432/dbname"
        ) from None


def _begin(conn: Any, source: SqlSource, timeout: float, *, export: bool) -> Any:
    """The summary's transaction (a context manager); with ``export``, its snapshot exported.

    The snapshot is exported before anything is read: a server that refuses
    (a PostgreSQL look-alike, an old standby) aborts the transaction, and only
    now does starting another one cost nothing.
    """
    import sqlalchemy as sa

    transaction = conn.begin()
    _session_settings(conn, timeout, fresh=True)
    if not export or conn.dialect.name != "postgresql":
        return transaction
    if (conn.dialect.server_version_info or (0,)) < (10,):
        source.alone = "PostgreSQL before 10 exports no snapshot a second connection can use"
        return transaction
    try:
        # A standby's snapshot is not shared: it answers NULL instead.
        exported = conn.execute(sa.text(_EXPORT)).scalar_one()
    except sa.exc.SQLAlchemyError as exc:
        transaction.rollback()
        source.alone = f"the server would not export the summary's snapshot ({_first_line(exc)})"
        transaction = conn.begin()
        _session_settings(conn, timeout, fresh=True)
        return transaction
    if exported is None:
        source.alone = "the server is a standby (in recovery): its snapshot is not shared"
    else:
        source.snapshot = str(exported)
    return transaction


_EXPORT = "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_export_snapshot() END"
# pg_export_snapshot()'s form since PostgreSQL 10: "00000003-0000001B-1".
_SNAPSHOT_ID = re.compile(r"[0-9A-F]{1,16}-[0-9A-F]{1,16}(-[0-9]{1,10})?")


@contextlib.contextmanager
def snapshot_twin(source: SqlSource, conn: Any, timeout: float) -> Iterator[Any | None]:
    """A second PostgreSQL connection that reads the very snapshot ``conn`` reads, or None.

    Two statements then run at once, one per core, and still see one table.
    Only on the engine svc_nb made from a URL (``source.snapshot`` is exported
    only there): a caller's engine has a pool that a second connection could
    exhaust, and a caller's open transaction may hold writes that no other
    connection sees. Anything that stops the twin (a server that cannot import
    the snapshot, a proxy that sends the second connection elsewhere, no free
    connection slot) leaves the summary on one connection, not failed, and
    ``source.alone`` says why.
    """
    import sqlalchemy as sa

    twin = None
    if source.snapshot is not None:
        try:
            twin = _open_twin(conn, source.snapshot, timeout)
        except sa.exc.SQLAlchemyError as exc:
            source.alone = f"a second connection could not share the snapshot ({_first_line(exc)})"
    if twin is None:
        yield None
        return
    try:
        yield twin
    finally:
        twin.close()  # rolls its read-only transaction back, and closes it (no pool)


def _open_twin(conn: Any, snapshot: str, timeout: float) -> Any:
    import sqlalchemy as sa

    twin = conn.engine.connect()  # the same engine: the same connect timeout
    try:
        twin.begin()
        twin.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        import_snapshot(twin, snapshot)
        _session_settings(twin, timeout, fresh=False)
    except BaseException:
        twin.close()
        raise
    return twin


def import_snapshot(twin: Any, snapshot: str) -> None:
    """Make ``twin``'s transaction read ``snapshot``, once its form is checked."""
    import sqlalchemy as sa

    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise sa.exc.ArgumentError(f"not a snapshot id: {snapshot[:40]!r}")
    # SET cannot take a bound parameter: the id is written in, after the check above.
    twin.execute(sa.text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))


@contextlib.contextmanager
def alongside(twin: Any | None) -> Iterator[Callable[..., Callable[[Any], Any]]]:
    """Start work on ``twin`` in a thread now, collect it later; without a twin, run it later.

    ``later(fn)`` returns ``collect(conn)``: with a twin, ``fn(twin)`` is already
    running and ``collect`` waits for it; without, ``collect`` runs ``fn(conn)``.
    If the block fails first (an error, KeyboardInterrupt), the twin's statement
    is cancelled on the server, and the thread is joined before the block is
    left, so that the twin can be closed.
    """
    if twin is None:
        yield lambda fn: fn
        return
    from concurrent.futures import Future, ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="svc_nb-summary")
    futures: list[Future[Any]] = []

    def later(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        future = pool.submit(fn, twin)
        futures.append(future)
        return lambda _conn: future.result()

    try:
        yield later
    except BaseException:
        _stop(twin, futures)
        raise
    finally:
        # Bounded: a statement the cancels missed still ends at its statement_timeout.
        pool.shutdown(wait=True)


# A cancel request is a connection of its own to the server: bounded like any probe.
_CANCEL_TIMEOUT_S = 3.0
# A cancel that reaches the server between two statements stops nothing: sent again
# every half second while the work runs, for this long at most.
_CANCEL_AGAIN_S = 0.5
_STOP_WITHIN_S = 10.0


def _stop(twin: Any, futures: Sequence[Any]) -> None:
    """Cancel the twin's statement until its work has ended, or for a few seconds at most."""
    from concurrent.futures import wait

    deadline = time.monotonic() + _STOP_WITHIN_S
    while not all(f.done() for f in futures) and time.monotonic() < deadline:
        _cancel(twin)
        wait(futures, timeout=_CANCEL_AGAIN_S)


def _cancel(conn: Any) -> None:
    """Ask the server to stop the connection's running statement (psycopg 3, or psycopg2)."""
    with contextlib.suppress(Exception):
        raw = conn.connection.dbapi_connection
        if hasattr(raw, "cancel_safe"):  # psycopg >= 3.2: bounded, and not blocking the loop
            raw.cancel_safe(timeout=_CANCEL_TIMEOUT_S)
        else:
            raw.cancel()


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


# What a failed statement's first line says, what that means, and what to do; first match wins.
_FAILURES = (
    (
        "statement timeout",
        "the summary on {shown} did not finish within {timeout:g} s: pass a larger timeout=, "
        "or fewer rows with since=/until= (fast with an index on the start time)",
    ),
    (
        "conflict with recovery",
        "the standby serving {shown} cancelled the summary to replay the primary's changes "
        "({message}): run it on the primary, or set hot_standby_feedback = on (or a larger "
        "max_standby_streaming_delay) on the standby",
    ),
    (
        "due to user request",
        "a statement of the summary on {shown} was cancelled on the server ({message}): "
        "pg_cancel_backend() or an administrator stopped it; run it again",
    ),
    (
        "permission denied",
        "cannot summarise attempts from {shown}: {message}; grant the database user SELECT on "
        "it (GRANT SELECT ON ... TO ...), or connect as a user who has it",
    ),
    (
        "due to administrator command",
        "the server ended the summary's connection to {shown} ({message}): it restarted or an "
        "administrator stopped the session; run it again",
    ),
)


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return scrub(text[0] if text else type(exc).__name__)[:300]


def _failure(source: SqlSource, exc: Exception, timeout: float) -> str:
    message = _first_line(exc)
    for needle, template in _FAILURES:
        if needle in message:
            return template.format(shown=source.shown, timeout=timeout, message=message)
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
    """The target as a user may see it; a URL's password is first registered with the redactor.

    Registered, not only masked in this text: a password also reaches messages
    and Findings in other forms (a raw space in it defeats mask_url's pattern).
    """
    if isinstance(target, str):
        with contextlib.suppress(ValueError):  # an unreadable netloc: nothing to register
            password = urllib.parse.urlsplit(target).password
            if password:
                register_secret(password, urllib.parse.unquote(password))
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
