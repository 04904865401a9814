"""The verdict: the database's revision(s) judged against the scripts' graph."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from svc_nb._explain import explain
from svc_nb._report import Finding, Status
from svc_nb.migrations._causes import EXPLAIN, MigrationsCause, commands
from svc_nb.migrations._database import DbState
from svc_nb.migrations._graph import ScriptGraph

__all__ = ["DEFAULT_VERSION_TABLE", "heads_finding", "resolve_table", "state_findings"]

DEFAULT_VERSION_TABLE = "alembic_version"
C = MigrationsCause


def _no_version_table(db: DbState, note: str) -> Finding:
    cause = C.UNVERSIONED_SCHEMA if db.user_tables else C.NEVER_MIGRATED
    return explain(
        "migrations.version_table",
        cause,
        EXPLAIN,
        data={"user_tables": db.user_tables, "version_table": db.qualified},
        version_table=db.qualified,
        user_tables=db.user_tables,
        note=note,
    )


def _out_of_sync(
    graph: ScriptGraph, db: DbState, unknown: list[str], data: dict[str, Any], note: str
) -> Finding:
    return explain(
        "migrations.state",
        C.UNKNOWN_REVISION,
        EXPLAIN,
        data={**data, "unknown": unknown},
        unknown=", ".join(unknown),
        first_unknown=unknown[0],
        version_table=db.qualified,
        location=graph.location,
        known=len(graph.revisions),
        heads=", ".join(graph.heads) or "none",
        note=note,
    )


def _behind(
    graph: ScriptGraph, db: DbState, pending: list[str], data: dict[str, Any], note: str
) -> Finding:
    return explain(
        "migrations.state",
        C.PENDING_REVISIONS if db.rows else C.VERSION_TABLE_EMPTY,
        EXPLAIN,
        data={**data, "pending": pending},
        count=len(pending),
        current=", ".join(db.rows),
        pending=graph.describe(pending),
        fix=commands("upgrade") if len(graph.heads) <= 1 else commands("merge", "upgrade"),
        note=note,
    )


def state_findings(graph: ScriptGraph, db: DbState, note: str) -> list[Finding]:
    """What the database's revision means against the graph; ``note`` explains env overrides."""
    if not db.exists:
        return [_no_version_table(db, note)]
    data: dict[str, Any] = {
        "current": list(db.rows),
        "heads": graph.heads,
        "version_table": db.qualified,
        "latency_ms": db.latency_ms,
        "reader": graph.reader,
    }
    unknown = [r for r in db.rows if r not in graph.revisions]
    if unknown:
        return [_out_of_sync(graph, db, unknown, data, note)]
    pending = graph.pending(db.rows)
    if pending:
        return [_behind(graph, db, pending, data, note)]
    return [
        Finding(
            "migrations.state",
            Status.OK,
            f"database is up to date at {', '.join(db.rows)}",
            detail=f"{db.qualified} matches the head(s) of {graph.location}." + note,
            data={**data, "pending": []},
        )
    ]


def unavailable_scripts_finding(db: DbState) -> Finding:
    """The database's revision when the scripts could not be read: nothing to compare with."""
    return explain(
        "migrations.state",
        C.SCRIPTS_UNAVAILABLE,
        EXPLAIN,
        data={"current": db.rows, "version_table": db.qualified},
        current=", ".join(db.rows) or "no revision",
    )


def heads_finding(graph: ScriptGraph) -> Finding | None:
    """Several heads: ``upgrade head`` refuses to run until a merge revision joins them."""
    heads = graph.heads
    if len(heads) <= 1:
        return None
    return explain(
        "migrations.heads",
        C.MULTIPLE_HEADS,
        EXPLAIN,
        data={"heads": heads},
        count=len(heads),
        heads=graph.describe(heads),
    )


def resolve_table(
    version_table: str | None, version_schema: str | None, environ: Mapping[str, str]
) -> tuple[str, str | None, str]:
    """The version table and schema, and a note when they come from the env."""
    note = ""
    table = version_table
    if table is None:
        table = environ.get("ALEMBIC_VERSION_TABLE", "").strip() or DEFAULT_VERSION_TABLE
        if table != DEFAULT_VERSION_TABLE:
            note += f" Version table {table} from ALEMBIC_VERSION_TABLE."
    schema = version_schema
    if schema is None:
        schema = environ.get("ALEMBIC_VERSION_SCHEMA", "").strip() or None
        if schema:
            note += f" Version schema {schema} from ALEMBIC_VERSION_SCHEMA."
    if note:
        note += (
            " Plain `alembic` uses these only if env.py passes version_table/"
            "version_table_schema (svc-infra's env.py does)."
        )
    return table, schema, note
