"""Alembic state: the database's revision(s) against the scripts folder's graph.

The guide's advice for any Alembic trouble is ``alembic stamp head``. That is
right in one case only (the schema already matches head) and hides a real
problem in the others. :func:`check` reads both sides and says which case you
are in, with the exact ``svc-infra sql …`` and ``alembic …`` commands:

- the database: the rows of the version table (``alembic_version`` unless
  ``ALEMBIC_VERSION_TABLE`` / ``ALEMBIC_VERSION_SCHEMA`` rename it), read with
  asyncpg, bounded by ``timeout``;
- the scripts: ``revision`` / ``down_revision`` of every file in
  ``<script_location>/versions``, read with :mod:`ast` (nothing is executed) so
  that a broken graph (a ``down_revision`` pointing nowhere, a cycle) is
  diagnosed instead of crashing; when the graph is sound and Alembic is
  installed, Alembic's own ``ScriptDirectory`` reads it (it understands
  computed ids, ``depends_on``...), and any Alembic error becomes a finding.
"""

from __future__ import annotations

import ast
import asyncio
import os
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svc_nb._diagnose import register_check
from svc_nb._redact import mask_url, register_secret
from svc_nb._report import Finding, Report, Status

__all__ = [
    "Revision",
    "ScriptGraph",
    "asyncpg_dsn",
    "check",
    "read_scripts",
    "read_scripts_ast",
]

DEFAULT_VERSION_TABLE = "alembic_version"

# The commands for each fix, svc-infra's CLI first (it reads SQL_URL and
# ALEMBIC_VERSION_* itself), then plain Alembic.
CMD = {
    "current": ("svc-infra sql current", "alembic current"),
    "history": ("svc-infra sql history", "alembic history --verbose"),
    "upgrade": ("svc-infra sql upgrade head", "alembic upgrade head"),
    "stamp": ("svc-infra sql stamp head", "alembic stamp head"),
    "merge": ('svc-infra sql merge-heads -m "merge heads"', 'alembic merge heads -m "merge heads"'),
    "init": ("svc-infra sql init", "alembic init migrations"),
}

# Autogenerate must find nothing to do when the schema already is head.
VERIFY_SCHEMA = (
    "alembic check   # exits non-zero if the models and the schema differ\n"
    "# or: svc-infra sql revision -m verify --autogenerate, and check the new file is empty (then delete it)"
)


def _cmd(*names: str) -> str:
    return "\n".join(f"{sv}   # or: {al}" for sv, al in (CMD[n] for n in names))


# -- the scripts graph ---------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """One migration script: its id, the ids it revises, its file and message."""

    revision: str
    down: tuple[str, ...]
    path: str
    message: str = ""
    depends_on: tuple[str, ...] = ()


@dataclass
class ScriptGraph:
    """The revision graph of a scripts folder and what is wrong with it."""

    location: str
    reader: str  # "ast" or "alembic"
    revisions: dict[str, Revision] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)  # broken graph, unreadable files
    error: Finding | None = None  # the folder itself is missing or unreadable

    @property
    def heads(self) -> list[str]:
        """Revisions no other revision revises, in topological order."""
        revised = {d for r in self.revisions.values() for d in r.down}
        return [r for r in self.order() if r not in revised]

    @property
    def bases(self) -> list[str]:
        return [r for r in self.order() if not self.revisions[r].down]

    def ancestors(self, rev: str, *, inclusive: bool = True) -> set[str]:
        """Every revision ``rev`` builds on (its down_revisions, transitively)."""
        seen: set[str] = {rev} if inclusive else set()
        stack = list(self.revisions[rev].down) if rev in self.revisions else []
        while stack:
            cur = stack.pop()
            if cur in seen or cur not in self.revisions:
                continue
            seen.add(cur)
            stack.extend(self.revisions[cur].down)
        return seen

    def order(self) -> list[str]:
        """All revisions from base to head (Kahn's algorithm; ties by file name)."""
        children: dict[str, list[str]] = {r: [] for r in self.revisions}
        indegree = {r: 0 for r in self.revisions}
        for rev in self.revisions.values():
            for d in rev.down:
                if d in self.revisions:
                    children[d].append(rev.revision)
                    indegree[rev.revision] += 1
        key = {r: (Path(v.path).name, r) for r, v in self.revisions.items()}
        ready = sorted((r for r, n in indegree.items() if n == 0), key=key.__getitem__)
        out: list[str] = []
        while ready:
            cur = ready.pop(0)
            out.append(cur)
            for child in children[cur]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
            ready.sort(key=key.__getitem__)
        return out  # revisions on a cycle never reach indegree 0 and are left out

    def pending(self, current: Iterable[str]) -> list[str]:
        """Revisions ``alembic upgrade heads`` would apply from ``current``, in order."""
        applied: set[str] = set()
        for rev in current:
            applied |= self.ancestors(rev)
        return [r for r in self.order() if r not in applied]


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


