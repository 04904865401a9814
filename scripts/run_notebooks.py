"""Execute every bundled notebook in a real kernel; save executed .ipynb and HTML.

Used by the main job (scripts/main.sh). The executed notebooks carry the widget
state as it was when the last cell finished, and the HTML embeds it
(``application/vnd.jupyter.widget-state+json``), so the dashboards and
inspectors can be read without a kernel. Rendering the embedded widgets in the
HTML loads @jupyter-widgets/html-manager from unpkg.com; offline, widgets show
their text form and everything else still renders.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbclient.util import ensure_async, run_sync
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# Evaluated in the kernel after the last cell: the state of every live widget.
_LIVE_STATE_EXPR = (
    "__import__('json').dumps(__import__('ipywidgets').Widget.get_manager_state(drop_defaults=True)) "
    "if 'ipywidgets' in __import__('sys').modules else ''"
)


class LiveStateClient(NotebookClient):
    """A NotebookClient that stores the widgets' final state, read from the kernel.

    nbclient records widget state only from comm messages whose parent is the
    cell being executed; widgets updated from background threads (the dashboard
    fills in its lights after its cell returned) would be saved half-way through
    ("running…"). Asking the kernel at the end gets what a user would see.
    """

    async def async_execute(self, reset_kc: bool = False, **kwargs: Any) -> Any:
        if reset_kc and self.owns_km:
            await self._async_cleanup_kernel()
        self.reset_execution_trackers()
        failure: CellExecutionError | None = None
        async with self.async_setup_kernel(**kwargs):
            assert self.kc is not None
            msg_id = await ensure_async(self.kc.kernel_info())
            info = await self.async_wait_for_reply(msg_id)
            if info is not None and "language_info" in info["content"]:
                self.nb.metadata["language_info"] = info["content"]["language_info"]
            try:
                for index, cell in enumerate(self.nb.cells):
                    await self.async_execute_cell(cell, index, execution_count=self.code_cells_executed + 1)
            except CellExecutionError as exc:  # still save what ran, with its widgets
                failure = exc
            self.set_widgets_metadata()
            await self._store_live_widget_state()
        if failure is not None:
            raise failure
        return self.nb

    async def _store_live_widget_state(self) -> None:
        assert self.kc is not None
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"state": _LIVE_STATE_EXPR})
        reply = await self.async_wait_for_reply(msg_id)
        result = (reply or {}).get("content", {}).get("user_expressions", {}).get("state", {})
        if result.get("status") != "ok":
            print(f"  (could not read the live widget state: {result.get('ename')}: {result.get('evalue')})")
            return
        text = ast.literal_eval(result["data"]["text/plain"])
        if text:
            self.nb.metadata["widgets"] = {WIDGET_STATE: json.loads(text)}

    # NotebookClient.execute wraps the base class's async_execute; wrap ours instead.
    execute = run_sync(async_execute)


def widget_state_problems(nb: Any, html: str) -> list[str]:
    """What is missing for the HTML to show the notebook's widgets without a kernel."""
    shown = {
        output["data"][WIDGET_VIEW]["model_id"]
        for cell in nb.cells if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    }
    if not shown:
        return []
    match = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', html, re.S)
    if not match:
        return [f"{len(shown)} widget view(s) but no embedded widget state"]
    state = json.loads(match.group(1)).get("state", {})
    missing = sorted(shown - set(state))
    return [f"widget model {m} is displayed but not in the embedded state" for m in missing]


def execute(path: Path, out_dir: Path, timeout: int) -> tuple[bool, float, str]:
    """Run ``path``; write the executed notebook and its HTML into ``out_dir``."""
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "MPLBACKEND": "agg"}
    client = LiveStateClient(
        nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(out_dir)}},
    )
    started = time.perf_counter()
    ok, message = True, "ok"
    # Kernel chatter (e.g. ipykernel's TCP warning) goes to a log, not between the progress lines.
    with (out_dir / "kernels.log").open("ab") as kernel_log:
        try:
            client.execute(env=env, stderr=kernel_log)
        except CellExecutionError as exc:
            ok = False
            message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    elapsed = time.perf_counter() - started
    nbformat.write(nb, out_dir / path.name)
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    (out_dir / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    problems = widget_state_problems(nb, html)
    if problems:
        ok = False
        message = "; ".join(problems) if message == "ok" else f"{message}; {'; '.join(problems)}"
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
