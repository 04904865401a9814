"""``--watch``: re-run the doctor until interrupted, showing what changed since the last run."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from svc_nb.doctor._result import DoctorResult, Entry

__all__ = ["Change", "changes", "render_changes", "watch"]


@dataclass(frozen=True)
class Change:
    """One check whose state moved: ``before``/``after`` are None when it appeared/went."""

    check: str
    before: str | None
    after: str | None
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "before": self.before, "after": self.after}

    def __str__(self) -> str:
        before = self.before or "(new)"
        after = self.after or "(gone)"
        tail = f": {self.summary}" if self.summary and self.after else ""
        return f"{self.check}: {before} → {after}{tail}"


def _state(entry: Entry) -> str:
    f = entry.finding
    text = f.status.value + (f" ({f.cause})" if f.cause else "")
    return text + (" silenced" if entry.silence is not None else "")


def _keyed(result: DoctorResult) -> dict[tuple[str, int], Entry]:
    # A check id may appear more than once (one finding per variable, say): keep them apart.
    seen: dict[str, int] = {}
    keyed = {}
    for entry in result.entries:
        n = seen.get(entry.check, 0)
        seen[entry.check] = n + 1
        keyed[(entry.check, n)] = entry
    return keyed


def changes(previous: DoctorResult, current: DoctorResult) -> list[Change]:
    """What differs between two runs: status, cause or silencing, and checks that came or went."""
    before, after = _keyed(previous), _keyed(current)
    found = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        old_state = _state(old) if old else None
        new_state = _state(new) if new else None
        if old_state != new_state:
            summary = new.finding.summary if new else ""
            found.append(Change(key[0], old_state, new_state, summary))
    return found


def render_changes(result: DoctorResult, found: list[Change]) -> str:
    """A watch line: the time, the verdict, and each change on its own line."""
    from svc_nb.doctor._text import headline

    stamp = dt.datetime.now().strftime("%H:%M:%S")
    word = f"{len(found)} change{'s' if len(found) != 1 else ''}" if found else "no change"
    lines = [f"[{stamp}] {word} — {headline(result)}"]
    lines.extend(f"  {change}" for change in found)
    return "\n".join(lines)


def watch(
    run_once: Callable[[], DoctorResult],
    interval: float,
    emit: Callable[[DoctorResult, list[Change] | None], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run, emit, wait ``interval`` seconds, repeat until Ctrl-C; the last run's exit status.

    ``emit`` gets None as changes on the first run (show everything), then the changes.
    """
    previous: DoctorResult | None = None
    try:
        while True:
            current = run_once()
            emit(current, None if previous is None else changes(previous, current))
            previous = current
            sleep(interval)
    except KeyboardInterrupt:
        pass
    return previous.exit_code if previous is not None else 130
