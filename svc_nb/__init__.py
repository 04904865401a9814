"""svc_nb: troubleshoot svc-infra services from a notebook.

Run a check in a cell and see what is wrong, why, and the exact fix::

    import svc_nb
    await svc_nb.diagnose()          # or svc_nb.run(svc_nb.diagnose()) in a script
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from svc_nb._diagnose import diagnose
from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError, SvcNbError
from svc_nb._report import Finding, Report, Status
from svc_nb._runtime import patch_running_loop as _patch_running_loop
from svc_nb._runtime import run

if _TYPE_CHECKING:
    from svc_nb import (
        cache,
        causes,
        cors,
        db,
        demo,
        doctor,
        env,
        migrations,
        oauth,
        plots,
        runbook,
        service,
        support,
        tokens,
        webhooks,
        widgets,
    )

__version__ = "0.1.0"

__all__ = [
    "ArgumentTypeError",
    "ArgumentValueError",
    "Finding",
    "Report",
    "Status",
    "SvcNbError",
    "__version__",
    "cache",
    "causes",
    "cors",
    "db",
    "demo",
    "diagnose",
    "doctor",
    "env",
    "load_ipython_extension",
    "migrations",
    "oauth",
    "plots",
    "run",
    "runbook",
    "service",
    "support",
    "tokens",
    "webhooks",
    "widgets",
]

_SUBMODULES = frozenset(
    {
        "cache",
        "causes",
        "cors",
        "db",
        "demo",
        "doctor",
        "env",
        "migrations",
        "oauth",
        "plots",
        "runbook",
        "service",
        "support",
        "tokens",
        "webhooks",
        "widgets",
    }
)


def __getattr__(name: str) -> _Any:
    # Sections load on first use so that `import svc_nb` stays light.
    if name in _SUBMODULES:
        module = _importlib.import_module(f"svc_nb.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'svc_nb' has no attribute {name!r}")


def load_ipython_extension(ipython: _Any) -> None:
    """``%load_ext svc_nb``: register the ``%svc`` magics (doctor, jwt, verify, open)."""
    from svc_nb.magics import load_ipython_extension as _load

    _load(ipython)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# In a notebook the kernel's loop is already running: make it reentrant once so
# that the guide's `asyncio.run(main())` cells work.
_patch_running_loop()
