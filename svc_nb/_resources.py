"""Where the bundled notebooks live, installed or in a source checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["notebook_paths", "notebooks_dir"]


def notebooks_dir() -> Path:
    """The folder of bundled notebooks: inside the wheel, else the source tree's."""
    packaged = resources.files("svc_nb").joinpath("_notebooks")
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parent.parent / "notebooks"
    if source.is_dir():
        return source
    raise FileNotFoundError(
        "svc_nb's bundled notebooks are missing from this installation; "
        "reinstall with: python -m pip install --force-reinstall svc-nb"
    )


def notebook_paths() -> list[Path]:
    """The bundled notebooks, in their numbered order."""
    return sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
