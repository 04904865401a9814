"""The grid of a comparison: which cells differ, and its DataFrame, text and HTML views.

A row differs when the services' keys for it differ (cells an input does not
carry are left out). Which cells are marked: when one value is held by a
strict majority, the others; otherwise every cell of the row — with two
services neither is "the right one". The text view lists each row's values
with the services holding them, so twenty services stay readable in a terminal.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from svc_nb.env._compare_settings import ROWS, Cell, RowSpec, ServiceSettings

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MARK", "Grid", "build_grid"]

MARK = "≠ "
_UNUSABLE = Cell("(input unusable: see env.compare.input)", None, "unknown")
_CELL_CHARS = 60  # a cell's text in the HTML grid before it is cut (the tooltip has it whole)


class Grid:
    """Rows of cells (one per setting), each row's marks, and the services as columns."""

    def __init__(self, services: Sequence[str], rows: list[tuple[RowSpec, list[Cell], list[bool]]]):
        self.services = list(services)
        self.rows = rows

    def differing_settings(self) -> list[str]:
        return [spec.key for spec, _, marks in self.rows if any(marks)]

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        data = [
            [
                MARK + cell.shown if marked else cell.shown
                for cell, marked in zip(cells, marks, strict=True)
            ]
            for _, cells, marks in self.rows
        ]
        index = pd.Index([spec.label for spec, _, _ in self.rows], name="setting")
        return pd.DataFrame(data, index=index, columns=pd.Index(self.services, name="service"))

    def differs(self) -> pd.DataFrame:
        import pandas as pd

        index = pd.Index([spec.label for spec, _, _ in self.rows], name="setting")
        return pd.DataFrame(
            [marks for _, _, marks in self.rows],
            index=index,
            columns=pd.Index(self.services, name="service"),
        )

    def to_dict(self) -> list[dict[str, Any]]:
        return [
            {
                "setting": spec.key,
                "label": spec.label,
                "differs": any(marks),
                "values": {
                    name: {"shown": cell.shown, "state": cell.state, "marked": marked}
                    for name, cell, marked in zip(self.services, cells, marks, strict=True)
                },
            }
            for spec, cells, marks in self.rows
        ]

    # -- text -------------------------------------------------------------------------

    def render_text(self) -> str:
        width = max(len(spec.label) for spec, _, _ in self.rows) + 2
        lines = []
        for spec, cells, marks in self.rows:
            label = spec.label.ljust(width)
            grouped: dict[Any, tuple[str, list[str], bool]] = {}
            for name, cell, marked in zip(self.services, cells, marks, strict=True):
                group_key = (cell.key, cell.state == "unknown")
                shown, members, _ = grouped.setdefault(group_key, (cell.shown, [], marked))
                members.append(name)
            if len(grouped) == 1:
                ((shown, _, _),) = grouped.values()
                lines.append(f"{label}{shown}  (all)")
                continue
            for position, (shown, members, marked) in enumerate(grouped.values()):
                prefix = label if position == 0 else " " * width
                listed = ", ".join(members[:8]) + (
                    f" (+{len(members) - 8})" if len(members) > 8 else ""
                )
                lines.append(f"{prefix}{MARK if marked else '  '}{shown}  ← {listed}")
        return "\n".join(lines)

    # -- HTML -------------------------------------------------------------------------

    def render_html(self) -> str:
        esc = html.escape
        sticky = "position:sticky;left:0;background:#fff;z-index:1"
        head = "".join(
            f'<th style="text-align:left;padding:2px 8px;white-space:nowrap">{esc(n)}</th>'
            for n in self.services
        )
        body = []
        for spec, cells, marks in self.rows:
            tds = "".join(
                _html_cell(cell, marked) for cell, marked in zip(cells, marks, strict=True)
            )
            label = (
                f'<th title="{esc(spec.meaning)}" style="text-align:left;padding:2px 8px;'
                f'white-space:nowrap;{sticky}">{esc(spec.label)}</th>'
            )
            body.append(f"<tr>{label}{tds}</tr>")
        legend = (
            '<div style="font-size:12px;color:#57606a;margin:4px 0">'
            '<span style="background:#fff1c2;padding:0 4px">≠ highlighted</span> differs from the '
            "others; secrets appear only as fingerprints; <i>grey</i>: the input does not carry it."
            "</div>"
        )
        return (
            '<div style="overflow-x:auto;max-width:100%">'
            '<table style="border-collapse:collapse;font-size:12px">'
            f'<thead><tr><th style="text-align:left;padding:2px 8px;{sticky}">setting</th>{head}'
            f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>{legend}"
        )


def _html_cell(cell: Cell, marked: bool) -> str:
    text = cell.shown if len(cell.shown) <= _CELL_CHARS else cell.shown[: _CELL_CHARS - 1] + "…"
    style = "padding:2px 8px;white-space:nowrap;border-top:1px solid #eaeef2"
    if marked:
        style += ";background:#fff1c2;font-weight:600"
        text = MARK + text
    elif not cell.known:
        style += ";color:#8c959f;font-style:italic"
    return f'<td title="{html.escape(cell.shown)}" style="{style}">{html.escape(text)}</td>'


def _marks(cells: list[Cell]) -> list[bool]:
    counts = Counter(cell.key for cell in cells if cell.known)
    if len(counts) <= 1:
        return [False] * len(cells)
    (top, top_count), (_, second) = counts.most_common(2)
    known = sum(counts.values())
    majority = top_count * 2 > known and top_count > second
    return [cell.known and (not majority or cell.key != top) for cell in cells]


def build_grid(services: Mapping[str, ServiceSettings | None]) -> Grid:
    """The grid: every setting of :data:`ROWS`, one column per service (unusable inputs too)."""
    rows = []
    for spec in ROWS:
        cells = [s.cell(spec.key) if s is not None else _UNUSABLE for s in services.values()]
        rows.append((spec, cells, _marks(cells)))
    return Grid(list(services), rows)
