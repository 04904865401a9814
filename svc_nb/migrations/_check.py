"""``check``: both sides read concurrently, then the verdict; and its ``diagnose`` entry."""

from __future__ import annotations

import asyncio
import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._explain import explain
from svc_nb._redact import mask_url, register_secret
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout
from svc_nb.migrations._causes import EXPLAIN, MigrationsCause
from svc_nb.migrations._database import DbProblem, DbState, asyncpg_dsn, read_version_table
from svc_nb.migrations._graph import ScriptGraph
from svc_nb.migrations._scripts import read_scripts
from svc_nb.migrations._verdict import (
    DEFAULT_VERSION_TABLE,
    heads_finding,
    resolve_table,
    state_findings,
    unavailable_scripts_finding,
)

__all__ = ["check"]

C = MigrationsCause


async def _read_database(
    url: str, table: str, schema: str | None, timeout: float
) -> DbState | Finding:
    try:
        dsn = asyncpg_dsn(url)
    except ArgumentValueError as exc:
        return explain(
            "migrations.database", C.NOT_POSTGRES_URL, EXPLAIN, error=str(exc), url=mask_url(url)
        )
    password = urllib.parse.urlsplit(dsn).password
    if password:
        register_secret(urllib.parse.unquote(password))
    try:
        return await read_version_table(dsn, table, schema, timeout)
    except DbProblem as problem:
        return problem.finding


async def _read_graph(script_location: str | os.PathLike[str], timeout: float) -> ScriptGraph:
    try:
        return await asyncio.wait_for(asyncio.to_thread(read_scripts, script_location), timeout)
    except TimeoutError:
        graph = ScriptGraph(os.fspath(script_location), "ast")
        graph.error = Finding(
            "migrations.scripts",
            Status.FAIL,
            f"reading the scripts took longer than {timeout:g} s",
            detail="A script's imports hang or are very slow (Alembic executes each script).",
            fix="Run `alembic history` to see which script is slow.",
            cause=C.TIMEOUT,
        )
        return graph


def _scripts_summary(graph: ScriptGraph) -> Finding:
    heads = graph.heads
    data = {
        "revisions": len(graph.revisions),
        "heads": heads,
        "bases": graph.bases,
        "reader": graph.reader,
    }
    if not graph.revisions:
        return explain(
            "migrations.scripts", C.NO_REVISIONS, EXPLAIN, data=data, location=graph.location
        )
    return Finding(
        "migrations.scripts",
        Status.OK,
        f"{len(graph.revisions)} revision(s) in {graph.location}, head(s): {', '.join(heads) or 'none'}",
        data=data,
    )


def _verdict(graph: ScriptGraph, db: DbState | Finding, note: str) -> list[Finding]:
    findings: list[Finding] = []
    if graph.error is not None:
        findings.append(graph.error)
    else:
        findings.append(_scripts_summary(graph))
        findings.extend(graph.problems)
        heads = heads_finding(graph) if not graph.problems else None
        if heads is not None:
            findings.append(heads)
    if isinstance(db, Finding):
        return [db, *findings]
    if graph.error is None:
        findings.extend(state_findings(graph, db, note))
    elif db.exists:
        findings.append(unavailable_scripts_finding(db))
    else:  # "never migrated" holds whatever the scripts look like
        findings.extend(state_findings(ScriptGraph(graph.location, graph.reader), db, note))
    return findings


async def check(
    url: str,
    script_location: str | os.PathLike[str] = "migrations",
    *,
    version_table: str | None = DEFAULT_VERSION_TABLE,
    version_schema: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """Compare the database's Alembic revision with the scripts' heads.

    ``url`` is a PostgreSQL URL (``postgresql://``, ``postgres://`` or a
    SQLAlchemy form like ``postgresql+asyncpg://``). Pass ``version_table=None``
    to take ``ALEMBIC_VERSION_TABLE`` from ``environ`` (default ``os.environ``);
    ``version_schema=None`` likewise takes ``ALEMBIC_VERSION_SCHEMA`` (unset: the
    search_path, as Alembic does). Returns within about ``timeout`` seconds.
    """
    if not isinstance(url, str):
        raise ArgumentTypeError(f"url must be a database URL string, not {type(url).__name__}")
    if not isinstance(script_location, str | os.PathLike):
        raise ArgumentTypeError(
            f"script_location must be a path to the Alembic scripts folder, not {type(script_location).__name__}"
        )
    timeout = check_timeout(timeout)
    env = os.environ if environ is None else environ
    table, schema, note = resolve_table(version_table, version_schema, env)
    graph, db = await asyncio.gather(
        _read_graph(script_location, timeout), _read_database(url, table, schema, timeout)
    )
    return Report(_verdict(graph, db, note), title="svc_nb migrations")


async def diagnose_migrations(environ: Mapping[str, str], timeout: float) -> Report | Finding:
    """``diagnose``'s entry: the configured database against ``./migrations`` (or SVC_NB_MIGRATIONS)."""
    from svc_nb.env import resolve_database_url

    resolved = resolve_database_url(environ)
    location = environ.get("SVC_NB_MIGRATIONS", "").strip() or "migrations"
    if resolved is None:
        return explain("migrations", C.NOT_CONFIGURED, EXPLAIN)
    if not Path(location).is_dir():
        return Finding(
            "migrations",
            Status.SKIP,
            f"no scripts folder {location!r} here, Alembic state not checked",
            detail=f"Looked in {Path(location).resolve()}.",
            fix="Run from the project root or set SVC_NB_MIGRATIONS=/path/to/migrations.",
            cause=C.SCRIPTS_MISSING,
        )
    return await check(
        resolved.value,
        location,
        version_table=None,
        version_schema=None,
        timeout=timeout,
        environ=environ,
    )
