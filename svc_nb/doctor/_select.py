"""Which checks the doctor runs, and which it lists as silenced.

A pattern is a section (``db``) or a check id (``db.auth``); it covers that id
and every id below it (``db.auth`` covers ``db.auth.scram``). ``--only`` keeps
what any of its patterns covers, ``--skip`` drops what any of its covers, and
a silenced check still runs and is listed, marked silenced, but never fails
the run.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from svc_nb._exceptions import ArgumentValueError

__all__ = [
    "Selection",
    "Silence",
    "UnknownSectionError",
    "check_pattern",
    "covers",
    "import_sections",
    "known_sections",
]

_PATTERN = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")


class UnknownSectionError(ArgumentValueError):
    """A pattern that names no section the doctor checks; the message lists them."""


@dataclass(frozen=True)
class Silence:
    """A silenced pattern, and why (from ``[tool.svc-nb] silence``)."""

    pattern: str
    reason: str = ""


def covers(pattern: str, check: str) -> bool:
    """True when ``pattern`` is ``check`` or one of its parents (``db`` covers ``db.auth``)."""
    return check == pattern or check.startswith(pattern + ".")


def _sections_modules() -> tuple[str, ...]:
    from svc_nb._diagnose import SECTIONS

    return SECTIONS


def known_sections() -> list[str]:
    """Every section a finding's check id can start with (imports every section)."""
    from svc_nb._diagnose import registered_checks

    names = {name.split(".")[0] for name in registered_checks()}
    return sorted(names | set(_sections_modules()))


def check_pattern(text: str, *, where: str = "") -> str:
    """``text`` as a pattern: a section or check id such as ``db`` or ``db.auth``."""
    pattern = text.strip() if isinstance(text, str) else ""
    if not _PATTERN.fullmatch(pattern):
        place = f"{where}: " if where else ""
        raise ArgumentValueError(
            f"{place}{text!r:.60} is not a section or check id: give one such as db or db.auth"
        )
    if pattern.split(".")[0] not in _sections_modules():
        sections = known_sections()
        if pattern.split(".")[0] not in sections:
            place = f"{where}: " if where else ""
            raise UnknownSectionError(
                f"{place}no section {pattern.split('.')[0]!r:.60}: sections are {', '.join(sections)}"
            )
    return pattern


@dataclass(frozen=True)
class Selection:
    """``--only``, ``--skip`` and the silenced patterns, validated."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    silence: tuple[Silence, ...] = field(default_factory=tuple)

    @classmethod
    def build(
        cls, only: Iterable[str] = (), skip: Iterable[str] = (), silence: Iterable[Silence] = ()
    ) -> Selection:
        return cls(
            tuple(check_pattern(p, where="--only") for p in only),
            tuple(check_pattern(p, where="--skip") for p in skip),
            tuple(silence),
        )

    def wants(self, check: str) -> bool:
        """Whether a finding of ``check`` belongs in the report."""
        if self.only and not any(covers(p, check) for p in self.only):
            return False
        return not any(covers(p, check) for p in self.skip)

    def silenced(self, check: str) -> Silence | None:
        return next((s for s in self.silence if covers(s.pattern, check)), None)

    def runs(self, builder: str) -> bool:
        """Whether the check builder named ``builder`` (``db``, ``webhooks.queue``) must run."""
        if any(covers(p, builder) for p in self.skip):
            return False
        return not self.only or any(covers(p, builder) or covers(builder, p) for p in self.only)

    def modules(self) -> list[str]:
        """The section modules to import: only those ``--only`` names, when it names known ones."""
        sections = _sections_modules()
        wanted = {p.split(".")[0] for p in self.only}
        if not wanted or not wanted <= set(sections):
            return list(sections)
        return [s for s in sections if s in wanted]

    def to_dict(self) -> dict[str, list[str] | list[dict[str, str]]]:
        return {
            "only": list(self.only),
            "skip": list(self.skip),
            "silence": [{"pattern": s.pattern, "reason": s.reason} for s in self.silence],
        }


def import_sections(names: Iterable[str]) -> None:
    for name in names:
        importlib.import_module(f"svc_nb.{name}")
