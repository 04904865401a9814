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

# Run in the kernel after the last cell: the state of every live widget, with
# password fields emptied and every secret the kernel registered masked (the
# state is written into the .ipynb and the HTML; svc_nb never writes a secret).
_LIVE_STATE_CODE = """
def _svcnb_widget_state():
    import json, sys
    if "ipywidgets" not in sys.modules:
        return ""
    import ipywidgets
    state = ipywidgets.Widget.get_manager_state(drop_defaults=True)
    for model in state["state"].values():
        if model.get("model_name") == "PasswordModel" and model["state"].get("value"):
            model["state"]["value"] = ""
    try:
        from svc_nb._redact import scrub_data
    except ImportError:
        return json.dumps(state)
    return json.dumps(scrub_data(state))
"""


def blank_passwords(state: dict[str, Any]) -> dict[str, Any]:
    """The widget state with every password field's value emptied (in place)."""
    for model in state.get("state", {}).values():
        if model.get("model_name") == "PasswordModel" and model.get("state", {}).get("value"):
            model["state"]["value"] = ""
    return state


class LiveStateClient(NotebookClient):
    """A NotebookClient that stores the widgets' final state, read from the kernel.

    nbclient records widget state only from comm messages whose parent is the
    cell being executed; widgets updated from background threads (the dashboard
    fills in its lights after its cell returned) would be saved half-way through
    ("running…"). Asking the kernel at the end gets what a user would see.
    Password fields are saved empty and registered secrets masked.
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
            # What nbclient recorded from comm messages, in case the kernel cannot answer below.
            blank_passwords(self.nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}))
            await self._store_live_widget_state()
            await self._scrub_outputs()
        if failure is not None:
            raise failure
        return self.nb

    async def _store_live_widget_state(self) -> None:
        assert self.kc is not None
        msg_id = self.kc.execute(_LIVE_STATE_CODE, silent=True, store_history=False,
                                 user_expressions={"state": "_svcnb_widget_state()"})
        reply = await self.async_wait_for_reply(msg_id)
        result = (reply or {}).get("content", {}).get("user_expressions", {}).get("state", {})
        if result.get("status") != "ok":
            print(f"  (could not read the live widget state: {result.get('ename')}: {result.get('evalue')})")
            return
        text = ast.literal_eval(result["data"]["text/plain"])
        if text:
            self.nb.metadata["widgets"] = {WIDGET_STATE: blank_passwords(json.loads(text))}

    async def _scrub_outputs(self) -> None:
        """Mask, in every text output, the secrets the kernel registered with svc_nb.

        svc_nb's own objects scrub themselves; this also covers what they do not
        render, e.g. ipywidgets' text fallback of a widget (its repr).
        """
        assert self.kc is not None
        slots: list[tuple[dict[str, Any], str]] = []
        for cell in self.nb.cells:
            for output in cell.get("outputs", []):
                if isinstance(output.get("text"), str):
                    slots.append((output, "text"))
                for mime, value in output.get("data", {}).items():
                    if isinstance(value, str) and (mime.startswith("text/") or mime.endswith("json")):
                        slots.append((output["data"], mime))
        if not slots:
            return
        texts = json.dumps([holder[key] for holder, key in slots])
        code = (f"import json as _j\ntry:\n    from svc_nb._redact import scrub_data as _s\n"
                f"except ImportError:\n    _s = None\n"
                f"_svcnb_scrubbed = _j.dumps(_s(_j.loads({texts!r}))) if _s else ''")
        msg_id = self.kc.execute(code, silent=True, store_history=False,
                                 user_expressions={"texts": "_svcnb_scrubbed"})
        reply = await self.async_wait_for_reply(msg_id)
        result = (reply or {}).get("content", {}).get("user_expressions", {}).get("texts", {})
        if result.get("status") != "ok":
            return
        scrubbed = ast.literal_eval(result["data"]["text/plain"])
        if scrubbed:
            for (holder, key), text in zip(slots, json.loads(scrubbed), strict=True):
                holder[key] = text

    # NotebookClient.execute wraps the base class's async_execute; wrap ours instead.
    execute = run_sync(async_execute)


# --------------------------------------------------------------------------- offline snapshots

_SNAPSHOT_CSS = (
    ".svcnb-widget-snapshot{border-left:3px solid #d0d7de;padding:4px 8px;margin:2px 0}"
    ".svcnb-widget-snapshot .svcnb-desc{color:#57606a;margin-right:6px}"
    ".svcnb-widget-snapshot pre{margin:2px 0;white-space:pre-wrap;word-break:break-all}"
)
# The embedded-widget renderer (from unpkg.com) inserts a .widget-subarea per widget;
# when it does, the static snapshot beside it goes away. Offline, the snapshot stays.
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
_BOXES = {"VBoxModel": "column", "BoxModel": "column", "GridBoxModel": "column", "HBoxModel": "row",
          "AccordionModel": "column", "TabModel": "column", "StackModel": "column"}


def _ref(value: Any) -> str | None:
    return value[len("IPY_MODEL_"):] if isinstance(value, str) and value.startswith("IPY_MODEL_") else None


def static_widget_html(states: dict[str, Any], model_id: str, _depth: int = 0) -> str:
    """A static HTML picture of widget ``model_id`` from the saved state (no JavaScript needed)."""
    import html as html_mod

    esc = html_mod.escape
    model = states.get(model_id)
    if model is None or _depth > 30:
        return ""
    name, state = model.get("model_name", ""), model.get("state", {})
    desc = state.get("description") or ""
    label = f'<span class="svcnb-desc">{esc(desc)}</span>' if desc else ""
    if name in _BOXES:
        children = [static_widget_html(states, ref, _depth + 1)
                    for ref in (_ref(c) for c in state.get("children", [])) if ref]
        gap = "12px" if _BOXES[name] == "row" else "4px"
        return (f'<div style="display:flex;flex-direction:{_BOXES[name]};gap:{gap};flex-wrap:wrap">'
                + "".join(f"<div>{c}</div>" for c in children if c) + "</div>")
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"{label}{state.get('value', '')}"  # svc_nb's own, already scrubbed HTML
    if name == "LabelModel":
        return f"{label}{esc(str(state.get('value', '')))}"
    if name == "PasswordModel":
        return f"{label}<code>••••••</code>"
    if name in ("TextModel", "TextareaModel", "ComboboxModel"):
        value = str(state.get("value", ""))
        return f"{label}<pre>{esc(value)}</pre>" if value else label
    if name in ("ButtonModel", "ToggleButtonModel"):
        return f"<button disabled>{esc(desc or state.get('tooltip') or 'button')}</button>"
    if "_options_labels" in state:
        labels, index = state.get("_options_labels", []), state.get("index")
        picked = (", ".join(labels[i] for i in index if 0 <= i < len(labels)) if isinstance(index, list)
                  else labels[index] if isinstance(index, int) and 0 <= index < len(labels) else "")
        return f"{label}<b>{esc(str(picked))}</b>"
    if name == "ImageModel":
        fmt = state.get("format", "png")
        for buffer in model.get("buffers", []):
            if buffer.get("path") == ["value"] and buffer.get("encoding") == "base64":
                return f'<img alt="{esc(desc)}" src="data:image/{esc(fmt)};base64,{buffer["data"]}"/>'
        return label
    if name == "OutputModel":
        parts = []
        for output in state.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                parts.append("".join(data["text/html"]))
            elif "image/png" in data:
                parts.append(f'<img src="data:image/png;base64,{"".join(data["image/png"])}"/>')
            elif "text/plain" in data or "text" in output:
                parts.append(f"<pre>{esc(''.join(data.get('text/plain', output.get('text', ''))))}</pre>")
        return "".join(parts)
    if "value" in state and isinstance(state["value"], int | float | str | bool):
        return f"{label}<b>{esc(str(state['value']))}</b>"
    return ""  # layouts, styles and the like draw nothing themselves


def add_static_snapshots(html: str, nb: Any) -> str:
    """Put a static picture of every widget beside its live view in ``html`` (for offline readers)."""
    states = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not states:
        return html
    pattern = re.compile(
        r'(<script type="application/vnd\.jupyter\.widget-view\+json">\s*(\{.*?\})\s*</script>)', re.S)

    def snapshot(match: re.Match[str]) -> str:
        try:
            model_id = json.loads(match.group(2))["model_id"]
        except (ValueError, KeyError):
            return match.group(1)
        body = static_widget_html(states, model_id)
        if not body:
            return match.group(1)
        return f'{match.group(1)}\n<div class="svcnb-widget-snapshot">{body}</div>'

    out, count = pattern.subn(snapshot, html)
    if not count:
        return html
    return out.replace("</head>", f"<style>{_SNAPSHOT_CSS}</style>\n</head>", 1).replace(
        "</body>", f"<script>{_SNAPSHOT_JS}</script>\n</body>", 1)


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
    html = add_static_snapshots(html, nb)
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
