"""What a probe saw, stage by stage: the record its findings are built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outcome"]


@dataclass
class Outcome:
    """Filled in by the probe's stages; ``stage`` names the one running (or that broke)."""

    stage: str = "connect"
    error: BaseException | None = None
    timed_out: bool = False
    connect_ms: float | None = None
    pings_ms: list[float] = field(default_factory=list)
    whoami: str | None = None
    anonymous_ok: bool | None = None
    info: dict[str, Any] | None = None
    info_error: BaseException | None = None
    maxclients: int | None = None
    write_error: BaseException | None = None
    write_ok: bool = False
    probe_key: str = ""

    @property
    def failed(self) -> bool:
        return self.timed_out or self.error is not None
