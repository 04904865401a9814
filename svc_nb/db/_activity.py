"""``activity``: who holds the server's connections, with stuck sessions flagged."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import scrub
from svc_nb._report import Finding, Report, ReprMixin, Status
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_duration, check_timeout
from svc_nb.db._causes import DbCause
from svc_nb.db._check import connected
from svc_nb.db._model import IDLE_IN_TRANSACTION_AFTER_S, clip
from svc_nb.db._probe import close
from svc_nb.db._server import SERVER_EXPLAIN
from svc_nb.db._text import mask_sql_passwords

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ACTIVITY_COLUMNS", "Activity", "activity"]

C = DbCause
ACTIVITY_COLUMNS = [
    "pid",
    "usename",
    "datname",
    "application_name",
    "client_addr",
    "state",
    "wait_event_type",
    "wait_event",
    "backend_start",
    "xact_start",
    "query_start",
    "state_change",
    "xact_age_s",
    "query_age_s",
    "query",
    "flag",
]
# The columns the text and HTML views show; the frame keeps them all.
_SHOWN = ["pid", "application_name", "usename", "state", "xact_age_s", "flag", "query"]
_FLAG = "long idle in transaction"
_TITLE = "svc_nb db activity"
_QUERY_CHARS = 200

_ACTIVITY_EXPLAIN: Mapping[DbCause, Explanation] = {
    C.IDLE_IN_TRANSACTION: Explanation(
        Status.WARN,
        "{count} session(s) idle in transaction for more than {after:g} s",
        "Each holds a connection (and its locks) while doing nothing: a request that began a "
        "transaction and never committed, rolled back or returned the connection to the pool.",
        "Find the code path (application_name, query column) and make it commit/rollback; "
        "terminate now with SELECT pg_terminate_backend(pid) for pids {pids}; guard with ALTER "
        "DATABASE … SET idle_in_transaction_session_timeout = '60s';",
    ),
}

_SQL = """
SELECT pid, usename, datname, application_name, client_addr::text AS client_addr,
       state, wait_event_type, wait_event, backend_start, xact_start, query_start, state_change,
       extract(epoch FROM now() - xact_start)::float8 AS xact_age_s,
       extract(epoch FROM now() - query_start)::float8 AS query_age_s,
       extract(epoch FROM now() - state_change)::float8 AS state_age_s,
       query
  FROM pg_stat_activity
 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
 ORDER BY xact_start NULLS LAST, backend_start
"""


# eq=False: comparing (or hashing) DataFrames element-wise is never what a caller means.
@dataclass(frozen=True, eq=False)
class Activity(ReprMixin):
    """``pg_stat_activity`` as a DataFrame, and the Report that says what it means.

    ``frame`` is empty when the connection failed; ``report`` then says why.
    In a notebook the object shows both: the findings, then the sessions.
    """

    frame: pd.DataFrame
    report: Report

    @property
    def flagged(self) -> pd.DataFrame:
        """The sessions flagged as stuck (idle in transaction too long)."""
        return self.frame[self.frame["flag"] != ""]

    def __str__(self) -> str:
        if self.frame.empty:
            return str(self.report)
        table = self.frame[_SHOWN].to_string(index=False, max_rows=40, max_colwidth=60)
        return f"{self.report}\n\n{table}"

    def _repr_html_(self) -> str:
        if self.frame.empty:
            return self.report._repr_html_()
        # to_html escapes every cell; the query text is masked before it gets here.
        table = self.frame[_SHOWN].to_html(index=False, max_rows=40, escape=True)
        caption = html.escape(f"{len(self.frame)} client session(s), this one excluded")
        return f"{self.report._repr_html_()}<p>{caption}</p>{table}"


def _safe_query(text: str | None) -> str:
    if not text:
        return ""
    return clip(scrub(mask_sql_passwords(text)), _QUERY_CHARS)


def _records(rows: list[Any], after: float) -> list[dict[str, Any]]:
    records = []
    for row in rows:
        record = {c: row[c] for c in ACTIVITY_COLUMNS if c not in ("query", "flag")}
        record["query"] = _safe_query(row["query"])
        stuck = row["state"] == "idle in transaction" and (row["state_age_s"] or 0) > after
        record["flag"] = _FLAG if stuck else ""
        records.append(record)
    return records


def _finding(records: list[dict[str, Any]], states: dict[str, int], after: float) -> Finding:
    flagged = [r["pid"] for r in records if r["flag"]]
    data = {"sessions": len(records), "states": states}
    if not flagged:
        summary = f"{len(records)} other client session(s); none stuck idle in transaction"
        return Finding("db.activity", Status.OK, summary, data=data)
    pids = ", ".join(str(pid) for pid in flagged[:10])
    data["flagged_pids"] = flagged
    return explain(
        "db.activity",
        C.IDLE_IN_TRANSACTION,
        _ACTIVITY_EXPLAIN,
        data=data,
        count=len(flagged),
        after=after,
        pids=pids,
    )


async def activity(
    url: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    idle_in_transaction_after: float = IDLE_IN_TRANSACTION_AFTER_S,
    environ: Mapping[str, str] | None = None,
) -> Activity:
    """``pg_stat_activity`` (client sessions, this one excluded) and what it means.

    Sessions ``idle in transaction`` for more than ``idle_in_transaction_after``
    seconds are flagged in column ``flag``: they hold a pool slot (and locks)
    and are the usual cause of pool exhaustion. ``.report`` holds the
    ``db.activity`` finding — or why the connection failed, in which case
    ``.frame`` is empty.
    """
    check_timeout(timeout)  # misuse is refused before pandas is even imported
    after = check_duration(idle_in_transaction_after, name="idle_in_transaction_after")
    import pandas as pd

    conn, failed, budget = await connected(url, timeout, environ)
    empty = pd.DataFrame(columns=ACTIVITY_COLUMNS)
    if conn is None:
        return Activity(empty, Report(failed, title=_TITLE))
    try:
        async with asyncio.timeout(budget.left()):
            rows = await conn.fetch(_SQL)
    except TimeoutError:
        timed_out = explain("db.activity", C.QUERY_TIMEOUT, SERVER_EXPLAIN, timeout=budget.timeout)
        return Activity(empty, Report([timed_out], title=_TITLE))
    finally:
        await close(conn, budget)
    records = _records(rows, after)
    frame = pd.DataFrame.from_records(records, columns=ACTIVITY_COLUMNS)
    counts = frame["state"].fillna("(none)").value_counts().to_dict() if len(frame) else {}
    states = {str(state): int(count) for state, count in counts.items()}
    return Activity(frame, Report([_finding(records, states, after)], title=_TITLE))
