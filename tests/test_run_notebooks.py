"""scripts/run_notebooks.py: executed notebooks and HTML that show the widgets' final state."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest

pytestmark = [pytest.mark.notebook]

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_notebooks.py"


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_notebooks", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _embedded_state(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', html, re.S)
    assert match, "the HTML embeds no widget state"
    state: dict[str, Any] = json.loads(match.group(1))["state"]
    return state


def test_html_embeds_the_widget_state_after_background_updates(tmp_path: Path) -> None:
    # Like the dashboard: the widget changes from a thread after its cell returned,
    # a later cell waits for it. nbclient alone would save the first value.
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import threading, time, ipywidgets as w\n"
            "label = w.HTML('started')\n"
            "def later():\n    time.sleep(0.3)\n    label.value = '<b>finished in the background</b>'\n"
            "worker = threading.Thread(target=later)\nworker.start()\nlabel"
        ),
        nbformat.v4.new_code_cell("worker.join()\nprint(label.value)"),
        nbformat.v4.new_code_cell("w.IntSlider(value=7, description='seven')"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "widgets.ipynb"
    nbformat.write(nb, source)
    out = tmp_path / "out"
    out.mkdir()

    runner = _runner()
    ok, _elapsed, message = runner.execute(source, out, 60)

    assert ok, message
    html = (out / "widgets.html").read_text()
    state = _embedded_state(html)
    values = {m["model_name"]: m["state"].get("value") for m in state.values()}
    assert values["HTMLModel"] == "<b>finished in the background</b>"
    assert values["IntSliderModel"] == 7
    executed = nbformat.read(out / "widgets.ipynb", as_version=4)
    assert executed.metadata["widgets"][runner.WIDGET_STATE]["state"] == state
    assert runner.widget_state_problems(executed, html) == []
    # Every displayed widget is in the state, so the HTML can render it without a kernel.
    views = [o["data"][runner.WIDGET_VIEW]["model_id"] for c in executed.cells for o in c.get("outputs", [])
             if runner.WIDGET_VIEW in o.get("data", {})]
    assert len(views) == 2 and set(views) <= set(state)


def test_a_failing_cell_is_reported_and_the_notebook_still_saved(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('boom here')"),
                nbformat.v4.new_code_cell("y = 2")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "fails.ipynb"
    nbformat.write(nb, source)

    ok, _, message = _runner().execute(source, tmp_path, 60)

    assert not ok and "boom here" in message
    executed = nbformat.read(tmp_path / "fails.ipynb", as_version=4)
    assert executed.cells[0].execution_count == 1
    assert executed.cells[1].outputs[0]["ename"] == "ValueError"
    assert executed.cells[2].execution_count is None
    assert (tmp_path / "fails.html").exists()


def test_widget_state_problems_names_a_missing_model() -> None:
    runner = _runner()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("w")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={runner.WIDGET_VIEW: {"model_id": "abc123", "version_major": 2, "version_minor": 0},
                              "text/plain": "HTML()"})]
    nb.cells = [cell]
    assert runner.widget_state_problems(nb, "<html></html>") == ["1 widget view(s) but no embedded widget state"]
    html = '<script type="application/vnd.jupyter.widget-state+json">{"state": {"other": {}}}</script>'
    assert runner.widget_state_problems(nb, html) == [
        "widget model abc123 is displayed but not in the embedded state"]
