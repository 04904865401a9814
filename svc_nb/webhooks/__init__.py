"""Webhooks: signing schemes, verification, endpoint probe, deliveries with retries,
attempt logs, svc-infra's Redis queue and a local receiver.

svc-infra signs canonical JSON with HMAC-SHA256 into ``X-Signature`` (lowercase
hex, no prefix, no timestamp); the guide's ``X-Webhook-Signature`` and
``WEBHOOK_SECRET`` do not exist.
"""

from __future__ import annotations

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
