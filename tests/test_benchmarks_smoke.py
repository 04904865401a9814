"""``python -m benchmarks --quick`` runs every item: the smoke test CI runs (figures are not judged)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_benchmark_item_runs_in_quick_mode(tmp_path: Path) -> None:
    from benchmarks.__main__ import ITEMS
    from benchmarks._harness import load_rows

    out = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--write", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # Exit 1 means a target was missed, which a smoke run on a busy machine may; a crash
    # leaves no figures behind.
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    rows = load_rows(out.with_suffix(".json"))
    assert [r.number for r in rows] == list(ITEMS), proc.stdout[-3000:]
    for row in rows:
        assert math.isfinite(row.ratio) or "skipped" in row.note, row
    assert out.read_text().startswith("| # | what |")
