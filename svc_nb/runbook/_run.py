"""``run_notebook``: a notebook run headless with parameters, into an executed copy and HTML.

The outputs are a record of one run: new files named after the notebook and
the time (never overwriting anything), read-only once written, with the
parameters in ``metadata.svc_nb.run`` (secrets as where they came from).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from svc_nb._exceptions import ArgumentValueError, SvcNbError
from svc_nb.runbook._execute import CellFailure, CellProgress, execute, mask_values
from svc_nb.runbook._params import build_injection, declared_parameters, inject
from svc_nb.runbook._resolve import resolve_notebook

__all__ = ["OutputExistsError", "RunFailedToStart", "RunResult", "progress_printer", "run_notebook"]

DEFAULT_OUT = "svc-nb-runs"
DEFAULT_CELL_TIMEOUT_S = 600.0


class OutputExistsError(ArgumentValueError):
    """The report file asked for exists already: runs never overwrite a record."""


class RunFailedToStart(SvcNbError):
    """The notebook could not be run at all (unreadable, no kernel, output not writable)."""


@dataclass
class RunResult:
    """Where the executed notebook and its report went, and how the run ended."""

    source: Path
    notebook: Path
    html: Path
    parameters: dict[str, Any]
    cells_run: int
    failure: CellFailure | None = None
    started_at: str = ""
    finished_at: str = ""
    seconds: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "notebook": self.source.name,
            "source": str(self.source),
            "output": str(self.notebook),
            "html": str(self.html),
            "parameters": self.parameters,
            "cells_run": self.cells_run,
            "failed_cell": self.failure.to_dict() if self.failure else None,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _free_name(folder: Path, stem: str, suffix: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = folder / f"{stem}-{stamp}{suffix}"
    count = 1
    while candidate.exists() or candidate.is_symlink():
        count += 1
        candidate = folder / f"{stem}-{stamp}-{count}{suffix}"
    return candidate


def _write_new(path: Path, text: str) -> None:
    """Write a new read-only file; never through a link, never over an existing file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        raise OutputExistsError(f"{path} exists already: runs never overwrite one") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o444)


def _plan_outputs(source: Path, out: str | os.PathLike[str], html: str | None) -> tuple[Path, Path]:
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFailedToStart(f"cannot create {folder}: {exc.strerror or exc}") from None
    notebook_path = _free_name(folder, source.stem, ".ipynb")
    if html is None:
        return notebook_path, notebook_path.with_suffix(".html")
    html_path = Path(html)
    if html_path.exists() or html_path.is_symlink():
        raise OutputExistsError(
            f"{html_path} exists already: runs never overwrite a report; choose another --html name"
        )
    return notebook_path, html_path


def _read(source: Path) -> Any:
    import nbformat

    try:
        return nbformat.read(str(source), as_version=4)
    except (OSError, ValueError) as exc:  # nbformat's NotJSONError is a ValueError
        raise RunFailedToStart(f"cannot read {source}: {exc}") from None


def run_notebook(
    notebook: str,
    parameters: Sequence[tuple[str, str]] = (),
    *,
    out: str | os.PathLike[str] = DEFAULT_OUT,
    html: str | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_CELL_TIMEOUT_S,
    progress: Callable[[CellProgress], None] | None = None,
) -> RunResult:
    """Run ``notebook`` (a bundled name or a path) with ``parameters``; write .ipynb and HTML.

    Raises :class:`~svc_nb.runbook.UnknownNotebookError`, ``ParameterError`` or
    ``ParameterTypeError`` before anything runs; a failing cell is a result
    (``RunResult.failure``), not an exception.
    """
    source, bundled = resolve_notebook(notebook)
    nb = _read(source)
    injection = build_injection(declared_parameters(nb), parameters)
    notebook_path, html_path = _plan_outputs(source, out, html)
    if parameters:
        inject(nb, injection.source)
    env = {**(os.environ if environ is None else environ), **injection.kernel_env}
    env.setdefault("MPLBACKEND", "agg")
    cwd = os.getcwd() if bundled else str(source.resolve().parent)
    started = _now()
    try:
        outcome = execute(nb, cwd=cwd, env=env, timeout=timeout, progress=progress)
    except Exception as exc:  # jupyter_client's NoSuchKernel, a kernel that never started
        raise RunFailedToStart(f"cannot start a kernel for {source.name}: {exc}") from None
    result = RunResult(
        source=source,
        notebook=notebook_path,
        html=html_path,
        parameters=injection.shown,
        cells_run=outcome.cells_run,
        failure=outcome.failure,
        started_at=started,
        finished_at=_now(),
        seconds=outcome.seconds,
    )
    nb.metadata["svc_nb"] = {"run": result.to_dict()}
    mask_values(nb, injection.secrets)
    _write_outputs(nb, result, injection.secrets)
    return result


def _write_outputs(nb: Any, result: RunResult, secrets: Sequence[str]) -> None:
    import nbformat

    from svc_nb.runbook._html import report_html

    _write_new(result.notebook, nbformat.writes(nb))
    page = report_html(nb, result.to_dict())
    _write_new(result.html, mask_values([page], secrets)[0])


def progress_printer(stream: IO[str] | None = None) -> Callable[[CellProgress], None]:
    """Prints one line per finished cell (and, on a terminal, the running one)."""
    out = stream or sys.stderr
    live = hasattr(out, "isatty") and out.isatty()

    def show(event: CellProgress) -> None:
        width = len(str(event.total))
        head = f"[{event.number:>{width}}/{event.total}] cell {event.index:<{width + 1}}"
        if event.seconds is None:
            if live:
                out.write(f"\r{head} …  {event.label}\x1b[K")
                out.flush()
            return
        word = "ok  " if event.ok else "FAIL"
        line = f"{head} {word} {event.seconds:5.1f} s  {event.label}"
        out.write(("\r" if live else "") + line + ("\x1b[K" if live else "") + "\n")
        out.flush()

    return show
