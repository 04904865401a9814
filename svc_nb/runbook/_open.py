"""``svc-nb open CHECK_ID``: the notebook that investigates a check, filled and opened.

The notebooks are copied as ``svc-nb notebooks`` copies them (a notebook the
user edited is kept), then the check's notebook gets an
``injected-parameters`` cell filled from the environment and the flags, and
JupyterLab starts on it, scrolled to the section for that check.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from svc_nb._notebook_copy import copy_notebooks, rewrite_notebook
from svc_nb.runbook._map import NotebookRef, notebook_for
from svc_nb.runbook._params import build_injection, declared_parameters, inject

__all__ = ["OpenPlan", "prepare_open"]


@dataclass(frozen=True)
class OpenPlan:
    """What ``svc-nb open`` does: the filled notebook, and the JupyterLab command for it."""

    ref: NotebookRef
    path: Path
    folder: Path
    command: list[str]
    url_path: str  # lab/tree/NOTEBOOK#section, relative to the server's base URL
    env: dict[str, str]  # the server's (and so the kernel's) environment additions
    parameters: list[str]  # what the injected cell sets (NAME = value), secrets as where from
    copy_actions: list[tuple[Path, str]]


def prepare_open(
    check: str,
    dest: str | os.PathLike[str],
    parameters: Sequence[tuple[str, str]] = (),
    *,
    environ: Mapping[str, str] | None = None,
    force: bool = False,
    lab_args: Sequence[str] = (),
) -> OpenPlan:
    """Copy the notebooks into ``dest``, fill the check's notebook, and plan the lab command.

    Raises ``UnknownCheckError`` for a check no notebook covers, ``ParameterError``
    / ``ParameterTypeError`` for bad ``parameters`` (before anything is written),
    and ``NotebookCopyError`` when ``dest`` cannot take the notebooks.
    """
    import nbformat

    ref = notebook_for(check)
    env = dict(os.environ if environ is None else environ)
    actions = copy_notebooks(dest, force=force)
    path = Path(dest) / ref.notebook
    nb = nbformat.read(str(path), as_version=4)
    injection = build_injection(declared_parameters(nb), parameters, from_env=env)
    inject(nb, injection.source)
    rewrite_notebook(dest, ref.notebook, nbformat.writes(nb).encode("utf-8"))
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={Path(dest).resolve()}",
        *lab_args,
        str(path.resolve()),
    ]
    return OpenPlan(
        ref=ref,
        path=path,
        folder=Path(dest),
        command=command,
        url_path=f"lab/tree/{ref.url_path()}",
        env=injection.kernel_env,
        parameters=injection.lines(),
        copy_actions=actions,
    )