_NOT_LITERAL = object()


def _as_ids(value: Any) -> tuple[str, ...] | None:
    """down_revision / depends_on as a tuple of ids, or None when not understood."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _parse_script(path: Path) -> tuple[Revision | None, str | None]:
    """Read one script's identifiers without executing it; (revision, problem)."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read {path.name}: {type(exc).__name__}: {exc}"
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        return None, f"{path.name} is not valid Python{where}: {getattr(exc, 'msg', exc)}"
    values: dict[str, Any] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                values[target.id] = _literal(value)
    revision = values.get("revision", _NOT_LITERAL if "revision" in values else None)
    if revision is None:
        return None, f"{path.name} declares no `revision = \"…\"`, so Alembic cannot load it"
    if not isinstance(revision, str) or not revision:
        return None, f"{path.name}: `revision` is not a plain string literal"
    down = _as_ids(values.get("down_revision"))
    if down is None:
        return None, f"{path.name}: `down_revision` is not None, a string or a tuple of strings"
    depends = _as_ids(values.get("depends_on")) or ()
    doc = ast.get_docstring(tree) or ""
    message = doc.strip().splitlines()[0] if doc.strip() else ""
    return Revision(revision, down, str(path), message, depends), None


def _versions_dir(location: Path) -> Path:
    return location / "versions"


def _folder_error(location: str) -> Finding | None:
    path = Path(location)
    if not path.exists():
        return Finding(
            "migrations.scripts",
            Status.FAIL,
            f"scripts folder {location!r} does not exist",
            detail=(
                f"Looked for Alembic's script_location at {path.resolve()}. svc-infra keeps it in "
                "`migrations/` next to alembic.ini; a relative path is taken from the current "
                f"directory ({Path.cwd()})."
            ),
            fix=(
                "Run from the project root, or pass script_location='path/to/migrations' "
                "(diagnose reads SVC_NB_MIGRATIONS). No migrations yet? Create the folder:\n"
                + _cmd("init")
            ),
            data={"script_location": str(path.resolve())},
        )
    if not path.is_dir():
        return Finding(
            "migrations.scripts",
            Status.FAIL,
            f"script_location {location!r} is a file, not a folder",
            fix="Point script_location at the folder holding env.py and versions/.",
        )
    versions = _versions_dir(path)
    if not versions.is_dir():
        return Finding(
            "migrations.scripts",
            Status.FAIL,
            f"{location!r} has no versions/ folder",
            detail="Alembic reads revision scripts from <script_location>/versions/.",
            fix="Check script_location (it should hold env.py and versions/), or create one:\n"
            + _cmd("init"),
        )
    if not os.access(versions, os.R_OK | os.X_OK):
        return Finding(
            "migrations.scripts",
            Status.FAIL,
            f"{versions} is not readable by this user",
            fix=f"Fix the permissions: chmod -R a+rX {versions}",
        )
    return None


def _graph_problems(graph: ScriptGraph) -> list[Finding]:
    """Dangling down_revisions and cycles: the graph Alembic refuses to load."""
    problems: list[Finding] = []
    for rev in graph.revisions.values():
        # depends_on may name branch labels, so only down_revision is checked here.
        missing = [d for d in rev.down if d not in graph.revisions]
        for d in missing:
            problems.append(
                Finding(
                    "migrations.graph",
                    Status.FAIL,
                    f"{Path(rev.path).name}: revision {rev.revision} revises {d}, which no script defines",
                    detail=(
                        "Its down_revision points nowhere: the file it named was "
                        "deleted or renamed, or the id was mistyped or came from another branch. "
                        f"Alembic refuses to load the graph ('Revision {d} referenced from … is "
                        "not present')."
                    ),
                    fix=(
                        f"Set down_revision in {rev.path} to the revision it really follows "
                        "(see `alembic history`), or restore the missing script."
                    ),
                    data={"revision": rev.revision, "missing": d, "path": rev.path},
                )
            )
    ordered = set(graph.order())
    on_cycle = sorted(r for r in graph.revisions if r not in ordered)
    if on_cycle:
        cycle = _find_cycle(graph, on_cycle)
        problems.append(
            Finding(
                "migrations.graph",
                Status.FAIL,
                "revision graph has a cycle: " + " → ".join([*cycle, cycle[0]]),
                detail=(
                    "Following down_revision from these revisions comes back to where it started, "
                    "so there is no order to apply them in. Usually a down_revision was edited by "
                    "hand or two files were swapped during a rebase."
                ),
                fix="Edit the down_revision of one of these files so the chain leads back to a base: "
                + ", ".join(Path(graph.revisions[r].path).name for r in cycle),
                data={"cycle": cycle},
            )
        )
    return problems


