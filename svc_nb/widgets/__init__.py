"""ipywidgets UIs over svc_nb's public functions; they hold no logic of their own.

Importing this package is cheap; ipywidgets loads when a widget is first built.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "dashboard",
    "jwt_inspector",
    "progress_bar",
    "redirect_uri_diff",
    "retry_explorer",
    "signature_checker",
]

# widget name -> private module that defines it
_WIDGETS = {
    "dashboard": "_dashboard",
    "jwt_inspector": "_jwt",
    "redirect_uri_diff": "_oauth",
    "signature_checker": "_signature",
    "retry_explorer": "_retry",
    "progress_bar": "_progress",
}


def __getattr__(name: str) -> Any:
    if name in _WIDGETS:
        module = importlib.import_module(f"svc_nb.widgets.{_WIDGETS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'svc_nb.widgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
