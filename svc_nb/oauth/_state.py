"""A signed, expiring OAuth ``state`` bound to the session: what the guide's
``generate_state`` / ``verify_state`` promise, and svc-infra does not ship."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from svc_nb._clock import Now, unix_seconds
from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._fmt import format_duration
from svc_nb._redact import register_secret
from svc_nb._validate import check_duration
from svc_nb.oauth._errors import StateExpiredError, StateInvalidError

__all__ = ["DEFAULT_STATE_TTL_S", "generate_state", "signing_key", "verify_state"]

# svc-infra's connect module keeps OAuth states for 600 s.
DEFAULT_STATE_TTL_S = 600
_VERSION = "v1"
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
# A Unix expiry fits in 20 digits; more would only make int() slow (or refuse).
_MAX_EXPIRY_DIGITS = 20


def signing_key(secret: str | bytes) -> bytes:
    """The HMAC key for ``secret``; registers it so it is masked everywhere after."""
    if isinstance(secret, str | bytes | bytearray):
        if not secret:
            raise ArgumentValueError(
                "secret must not be empty: use the same secret the app signs with"
            )
        if isinstance(secret, str):
            register_secret(secret)
            return secret.encode("utf-8", "surrogatepass")
        return bytes(secret)
    raise ArgumentTypeError(f"secret must be str or bytes, not {type(secret).__name__}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode("utf-8", "surrogatepass"), hashlib.sha256).digest())


def _session_tag(key: bytes, session_id: str) -> str:
    # A keyed tag (not the id itself) so the state reveals nothing about the session.
    return _mac(key, "sid|" + session_id)[:11]


def _session_id(session_id: object) -> str:
    if not isinstance(session_id, str) or not session_id:
        raise ArgumentTypeError(
            "session_id must be a non-empty string (the id of the user's session)"
        )
    return session_id


def generate_state(
    session_id: str,
    secret: str | bytes,
    *,
    expires_in: float = DEFAULT_STATE_TTL_S,
    now: Now = None,
) -> str:
    """A URL-safe OAuth ``state``: expiry, random nonce and session tag, HMAC-SHA256 signed.

    Format ``v1.<expiry unix s>.<nonce>.<session tag>.<signature>`` — only
    ``[A-Za-z0-9_.-]``, so it survives query strings untouched. ``expires_in``
    is a positive, finite number of seconds.
    """
    _session_id(session_id)
    key = signing_key(secret)
    lifetime = check_duration(expires_in, name="expires_in")
    if lifetime <= 0:
        raise ArgumentValueError(
            f"expires_in must be a positive number of seconds, got {expires_in!r}"
        )
    expiry = int(unix_seconds(now) + lifetime)
    if expiry < 0 or len(str(expiry)) > _MAX_EXPIRY_DIGITS:
        raise ArgumentValueError("now= + expires_in is outside the Unix times a state can carry")
    body = f"{_VERSION}.{expiry}.{secrets.token_urlsafe(16)}.{_session_tag(key, session_id)}"
    return f"{body}.{_mac(key, body)}"


def _split(state: object) -> list[str]:
    if not isinstance(state, str):
        raise StateInvalidError(
            f"state must be the string from the callback's ?state= parameter, got {type(state).__name__}"
        )
    parts = state.split(".")
    well_formed = (
        len(parts) == 5
        and parts[0] == _VERSION
        and parts[1].isascii()
        and parts[1].isdigit()
        and len(parts[1]) <= _MAX_EXPIRY_DIGITS
        and all(_B64URL.fullmatch(p) for p in parts[2:])
    )
    if not well_formed:
        raise StateInvalidError(
            "malformed state (expected v1.<expiry>.<nonce>.<session>.<signature>): the callback's "
            "state was truncated or replaced, or it was not made by generate_state(); start the login again"
        )
    return parts


def verify_state(state: str, secret: str | bytes, *, session_id: str, now: Now = None) -> None:
    """Accept a ``state`` from the callback, or raise StateInvalidError / StateExpiredError.

    The signature is compared in constant time and checked before the expiry,
    so a tampered expiry is reported as invalid, not as expired. ``now`` must
    be finite: a NaN would compare false with the expiry and accept anything.
    """
    _session_id(session_id)
    key = signing_key(secret)
    current = unix_seconds(now)  # refuses NaN/inf before anything is judged
    parts = _split(state)
    body = state.rsplit(".", 1)[0]
    if not hmac.compare_digest(_mac(key, body), parts[4]):
        raise StateInvalidError(
            "state signature does not match: it was altered, or signed with a different secret "
            "(compare the secret's fingerprint on every instance with svc_nb.tokens.fingerprint)"
        )
    if not hmac.compare_digest(_session_tag(key, session_id), parts[3]):
        raise StateInvalidError(
            "state was issued for a different session: the session cookie changed between login and "
            "callback (another browser, cleared cookies, or the cookie was not sent back); start the login again"
        )
    expiry = int(parts[1])
    if current > expiry:
        raise StateExpiredError(
            f"state expired {format_duration(current - expiry)} ago (at {_iso(expiry)}): the user "
            "took too long between login and callback, or the clocks differ; send them back to "
            "start the login again"
        )


def _iso(unix: int) -> str:
    try:
        return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):  # beyond the years a datetime holds
        return f"Unix time {unix}"