def _find_cycle(graph: ScriptGraph, candidates: list[str]) -> list[str]:
    """One concrete cycle among revisions that topological sort could not order."""
    start = candidates[0]
    path: list[str] = []
    index: dict[str, int] = {}
    cur: str | None = start
    while cur is not None and cur not in index:
        index[cur] = len(path)
        path.append(cur)
        nxt = [d for d in graph.revisions[cur].down if d in graph.revisions and d in candidates]
        cur = nxt[0] if nxt else None
    if cur is None:
        return candidates
    return path[index[cur] :]


def read_scripts_ast(script_location: str | os.PathLike[str]) -> ScriptGraph:
    """The revision graph read with :mod:`ast`: no script is imported or executed."""
    location = os.fspath(script_location)
    graph = ScriptGraph(location=location, reader="ast")
    graph.error = _folder_error(location)
    if graph.error is not None:
        return graph
    versions = _versions_dir(Path(location))
    try:
        files = sorted(p for p in versions.iterdir() if p.suffix == ".py" and p.name != "__init__.py")
    except OSError as exc:
        graph.error = Finding(
            "migrations.scripts",
            Status.FAIL,
            f"cannot list {versions}: {exc.strerror or exc}",
            fix=f"Fix the permissions: chmod -R a+rX {versions}",
        )
        return graph
    seen: dict[str, str] = {}
    for path in files:
        rev, problem = _parse_script(path)
        if problem is not None:
            graph.problems.append(
                Finding(
                    "migrations.graph",
                    Status.FAIL,
                    problem,
                    fix=f"Fix or remove {path} (Alembic loads every .py file in versions/).",
                    data={"path": str(path)},
                )
            )
            continue
        assert rev is not None
        if rev.revision in seen:
            graph.problems.append(
                Finding(
                    "migrations.graph",
                    Status.FAIL,
                    f"revision id {rev.revision} is defined twice ({Path(seen[rev.revision]).name}, {path.name})",
                    detail="Usually a copied script whose revision id was not changed.",
                    fix=f"Give {path.name} a fresh id (e.g. python -c 'import uuid; print(uuid.uuid4().hex[:12])') and fix the down_revision of the scripts after it.",
                    data={"revision": rev.revision},
                )
            )
            continue
        seen[rev.revision] = str(path)
        graph.revisions[rev.revision] = rev
    graph.problems.extend(_graph_problems(graph))
    return graph


def _alembic_error(location: str, exc: BaseException) -> Finding:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Finding(
        "migrations.scripts",
        Status.FAIL,
        f"Alembic cannot load the scripts: {text[:300]}",
        detail=(
            f"Alembic's ScriptDirectory raised {type(exc).__name__} while importing the scripts in "
            f"{location}/versions. Alembic executes each script, so an import error in one of them "
            "(a model or helper it imports) stops every command."
        ),
        fix="Run `alembic history` to see the full traceback and fix the script it names.",
        data={"exception": type(exc).__name__},
    )


def _read_with_alembic(location: str) -> ScriptGraph:
    """The graph as Alembic loads it (imports the scripts); errors become a finding."""
    from alembic.script import ScriptDirectory

    graph = ScriptGraph(location=location, reader="alembic")
    try:
        script_dir = ScriptDirectory(location)
        for script in script_dir.walk_revisions():
            down = script._normalized_down_revisions
            deps = _as_ids(script.dependencies) or ()
            graph.revisions[script.revision] = Revision(
                script.revision,
                tuple(down),
                str(script.path),
                (script.doc or "").strip().splitlines()[0] if (script.doc or "").strip() else "",
                deps,
            )
    except Exception as exc:  # every Alembic failure is a diagnosis, not a traceback
        graph.error = _alembic_error(location, exc)
    return graph


