"""The OAuth section's exceptions: a refused ``state`` and misuse of its functions."""

from __future__ import annotations

from svc_nb._exceptions import SvcNbError

__all__ = ["OAuthError", "StateError", "StateExpiredError", "StateInvalidError"]


class OAuthError(SvcNbError, ValueError):
    """Root of the errors :mod:`svc_nb.oauth` raises for a value it cannot accept."""


class StateError(OAuthError):
    """The OAuth ``state`` parameter cannot be accepted (``except StateError`` catches both kinds)."""


class StateExpiredError(StateError):
    """The state was valid but its lifetime is over."""


class StateInvalidError(StateError):
    """The state is malformed, tampered with, for another session, or signed with another secret."""
