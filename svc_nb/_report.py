"""Status, Finding and Report: the results every check returns, and their views."""

from __future__ import annotations

import enum
import html
import json
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, overload

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._redact import scrub, scrub_data

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DeferredReport", "Finding", "Report", "ReprMixin", "Status"]


class Status(enum.StrEnum):
    """Outcome of one check.

    A ``StrEnum`` compares alphabetically, so ``max()`` of statuses means
    nothing: use :attr:`rank` (``skip < ok < warn < fail``) or ``Report.worst``.
    """

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def symbol(self) -> str:
        return _SYMBOL[self]

    def __str__(self) -> str:
        return self.value


_RANK = {Status.SKIP: 0, Status.OK: 1, Status.WARN: 2, Status.FAIL: 3}
_SYMBOL = {Status.OK: "✔", Status.WARN: "▲", Status.FAIL: "✘", Status.SKIP: "–"}
_COLOUR_HTML = {
    Status.OK: ("#1a7f37", "#e6f4ea"),
    Status.WARN: ("#9a6700", "#fff8c5"),
    Status.FAIL: ("#cf222e", "#ffebe9"),
    Status.SKIP: ("#57606a", "#f6f8fa"),
}
_COLOUR_ANSI = {Status.OK: "32", Status.WARN: "33", Status.FAIL: "31", Status.SKIP: "90"}


def _coerce_status(value: Status | str) -> Status:
    if isinstance(value, Status):
        return value
    try:
        return Status(str(value).lower())
    except ValueError:
        raise ArgumentValueError(
            f"status must be one of ok, warn, fail, skip (got {value!r:.40})"
        ) from None


_CAUSE_SHAPE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def _coerce_cause(cause: Any, status: Status) -> str | None:
    if cause is None:
        return None
    if status is Status.OK:
        raise ArgumentValueError(
            f"an ok finding has no cause (got cause={cause!r:.40}); leave cause=None"
        )
    text = cause.value if isinstance(cause, enum.Enum) else cause
    if not isinstance(text, str) or len(text) > 64 or not _CAUSE_SHAPE.fullmatch(text):
        raise ArgumentValueError(
            f"cause must be a short snake_case code such as 'auth_failed', got {cause!r:.40}"
        )
    return str(text)


class ReprMixin:
    """Gives a result both a terminal text view and a notebook HTML view.

    Subclasses implement ``__str__`` and ``_repr_html_``; Jupyter asks for the
    bundle and picks the richest form it can show.
    """

    def _repr_html_(self) -> str:  # pragma: no cover - overridden
        return f"<pre>{html.escape(str(self))}</pre>"

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}


_TEXT_FIELDS = ("summary", "detail", "fix")
_NO_DATA: Mapping[str, Any] = MappingProxyType({})  # immutable: a safe shared default


@dataclass(frozen=True, init=False)
class Finding(ReprMixin):
    """One observation: what was checked, how it went, why, and the concrete fix."""

    check: str
    status: Status
    summary: str
    detail: str = ""
    fix: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    #: A stable snake_case code naming why the check did not pass (``None`` when ok).
    #: One vocabulary across sections: see ``svc_nb.causes`` and docs/causes.md.
    cause: str | None = field(default=None, kw_only=True)

    def __init__(
        self,
        check: str,
        status: Status,
        summary: str,
        detail: str = "",
        fix: str = "",
        data: Mapping[str, Any] = _NO_DATA,
        *,
        cause: str | None = None,
    ) -> None:
        # Written out, not generated: a frozen dataclass's generated __init__ sets each
        # field through object.__setattr__, which cost more than the scrubbing where a
        # finding is built per request (webhooks.verify). Same fields and defaults, and
        # __post_init__ still coerces and scrubs every one of them.
        fields = self.__dict__
        fields["check"] = check
        fields["status"] = status
        fields["summary"] = summary
        fields["detail"] = detail
        fields["fix"] = fix
        fields["data"] = data
        fields["cause"] = cause
        self.__post_init__()

    def __post_init__(self) -> None:
        # Every Finding passes here, hot paths such as webhooks.verify too: plain types are
        # told apart by type() before any isinstance, and fields are written to the
        # instance dict (frozen guards only attribute assignment).
        fields = self.__dict__
        if not isinstance(self.check, str) or not self.check:
            raise ArgumentTypeError("Finding.check must be a non-empty dotted id such as 'db.auth'")
        if type(self.status) is not Status:
            fields["status"] = _coerce_status(self.status)
        if self.cause is not None:
            fields["cause"] = _coerce_cause(self.cause, self.status)
        # Belt and braces: whatever a section wrote, no known secret survives.
        for name in _TEXT_FIELDS:
            value = fields[name]
            if type(value) is not str and not isinstance(value, str):
                fields[name] = value = "" if value is None else str(value)
            if value:  # an empty detail or fix (most ok findings) has nothing to scrub
                fields[name] = scrub(value)
        data = self.data
        if type(data) is not dict and not isinstance(data, Mapping):
            data = dict(data or {})
        # scrub_data builds a new dict from a mapping: the caller's dict is never shared.
        fields["data"] = MappingProxyType(scrub_data(data))

    def __deepcopy__(self, memo: dict[int, Any]) -> Finding:
        # Immutable: pandas deep-copies DataFrame.attrs, and a proxy cannot be copied.
        return self

    @property
    def section(self) -> str:
        return self.check.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status.value,
            "summary": self.summary,
            "detail": self.detail,
            "fix": self.fix,
            "cause": self.cause,
            "data": _jsonable(dict(self.data)),
        }

    def __str__(self) -> str:
        return str(Report([self]))

    def _repr_html_(self) -> str:
        return Report([self])._repr_html_()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    # Anything else is shown as text: scrubbed, since its str() was never seen by the scrubber.
    return scrub(str(value))


