"""Webhooks: signing schemes, verification, endpoint probe, deliveries with retries,
attempt logs, svc-infra's Redis queue and a local receiver.

svc-infra signs canonical JSON with HMAC-SHA256 into ``X-Signature`` (lowercase
hex, no prefix, no timestamp); the guide's ``X-Webhook-Signature`` and
``WEBHOOK_SECRET`` do not exist (DESIGN §1).
"""

from __future__ import annotations

__all__: list[str] = []

# --- signatures and endpoint probe (issue 9) ---------------------------------
from svc_nb.webhooks._probe import delivery_timeout, probe
from svc_nb.webhooks._signing import (
    SCHEMES,
    SigningError,
    canonical_json,
    detect_scheme,
    parse_headers,
    sign,
    verify,
)

# (a plain assignment, not +=, so that the next block's imports stay "at the top" for ruff E402)
__all__ = [
    *__all__,
    "SCHEMES",
    "SigningError",
    "canonical_json",
    "delivery_timeout",
    "detect_scheme",
    "parse_headers",
    "probe",
    "sign",
    "verify",
]
# --- end signatures ------------------------------------------------------------

# --- deliveries, receiver, queue, attempt logs (issue 10) --------------------
from svc_nb.webhooks._attempts import ATTEMPT_COLUMNS, OUTCOMES, AttemptsError, load_attempts
from svc_nb.webhooks._delivery import DeliveryLog, deliver, deliver_many, parse_retry_after
from svc_nb.webhooks._policy import RetryPolicy, WebhooksError
from svc_nb.webhooks._queue import (
    QueueSnapshot,
    clear_demo_queue,
    parse_status,
    queue_snapshot,
    seed_demo_queue,
)
from svc_nb.webhooks._receiver import ReceivedRequest, Receiver, Respond

__all__ += [
    "ATTEMPT_COLUMNS",
    "OUTCOMES",
    "AttemptsError",
    "DeliveryLog",
    "QueueSnapshot",
    "ReceivedRequest",
    "Receiver",
    "Respond",
    "RetryPolicy",
    "WebhooksError",
    "clear_demo_queue",
    "deliver",
    "deliver_many",
    "load_attempts",
    "parse_retry_after",
    "parse_status",
    "queue_snapshot",
    "seed_demo_queue",
]
# --- end deliveries ------------------------------------------------------------

__all__.sort()
