"""Notebooks as runbooks: run one headless with parameters, or open the one for a check.

- :func:`notebook_for` — the bundled notebook and section that investigate a check id
  (``db.auth`` → ``01_database.ipynb``, "2. The staged connection check");
- :func:`run_notebook` — ``svc-nb run``: papermill-style parameters (an
  ``injected-parameters`` cell after the cell tagged ``parameters``), an executed
  notebook and an HTML report, secrets passed through the kernel's environment;
- :func:`prepare_open` — ``svc-nb open``: copy, fill, and the JupyterLab command.

Importing this package is cheap: nbformat, nbclient and nbconvert load when a
notebook is first read or run (``svc-nb doctor`` imports only the table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svc_nb._lazy import lazy_package
from svc_nb.runbook._map import NOTEBOOK_SECTIONS, NotebookRef, UnknownCheckError, notebook_for

if TYPE_CHECKING:
    from svc_nb.runbook._open import OpenPlan, prepare_open
    from svc_nb.runbook._params import (
        INJECTED_TAG,
        PARAMETERS_TAG,
        SECRET_ENV_PREFIX,
        Injection,
        Parameter,
        ParameterError,
        ParameterTypeError,
        build_injection,
        declared_parameters,
        inject,
    )
    from svc_nb.runbook._resolve import UnknownNotebookError, resolve_notebook
    from svc_nb.runbook._run import (
        OutputExistsError,
        RunFailedToStart,
        RunResult,
        progress_printer,
        run_notebook,
    )

__all__ = [
    "INJECTED_TAG",
    "NOTEBOOK_SECTIONS",
    "PARAMETERS_TAG",
    "SECRET_ENV_PREFIX",
    "Injection",
    "NotebookRef",
    "OpenPlan",
    "OutputExistsError",
    "Parameter",
    "ParameterError",
    "ParameterTypeError",
    "RunFailedToStart",
    "RunResult",
    "UnknownCheckError",
    "UnknownNotebookError",
    "build_injection",
    "declared_parameters",
    "inject",
    "notebook_for",
    "prepare_open",
    "progress_printer",
    "resolve_notebook",
    "run_notebook",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)
