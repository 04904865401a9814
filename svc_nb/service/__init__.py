"""The service itself: its wiring, start-up, CORS, OAuth redirects and webhook handler.

svc_nb's other sections check a service's dependencies (its URLs, database,
Redis, secrets). This one checks the app: middleware wired the wrong way, a
redirect URI built as ``http://`` behind a TLS proxy, a 500 the browser shows
as a CORS error, a session cookie that never comes back, a webhook handler
that rejects valid signatures. It answers "is it my service or its
dependencies?" against the real app:

- :func:`inspect` reads the app's routes and middleware without running it;
- :func:`check` starts it in process (or calls its URL) and checks what its
  clients meet;
- :func:`replay` sends captured webhook deliveries into its receiving route.

A target is an ASGI app, ``"package.module:attr"`` or ``"http(s)://base-url"``.
Every non-ok finding carries a :class:`ServiceCause`. ``diagnose()`` includes
the checks when ``SVC_NB_APP`` or ``SVC_NB_SERVICE_URL`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from svc_nb._diagnose import register_check
from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb._report import Report
    from svc_nb.service._causes import ServiceCause
    from svc_nb.service._check import CHECK_IDS, check
    from svc_nb.service._doctor import doctor_checks
    from svc_nb.service._errors import ServiceError, ServiceTypeError, ServiceValueError
    from svc_nb.service._inspect import ServiceReport, inspect
    from svc_nb.service._replay import replay

__all__ = [
    "CHECK_IDS",
    "ServiceCause",
    "ServiceError",
    "ServiceReport",
    "ServiceTypeError",
    "ServiceValueError",
    "check",
    "doctor_checks",
    "inspect",
    "replay",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


async def _diagnose(environ: Mapping[str, str], timeout: float) -> Report:
    from svc_nb.service._doctor import diagnose_service

    return await diagnose_service(environ, timeout)


register_check("service", _diagnose, order=90, waits=True)
