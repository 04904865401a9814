"""Small formatters shared by every section and view: durations, lenient base64."""

from __future__ import annotations

import base64
import binascii
import math

__all__ = ["b64decode_lenient", "format_duration"]

# (upper bound in seconds, divisor, unit): a value is shown in the first unit
# whose bound it stays under: "45 s", "1 min", "1.5 h", "2 days".
_DURATION_UNITS = (
    (60.0, 1.0, "s"),
    (3600.0, 60.0, "min"),
    (48 * 3600.0, 3600.0, "h"),
    (math.inf, 86400.0, "days"),
)


def format_duration(seconds: float) -> str:
    """A human duration: '45 s', '2 min', '1.5 h', '6 days' (sign dropped)."""
    value = abs(float(seconds))
    if not math.isfinite(value):
        return "forever" if value == math.inf else "an unknown time"
    for bound, divisor, unit in _DURATION_UNITS:
        if round(value / divisor, 1) * divisor < bound:
            amount = value / divisor
            if unit == "s":
                text = f"{amount:.2g}" if amount < 10 and amount != int(amount) else f"{amount:.0f}"
            else:
                text = f"{amount:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    raise AssertionError("unreachable: the last bound is infinite")


_URLSAFE_TO_STD = bytes.maketrans(b"-_", b"+/")


def b64decode_lenient(text: str | bytes, *, urlsafe: bool | None = None) -> bytes | None:
    """Decode base64 or base64url with or without padding; None when it is not base64.

    ``urlsafe=None`` accepts either alphabet (a pasted secret may be either).
    """
    if isinstance(text, str):
        if not text.isascii():
            return None  # base64 is ASCII; dropping "é" would decode another secret
        data = text.encode("ascii")
    else:
        data = bytes(text)
    data = data.strip().rstrip(b"=")
    if not data:
        return b""
    padded = data + b"=" * (-len(data) % 4)
    if urlsafe is None:
        urlsafe = b"-" in data or b"_" in data
    try:
        if urlsafe:
            padded = padded.translate(_URLSAFE_TO_STD)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
