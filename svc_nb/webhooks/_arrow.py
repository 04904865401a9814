"""The fast path for PostgreSQL attempt logs: ADBC fetches Arrow, Arrow becomes the frame.

When ``adbc-driver-postgresql`` and ``pyarrow`` are installed (``pip install
svc-nb[fast]``), :func:`~svc_nb.webhooks.load_attempts` reads a query's rows
with PostgreSQL's binary COPY into Arrow columns, checks them with vectorised
Arrow kernels and hands them to pandas without a row-by-row step. Anything the
typed path cannot vouch for (text times, float attempt numbers, rows that fail
a check) goes through the general pandas path, which names every bad row.
Both are loaded on first use only: ``import svc_nb`` stays light.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import urllib.parse
from typing import TYPE_CHECKING, Any

from svc_nb._exceptions import SvcNbError
from svc_nb._redact import mask_url, scrub
from svc_nb.webhooks._errors import AttemptsError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "MIN_TIMEOUT_S",
    "AdbcUnavailable",
    "adbc_available",
    "fetch_arrow",
    "libpq_uri",
    "to_frame",
    "typed_columns",
]

_TEXT = ("delivery_id", "outcome", "error", "response_excerpt")
_TIMES = ("scheduled_at", "started_at")
# libpq reads these from a URI; asyncpg-only spellings are translated or dropped.
_LIBPQ_PARAMS = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslpassword",
        "application_name",
        "target_session_attrs",
        "options",
        "connect_timeout",
        "keepalives",
        "passfile",
        "service",
    }
)


# libpq's connect_timeout counts whole seconds from 2: below that the asyncpg path runs.
MIN_TIMEOUT_S = 2.0


class AdbcUnavailable(SvcNbError):
    """ADBC could not connect (or read this URL): the caller uses the asyncpg path instead."""


@functools.cache
def adbc_available() -> bool:
    """Whether the fast path's packages are installed (looked up, not imported)."""
    return all(
        importlib.util.find_spec(name) is not None for name in ("adbc_driver_postgresql", "pyarrow")
    )


