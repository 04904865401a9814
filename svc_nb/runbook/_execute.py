"""Executing a notebook headless in a real kernel, cell by cell, with progress.

Stops at the first cell that raises and names it (the kernel client is in
``_client.py``). Every value passed as a secret parameter is then masked
wherever it surfaced (outputs, metadata, widget state) before anything is
written.
"""

from __future__ import annotations

import html
import json
import subprocess
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from svc_nb._redact import MASK

__all__ = [
    "CellFailure",
    "CellProgress",
    "Execution",
    "cell_label",
    "error_text",
    "execute",
    "mask_values",
    "sections",
]


@dataclass(frozen=True)
class CellProgress:
    """One code cell as it starts or ends: position, label, and (at the end) outcome."""

    index: int  # position among all cells, 0-based
    number: int  # 1-based among code cells
    total: int  # code cells in the notebook
    label: str
    seconds: float | None = None  # None when starting
    ok: bool = True


@dataclass(frozen=True)
class CellFailure:
    """The cell that stopped the run, and why (already masked)."""

    index: int
    number: int
    section: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "number": self.number,
            "section": self.section,
            "error": self.error,
        }


@dataclass
class Execution:
    """What a run did: cells run, the failure if any, times."""

    cells_run: int = 0
    failure: CellFailure | None = None
    seconds: list[float] = field(default_factory=list)


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def sections(nb: Any) -> list[str]:
    """For every cell, the nearest markdown heading above it."""
    current = ""
    found = []
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("#"):
                    current = line.lstrip("#").strip()
        found.append(current)
    return found


def cell_label(cell: Mapping[str, Any], section: str, width: int = 60) -> str:
    """``section: first code line`` shortened to ``width``, for the progress lines."""
    if "injected-parameters" in (cell.get("metadata", {}).get("tags") or []):
        return "(injected parameters)"
    first = next(
        (s.strip() for s in _source(cell).splitlines() if s.strip() and not s.startswith("#")),
        "(comments only)",
    )
    if len(section) > width // 2:
        section = section[: width // 2 - 1] + "…"
    text = f"{section}: {first}" if section else first
    return text if len(text) <= width else text[: width - 1] + "…"


def _variants(secret: str) -> set[str]:
    forms = {secret, json.dumps(secret)[1:-1], html.escape(secret), urllib.parse.quote(secret)}
    forms.add(urllib.parse.quote(secret, safe=""))
    return {form for form in forms if form}


def mask_values(node: Any, secrets: Iterable[str]) -> Any:
    """``node`` (a notebook, any JSON-like tree) with every secret's text forms masked, in place."""
    forms = sorted({v for s in secrets if s for v in _variants(s)}, key=len, reverse=True)
    if not forms:
        return node

    def mask(text: str) -> str:
        for form in forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return mask(value)
        if isinstance(value, dict):
            for key in list(value):
                value[key] = walk(value[key])
            return value
        if isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = walk(item)
            return value
        return value

    return walk(node)


def error_text(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None)
    if evalue is None:
        lines = str(exc).strip().splitlines()
        evalue = lines[-1] if lines else ""
    return f"{ename}: {evalue}".strip()


def execute(
    nb: Any,
    *,
    cwd: str,
    env: Mapping[str, str],
    timeout: float,
    progress: Callable[[CellProgress], None] | None = None,
    kernel_stderr: IO[bytes] | int = subprocess.DEVNULL,
) -> Execution:
    """Run ``nb`` in place in a fresh kernel (its kernelspec, else python3).

    ``kernel_stderr`` takes the kernel's chatter (its warnings): by default it is
    dropped, as it would break up the progress lines.
    """
    kernel = (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    from svc_nb.runbook._client import RunbookClient

    client = RunbookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        store_widget_state=True,
        resources={"metadata": {"path": cwd}},
    )
    client.progress = progress
    client.execute(env=dict(env), stderr=kernel_stderr)
    return client.outcome
