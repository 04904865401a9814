"""The doctor's terminal table and notebook HTML: findings, then where to read and dig in."""

from __future__ import annotations

import html
import os
import shutil
import sys
import textwrap
from typing import TYPE_CHECKING

from svc_nb._report import Status

if TYPE_CHECKING:
    from svc_nb.doctor._result import DoctorResult, Entry

__all__ = ["render_html", "render_text", "use_colour"]

_ANSI = {Status.OK: "32", Status.WARN: "33", Status.FAIL: "31", Status.SKIP: "90"}
_SILENCED_ANSI = "90"
_HTML_COLOURS = {
    Status.OK: ("#1a7f37", "#e6f4ea"),
    Status.WARN: ("#9a6700", "#fff8c5"),
    Status.FAIL: ("#cf222e", "#ffebe9"),
    Status.SKIP: ("#57606a", "#f6f8fa"),
}
_MAX_CHECK_WIDTH = 32


def use_colour(stream: object = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR, always with FORCE_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    target = stream or sys.stdout
    isatty = getattr(target, "isatty", None)
    return bool(isatty and isatty())


def headline(result: DoctorResult) -> str:
    counts = result.counts()
    verdict = "OK" if result.ok else "FAIL"
    level = " (warnings fail)" if result.fail_on == "warn" else ""
    return (
        f"svc-nb doctor: {verdict}{level} — {counts['ok']} ok, "
        f"{counts['warn']} warn, {counts['fail']} fail, {counts['skip']} skip, "
        f"{counts['silenced']} silenced"
    )


def _body_lines(entry: Entry, indent: str, width: int) -> list[str]:
    f = entry.finding
    parts = [("why", f.detail), ("fix", f.fix)]
    if f.status is not Status.OK:
        ref = entry.notebook
        links = entry.docs + (f"  ·  {ref['command']}" if ref else "")
        parts.append(("see", links))
    if entry.silence is not None:
        parts.append(("silenced", entry.silence.reason or "by [tool.svc-nb] silence"))
    lines = []
    body_width = max(width - len(indent), 40)
    for label, text in parts:
        if not text:
            continue
        for i, para in enumerate(text.splitlines() or [""]):
            for j, chunk in enumerate(textwrap.wrap(para, body_width) or [""]):
                prefix = f"{label}: " if i == 0 and j == 0 else " " * (len(label) + 2)
                lines.append(f"{indent}{prefix}{chunk}")
    return lines


def render_text(
    result: DoctorResult, *, colour: bool | None = None, width: int | None = None
) -> str:
    """The terminal view: one line per finding, its why/fix/see lines indented under it."""
    colour = use_colour() if colour is None else colour
    width = width or min(shutil.get_terminal_size((100, 24)).columns, 120)
    head = headline(result)
    lines = [head, "─" * min(len(head), width)]
    check_width = min(max((len(e.check) for e in result.entries), default=5), _MAX_CHECK_WIDTH)
    word_width = 8 if any(e.silence is not None for e in result.entries) else 4
    indent = " " * (word_width + 2 + check_width + 2)
    for entry in result.entries:
        f = entry.finding
        word = "SILENCED" if entry.silence is not None else f.status.value.upper()
        word = word.ljust(word_width)
        if colour:
            code = _SILENCED_ANSI if entry.silence is not None else _ANSI[f.status]
            word = f"\x1b[{code}m{word}\x1b[0m"
        summary = f.summary if entry.silence is None else f"({f.status.value}) {f.summary}"
        lines.append(f"{word}  {f.check.ljust(check_width)}  {summary}")
        lines.extend(_body_lines(entry, indent, width))
    if not result.entries:
        lines.append("(no findings: --only/--skip left nothing to check)")
    return "\n".join(lines)


def _row_html(entry: Entry) -> str:
    esc = html.escape
    f = entry.finding
    fg, bg = _HTML_COLOURS[f.status]
    muted = entry.silence is not None
    word = f"{f.status.symbol} {f.status.value.upper()}" + (" (silenced)" if muted else "")
    extra = []
    if f.detail:
        extra.append(f'<div style="color:#57606a;white-space:pre-wrap">{esc(f.detail)}</div>')
    if f.fix:
        extra.append(
            f'<div><b>Fix:</b> <code style="white-space:pre-wrap">{esc(f.fix)}</code></div>'
        )
    if f.status is not Status.OK:
        ref = entry.notebook
        cause = f"<code>{esc(f.cause)}</code> · " if f.cause else ""
        notebook = f" · notebook: <code>{esc(ref['command'])}</code>" if ref else ""
        extra.append(
            f'<div class="svcnb-links">{cause}<a href="{esc(entry.docs)}">docs</a>{notebook}</div>'
        )
    style = f"background:{'#f6f8fa' if muted else bg}" + (";opacity:0.7" if muted else "")
    return (
        f'<tr style="{style}" data-check="{esc(f.check)}" data-status="{f.status.value}" '
        f'data-silenced="{str(muted).lower()}">'
        f'<td style="color:{fg};font-weight:bold;white-space:nowrap;text-align:left;'
        f'vertical-align:top">{esc(word)}</td>'
        f'<td style="text-align:left;vertical-align:top"><code>{esc(f.check)}</code></td>'
        f'<td style="text-align:left;vertical-align:top"><div>{esc(f.summary)}</div>'
        f"{''.join(extra)}</td></tr>"
    )


def render_html(result: DoctorResult) -> str:
    """The notebook view: the same table, with docs links and the notebook command."""
    rows = "".join(_row_html(entry) for entry in result.entries)
    verdict_colour = "#1a7f37" if result.ok else "#cf222e"
    return (
        f'<div class="svcnb-doctor" data-ok="{str(result.ok).lower()}">'
        f'<div style="font-weight:bold;margin-bottom:4px;color:{verdict_colour}">'
        f"{html.escape(headline(result))}</div>"
        '<table style="border-collapse:collapse;text-align:left"><thead><tr>'
        '<th style="text-align:left">Status</th><th style="text-align:left">Check</th>'
        f'<th style="text-align:left">Finding</th></tr></thead><tbody>{rows}</tbody></table></div>'
    )
