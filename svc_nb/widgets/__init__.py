"""ipywidgets UIs over svc_nb's public functions; they hold no logic of their own.

Every widget is a class of one shape: ``.widget`` is the ipywidgets container a
notebook shows, the controls and the latest result are attributes, and
displaying the object displays ``.widget``. The lower-case factories
(``jwt_inspector()``...) build them. No widget keeps a secret in its synced
state (what the browser holds and "Save widget state" writes into the notebook).

Importing this package is cheap; ipywidgets loads when a widget is first built.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Dashboard",
    "JwtInspector",
    "ProgressBar",
    "RedirectUriDiff",
    "RetryExplorer",
    "SignatureChecker",
    "dashboard",
    "jwt_inspector",
    "progress_bar",
    "redirect_uri_diff",
    "retry_explorer",
    "signature_checker",
]

# public name -> private module that defines it
_WIDGETS = {
    "Dashboard": "_dashboard",
    "dashboard": "_dashboard",
    "JwtInspector": "_jwt",
    "jwt_inspector": "_jwt",
    "RedirectUriDiff": "_oauth",
    "redirect_uri_diff": "_oauth",
    "SignatureChecker": "_signature",
    "signature_checker": "_signature",
    "RetryExplorer": "_retry",
    "retry_explorer": "_retry",
    "ProgressBar": "_progress",
    "progress_bar": "_progress",
}


def __getattr__(name: str) -> Any:
    if name in _WIDGETS:
        module = importlib.import_module(f"svc_nb.widgets.{_WIDGETS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'svc_nb.widgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
