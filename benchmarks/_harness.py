"""Timing helpers: medians of repetitions, peak memory of a child process, and the result rows."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One benchmark figure: a ratio, its target, and whether it is met."""

    number: str
    what: str
    compared_with: str
    ratio: float
    target: str
    met: bool | None
    unit: str = "×"
    scaling: list[tuple[str, float, float]] = field(
        default_factory=list
    )  # (size, ours_s, baseline_s)
    note: str = ""
    memory: list[tuple[str, float, str]] = field(default_factory=list)  # (run, peak MB, what)

    def __post_init__(self) -> None:
        self.number = str(self.number)

    def cells(self) -> list[str]:
        met = "n/a" if self.met is None else ("yes" if self.met else "NO")
        figure = (
            f"{self.ratio:.2f}{self.unit}" if self.unit == "×" else f"{self.ratio:.3f} {self.unit}"
        )
        return [self.number, self.what, self.compared_with, figure, self.target, met]


def item_order(number: str) -> tuple[int, str]:
    """'10b' sorts after '10' and before '11'."""
    match = re.fullmatch(r"(\d+)(.*)", number)
    return (int(match.group(1)), match.group(2)) if match else (10**6, number)


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


def child(code: str, timeout: float = 900) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line.

    The child adds ``peak_mb`` (its own high-water resident memory) and ``base_mb``
    (resident memory when ``mark()`` was called, after its imports): the peak
    of what the measured work itself needed is ``peak_mb - base_mb``.
    """
    prelude = (
        "import json, resource, sys\n"
        "def _rss_mb():\n"
        "    with open('/proc/self/statm') as fh:\n"
        "        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20\n"
        "_mark = {'base_mb': 0.0}\n"
        "def mark():\n"
        "    _mark['base_mb'] = _rss_mb()\n"
        "def done(**figures):\n"
        "    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent at fork.\n"
        "    with open('/proc/self/status') as fh:\n"
        "        hwm = next(line for line in fh if line.startswith('VmHWM:'))\n"
        "    peak = int(hwm.split()[1]) / 1024\n"
        "    print(json.dumps({**figures, **_mark, 'peak_mb': peak}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def headline_table(rows: list[Row]) -> str:
    """One line per item: what, against what, the figure, the target, met or not."""
    head = ["#", "what", "compared with", "figure", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


README_START = "<!-- benchmarks:start (written by python -m benchmarks) -->"
README_END = "<!-- benchmarks:end -->"


def readme_with_table(readme: str, rows: list[Row]) -> str:
    """The README with its benchmark block replaced by the headline table of ``rows``."""
    start, end = readme.index(README_START), readme.index(README_END)
    block = f"{README_START}\n{headline_table(rows)}\n{README_END}"
    return readme[:start] + block + readme[end + len(README_END) :]


def write_readme_table(rows: list[Row], path: Path) -> None:
    if path.is_symlink():  # never write through a link into somebody else's file
        raise OSError(f"{path} is a symbolic link; not writing the benchmark table through it")
    path.write_text(readme_with_table(path.read_text(encoding="utf-8"), rows), encoding="utf-8")


def markdown_table(rows: list[Row]) -> str:
    lines = [headline_table(rows)]
    scaling = [r for r in rows if r.scaling]
    if scaling:
        lines += ["", "Scaling (median seconds; ours / baseline at each size):", ""]
        lines += ["| # | size | ours s | baseline s | ratio |", "|---|---|---|---|---|"]
        for r in scaling:
            for size, ours, base in r.scaling:
                ratio = (ours / base) if base else float("nan")
                lines.append(f"| {r.number} | {size} | {ours:.4f} | {base:.4f} | {ratio:.2f} |")
    memory = [r for r in rows if r.memory]
    if memory:
        lines += ["", "Peak memory (resident, MB, measured in a fresh process per run):", ""]
        lines += ["| # | run | MB | what |", "|---|---|---|---|"]
        for r in memory:
            for run, mb, what in r.memory:
                lines.append(f"| {r.number} | {run} | {mb:.0f} | {what} |")
    notes = [r for r in rows if r.note]
    if notes:
        lines += [""] + [f"- #{r.number}: {r.note}" for r in notes]
    return "\n".join(lines)


def save_rows(rows: list[Row], path: Path) -> None:
    path.write_text(json.dumps([dataclasses.asdict(r) for r in rows], indent=1) + "\n")


def load_rows(path: Path) -> list[Row]:
    """Rows of an earlier run (for --only: the items not re-run keep their figures)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    rows = []
    for item in data:
        item["scaling"] = [tuple(s) for s in item.get("scaling", [])]
        item["memory"] = [tuple(m) for m in item.get("memory", [])]
        rows.append(Row(**item))
    return rows
