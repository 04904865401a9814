"""The kernel client of ``svc-nb run``: runs the cells itself, reports progress, stops cleanly.

After the last cell it reads the widgets' final state from the kernel:
nbclient records widget state only from messages of the cell being executed,
so a widget filled later (the dashboard fills its lights from a background
task) would be saved half-way through. Password fields are saved empty and
every secret the kernel registered with svc_nb is masked in the saved outputs.
"""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Callable
from typing import Any

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync

from svc_nb.runbook._execute import (
    CellFailure,
    CellProgress,
    Execution,
    cell_label,
    error_text,
    sections,
)

__all__ = ["RunbookClient"]

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_STOPPING = (CellExecutionError, CellTimeoutError, DeadKernelError)

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
    from svc_nb._redact import scrub_data
    return json.dumps(scrub_data(state))
"""
_SCRUB_CODE = (
    "import json as _j\nfrom svc_nb._redact import scrub_data as _s\n"
    "_svcnb_scrubbed = _j.dumps(_s(_j.loads({texts!r})))"
)


def _text_slots(nb: Any) -> list[tuple[dict[str, Any], str]]:
    """Every text an output holds, as (holder, key) pairs to read and replace."""
    slots: list[tuple[dict[str, Any], str]] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str):
                slots.append((output, "text"))
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and (mime.startswith("text/") or mime.endswith("json")):
                    slots.append((output["data"], mime))
    return slots


class RunbookClient(NotebookClient):
    """Runs the cells itself, so progress is reported and the first error stops cleanly."""

    progress: Callable[[CellProgress], None] | None = None
    outcome: Execution
    _last_error: BaseException | None = None

    async def async_execute(self, reset_kc: bool = False, **kwargs: Any) -> Any:
        self.outcome = Execution()
        self.reset_execution_trackers()
        async with self.async_setup_kernel(**kwargs):
            assert self.kc is not None
            info = await self.async_wait_for_reply(await ensure_async(self.kc.kernel_info()))
            if info is not None and "language_info" in info["content"]:
                self.nb.metadata["language_info"] = info["content"]["language_info"]
            await self._run_cells()
            if not isinstance(self._last_error, DeadKernelError):
                self.set_widgets_metadata()
                await self._store_live_widget_state()
                await self._scrub_outputs()
        return self.nb

    async def _run_cells(self) -> None:
        headings = sections(self.nb)
        code = [i for i, c in enumerate(self.nb.cells) if c.get("cell_type") == "code"]
        for number, index in enumerate(code, 1):
            cell = self.nb.cells[index]
            label = cell_label(cell, headings[index])
            self._report(CellProgress(index, number, len(code), label))
            started = time.perf_counter()
            try:
                await self.async_execute_cell(
                    cell, index, execution_count=self.code_cells_executed + 1
                )
            except _STOPPING as exc:
                self._last_error = exc
                self.outcome.failure = CellFailure(index, number, headings[index], error_text(exc))
                seconds = time.perf_counter() - started
                self._report(CellProgress(index, number, len(code), label, seconds, ok=False))
                return
            seconds = time.perf_counter() - started
            self.outcome.cells_run = number
            self.outcome.seconds.append(seconds)
            self._report(CellProgress(index, number, len(code), label, seconds))

    def _report(self, event: CellProgress) -> None:
        if self.progress is not None:
            self.progress(event)

    async def _ask(self, code: str, name: str, expression: str) -> str | None:
        """The value of ``expression`` after running ``code`` silently in the kernel."""
        assert self.kc is not None
        msg_id = self.kc.execute(
            code, silent=True, store_history=False, user_expressions={name: expression}
        )
        reply = await self.async_wait_for_reply(msg_id)
        result = (reply or {}).get("content", {}).get("user_expressions", {}).get(name, {})
        if result.get("status") != "ok":
            return None
        return str(ast.literal_eval(result["data"]["text/plain"]))

    async def _store_live_widget_state(self) -> None:
        text = await self._ask(_LIVE_STATE_CODE, "state", "_svcnb_widget_state()")
        if text:
            self.nb.metadata["widgets"] = {WIDGET_STATE: json.loads(text)}
        else:
            self.nb.metadata.get("widgets", {}).pop(WIDGET_STATE, None)

    async def _scrub_outputs(self) -> None:
        # svc_nb's objects scrub themselves; this covers what they do not render
        # (a widget's text fallback), with the secrets the kernel registered.
        slots = _text_slots(self.nb)
        if not slots:
            return
        texts = json.dumps([holder[key] for holder, key in slots])
        scrubbed = await self._ask(_SCRUB_CODE.format(texts=texts), "t", "_svcnb_scrubbed")
        if scrubbed:
            for (holder, key), text in zip(slots, json.loads(scrubbed), strict=True):
                holder[key] = text

    # NotebookClient.execute wraps the base class's async_execute; wrap ours instead.
    execute = run_sync(async_execute)
