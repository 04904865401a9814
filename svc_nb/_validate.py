"""One validator for every number a user passes: timeouts, durations, times.

A NaN compares false with everything, so ``elapsed > nan`` never fires and a
failure reads as a success; ``inf`` waits forever. Both are refused at the
door, with a message that names the argument and says what to pass instead.
"""

from __future__ import annotations

import math
from typing import Any

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError

__all__ = [
    "DEFAULT_HTTP_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "check_duration",
    "check_finite",
    "check_timeout",
]

# Every probe's default bound: a healthy local service answers in milliseconds,
# a remote one in tens; three seconds tells "slow" from "never".
DEFAULT_TIMEOUT_S = 3.0
# HTTP peers (webhook receivers, OAuth providers, CORS targets) do TLS and app work first.
DEFAULT_HTTP_TIMEOUT_S = 5.0


def _number(value: Any, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentTypeError(
            f"{name} must be {what} as a number, not {type(value).__name__} ({value!r:.40})"
        )
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        raise ArgumentValueError(
            f"{name} must be a finite number of seconds, got a huge int"
        ) from None
    if not math.isfinite(number):
        raise ArgumentValueError(f"{name} must be a finite number, got {number!r}")
    return number


def check_timeout(value: Any, *, name: str = "timeout") -> float:
    """``value`` as positive, finite seconds; raises at once otherwise.

    Refused: NaN, ±inf, 0, negatives (ValueError), and None, strings, booleans
    (TypeError). Both exception classes derive from :class:`svc_nb.SvcNbError`.
    """
    seconds = _number(value, name, "a positive number of seconds")
    if seconds <= 0:
        raise ArgumentValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


def check_duration(value: Any, *, name: str) -> float:
    """A finite duration of zero or more seconds (leeway, tolerance, expires_in)."""
    seconds = _number(value, name, "a duration in seconds")
    if seconds < 0:
        raise ArgumentValueError(f"{name} must be zero or more seconds, got {value!r}")
    return seconds


def check_finite(value: Any, *, name: str) -> float:
    """A finite number of any sign (a time scale, a Unix time)."""
    return _number(value, name, "a finite number")
