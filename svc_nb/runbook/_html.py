"""The HTML incident report of an executed notebook, readable without a kernel.

nbconvert's lab template embeds the widget state
(``application/vnd.jupyter.widget-state+json``); rendering it live needs the
widget manager from a CDN. So every widget also gets a static picture drawn
from its saved state, shown until (and unless) the live renderer replaces it:
offline, the report still shows what the dashboards and inspectors showed.
A banner on top says what ran, with which parameters (secrets as where they
came from, never their values), and where it failed.
"""

from __future__ import annotations

import html as html_mod
import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "WIDGET_STATE",
    "WIDGET_VIEW",
    "add_static_snapshots",
    "notebook_page",
    "report_html",
    "run_banner",
    "widget_html",
]

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

_SNAPSHOT_CSS = (
    ".svcnb-widget-snapshot{border-left:3px solid #d0d7de;padding:4px 8px;margin:2px 0}"
    ".svcnb-widget-snapshot .svcnb-desc{color:#57606a;margin-right:6px}"
    ".svcnb-widget-snapshot pre{margin:2px 0;white-space:pre-wrap;word-break:break-all}"
    ".svcnb-run-report{font-family:sans-serif;border:1px solid #d0d7de;border-radius:6px;"
    "padding:8px 12px;margin:8px}"
    ".svcnb-run-report table{border-collapse:collapse}"
    ".svcnb-run-report td{padding:1px 8px;vertical-align:top}"
)
# The live widget renderer inserts a .widget-subarea per widget; the static picture
# beside it then goes away. Offline, the picture stays.
_SNAPSHOT_JS = """
(function () {
  function drop(root) {
    root.querySelectorAll('.widget-subarea').forEach(function (area) {
      var out = area.closest('.jp-OutputArea-output');
      var snap = out && out.querySelector('.svcnb-widget-snapshot');
      if (snap) snap.remove();
    });
  }
  new MutationObserver(function () { drop(document); })
    .observe(document.documentElement, {childList: true, subtree: true});
})();
"""
_BOXES = {
    "VBoxModel": "column",
    "BoxModel": "column",
    "GridBoxModel": "column",
    "HBoxModel": "row",
    "AccordionModel": "column",
    "TabModel": "column",
    "StackModel": "column",
}
_VIEW_SCRIPT = re.compile(
    r'(<script type="application/vnd\.jupyter\.widget-view\+json">\s*(\{[^<]*\})\s*</script>)'
)
_MAX_DEPTH = 30


def _ref(value: Any) -> str | None:
    prefix = "IPY_MODEL_"
    return value[len(prefix) :] if isinstance(value, str) and value.startswith(prefix) else None


def _box_html(states: Mapping[str, Any], name: str, state: Mapping[str, Any], depth: int) -> str:
    refs = (_ref(child) for child in state.get("children", []))
    children = [widget_html(states, ref, depth + 1) for ref in refs if ref]
    gap = "12px" if _BOXES[name] == "row" else "4px"
    inner = "".join(f"<div>{child}</div>" for child in children if child)
    return (
        f'<div style="display:flex;flex-direction:{_BOXES[name]};gap:{gap};flex-wrap:wrap">'
        f"{inner}</div>"
    )


def _output_model_html(state: Mapping[str, Any]) -> str:
    parts = []
    for output in state.get("outputs", []):
        data = output.get("data", {})
        if "text/html" in data:
            parts.append("".join(data["text/html"]))
        elif "image/png" in data:
            parts.append(f'<img src="data:image/png;base64,{"".join(data["image/png"])}"/>')
        elif "text/plain" in data or "text" in output:
            text = "".join(data.get("text/plain", output.get("text", "")))
            parts.append(f"<pre>{html_mod.escape(text)}</pre>")
    return "".join(parts)


def _choice_html(state: Mapping[str, Any]) -> str:
    labels, index = state.get("_options_labels", []), state.get("index")
    if isinstance(index, list):
        return ", ".join(labels[i] for i in index if isinstance(i, int) and 0 <= i < len(labels))
    if isinstance(index, int) and 0 <= index < len(labels):
        return str(labels[index])
    return ""


def _image_html(model: Mapping[str, Any], state: Mapping[str, Any], desc: str) -> str:
    fmt = html_mod.escape(str(state.get("format", "png")))
    for buffer in model.get("buffers", []):
        if buffer.get("path") == ["value"] and buffer.get("encoding") == "base64":
            return f'<img alt="{html_mod.escape(desc)}" src="data:image/{fmt};base64,{buffer["data"]}"/>'
    return ""