def libpq_uri(url: str, timeout: float) -> str:
    """``url`` as libpq reads it: no ``+driver``, ``ssl=`` as ``sslmode=``, the timeout applied."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise AdbcUnavailable("not a PostgreSQL URL")
    base, _, query = rest.partition("?")
    params = []
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if name == "ssl":
            name = "sslmode"
        if name in _LIBPQ_PARAMS and name not in ("connect_timeout", "options"):
            params.append((name, value))
    # libpq's connect_timeout is whole seconds, at least 2; the query gets the full budget.
    params.append(("connect_timeout", str(max(2, math.ceil(timeout)))))
    params.append(("options", f"-c statement_timeout={max(1, round(timeout * 1000))}"))
    # libpq decodes %20, not "+", as a space.
    return f"postgresql://{base}?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}"


def fetch_arrow(url: str, sql: str, timeout: float) -> pa.Table:
    """The query's rows as an Arrow table, read through ADBC (binary COPY).

    Raises :class:`AdbcUnavailable` when ADBC cannot connect (the asyncpg path
    then tries, and explains a real connection problem its own way), and
    :class:`AttemptsError` when the query itself fails.
    """
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as adbc

    try:
        conn = adbc.connect(libpq_uri(url, timeout))
    except (adbc_driver_manager.Error, ValueError) as exc:
        raise AdbcUnavailable(type(exc).__name__) from None
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetch_arrow_table()
    except adbc_driver_manager.Error as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "statement timeout" in message:
            raise AttemptsError(
                f"query on {mask_url(url)} did not finish within {timeout:g} s"
            ) from None
        raise AttemptsError(
            f"cannot read attempts from {mask_url(url)}: {type(exc).__name__}: "
            f"{scrub(message)[:300]}"
        ) from None
    finally:
        conn.close()


def _typed_column(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The column in its attempt-log type, or None when only the pandas path can judge it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if name in _TEXT:
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            return None
        return pc.fill_null(column, "") if column.null_count else column
    if name in _TIMES:
        if not pa.types.is_timestamp(kind) or column.null_count:
            return None
        # Naive times are read as UTC, as the pandas path does.
        return column.cast(pa.timestamp("us", tz="UTC"), safe=False)
    numeric = pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind)
    if not (pa.types.is_integer(kind) or (name == "duration_ms" and numeric)):
        return None  # text, or PostgreSQL numeric (an opaque extension type): pandas parses it
    low, high = (v.as_py() for v in pc.min_max(column).values())
    if name == "attempt":
        if column.null_count or (low is not None and (low < 1 or high > 1_000_000)):
            return None
        return column.cast(pa.int64())
    if name == "status_code":
        if low is not None and (low < 100 or high > 599):
            return None
        # int16 marks the column for pandas' nullable Int64 (attempt keeps numpy int64).
        return column.cast(pa.int16())
    if low is not None and (low < 0 or high == math.inf):
        return None
    return column.cast(pa.float64())


def _filled(table: pa.Table) -> dict[str, pa.ChunkedArray] | None:
    """Every attempt column, the optional ones filled as the pandas path fills them."""
    import pyarrow as pa

    names = table.column_names
    if len(set(names)) != len(names) or "outcome" not in names:
        return None  # duplicates are refused, a missing outcome derived, by the pandas path
    columns = {name: table.column(name) for name in names}
    if "scheduled_at" not in columns and "started_at" in columns:
        columns["scheduled_at"] = columns["started_at"]
    if "started_at" not in columns and "scheduled_at" in columns:
        columns["started_at"] = columns["scheduled_at"]
    empty = {
        "error": pa.scalar("", pa.string()),
        "response_excerpt": pa.scalar("", pa.string()),
        "duration_ms": pa.scalar(None, pa.float64()),
        "status_code": pa.scalar(None, pa.int16()),
    }
    for name, value in empty.items():
        if name not in columns:
            columns[name] = pa.chunked_array([pa.repeat(value, table.num_rows)])
    return columns


def typed_columns(table: pa.Table) -> dict[str, pa.ChunkedArray] | None:
    """The attempt columns, typed and checked, or None when the pandas path must decide.

    None when a required column is missing, a column needs parsing (text times,
    float attempt numbers) or any row fails a check: the pandas path then names
    each bad row.
    """
    import pyarrow.compute as pc

    from svc_nb.webhooks._attempts import ATTEMPT_COLUMNS, OUTCOMES

    filled = _filled(table)
    if filled is None or not set(ATTEMPT_COLUMNS) <= set(filled):
        return None
    columns: dict[str, pa.ChunkedArray] = {}
    for name in ATTEMPT_COLUMNS:
        typed = _typed_column(name, filled[name])
        if typed is None:
            return None
        columns[name] = typed
    if pc.any(pc.equal(pc.utf8_length(columns["delivery_id"]), 0)).as_py():
        return None
    known = pc.is_in(columns["outcome"], value_set=_outcome_set(OUTCOMES))
    return columns if pc.all(known).as_py() is not False else None


@functools.cache
def _outcome_set(outcomes: tuple[str, ...]) -> Any:
    import pyarrow as pa

    return pa.array(outcomes, pa.string())


def to_frame(columns: dict[str, pa.ChunkedArray]) -> pd.DataFrame:
    """The typed columns as the attempt frame; Arrow memory is released as pandas takes it.

    The caller hands the dict over: it is emptied, so that nothing but the
    conversion holds the Arrow buffers.
    """
    import pandas as pd
    import pyarrow as pa

    table = pa.table(columns)
    columns.clear()
    return table.to_pandas(
        types_mapper={pa.int16(): pd.Int64Dtype()}.get, split_blocks=True, self_destruct=True
    )
