"""Retry policies as data: the waits between delivery attempts, with the real presets.

svc-infra's real behaviour: 5 attempts, a failed attempt waits
``60 s × attempts`` (60, 120, 180, 240 s), then the job goes to the dead-letter
queue; every non-2xx answer (410 included) is retried and ``Retry-After`` is
ignored. The guide's ``[5, 30, 300, 3600, 86400]`` is not what svc-infra does.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from svc_nb._fmt import format_duration
from svc_nb._report import ReprMixin
from svc_nb._validate import check_duration, check_finite
from svc_nb.webhooks._errors import WebhooksError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SVC_INFRA_DELIVERY_TIMEOUT_S", "RetryPolicy", "as_policy", "format_seconds"]

#: svc-infra's per-delivery HTTP timeout when neither WEBHOOK_DELIVERY_TIMEOUT_SECONDS
#: nor HTTP_CLIENT_TIMEOUT_SECONDS is set.
SVC_INFRA_DELIVERY_TIMEOUT_S = 10.0

# The views and charts that imported it by this name keep working.
format_seconds = format_duration

_MAX_ATTEMPTS = 1000  # beyond this a "policy" is a loop, not a schedule


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
    #: A 410 Gone ends the delivery (no more retries). svc-infra retries it like any failure.
    stop_on_gone: bool = True
    #: A ``Retry-After`` answer stretches the next wait. svc-infra ignores the header.
    honour_retry_after: bool = True

    def __post_init__(self) -> None:
        waits = tuple(check_duration(w, name="each retry delay") for w in self.waits)
        if len(waits) >= _MAX_ATTEMPTS:
            raise WebhooksError(
                f"a retry policy has at most {_MAX_ATTEMPTS} attempts, got {len(waits) + 1}"
            )
        object.__setattr__(self, "waits", waits)
        nominal = self.nominal or waits
        object.__setattr__(
            self, "nominal", tuple(check_duration(w, name="each nominal delay") for w in nominal)
        )

    # -- presets ---------------------------------------------------------------
    @classmethod
    def svc_infra(cls, *, backoff_seconds: float = 60.0, max_attempts: int = 5) -> RetryPolicy:
        """What svc-infra really does: wait ``backoff × attempts``, 5 attempts, then dead-letter.

        svc-infra's rules: every non-2xx answer is retried, **410 Gone included**,
        and ``Retry-After`` is **ignored**; after the last attempt the job moves
        to ``jobs:dlq`` without recording that last failure's error.
        """
        _check_attempts(max_attempts)
        waits = tuple(
            check_duration(backoff_seconds, name="backoff_seconds") * n
            for n in range(1, max_attempts)
        )
        return cls(
            "svc-infra",
            waits,
            note="60 s × attempts, then jobs:dlq",
            stop_on_gone=False,
            honour_retry_after=False,
        )

    @classmethod
    def guide(cls) -> RetryPolicy:
        """The guide's ``retry_delays=[5, 30, 300, 3600, 86400]`` (svc-infra has no such setting).

        The guide says nothing about 410 or ``Retry-After``; this preset uses
        svc_nb's generic sender rules: a 410 stops the retries, ``Retry-After``
        stretches the next wait.
        """
        return cls("guide", (5, 30, 300, 3600, 86400), note="the guide's WebhookConfig; not real")

    @classmethod
    def standard_webhooks(cls) -> RetryPolicy:
        """Standard Webhooks' suggested schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.

        Standard Webhooks' rules: a 410 Gone disables the endpoint (no more
        retries), and a ``Retry-After`` on 429/503 is honoured.
        """
        return cls("standard-webhooks", (5, 300, 1800, 7200, 18000, 36000, 36000))

    @classmethod
    def svix(cls) -> RetryPolicy:
        """Svix's documented schedule (the one Standard Webhooks adopted).

        Same rules as :meth:`standard_webhooks`: a 410 stops the retries,
        ``Retry-After`` stretches the next wait.
        """
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
        """``base × factor**n`` capped at ``max_delay``; ``jitter`` is a fraction (0.2 = ±20 %).

        Generic sender rules: a 410 stops the retries, ``Retry-After`` stretches the next wait.
        """
        _check_attempts(attempts)
        if not 0.0 <= check_finite(jitter, name="jitter") <= 1.0:
            raise WebhooksError(f"jitter is a fraction between 0 and 1, got {jitter}")
        base = check_duration(base, name="base")
        factor = check_duration(factor, name="factor")
        max_delay = check_duration(max_delay, name="max_delay")
        nominal_list: list[float] = []
        wait = base
        for _ in range(attempts - 1):
            nominal_list.append(min(wait, max_delay))
            wait = min(wait * factor, max_delay)  # capped as it grows: factor**n never overflows
        nominal = tuple(nominal_list)
        waits = nominal
        if jitter:
            rng = random.Random(seed)
            waits = tuple(w * rng.uniform(1 - jitter, 1 + jitter) for w in nominal)
        name = f"exponential({base:g}×{factor:g}^n" + (f", ±{jitter:.0%}" if jitter else "") + ")"
        return cls(name, waits, nominal=nominal, jitter=jitter)

    @classmethod
    def custom(
        cls,
        delays: Iterable[float],
        *,
        name: str = "custom",
        stop_on_gone: bool = True,
        honour_retry_after: bool = True,
    ) -> RetryPolicy:
        """Your own waits before attempt 2, 3, ...; by default a 410 stops and ``Retry-After`` is honoured."""
        return cls(
            name, tuple(delays), stop_on_gone=stop_on_gone, honour_retry_after=honour_retry_after
        )

    @classmethod
    def of(cls, policy: RetryPolicy | Sequence[float] | str | None) -> RetryPolicy:
        """A policy from a policy, a preset name, a list of waits, or None (svc-infra's)."""
        return as_policy(policy)

    @classmethod
    def presets(cls) -> dict[str, RetryPolicy]:
        """Every named preset, by name."""
        return {
            p.name: p for p in (cls.svc_infra(), cls.guide(), cls.standard_webhooks(), cls.svix())
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
                "at": [format_duration(o) if o else "immediately" for o in offsets],
            }
        )

    def __str__(self) -> str:
        waits = ", ".join(format_duration(w) for w in self.waits) or "none"
        return (
            f"RetryPolicy {self.name}: {self.attempts} attempts; waits {waits}; "
            f"gives up {format_duration(self.give_up_after())} after the first attempt; {self.rules}"
        )

    @property
    def rules(self) -> str:
        """How this policy treats 410 Gone and Retry-After, in words."""
        gone = "410 stops retries" if self.stop_on_gone else "410 retried like any failure"
        after = "Retry-After honoured" if self.honour_retry_after else "Retry-After ignored"
        return f"{gone}, {after}"

    def __repr__(self) -> str:
        return f"RetryPolicy(name={self.name!r}, waits={list(self.waits)})"

    def _repr_html_(self) -> str:
        import html

        cells = "".join(f"<td>{html.escape(format_duration(w))}</td>" for w in self.waits)
        return (
            f"<div><b>RetryPolicy {html.escape(self.name)}</b>: {self.attempts} attempts, "
            f"gives up after <b>{html.escape(format_duration(self.give_up_after()))}</b>; "
            f"{html.escape(self.rules)}"
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
    if isinstance(policy, Sequence) and not isinstance(policy, str):
        return RetryPolicy.custom(policy)
    raise WebhooksError(
        f"policy must be a RetryPolicy, a preset name or a list of waits, got {type(policy).__name__}"
    )


def _check_attempts(attempts: object) -> None:
    if (
        isinstance(attempts, bool)
        or not isinstance(attempts, int)
        or not 1 <= attempts <= _MAX_ATTEMPTS
    ):
        raise WebhooksError(
            f"attempts must be a whole number from 1 to {_MAX_ATTEMPTS}, got {attempts!r:.40}"
        )
