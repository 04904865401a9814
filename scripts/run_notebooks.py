"""Execute every bundled notebook in a real kernel; save executed .ipynb and HTML.

Used by the main job (scripts/main.sh). Widget state is stored in the executed
notebooks, so the HTML shows the widgets without a kernel.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path, out_dir: Path, timeout: int) -> tuple[bool, float, str]:
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "MPLBACKEND": "agg"}
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(out_dir)}},
    )
    started = time.perf_counter()
    ok, message = True, "ok"
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        ok = False
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    elapsed = time.perf_counter() - started
    nbformat.write(nb, out_dir / path.name)
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    (out_dir / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return ok, elapsed, message


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="build/notebooks", help="folder for executed notebooks and HTML")
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
