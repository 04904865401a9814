"""CORS: send the real preflight and request, and judge them like a browser.

The guide's fix for "CORS errors in the browser" is an ``add_security`` call
with a ``cors_credentials=True`` argument that does not exist (a TypeError).
svc-infra's real knobs are ``add_security(app, cors_origins=[…],
allow_credentials=True)`` and the env variables ``CORS_ALLOW_ORIGINS``,
``CORS_ALLOW_CREDENTIALS``, ``CORS_ALLOW_METHODS``, ``CORS_ALLOW_HEADERS`` and
``CORS_ALLOW_ORIGIN_REGEX``; with no origins at all svc-infra adds no CORS
middleware. :func:`preflight` applies the Fetch standard's CORS checks to what
the server really answers and names the knob to turn. Every non-ok finding
carries a :class:`CorsCause` code (network failures carry the shared
``timeout`` / ``connect_failed`` / ``tls_failed`` / ``request_failed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from svc_nb._diagnose import register_check
from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb._report import Finding, Report
    from svc_nb.cors._causes import CorsCause
    from svc_nb.cors._judge import BROWSER_MAX_AGE_CAP, DEFAULT_MAX_AGE
    from svc_nb.cors._probe import MAX_URL_CHARS, preflight
    from svc_nb.cors._rules import (
        SIMPLE_METHODS,
        check_origin,
        needs_preflight,
        parse_origins_env,
        preflight_reasons,
        split_header_list,
        unsafe_header_names,
    )

__all__ = [
    "BROWSER_MAX_AGE_CAP",
    "DEFAULT_MAX_AGE",
    "MAX_URL_CHARS",
    "SIMPLE_METHODS",
    "CorsCause",
    "check_origin",
    "needs_preflight",
    "parse_origins_env",
    "preflight",
    "preflight_reasons",
    "split_header_list",
    "unsafe_header_names",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


async def _diagnose(environ: Mapping[str, str], timeout: float) -> Report | Finding:
    from svc_nb.cors._env import diagnose_cors

    return await diagnose_cors(environ, timeout)


register_check("cors", _diagnose, order=80, waits=True)
