"""The doctor's result: findings with their links, silencing, fail level and exit status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from svc_nb._report import Finding, Report, Status
from svc_nb.doctor._links import docs_link, notebook_ref
from svc_nb.doctor._select import Selection, Silence

__all__ = [
    "EXIT_CANNOT_RUN",
    "EXIT_FAIL",
    "EXIT_OK",
    "EXIT_USAGE",
    "SCHEMA_VERSION",
    "DoctorResult",
    "Entry",
]

# Minor versions add fields; a major version changes or removes one.
SCHEMA_VERSION = "1.0"
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CANNOT_RUN = 0, 1, 2, 3
_FAILING = {"fail": (Status.FAIL,), "warn": (Status.FAIL, Status.WARN)}


@dataclass(frozen=True)
class Entry:
    """One finding as the doctor lists it: silenced or not, with its docs and notebook."""

    finding: Finding
    silence: Silence | None = None
    seconds: float | None = None  # how long the check that produced it ran

    @property
    def check(self) -> str:
        return self.finding.check

    @property
    def docs(self) -> str:
        f = self.finding
        return docs_link(f.check, f.cause, ok=f.status is Status.OK)

    @property
    def notebook(self) -> dict[str, str] | None:
        ref = notebook_ref(self.finding.check)
        return ref.to_dict() if ref else None

    def to_dict(self) -> dict[str, Any]:
        plain = self.finding.to_dict()
        return {
            "check": plain["check"],
            "section": self.finding.section,
            "status": plain["status"],
            "silenced": self.silence is not None,
            "silence_reason": self.silence.reason if self.silence else None,
            "cause": plain["cause"],
            "summary": plain["summary"],
            "detail": plain["detail"],
            "fix": plain["fix"],
            "docs": self.docs,
            "notebook": self.notebook,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "data": plain["data"],
        }


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class DoctorResult:
    """Everything one doctor run found, and how it ends (``exit_code``)."""

    entries: list[Entry]
    selection: Selection = field(default_factory=Selection)
    fail_on: str = "fail"
    config: str | None = None
    generated_at: str = field(default_factory=_utc_now)

    @classmethod
    def from_report(
        cls,
        report: Report,
        selection: Selection,
        *,
        fail_on: str = "fail",
        config: str | None = None,
        seconds: Mapping[str, float] | None = None,
    ) -> DoctorResult:
        """Keep what the selection wants, mark what it silences; ``seconds`` by check id."""
        entries = [
            Entry(f, selection.silenced(f.check), (seconds or {}).get(f.check))
            for f in report
            if selection.wants(f.check)
        ]
        return cls(entries, selection, fail_on, config)

    @property
    def report(self) -> Report:
        """The findings that count (silenced ones left out), as a plain Report."""
        return Report([e.finding for e in self.entries if e.silence is None], title="svc-nb doctor")

    @property
    def failing(self) -> list[Entry]:
        """The entries that fail the run at this fail level (never silenced ones)."""
        levels = _FAILING[self.fail_on]
        return [e for e in self.entries if e.silence is None and e.finding.status in levels]

    @property
    def ok(self) -> bool:
        return not self.failing

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FAIL

    @property
    def worst(self) -> Status:
        return self.report.worst

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for entry in self.entries:
            if entry.silence is None:
                counts[entry.finding.status.value] += 1
        counts["silenced"] = sum(1 for e in self.entries if e.silence is not None)
        return counts

    def to_dict(self) -> dict[str, Any]:
        from svc_nb import __version__

        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "svc-nb", "version": __version__},
            "generated_at": self.generated_at,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "fail_on": self.fail_on,
            "worst": self.worst.value,
            "counts": self.counts(),
            "config": self.config,
            "selection": self.selection.to_dict(),
            "findings": [entry.to_dict() for entry in self.entries],
        }

    def __str__(self) -> str:
        from svc_nb.doctor._text import render_text

        return render_text(self, colour=False)

    def _repr_html_(self) -> str:
        from svc_nb.doctor._text import render_html

        return render_html(self)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **_: Any
    ) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}
