"""Retry policies as data: the waits between delivery attempts, with the real presets.

svc-infra's real behaviour (DESIGN §1): 5 attempts, a failed attempt waits
``60 s × attempts`` (60, 120, 180, 240 s), then the job goes to the dead-letter
queue. The guide's ``[5, 30, 300, 3600, 86400]`` is not what svc-infra does.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from svc_nb._report import ReprMixin

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RetryPolicy", "WebhooksError", "format_seconds"]


class WebhooksError(ValueError):
    """Root of svc_nb.webhooks' misuse errors (bad arguments, unreadable attempt logs)."""


def format_seconds(seconds: float) -> str:
    """A short human duration: 45 s, 2 min, 1.5 h, 1 d."""
    s = float(seconds)
    if s < 60:
        return f"{s:.3g} s"
    if s < 3600:
        return f"{s / 60:.3g} min"
    if s < 86400:
        return f"{s / 3600:.3g} h"
    return f"{s / 86400:.3g} d"


@dataclass(frozen=True)
class RetryPolicy(ReprMixin):
    """How long to wait before each retry; ``attempts`` = retries + 1.

    ``waits`` holds the delay (seconds) before attempt 2, 3, ...; jitter, if
    any, is already applied (``nominal`` keeps the un-jittered waits), so a
    policy is a fixed, comparable value.
    """

    name: str
    waits: tuple[float, ...]
    nominal: tuple[float, ...] = field(default=(), compare=False)
    jitter: float = 0.0
    note: str = ""

    def __post_init__(self) -> None:
        waits = tuple(float(w) for w in self.waits)
        if any(w < 0 for w in waits):
            raise WebhooksError(f"retry delays must be >= 0 seconds, got {list(waits)}")
        object.__setattr__(self, "waits", waits)
        object.__setattr__(self, "nominal", tuple(float(w) for w in (self.nominal or waits)))

    # -- presets ---------------------------------------------------------------
    @classmethod
    def svc_infra(cls, *, backoff_seconds: float = 60.0, max_attempts: int = 5) -> RetryPolicy:
        """What svc-infra really does: wait ``backoff × attempts``, 5 attempts, then dead-letter."""
        waits = tuple(backoff_seconds * n for n in range(1, max_attempts))
        return cls("svc-infra", waits, note="60 s × attempts, then jobs:dlq")

    @classmethod
    def guide(cls) -> RetryPolicy:
        """The guide's ``retry_delays=[5, 30, 300, 3600, 86400]`` (svc-infra has no such setting)."""
        return cls("guide", (5, 30, 300, 3600, 86400), note="the guide's WebhookConfig; not real")

    @classmethod
    def standard_webhooks(cls) -> RetryPolicy:
        """Standard Webhooks' suggested schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h."""
        return cls("standard-webhooks", (5, 300, 1800, 7200, 18000, 36000, 36000))

    @classmethod
    def svix(cls) -> RetryPolicy:
        """Svix's documented schedule (the one Standard Webhooks adopted)."""
        return cls("svix", (5, 300, 1800, 7200, 18000, 36000, 36000))

    @classmethod
    def exponential(
        cls,
        base: float = 1.0,
        factor: float = 2.0,
        max_delay: float = 3600.0,
        attempts: int = 5,
        jitter: float = 0.0,
        seed: int | None = None,
    ) -> RetryPolicy:
        """``base × factor**n`` capped at ``max_delay``; ``jitter`` is a fraction (0.2 = ±20 %)."""
        if attempts < 1:
            raise WebhooksError(f"attempts must be >= 1, got {attempts}")
        if not 0.0 <= jitter <= 1.0:
            raise WebhooksError(f"jitter is a fraction between 0 and 1, got {jitter}")
        nominal = tuple(min(base * factor**n, max_delay) for n in range(attempts - 1))
        waits = nominal
        if jitter:
            rng = random.Random(seed)
            waits = tuple(w * rng.uniform(1 - jitter, 1 + jitter) for w in nominal)
        name = f"exponential({base:g}×{factor:g}^n" + (f", ±{jitter:.0%}" if jitter else "") + ")"
        return cls(name, waits, nominal=nominal, jitter=jitter)

    @classmethod
    def custom(cls, delays: Iterable[float], *, name: str = "custom") -> RetryPolicy:
        """Your own waits before attempt 2, 3, ..."""
        return cls(name, tuple(delays))

    @classmethod
    def presets(cls) -> dict[str, RetryPolicy]:
        """Every named preset, by name."""
        return {
            p.name: p
            for p in (cls.svc_infra(), cls.guide(), cls.standard_webhooks(), cls.svix())
        }

    # -- views -------------------------------------------------------------------
    @property
    def attempts(self) -> int:
        """Total attempts, the first included."""
        return len(self.waits) + 1

    def delays(self) -> list[float]:
        """Seconds to wait before attempt 2, 3, ... (jitter applied)."""
        return list(self.waits)

    def delay_before(self, attempt: int) -> float | None:
        """The wait before ``attempt`` (1-based); None when the policy gives up first."""
        if attempt <= 1:
            return 0.0
        if attempt - 2 < len(self.waits):
            return self.waits[attempt - 2]
        return None

    def offsets(self) -> list[float]:
        """Seconds from the first attempt to each attempt (first is 0)."""
        out = [0.0]
        for w in self.waits:
            out.append(out[-1] + w)
        return out

    def give_up_after(self) -> float:
        """Seconds from the first attempt to the last one, after which the delivery is abandoned."""
        return float(sum(self.waits))

    def schedule(self) -> pd.DataFrame:
        """One row per attempt: attempt, wait_s (before it), at_s (since the first), at (human)."""
        import pandas as pd

        offsets = self.offsets()
        return pd.DataFrame(
            {
                "attempt": range(1, self.attempts + 1),
                "wait_s": [0.0, *self.waits],
                "at_s": offsets,
                "at": [format_seconds(o) if o else "immediately" for o in offsets],
            }
        )

    def __str__(self) -> str:
        waits = ", ".join(format_seconds(w) for w in self.waits) or "none"
        return (
            f"RetryPolicy {self.name}: {self.attempts} attempts; waits {waits}; "
            f"gives up {format_seconds(self.give_up_after())} after the first attempt"
        )

    def __repr__(self) -> str:
        return f"RetryPolicy(name={self.name!r}, waits={list(self.waits)})"

    def _repr_html_(self) -> str:
        import html

        cells = "".join(
            f"<td>{html.escape(format_seconds(w))}</td>" for w in self.waits
        )
        return (
            f"<div><b>RetryPolicy {html.escape(self.name)}</b>: {self.attempts} attempts, "
            f"gives up after <b>{html.escape(format_seconds(self.give_up_after()))}</b>"
            f"<table><tr><th>waits</th>{cells}</tr></table></div>"
        )


def as_policy(policy: RetryPolicy | Sequence[float] | str | None) -> RetryPolicy:
    """Accept a policy, a preset name, a list of waits, or None (svc-infra's)."""
    if policy is None:
        return RetryPolicy.svc_infra()
    if isinstance(policy, RetryPolicy):
        return policy
    if isinstance(policy, str):
        presets = RetryPolicy.presets()
        if policy not in presets:
            raise WebhooksError(
                f"unknown retry policy {policy!r}; use one of {sorted(presets)} or a RetryPolicy"
            )
        return presets[policy]
    if isinstance(policy, Sequence):
        return RetryPolicy.custom(float(w) for w in policy)
    raise WebhooksError(
        f"policy must be a RetryPolicy, a preset name or a list of waits, got {type(policy).__name__}"
    )
