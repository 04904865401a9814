"""Webhooks: signing schemes, verification, endpoint probe, deliveries with retries,
attempt logs, svc-infra's Redis queue and a local receiver.

svc-infra signs canonical JSON with HMAC-SHA256 into ``X-Signature`` (lowercase
hex, no prefix, no timestamp); the guide's ``X-Webhook-Signature`` and
``WEBHOOK_SECRET`` do not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from svc_nb._diagnose import register_check
from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb.webhooks._attempts import ATTEMPT_COLUMNS, OUTCOMES, load_attempts
    from svc_nb.webhooks._causes import WebhooksCause
    from svc_nb.webhooks._delivery import deliver, deliver_many, parse_retry_after
    from svc_nb.webhooks._errors import AttemptsError, SigningError, WebhooksError
    from svc_nb.webhooks._headers import detect_scheme, parse_headers
    from svc_nb.webhooks._log import DeliveryLog
    from svc_nb.webhooks._policy import RetryPolicy
    from svc_nb.webhooks._probe import delivery_timeout, probe
    from svc_nb.webhooks._queue import QueueSnapshot, parse_status, queue_snapshot
    from svc_nb.webhooks._queue_demo import clear_demo_queue, seed_demo_queue
    from svc_nb.webhooks._receiver import ReceivedRequest, Receiver, Respond
    from svc_nb.webhooks._schemes import SCHEMES, canonical_json, sign
    from svc_nb.webhooks._signing import verify
    from svc_nb.webhooks._summary import AttemptSummary, summarize_attempts

__all__ = [
    "ATTEMPT_COLUMNS",
    "OUTCOMES",
    "SCHEMES",
    "AttemptSummary",
    "AttemptsError",
    "DeliveryLog",
    "QueueSnapshot",
    "ReceivedRequest",
    "Receiver",
    "Respond",
    "RetryPolicy",
    "SigningError",
    "WebhooksCause",
    "WebhooksError",
    "canonical_json",
    "clear_demo_queue",
    "deliver",
    "deliver_many",
    "delivery_timeout",
    "detect_scheme",
    "load_attempts",
    "parse_headers",
    "parse_retry_after",
    "parse_status",
    "probe",
    "queue_snapshot",
    "seed_demo_queue",
    "sign",
    "summarize_attempts",
    "verify",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


# The two checks diagnose() runs. _probe and _queue register the same builders
# (same order, same waits) when they load; these stand-ins only defer that load
# to the first run, so importing the package stays cheap.
def _endpoint_check(environ: Mapping[str, str], timeout: float) -> Any:
    from svc_nb.webhooks._probe import _endpoint_check

    return _endpoint_check(environ, timeout)


def _queue_check(environ: Mapping[str, str], timeout: float) -> Any:
    from svc_nb.webhooks._queue import _queue_check

    return _queue_check(environ, timeout)


register_check("webhooks.endpoint", _endpoint_check, order=70, waits=True)
register_check("webhooks.queue", _queue_check, order=72, waits=True)
