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

_PASSWORD = "pw-typed-into-a-widget-" + "p" * 12
_REGISTERED = "registered-secret-" + "r" * 20
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_notebooks.py"


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_notebooks", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _embedded_state(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', html, re.S
    )
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
        # Secrets: a password field's value, and a registered secret shown in an HTML widget
        # (built from hex so that the cell source, which is rightly in the files, lacks them).
        nbformat.v4.new_code_cell(
            "from svc_nb._redact import register_secret\n"
            f"typed = bytes.fromhex({_PASSWORD.encode().hex()!r}).decode()\n"
            f"key = bytes.fromhex({_REGISTERED.encode().hex()!r}).decode()\n"
            "register_secret(key)\n"
            "w.VBox([w.Password(value=typed), w.HTML('key is ' + key)])"
        ),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    source = tmp_path / "widgets.ipynb"
    nbformat.write(nb, source)
    out = tmp_path / "out"
    out.mkdir()

    runner = _runner()
    ok, _elapsed, message = runner.execute(source, out, 60)

    assert ok, message
    html = (out / "widgets.html").read_text()
    state = _embedded_state(html)
    values: dict[str, list[Any]] = {}
    for model in state.values():
        values.setdefault(model["model_name"], []).append(model["state"].get("value"))
    assert "<b>finished in the background</b>" in values["HTMLModel"]
    assert values["IntSliderModel"] == [7]
    executed = nbformat.read(out / "widgets.ipynb", as_version=4)
    assert executed.metadata["widgets"][runner.WIDGET_STATE]["state"] == state
    assert runner.widget_state_problems(executed, html) == []
    # Every displayed widget is in the state, so the HTML can render it without a kernel.
    views = [
        o["data"][runner.WIDGET_VIEW]["model_id"]
        for c in executed.cells
        for o in c.get("outputs", [])
        if runner.WIDGET_VIEW in o.get("data", {})
    ]
    assert len(views) == 3 and set(views) <= set(state)
    # No secret reaches the files: password fields are saved empty, registered secrets masked.
    assert values["PasswordModel"] in ([""], [None])
    for written in (html, (out / "widgets.ipynb").read_text()):
        assert _PASSWORD not in written and _REGISTERED not in written
    assert any(str(v).startswith("key is ") for v in values["HTMLModel"])
    # Offline readers get a static picture of each widget beside its (CDN-rendered) view.
    snapshots = re.findall(r'<div class="svcnb-widget-snapshot">(.*?)</div>\n', html, re.S)
    assert len(snapshots) == 3, snapshots
    assert "<b>finished in the background</b>" in snapshots[0]
    assert "seven" in snapshots[1] and "<b>7</b>" in snapshots[1]


def test_a_failing_cell_is_reported_and_the_notebook_still_saved(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('boom here')"),
        nbformat.v4.new_code_cell("y = 2"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    source = tmp_path / "fails.ipynb"
    nbformat.write(nb, source)

    ok, _, message = _runner().execute(source, tmp_path, 60)

    assert not ok and "boom here" in message
    executed = nbformat.read(tmp_path / "fails.ipynb", as_version=4)
    assert executed.cells[0].execution_count == 1
    assert executed.cells[1].outputs[0]["ename"] == "ValueError"
    assert executed.cells[2].execution_count is None
    assert (tmp_path / "fails.html").exists()


def test_static_widget_html_draws_boxes_text_choices_and_images() -> None:
    from svc_nb.runbook._html import widget_html

    states = {
        "box": {
            "model_name": "VBoxModel",
            "state": {"children": ["IPY_MODEL_row", "IPY_MODEL_img"]},
        },
        "row": {
            "model_name": "HBoxModel",
            "state": {"children": ["IPY_MODEL_txt", "IPY_MODEL_pick", "IPY_MODEL_btn"]},
        },
        "txt": {
            "model_name": "TextareaModel",
            "state": {"value": "a <b> c", "description": "Body"},
        },
        "pick": {
            "model_name": "DropdownModel",
            "state": {"_options_labels": ["auto", "stripe"], "index": 1},
        },
        "btn": {"model_name": "ButtonModel", "state": {"description": "Re-run"}},
        "img": {
            "model_name": "ImageModel",
            "state": {"format": "png"},
            "buffers": [{"path": ["value"], "encoding": "base64", "data": "iVBORw0KGgo="}],
        },
    }
    out = widget_html(states, "box")
    assert "flex-direction:column" in out and "flex-direction:row" in out
    assert "<pre>a &lt;b&gt; c</pre>" in out and ">Body<" in out
    assert "<b>stripe</b>" in out and "<button disabled>Re-run</button>" in out
    assert '<img alt="" src="data:image/png;base64,iVBORw0KGgo="/>' in out
    assert widget_html(states, "missing") == ""


def test_widget_state_problems_names_a_missing_model() -> None:
    runner = _runner()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("w")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                runner.WIDGET_VIEW: {"model_id": "abc123", "version_major": 2, "version_minor": 0},
                "text/plain": "HTML()",
            },
        )
    ]
    nb.cells = [cell]
    assert runner.widget_state_problems(nb, "<html></html>") == [
        "1 widget view(s) but no embedded widget state"
    ]
    html = (
        '<script type="application/vnd.jupyter.widget-state+json">{"state": {"other": {}}}</script>'
    )
    assert runner.widget_state_problems(nb, html) == [
        "widget model abc123 is displayed but not in the embedded state"
    ]