def widget_html(states: Mapping[str, Any], model_id: str, depth: int = 0) -> str:
    """A static picture of one widget from its saved state (no JavaScript needed)."""
    esc = html_mod.escape
    model = states.get(model_id)
    if model is None or depth > _MAX_DEPTH:
        return ""
    name, state = model.get("model_name", ""), model.get("state", {})
    desc = str(state.get("description") or "")
    label = f'<span class="svcnb-desc">{esc(desc)}</span>' if desc else ""
    if name in _BOXES:
        return _box_html(states, name, state, depth)
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"{label}{state.get('value', '')}"  # svc_nb's own, already scrubbed HTML
    if name == "PasswordModel":
        return f"{label}<code>••••••</code>"
    if name in ("TextModel", "TextareaModel", "ComboboxModel", "LabelModel"):
        value = str(state.get("value", ""))
        return f"{label}<pre>{esc(value)}</pre>" if value else label
    if name in ("ButtonModel", "ToggleButtonModel"):
        return f"<button disabled>{esc(desc or str(state.get('tooltip') or 'button'))}</button>"
    if "_options_labels" in state:
        return f"{label}<b>{esc(_choice_html(state))}</b>"
    if name == "ImageModel":
        return _image_html(model, state, desc) or label
    if name == "OutputModel":
        return _output_model_html(state)
    if isinstance(state.get("value"), int | float | str | bool):
        return f"{label}<b>{esc(str(state['value']))}</b>"
    return ""  # layouts, styles and the like draw nothing themselves


def add_static_snapshots(page: str, nb: Any) -> str:
    """``page`` with a static picture of every widget beside its live view."""
    states = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not states:
        return page

    def snapshot(match: re.Match[str]) -> str:
        try:
            model_id = json.loads(match.group(2))["model_id"]
        except (ValueError, KeyError, TypeError):
            return match.group(1)
        body = widget_html(states, str(model_id))
        if not body:
            return match.group(1)
        return f'{match.group(1)}\n<div class="svcnb-widget-snapshot">{body}</div>'

    out, count = _VIEW_SCRIPT.subn(snapshot, page)
    if not count:
        return page
    return out.replace("</body>", f"<script>{_SNAPSHOT_JS}</script>\n</body>", 1)


def run_banner(run: Mapping[str, Any]) -> str:
    """The report's first lines: notebook, outcome, failing cell, parameters, times."""
    esc = html_mod.escape
    failed = run.get("failed_cell")
    outcome = (
        '<b style="color:#1a7f37">every cell ran</b>'
        if failed is None
        else f'<b style="color:#cf222e">failed at cell {esc(str(failed.get("index")))}'
        f" ({esc(str(failed.get('section') or 'no section'))})</b>: "
        f"<code>{esc(str(failed.get('error', '')))}</code>"
    )
    rows = "".join(
        f"<tr><td><code>{esc(str(name))}</code></td><td><code>{esc(repr(value) if not isinstance(value, str) else value)}</code></td></tr>"
        for name, value in dict(run.get("parameters", {})).items()
    )
    params = f"<table>{rows}</table>" if rows else "<i>defaults only</i>"
    status = "ok" if failed is None else "failed"
    return (
        f'<div class="svcnb-run-report" data-status="{status}">'
        f"<div><b>svc-nb run</b> <code>{esc(str(run.get('notebook', '')))}</code>: {outcome}</div>"
        f"<div>started {esc(str(run.get('started_at', '')))}, "
        f"finished {esc(str(run.get('finished_at', '')))} "
        f"({esc(str(run.get('cells_run', 0)))} code cells run)</div>"
        f"<div>Parameters:</div>{params}</div>"
    )


def notebook_page(nb: Any) -> str:
    """nbconvert's lab page of an executed notebook, with a static picture of every widget."""
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    page = add_static_snapshots(page, nb)
    return page.replace("</head>", f"<style>{_SNAPSHOT_CSS}</style>\n</head>", 1)


def report_html(nb: Any, run: Mapping[str, Any]) -> str:
    """The whole HTML report: the notebook's page with widget pictures, and the run banner."""
    page = notebook_page(nb)
    body = re.search(r"<body[^>]*>", page)
    if body is None:
        return page
    return page[: body.end()] + run_banner(run) + page[body.end() :]