def _title_text(value: Any) -> str:
    # Titles are user text shown in every view: scrubbed like a finding's summary.
    return scrub(value if isinstance(value, str) else str(value))


def _use_colour() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(sys.stdout, "isatty") and sys.stdout.isatty()


class Report(ReprMixin):
    """An ordered collection of Findings with text, HTML, DataFrame and JSON views."""

    def __init__(self, findings: Iterable[Finding] = (), *, title: str = "svc_nb report") -> None:
        items = tuple(findings)
        for item in items:
            if not isinstance(item, Finding):
                raise ArgumentTypeError(
                    f"Report holds Finding objects, got {type(item).__name__}; "
                    "build one with svc_nb.Finding(check=..., status=..., summary=...)"
                )
        self._findings = items
        self.title = title

    @property
    def title(self) -> str:
        return self._title

    @title.setter
    def title(self, value: str) -> None:
        self._title = _title_text(value)

    # -- collection behaviour -------------------------------------------------
    @property
    def findings(self) -> tuple[Finding, ...]:
        return self._findings

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._findings)

    def __len__(self) -> int:
        return len(self._findings)

    @overload
    def __getitem__(self, index: int) -> Finding: ...
    @overload
    def __getitem__(self, index: str) -> Finding: ...
    def __getitem__(self, index: int | str) -> Finding:
        if isinstance(index, str):
            found = self.get(index)
            if found is None:
                checks = ", ".join(f.check for f in self._findings) or "none"
                raise KeyError(f"no finding for check {index!r} (checks present: {checks})")
            return found
        return self._findings[index]

    def __add__(self, other: Report | Iterable[Finding]) -> Report:
        return Report([*self._findings, *other], title=self.title)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Report) and self._findings == other._findings

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict[int, Any]) -> Report:
        # Reports are immutable too; pandas deep-copies DataFrame.attrs holding one.
        return self

    def get(self, check: str) -> Finding | None:
        """The first finding of a check id, or None."""
        for finding in self._findings:
            if finding.check == check:
                return finding
        return None

    def select(self, prefix: str) -> Report:
        """The findings whose check id is ``prefix`` or starts with ``prefix.``."""
        return Report(
            (f for f in self._findings if f.check == prefix or f.check.startswith(prefix + ".")),
            title=self.title,
        )

    @property
    def checks(self) -> list[str]:
        return [f.check for f in self._findings]

    @property
    def worst(self) -> Status:
        """The most severe status present (``skip`` for an empty report)."""
        return max((f.status for f in self._findings), key=lambda s: s.rank, default=Status.SKIP)

    @property
    def ok(self) -> bool:
        """True when no finding failed."""
        return all(f.status is not Status.FAIL for f in self._findings)

    def counts(self) -> dict[str, int]:
        result = {s.value: 0 for s in Status}
        for finding in self._findings:
            result[finding.status.value] += 1
        return result

    # -- views ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "ok": self.ok,
            "worst": self.worst.value,
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self._findings],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: check, status, summary, detail, fix, cause, data."""
        import pandas as pd

        rows = [
            {
                "check": f.check,
                "status": f.status.value,
                "summary": f.summary,
                "detail": f.detail,
                "fix": f.fix,
                "cause": f.cause,
                "data": dict(f.data),
            }
            for f in self._findings
        ]
        columns = ["check", "status", "summary", "detail", "fix", "cause", "data"]
        return pd.DataFrame(rows, columns=columns)

    def render_text(self, *, colour: bool | None = None, width: int | None = None) -> str:
        """The terminal table: status word, check id, summary, then indented detail and fix."""
        colour = _use_colour() if colour is None else colour
        width = width or min(shutil.get_terminal_size((100, 24)).columns, 120)
        counts = self.counts()
        head = (
            f"{self.title}: {self.worst.value.upper()} — "
            f"{counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail, {counts['skip']} skip"
        )
        lines = [head, "─" * min(len(head), width)]
        check_width = max((len(f.check) for f in self._findings), default=5)
        check_width = min(check_width, 32)
        indent = " " * (6 + check_width + 2)
        for f in self._findings:
            word = f.status.value.upper().ljust(4)
            if colour:
                word = f"\x1b[{_COLOUR_ANSI[f.status]}m{word}\x1b[0m"
            first = f"{word}  {f.check.ljust(check_width)}  {f.summary}"
            lines.append(first)
            body_width = max(width - len(indent), 40)
            for label, text in (("why", f.detail), ("fix", f.fix)):
                if not text:
                    continue
                for i, para in enumerate(text.splitlines() or [""]):
                    wrapped = textwrap.wrap(para, body_width) or [""]
                    for j, chunk in enumerate(wrapped):
                        prefix = f"{label}: " if i == 0 and j == 0 else "     "
                        lines.append(f"{indent}{prefix}{chunk}")
        if not self._findings:
            lines.append("(no findings)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render_text(colour=False)

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"<Report {self.title!r}: {len(self)} findings, worst={self.worst.value}, "
            f"ok={c['ok']} warn={c['warn']} fail={c['fail']} skip={c['skip']}>"
        )

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = []
        for f in self._findings:
            fg, bg = _COLOUR_HTML[f.status]
            fix = (
                f'<div class="svcnb-fix"><b>Fix:</b> <code style="white-space:pre-wrap">{esc(f.fix)}</code></div>'
                if f.fix
                else ""
            )
            detail = (
                f'<div class="svcnb-detail" style="color:#57606a;white-space:pre-wrap">{esc(f.detail)}</div>'
                if f.detail
                else ""
            )
            rows.append(
                f'<tr style="background:{bg}" data-status="{f.status.value}">'
                f'<td style="color:{fg};font-weight:bold;white-space:nowrap;text-align:left;vertical-align:top">{f.status.symbol} {f.status.value.upper()}</td>'
                f'<td style="text-align:left;vertical-align:top"><code>{esc(f.check)}</code></td>'
                f'<td style="text-align:left;vertical-align:top"><div>{esc(f.summary)}</div>{detail}{fix}</td></tr>'
            )
        counts = self.counts()
        fg, _ = _COLOUR_HTML[self.worst]
        return (
            '<div class="svcnb-report">'
            f'<div style="font-weight:bold;margin-bottom:4px">{esc(self.title)}: '
            f'<span style="color:{fg}">{self.worst.value.upper()}</span> '
            f'<span style="font-weight:normal">({counts["ok"]} ok, {counts["warn"]} warn, '
            f"{counts['fail']} fail, {counts['skip']} skip)</span></div>"
            '<table style="border-collapse:collapse;text-align:left">'
            '<thead><tr><th style="text-align:left">Status</th><th style="text-align:left">Check</th>'
            '<th style="text-align:left">Finding</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )


class DeferredReport(Report):
    """A Report whose findings are built on first use, its verdict known before.

    For hot paths that are usually asked one question: a receiver calls
    ``webhooks.verify(...).ok`` per request, and wording, scrubbing and storing
    the findings would cost more than the check itself. Everything else (text,
    HTML, iteration, ``to_dict``) builds them, once, through the usual
    :class:`Finding` constructor: masking stays where it is.
    """

    def __init__(
        self, build: Callable[[], Iterable[Finding]], *, worst: Status, title: str
    ) -> None:
        self.title = title
        self._worst = worst
        self._build: Callable[[], Iterable[Finding]] | None = build

    @property
    def _findings(self) -> tuple[Finding, ...]:
        # Read once: another thread may finish the build in between (building twice is harmless).
        build = self._build
        if build is not None:
            self._built = tuple(build())
            self._build = None
        return self._built

    @_findings.setter
    def _findings(self, value: tuple[Finding, ...]) -> None:
        self._built = tuple(value)
        self._build = None

    # Scrubbed when read, as the findings are scrubbed when built: a secret registered
    # in between is masked in both. A subclass may keep a fixed title in a class
    # attribute (no setter call per report); it is scrubbed here all the same.
    @property
    def title(self) -> str:
        return scrub(self._title)

    @title.setter
    def title(self, value: str) -> None:
        self._title = _title_text(value)

    def __getstate__(self) -> dict[str, Any]:
        # Copied or pickled as built, never with the builder: it holds the raw inputs
        # (a token's key material, for one) that only the built findings show scrubbed.
        built = self._findings
        return {**vars(self), "_built": built, "_build": None}

    @property
    def worst(self) -> Status:
        return self._worst if self._build is not None else super().worst

    @property
    def ok(self) -> bool:
        return self._worst is not Status.FAIL if self._build is not None else super().ok
