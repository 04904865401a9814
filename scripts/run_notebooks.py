"""Execute every bundled notebook in a real kernel; save executed .ipynb and HTML.

Used by the main job (scripts/main.sh). The notebooks run through the kernel
client of ``svc-nb run`` (svc_nb.runbook), so the executed notebooks carry the
widget state as it was when the last cell finished, password fields empty and
registered secrets masked, and the HTML embeds that state
(``application/vnd.jupyter.widget-state+json``) beside a static picture of
every widget. Rendering the embedded widgets live loads
@jupyter-widgets/html-manager from unpkg.com; offline, the pictures stay.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import nbformat

from svc_nb.runbook._execute import execute as execute_notebook
from svc_nb.runbook._html import WIDGET_STATE, WIDGET_VIEW, notebook_page

__all__ = ["WIDGET_STATE", "WIDGET_VIEW", "execute", "main", "widget_state_problems"]

ROOT = Path(__file__).resolve().parent.parent
_EMBEDDED_STATE = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S
)


def widget_state_problems(nb: Any, html: str) -> list[str]:
    """What is missing for the HTML to show the notebook's widgets without a kernel."""
    shown = {
        output["data"][WIDGET_VIEW]["model_id"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    }
    if not shown:
        return []
    match = _EMBEDDED_STATE.search(html)
    if not match:
        return [f"{len(shown)} widget view(s) but no embedded widget state"]
    state = json.loads(match.group(1)).get("state", {})
    missing = sorted(shown - set(state))
    return [f"widget model {m} is displayed but not in the embedded state" for m in missing]


def execute(path: Path, out_dir: Path, timeout: int) -> tuple[bool, float, str]:
    """Run ``path``; write the executed notebook and its HTML into ``out_dir``."""
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "MPLBACKEND": "agg"}
    started = time.perf_counter()
    # Kernel chatter (e.g. ipykernel's TCP warning) goes to a log, not between the progress lines.
    with (out_dir / "kernels.log").open("ab") as kernel_log:
        outcome = execute_notebook(
            nb, cwd=str(out_dir), env=env, timeout=timeout, kernel_stderr=kernel_log
        )
    elapsed = time.perf_counter() - started
    nbformat.write(nb, out_dir / path.name)
    html = notebook_page(nb)
    (out_dir / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    messages = [outcome.failure.error] if outcome.failure else []
    messages += widget_state_problems(nb, html)
    return not messages, elapsed, "; ".join(messages) or "ok"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", default="build/notebooks", help="folder for executed notebooks and HTML"
    )
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    parser.add_argument("names", nargs="*", help="only these notebooks (file names)")
    args = parser.parse_args()
    out_dir = (ROOT / args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.names:
        notebooks = [p for p in notebooks if p.name in args.names]
    failures = 0
    for index, path in enumerate(notebooks, 1):
        print(f"[{index}/{len(notebooks)}] {path.name} …", end=" ", flush=True)
        ok, elapsed, message = execute(path, out_dir, args.timeout)
        failures += not ok
        print(f"{'ok' if ok else 'FAILED'} in {elapsed:.1f} s" + ("" if ok else f": {message}"))
    print(f"executed notebooks and HTML in {out_dir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
