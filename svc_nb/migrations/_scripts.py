"""Reading the scripts folder: with :mod:`ast` (nothing runs), then with Alembic if it is sound."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

from svc_nb._explain import explain
from svc_nb._report import Finding
from svc_nb.migrations._causes import EXPLAIN, MigrationsCause
from svc_nb.migrations._graph import Revision, ScriptGraph

__all__ = ["read_scripts", "read_scripts_ast"]

C = MigrationsCause
_NOT_LITERAL = object()


def _scripts_finding(cause: MigrationsCause, **fields: Any) -> Finding:
    return explain("migrations.scripts", cause, EXPLAIN, **fields)


def _graph_finding(cause: MigrationsCause, data: dict[str, Any], **fields: Any) -> Finding:
    return explain("migrations.graph", cause, EXPLAIN, data=data, **fields)


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _as_ids(value: Any) -> tuple[str, ...] | None:
    """down_revision / depends_on as a tuple of ids, or None when not understood."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _module_assignments(tree: ast.Module) -> dict[str, Any]:
    """Top-level ``name = literal`` assignments (a non-literal value is ``_NOT_LITERAL``)."""
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
    return values


def _parse_tree(path: Path) -> ast.Module | Finding:
    fields = {"name": path.name, "path": str(path)}
    data = {"path": str(path)}
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        return _graph_finding(C.SCRIPT_UNREADABLE, data, error=error, **fields)
    try:
        return ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        error = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        return _graph_finding(C.SCRIPT_SYNTAX_ERROR, data, where=where, error=error, **fields)


def _parse_script(path: Path) -> Revision | Finding:
    """One script's identifiers, read without executing it; a Finding when unusable."""
    tree = _parse_tree(path)
    if isinstance(tree, Finding):
        return tree
    fields = {"name": path.name, "path": str(path)}
    data = {"path": str(path)}
    values = _module_assignments(tree)
    if values.get("revision") is None:
        return _graph_finding(C.REVISION_MISSING, data, **fields)
    revision = values["revision"]
    if not isinstance(revision, str) or not revision:
        return _graph_finding(C.REVISION_NOT_LITERAL, data, **fields)
    down = _as_ids(values.get("down_revision"))
    if down is None:
        return _graph_finding(C.DOWN_REVISION_INVALID, data, **fields)
    depends = _as_ids(values.get("depends_on")) or ()
    doc = (ast.get_docstring(tree) or "").strip()
    message = doc.splitlines()[0] if doc else ""
    return Revision(revision, down, str(path), message, depends)


def _folder_error(location: str) -> Finding | None:
    path = Path(location)
    if not path.exists():
        return _scripts_finding(
            C.SCRIPTS_MISSING,
            data={"script_location": str(path.resolve())},
            location=location,
            resolved=path.resolve(),
            cwd=Path.cwd(),
        )
    if not path.is_dir():
        return _scripts_finding(C.SCRIPTS_NOT_A_FOLDER, location=location)
    versions = path / "versions"
    if not versions.is_dir():
        return _scripts_finding(C.VERSIONS_MISSING, location=location)
    if not os.access(versions, os.R_OK | os.X_OK):
        return _scripts_finding(
            C.SCRIPTS_UNREADABLE, versions=versions, error="not readable by this user"
        )
    return None


def _find_cycle(graph: ScriptGraph, candidates: list[str]) -> list[str]:
    """One concrete cycle among revisions that topological sort could not order."""
    on_cycle = set(candidates)
    path: list[str] = []
    index: dict[str, int] = {}
    cur: str | None = candidates[0]
    while cur is not None and cur not in index:
        index[cur] = len(path)
        path.append(cur)
        nxt = [d for d in graph.revisions[cur].down if d in on_cycle]
        cur = nxt[0] if nxt else None
    if cur is None:
        return candidates
    return path[index[cur] :]


def _graph_problems(graph: ScriptGraph) -> list[Finding]:
    """Dangling down_revisions and cycles: the graph Alembic refuses to load."""
    problems: list[Finding] = []
    for rev in graph.revisions.values():
        # depends_on may name branch labels, so only down_revision is checked here.
        for missing in (d for d in rev.down if d not in graph.revisions):
            problems.append(
                _graph_finding(
                    C.DANGLING_DOWN_REVISION,
                    {"revision": rev.revision, "missing": missing, "path": rev.path},
                    name=Path(rev.path).name,
                    revision=rev.revision,
                    missing=missing,
                    path=rev.path,
                )
            )
    ordered = set(graph.order())
    on_cycle = sorted(r for r in graph.revisions if r not in ordered)
    if on_cycle:
        cycle = _find_cycle(graph, on_cycle)
        problems.append(
            _graph_finding(
                C.REVISION_CYCLE,
                {"cycle": cycle},
                cycle=" → ".join([*cycle, cycle[0]]),
                files=", ".join(Path(graph.revisions[r].path).name for r in cycle),
            )
        )
    return problems


def _script_files(graph: ScriptGraph) -> list[Path] | None:
    versions = Path(graph.location) / "versions"
    try:
        return sorted(
            p for p in versions.iterdir() if p.suffix == ".py" and p.name != "__init__.py"
        )
    except OSError as exc:
        error = exc.strerror or str(exc)
        graph.error = _scripts_finding(C.SCRIPTS_UNREADABLE, versions=versions, error=error)
        return None


def read_scripts_ast(script_location: str | os.PathLike[str]) -> ScriptGraph:
    """The revision graph read with :mod:`ast`: no script is imported or executed."""
    location = os.fspath(script_location)
    graph = ScriptGraph(location=location, reader="ast")
    graph.error = _folder_error(location)
    files = _script_files(graph) if graph.error is None else None
    if files is None:
        return graph
    for path in files:
        parsed = _parse_script(path)
        if isinstance(parsed, Finding):
            graph.problems.append(parsed)
            continue
        first = graph.revisions.get(parsed.revision)
        if first is not None:
            graph.problems.append(
                _graph_finding(
                    C.DUPLICATE_REVISION,
                    {"revision": parsed.revision},
                    revision=parsed.revision,
                    first=Path(first.path).name,
                    second=path.name,
                )
            )
            continue
        graph.revisions[parsed.revision] = parsed
    graph.problems.extend(_graph_problems(graph))
    return graph


def _read_with_alembic(location: str) -> ScriptGraph:
    """The graph as Alembic loads it (imports the scripts); errors become a finding."""
    from alembic.script import ScriptDirectory

    graph = ScriptGraph(location=location, reader="alembic")
    try:
        for script in ScriptDirectory(location).walk_revisions():
            doc = (script.doc or "").strip()
            graph.revisions[script.revision] = Revision(
                script.revision,
                tuple(script._normalized_down_revisions),
                str(script.path),
                doc.splitlines()[0] if doc else "",
                _as_ids(script.dependencies) or (),
            )
    except Exception as exc:  # every Alembic failure is a diagnosis, not a traceback
        text = str(exc).strip()
        graph.error = _scripts_finding(
            C.ALEMBIC_LOAD_FAILED,
            data={"exception_type": type(exc).__name__},
            error=text.splitlines()[0][:300] if text else type(exc).__name__,
            error_type=type(exc).__name__,
            location=location,
        )
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
