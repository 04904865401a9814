"""ipywidgets UIs over svc_nb's public functions; they hold no logic of their own.

Every widget is a class of one shape: ``.widget`` is the ipywidgets container a
notebook shows, the controls and the latest result are attributes, and
displaying the object displays ``.widget``. The lower-case factories
(``jwt_inspector()``...) build them. No widget keeps a secret in its synced
state (what the browser holds and "Save widget state" writes into the notebook).

Importing this package is cheap; ipywidgets loads when a widget is first built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb.widgets._dashboard import Dashboard, dashboard
    from svc_nb.widgets._jwt import JwtInspector, jwt_inspector
    from svc_nb.widgets._oauth import RedirectUriDiff, redirect_uri_diff
    from svc_nb.widgets._progress import ProgressBar, progress_bar
    from svc_nb.widgets._retry import RetryExplorer, retry_explorer
    from svc_nb.widgets._signature import SignatureChecker, signature_checker

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

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)
