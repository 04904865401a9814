"""Timing helpers: medians of repetitions, and the result rows the runner prints."""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    """One benchmark figure: a ratio, its target, and whether it is met."""

    number: int
    what: str
    compared_with: str
    ratio: float
    target: str
    met: bool | None
    unit: str = "×"
    scaling: list[tuple[str, float, float]] = field(default_factory=list)  # (size, ours_s, baseline_s)
    note: str = ""

    def cells(self) -> list[str]:
        met = "n/a" if self.met is None else ("yes" if self.met else "NO")
        figure = f"{self.ratio:.2f}{self.unit}" if self.unit == "×" else f"{self.ratio:.3f} {self.unit}"
        return [str(self.number), self.what, self.compared_with, figure, self.target, met]


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def interleaved(
    ours: Callable[[], object], base: Callable[[], object], repeat: int = 5, warmup: bool = True
) -> tuple[float, float]:
    """Medians of ours and baseline, run alternately so machine noise hits both alike."""
    if warmup:
        ours(), base()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for fn, sink in ((ours, a), (base, b)):
            started = time.perf_counter()
            fn()
            sink.append(time.perf_counter() - started)
    return statistics.median(a), statistics.median(b)


def markdown_table(rows: list[Row]) -> str:
    head = ["#", "what", "compared with", "figure", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    scaling = [r for r in rows if r.scaling]
    if scaling:
        lines += ["", "Scaling (median seconds; ours / baseline at each size):", ""]
        lines += ["| # | size | ours s | baseline s | ratio |", "|---|---|---|---|---|"]
        for r in scaling:
            for size, ours, base in r.scaling:
                ratio = (ours / base) if base else float("nan")
                lines.append(f"| {r.number} | {size} | {ours:.4f} | {base:.4f} | {ratio:.2f} |")
    notes = [r for r in rows if r.note]
    if notes:
        lines += [""] + [f"- #{r.number}: {r.note}" for r in notes]
    return "\n".join(lines)


def save_rows(rows: list[Row], path: Path) -> None:
    path.write_text(json.dumps([dataclasses.asdict(r) for r in rows], indent=1))


def load_rows(path: Path) -> list[Row]:
    """Rows of an earlier run (for --only: the items not re-run keep their figures)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    rows = []
    for item in data:
        item["scaling"] = [tuple(s) for s in item.get("scaling", [])]
        rows.append(Row(**item))
    return rows
