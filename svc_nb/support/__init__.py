"""Getting help: a bug-report bundle safe to paste publicly, and debug logging into the notebook.

``bug_report()`` gathers versions (svc_nb, svc-infra, Python, OS, key packages,
the PostgreSQL and Redis servers when reachable), the traceback of the failure
with its innermost locals, the masked environment summary and a reproduction
template. Every secret read from the environment, URLs, traceback locals and
object attributes is registered with :mod:`svc_nb._redact` first, and every
piece of text is scrubbed before it is rendered.

``enable_debug_logging()`` shows svc-infra's (and other loggers') DEBUG records
under the running cell; each record is scrubbed when it is created, so no
handler anywhere sees a secret.
"""

from __future__ import annotations

from svc_nb.support._bug_report import bug_report
from svc_nb.support._bundle import ISSUES_URL, BugReport
from svc_nb.support._logging import (
    DEFAULT_LOGGERS,
    DebugLogging,
    disable_debug_logging,
    enable_debug_logging,
)
from svc_nb.support._servers import server_versions

__all__ = [
    "DEFAULT_LOGGERS",
    "ISSUES_URL",
    "BugReport",
    "DebugLogging",
    "bug_report",
    "disable_debug_logging",
    "enable_debug_logging",
    "server_versions",
]
