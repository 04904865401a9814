"""Errors of the demo helpers."""

from __future__ import annotations

import importlib
from types import ModuleType

from svc_nb._exceptions import SvcNbError

__all__ = ["DemoError", "require"]


class DemoError(SvcNbError):
    """A demo server or scratch project could not be set up; the message says what to do."""


def require(module: str, package: str) -> ModuleType:
    """Import ``module`` or say which package the notebooks' demos need."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DemoError(
            f"the notebook demos need {package}: %pip install {package}   "
            "(or install svc-nb's dev extra)"
        ) from None
