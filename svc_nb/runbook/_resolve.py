"""From what a user typed (``01``, ``database``, ``01_database.ipynb``, a path) to a notebook."""

from __future__ import annotations

from pathlib import Path

from svc_nb._exceptions import ArgumentValueError
from svc_nb._resources import notebook_paths

__all__ = ["UnknownNotebookError", "resolve_notebook"]


class UnknownNotebookError(ArgumentValueError):
    """Neither a notebook file nor a bundled notebook's name; the message lists the bundled ones."""


def _bundled_keys(path: Path) -> set[str]:
    stem = path.stem  # 01_database
    number, _, topic = stem.partition("_")
    return {path.name, stem, number, topic, topic.replace("_", "-")}


def resolve_notebook(name: str) -> tuple[Path, bool]:
    """The notebook's path, and whether it is a bundled one.

    ``name`` is a path to an ``.ipynb`` file, or a bundled notebook by file name
    (``01_database.ipynb``), stem, number (``01``) or topic (``database``).
    """
    given = Path(name).expanduser()
    if given.suffix == ".ipynb" and given.is_file():
        return given, False
    key = name.strip().lower()
    for path in notebook_paths():
        if key in _bundled_keys(path):
            return path, True
    if given.suffix == ".ipynb" and ("/" in name or given.exists()):
        raise UnknownNotebookError(f"{name}: no such notebook file")
    names = ", ".join(p.stem for p in notebook_paths())
    raise UnknownNotebookError(
        f"unknown notebook {name!r:.80}: give a path to an .ipynb file, or one of the bundled "
        f"notebooks ({names}) by name, number or topic"
    )
