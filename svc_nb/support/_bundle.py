"""The bug report itself: sections rendered as markdown (for an issue) and HTML (for the notebook)."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from svc_nb._redact import scrub, scrub_data
from svc_nb._report import ReprMixin

__all__ = ["ISSUES_URL", "BugReport", "Section"]

ISSUES_URL = "https://github.com/nfraxlab/svc-infra/issues"


@dataclass(frozen=True)
class Section:
    """One part of the report: a paragraph, a two-column table and/or a code block.

    Every piece is scrubbed here, before any escaping: name-based masking
    (``"client_secret": "…"``, ``password=…``) must see the text as written.
    """

    title: str
    rows: Sequence[tuple[str, str]] = ()
    code: str | None = None
    text: str = ""
    table_head: tuple[str, str] = ("", "")

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", scrub(self.title))
        object.__setattr__(self, "text", scrub(self.text))
        object.__setattr__(self, "code", None if self.code is None else scrub(self.code))
        rows = tuple((scrub(str(k)), scrub(str(v))) for k, v in self.rows)
        object.__setattr__(self, "rows", rows)

    def markdown(self) -> list[str]:
        out = [f"## {self.title}", ""]
        if self.text:
            out += [self.text, ""]
        if self.rows:
            out += [f"| {self.table_head[0]} | {self.table_head[1]} |", "|---|---|"]
            out += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in self.rows]
            out.append("")
        if self.code is not None:
            fence = "````" if "```" in self.code else "```"
            out += [fence, self.code, fence, ""]
        return out

    def html(self) -> str:
        esc = html.escape
        parts = [f"<h4>{esc(self.title)}</h4>"]
        if self.text:
            parts.append(f"<p>{esc(self.text)}</p>")
        if self.rows:
            head = ""
            if any(self.table_head):
                first, second = (esc(h) for h in self.table_head)
                head = f"<thead><tr><th>{first}</th><th>{second}</th></tr></thead>"
            body = "".join(
                f"<tr><td><code>{esc(k)}</code></td><td>{esc(v)}</td></tr>" for k, v in self.rows
            )
            parts.append(
                '<table style="border-collapse:collapse;text-align:left">'
                f"{head}<tbody>{body}</tbody></table>"
            )
        if self.code is not None:
            parts.append(f'<pre style="white-space:pre-wrap">{esc(self.code)}</pre>')
        return "".join(parts)


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


@dataclass(frozen=True)
class BugReport(ReprMixin):
    """A redacted bug report: ``str()`` is markdown for an issue, the notebook shows HTML."""

    title: str
    sections: tuple[Section, ...] = field(default_factory=tuple)
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", scrub(self.title))
        object.__setattr__(self, "data", scrub_data(dict(self.data)))

    @property
    def markdown(self) -> str:
        """The report as GitHub-flavoured markdown (paste it into an issue)."""
        out = [f"# {self.title}", ""]
        for section in self.sections:
            out += section.markdown()
        # Once more over the whole: a secret registered after a section was built.
        return scrub("\n".join(out).rstrip() + "\n")

    def _repr_html_(self) -> str:
        parts = [f'<div class="svcnb-bugreport"><h3>{html.escape(self.title)}</h3>']
        parts += [section.html() for section in self.sections]
        parts.append(
            "<p>Copy the markdown with <code>print(report)</code> (or <code>report.save(path)</code>) "
            f'and open an issue at <a href="{ISSUES_URL}" target="_blank">{ISSUES_URL}</a>.</p></div>'
        )
        return scrub("".join(parts))

    def __str__(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return f"<BugReport {self.title!r}: {len(self.sections)} sections; print() it for markdown>"

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the markdown to ``path`` and return the path."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.markdown)
        return os.fspath(path)
