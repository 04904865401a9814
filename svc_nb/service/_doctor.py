"""The service checks in ``diagnose()`` and ``svc-nb doctor``: ``SVC_NB_APP`` or ``SVC_NB_SERVICE_URL``."""

from __future__ import annotations

import os
from collections.abc import Mapping

from svc_nb._report import Finding, Report, Status
from svc_nb._validate import DEFAULT_HTTP_TIMEOUT_S, check_timeout
from svc_nb.cors._rules import split_header_list
from svc_nb.service._causes import ServiceCause

__all__ = ["diagnose_service", "doctor_checks"]

# diagnose() guards each check at its timeout + 0.2 s; the app's shutdown must fit before that.
_SHUTDOWN_MARGIN_S = 0.3
_MIN_TIMEOUT_S = 0.1


async def doctor_checks(
    *,
    app: str | None = None,
    url: str | None = None,
    timeout: float = DEFAULT_HTTP_TIMEOUT_S,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """The service checks for ``svc-nb doctor --app pkg.module:app`` / ``--url https://…``.

    Without ``app`` and ``url``, ``SVC_NB_APP`` then ``SVC_NB_SERVICE_URL`` are read
    from ``environ`` (default ``os.environ``); with neither, the report holds one
    ``service`` skip saying how to name the service.
    ``SVC_NB_ORIGIN`` names the front end's origin and ``SVC_NB_REDIRECT_URIS``
    (comma-separated) what is registered at the OAuth provider. Everything, importing
    the app included, shares one ``timeout``.
    """
    env = os.environ if environ is None else environ
    timeout = check_timeout(timeout)
    target = (
        app or url or env.get("SVC_NB_APP", "").strip() or env.get("SVC_NB_SERVICE_URL", "").strip()
    )
    if not target:
        skipped = Finding(
            "service",
            Status.SKIP,
            "SVC_NB_APP / SVC_NB_SERVICE_URL not set: the service itself is not checked",
            detail="svc_nb checks the app when it can import it or reach its URL.",
            fix="Set SVC_NB_APP=your_package.main:app (or SVC_NB_SERVICE_URL=http://…), or run "
            "svc-nb doctor --app your_package.main:app.",
            cause=ServiceCause.NOT_CONFIGURED,
        )
        return Report([skipped], title="svc_nb service")
    # Here, not at the top: a doctor run without a service never loads the check's modules.
    from svc_nb.service._check import check_in_one_budget

    origin = env.get("SVC_NB_ORIGIN", "").strip() or None
    registered = split_header_list(env.get("SVC_NB_REDIRECT_URIS"))
    # The doctor cancels a check at its timeout: importing the app spends from the same budget.
    return await check_in_one_budget(
        target, origin=origin, redirect_uris=registered, timeout=timeout
    )


async def diagnose_service(environ: Mapping[str, str], timeout: float) -> Report:
    """``diagnose()``'s service section: present only when SVC_NB_APP or SVC_NB_SERVICE_URL is set."""
    bounded = max(timeout - _SHUTDOWN_MARGIN_S, _MIN_TIMEOUT_S)
    return await doctor_checks(timeout=bounded, environ=environ)