def read_scripts(
    script_location: str | os.PathLike[str] = "migrations", *, use_alembic: bool | None = None
) -> ScriptGraph:
    """The scripts folder's revision graph, with its problems as findings.

    The :mod:`ast` reader always runs first (it never executes a script); when it
    finds the graph sound and Alembic is installed (``use_alembic=None``), Alembic's
    own reader is used instead, so computed ids and dependencies are honoured.
    """
    graph = read_scripts_ast(script_location)
    if graph.error is not None or graph.problems or use_alembic is False:
        return graph
    if use_alembic is None:
        try:
            import alembic  # noqa: F401
        except ImportError:
            return graph
    via_alembic = _read_with_alembic(graph.location)
    if via_alembic.error is not None:
        graph.problems.append(via_alembic.error)
        return graph
    return via_alembic


# -- the database side ---------------------------------------------------------


class _DbProblem(Exception):
    """A database-side diagnosis, carried to :func:`check` as a Finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.summary)
        self.finding = finding


@dataclass
class _DbState:
    exists: bool
    rows: list[str]
    qualified: str
    user_tables: int
    latency_ms: float


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy-style PostgreSQL URL rewritten for asyncpg (driver suffix dropped)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("not a URL")
    base = scheme.split("+", 1)[0].lower()
    if base not in ("postgresql", "postgres"):
        raise ValueError(f"scheme {scheme!r} is not PostgreSQL")
    parts = urllib.parse.urlsplit("postgresql://" + rest)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    # SQLAlchemy's asyncpg dialect takes ssl=…; asyncpg's DSN only knows sslmode=.
    query = [("sslmode" if k == "ssl" else k, v) for k, v in query]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


async def _read_db(url: str, table: str, schema: str | None, timeout: float) -> _DbState:
    import asyncpg

    started = time.perf_counter()
    qualified = f"{_quote_ident(schema)}.{_quote_ident(table)}" if schema else _quote_ident(table)
    shown = f"{schema}.{table}" if schema else table
    conn = None
    try:
        async with asyncio.timeout(timeout):
            conn = await asyncpg.connect(url, timeout=timeout)
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", qualified)
            rows: list[str] = []
            if exists:
                records = await conn.fetch(f"SELECT version_num FROM {qualified}")
                rows = [str(r[0]) for r in records]
            user_tables = await conn.fetchval(
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN "
                "('pg_catalog', 'information_schema') AND tablename <> $1",
                table,
            )
    except TimeoutError:
        raise _DbProblem(
            Finding(
                "migrations.database",
                Status.FAIL,
                f"database did not answer within {timeout:g} s",
                detail="Connecting or reading the version table timed out.",
                fix="Run svc_nb.db.check(url) to diagnose the connection, or raise timeout=.",
                data={"timeout_s": timeout},
            )
        ) from None
    except Exception as exc:  # asyncpg, OS and protocol errors are all diagnoses here
        name = type(exc).__name__
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
        if name in ("InsufficientPrivilegeError",):
            fix = f"Grant read access: GRANT SELECT ON {shown} TO <the app's role>;"
        else:
            fix = "Run svc_nb.db.check(url) for a full connection diagnosis."
        raise _DbProblem(
            Finding(
                "migrations.database",
                Status.FAIL,
                f"cannot read the version table {shown}: {name}: {text[:200]}",
                fix=fix,
                data={"exception": name},
            )
        ) from None
    finally:
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 1.0)
            except Exception:
                conn.terminate()
    return _DbState(
        bool(exists), rows, shown, int(user_tables or 0), round((time.perf_counter() - started) * 1000, 1)
    )


# -- the verdict ---------------------------------------------------------------


def _short(revs: Iterable[str], graph: ScriptGraph) -> str:
    out = []
    for r in revs:
        msg = graph.revisions[r].message if r in graph.revisions else ""
        out.append(f"{r} ({msg})" if msg else r)
    return ", ".join(out)


def _state_findings(graph: ScriptGraph, db: _DbState, table_note: str) -> list[Finding]:
    heads = graph.heads
    findings: list[Finding] = []
    if not db.exists:
        if db.user_tables:
            detail = (
                f"There is no {db.qualified} table, but the database already has {db.user_tables} "
                "table(s): the schema was created outside Alembic (Base.metadata.create_all, a "
                "restore, a manual script). `upgrade head` would try to create them again and "
                "fail with 'relation already exists'. If the tables match the models at head, "
                "stamping records that without running any DDL."
            )
            fix = (
                "Check the schema matches head first (autogenerate must produce an empty revision):\n"
                + VERIFY_SCHEMA
                + "\nthen record it:\n"
                + _cmd("stamp")
            )
        else:
            detail = (
                f"There is no {db.qualified} table and no other table: this database was never "
                "migrated (a fresh database, or the app points at the wrong one)."
            )
            fix = _cmd("upgrade")
        findings.append(
            Finding(
                "migrations.version_table",
                Status.FAIL,
                f"no version table {db.qualified}: the database was never migrated",
                detail=detail + table_note,
                fix=fix,
                data={"user_tables": db.user_tables, "version_table": db.qualified},
            )
        )
        return findings
    data: dict[str, Any] = {
        "current": list(db.rows),
        "heads": heads,
        "version_table": db.qualified,
        "latency_ms": db.latency_ms,
        "reader": graph.reader,
    }
    unknown = [r for r in db.rows if r not in graph.revisions]
    if unknown:
        findings.append(
            Finding(
                "migrations.state",
                Status.FAIL,
                f"database is on revision {', '.join(unknown)}, which no script defines (out of sync)",
                detail=(
                    f"{db.qualified} says {', '.join(unknown)}; the scripts in "
                    f"{graph.location}/versions know {len(graph.revisions)} revision(s), heads: "
                    f"{', '.join(heads) or 'none'}. Usual causes: (1) this checkout is older than "
                    "the code that migrated the database (a newer branch or deploy ran its "
                    "migrations) — use that code; (2) scripts were deleted, renamed or squashed; "
                    "(3) another app shares this database and version table — give each app its "
                    "own ALEMBIC_VERSION_TABLE. `stamp head` is right only when the schema really "
                    "is what head describes (after squashing, or after create_all from the same "
                    "models): it rewrites the version row and runs no DDL. If the schema differs, "
                    "stamping hides it: later migrations fail, or columns are silently missing."
                    + table_note
                ),
                fix=(
                    "Find where the revision comes from: `git log --all -S '"
                    + unknown[0]
                    + "' -- "
                    + graph.location
                    + "`. Only if the schema matches head (autogenerate gives an empty revision):\n"
                    + VERIFY_SCHEMA
                    + "\n"
                    + _cmd("stamp")
                ),
                data={**data, "unknown": unknown},
            )
        )
        return findings
    pending = graph.pending(db.rows)
    if not db.rows:
        summary = f"version table is empty: all {len(pending)} revision(s) pending"
    elif pending:
        summary = f"database is behind: {len(pending)} revision(s) pending"
    else:
        summary = f"database is up to date at {', '.join(db.rows)}"
    if pending:
        current = ", ".join(db.rows) or "base (no revision)"
        findings.append(
            Finding(
                "migrations.state",
                Status.WARN,
                summary,
                detail=(
                    f"Current: {current}. Pending, in the order they will run: "
                    f"{_short(pending, graph)}." + table_note
                ),
                fix=_cmd("upgrade") if len(heads) <= 1 else _cmd("merge", "upgrade"),
                data={**data, "pending": pending},
            )
        )
    else:
        findings.append(
            Finding(
                "migrations.state",
                Status.OK,
                summary,
                detail=f"{db.qualified} matches the head(s) of {graph.location}." + table_note,
                data={**data, "pending": []},
            )
        )
    return findings


def _heads_finding(graph: ScriptGraph) -> Finding | None:
    heads = graph.heads
    if len(heads) <= 1:
        return None
    return Finding(
        "migrations.heads",
        Status.FAIL,
        f"{len(heads)} heads: {_short(heads, graph)}",
        detail=(
            "Two branches each added a migration on the same parent (typically two merged pull "
            "requests). `alembic upgrade head` refuses to run ('Multiple head revisions are "
            "present'); a merge revision joins them without changing the schema."
        ),
        fix=_cmd("merge", "upgrade"),
        data={"heads": heads},
    )


def _resolve_table(
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
        note += " Plain `alembic` uses these only if env.py passes version_table/version_table_schema (svc-infra's env.py does)."
    return table, schema, note


async def check(
    url: str,
    script_location: str | os.PathLike[str] = "migrations",
    *,
    version_table: str | None = DEFAULT_VERSION_TABLE,
    version_schema: str | None = None,
    timeout: float = 3.0,
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
        raise TypeError(f"url must be a database URL string, not {type(url).__name__}")
    if not isinstance(script_location, str | os.PathLike):
        raise TypeError("script_location must be a path to the Alembic scripts folder")
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    env = os.environ if environ is None else environ
    table, schema, table_note = _resolve_table(version_table, version_schema, env)
    title = "svc_nb migrations"

    graph_task = asyncio.ensure_future(
        asyncio.wait_for(asyncio.to_thread(read_scripts, script_location), timeout)
    )
    findings: list[Finding] = []
    db_state: _DbState | None = None
    try:
        dsn = asyncpg_dsn(url)
    except ValueError as exc:
        findings.append(
            Finding(
                "migrations.database",
                Status.FAIL,
                f"not a PostgreSQL URL ({exc}): {mask_url(url)}",
                fix="Pass the URL the app uses, e.g. postgresql+asyncpg://user:pass@host:5432/db (SQL_URL).",
            )
        )
    else:
        password = urllib.parse.urlsplit(dsn).password
        if password:
            register_secret(urllib.parse.unquote(password))
        try:
            db_state = await _read_db(dsn, table, schema, timeout)
        except _DbProblem as problem:
            findings.append(problem.finding)

    try:
        graph = await graph_task
    except TimeoutError:
        graph = ScriptGraph(os.fspath(script_location), "ast")
        graph.error = Finding(
            "migrations.scripts",
            Status.FAIL,
            f"reading the scripts took longer than {timeout:g} s",
            detail="A script's imports hang or are very slow (Alembic executes each script).",
            fix="Run `alembic history` to see which script is slow.",
        )

    if graph.error is not None:
        findings.append(graph.error)
    else:
        heads = graph.heads
        findings.append(
            Finding(
                "migrations.scripts",
                Status.OK if graph.revisions else Status.WARN,
                f"{len(graph.revisions)} revision(s) in {graph.location}, head(s): {', '.join(heads) or 'none'}",
                detail="" if graph.revisions else "versions/ holds no revision script yet.",
                fix="" if graph.revisions else "Create the first one: svc-infra sql revision -m init --autogenerate   # or: alembic revision --autogenerate -m init",
                data={"revisions": len(graph.revisions), "heads": heads, "bases": graph.bases, "reader": graph.reader},
            )
        )
        findings.extend(graph.problems)
        heads_finding = _heads_finding(graph) if not graph.problems else None
        if heads_finding is not None:
            findings.append(heads_finding)
        if db_state is not None:
            findings.extend(_state_findings(graph, db_state, table_note))
    if db_state is not None and graph.error is not None:
        if db_state.exists:
            findings.append(
                Finding(
                    "migrations.state",
                    Status.SKIP,
                    f"database is on {', '.join(db_state.rows) or 'no revision'}; "
                    "cannot compare it without readable scripts",
                    data={"current": db_state.rows, "version_table": db_state.qualified},
                )
            )
        else:  # "never migrated" holds whatever the scripts look like
            empty = ScriptGraph(graph.location, graph.reader)
            findings.extend(_state_findings(empty, db_state, table_note))
    return Report(findings, title=title)


# -- diagnose ------------------------------------------------------------------


async def _diagnose(environ: Mapping[str, str], timeout: float) -> Report | Finding:
    from svc_nb.env import resolve_database_url

    resolved = resolve_database_url(environ)
    location = environ.get("SVC_NB_MIGRATIONS", "").strip() or "migrations"
    if resolved is None:
        return Finding(
            "migrations",
            Status.SKIP,
            "no database URL configured, Alembic state not checked",
            detail="Set SQL_URL (or DB_URL, DATABASE_URL…) to check the database's revision.",
        )
    if not Path(location).is_dir():
        return Finding(
            "migrations",
            Status.SKIP,
            f"no scripts folder {location!r} here, Alembic state not checked",
            detail=f"Looked in {Path(location).resolve()}.",
            fix="Run from the project root or set SVC_NB_MIGRATIONS=/path/to/migrations.",
        )
    return await check(
        resolved.value,
        location,
        version_table=None,
        version_schema=None,
        timeout=timeout,
        environ=environ,
    )


register_check("migrations", _diagnose, order=25, waits=True)
