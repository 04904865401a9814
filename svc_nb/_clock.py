"""The one reading of ``now=``: every function that judges time takes it.

``now`` is an aware datetime, Unix seconds, or None for the system clock, so
tests and notebooks can pin time. A naive datetime is refused: its meaning
depends on the machine's time zone, the very thing that makes expiry bugs.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError

__all__ = ["Now", "unix_seconds", "utc_datetime"]

Now = datetime | float | int | None


def unix_seconds(now: Now) -> float:
    """``now`` as Unix seconds. Raises TypeError for a naive datetime or another type."""
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ArgumentTypeError(
                "now= must be an aware datetime (e.g. datetime.now(timezone.utc)) or Unix seconds"
            )
        return now.timestamp()
    if isinstance(now, int | float) and not isinstance(now, bool):
        try:
            seconds = float(now)
        except OverflowError:
            seconds = math.inf
        # NaN compares false with every expiry, so an expired token would read as valid.
        if not math.isfinite(seconds):
            raise ArgumentValueError(f"now= must be a finite Unix time, got {now!r:.40}")
        return seconds
    raise ArgumentTypeError(
        f"now= takes an aware datetime or Unix seconds, not {type(now).__name__}"
    )


def utc_datetime(now: Now) -> datetime:
    """``now`` as an aware UTC datetime (same rules as :func:`unix_seconds`)."""
    if isinstance(now, datetime) and now.tzinfo is not None:
        return now.astimezone(UTC)
    seconds = unix_seconds(now)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ArgumentValueError(
            f"now= is outside the years a datetime can hold: {seconds!r:.40}"
        ) from None
