"""Webhooks: signing schemes, verification, endpoint probe, deliveries with retries,
attempt logs, svc-infra's Redis queue and a local receiver.

svc-infra signs canonical JSON with HMAC-SHA256 into ``X-Signature`` (lowercase
hex, no prefix, no timestamp); the guide's ``X-Webhook-Signature`` and
``WEBHOOK_SECRET`` do not exist (DESIGN §1).
"""

from __future__ import annotations

__all__: list[str] = []

# --- signatures and endpoint probe (issue 9) ---------------------------------
# --- end signatures ------------------------------------------------------------

# --- deliveries, receiver, queue, attempt logs (issue 10) --------------------
# --- end deliveries ------------------------------------------------------------

__all__.sort()
