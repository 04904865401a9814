"""The webhooks section's one error tree: every misuse it raises is a :class:`WebhooksError`."""

from __future__ import annotations

from svc_nb._exceptions import SvcNbError

__all__ = ["AttemptsError", "SigningError", "WebhooksError"]


class WebhooksError(SvcNbError, ValueError):
    """Misuse of svc_nb.webhooks: a bad URL, policy, payload or argument; the message says what to pass."""


class SigningError(WebhooksError):
    """Misuse of the signing API: unknown scheme, unusable secret, or a body that cannot be signed."""


class AttemptsError(WebhooksError):
    """An attempt log cannot be read: missing columns, an unreadable file or query."""
