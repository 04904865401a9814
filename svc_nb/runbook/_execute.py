"""Executing a notebook headless in a real kernel, cell by cell, with progress.

Stops at the first cell that raises and names it. Afterwards the widgets'
final state is read from the kernel (password fields emptied, secrets the
kernel registered masked), and every value passed as a secret parameter is
masked anywhere it surfaced (outputs, metadata, widget state) before anything
is written.
"""

from __future__ import annotations

import ast
import html
import json
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from svc_nb._redact import MASK

__all__ = ["CellFailure", "CellProgress", "cell_label", "execute", "mask_values"]

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Run in the kernel after the last cell: the state of every live widget, password
# fields emptied and registered secrets masked. nbclient records widget state only
# from messages of the cell being executed, so a widget filled later (the dashboard
# fills its lights from a background task) would be saved half-way through.
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


@dataclass(frozen=True)
class CellProgress:
    """One code cell as it starts or ends: position, label, and (at the end) outcome."""

    index: int  # position among all cells, 0-based
    number: int  # 1-based among code cells
    total: int  # code cells in the notebook
    label: str
    seconds: float | None = None  # None when starting
    ok: bool = True


@dataclass(frozen=True)
class CellFailure:
    """The cell that stopped the run, and why (already masked)."""

    index: int
    number: int
    section: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "number": self.number,
            "section": self.section,
            "error": self.error,
        }


@dataclass
class Execution:
    """What a run did: cells run, the failure if any, times."""

    cells_run: int = 0
    failure: CellFailure | None = None
    seconds: list[float] = field(default_factory=list)


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _sections(nb: Any) -> list[str]:
    """For every cell, the nearest markdown heading above it."""
    current = ""
    found = []
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("#"):
                    current = line.lstrip("#").strip()
        found.append(current)
    return found


def cell_label(cell: Mapping[str, Any], section: str, width: int = 60) -> str:
    """``section: first code line`` shortened to ``width``, for the progress lines."""
    if "injected-parameters" in (cell.get("metadata", {}).get("tags") or []):
        return "(injected parameters)"
    first = next(
        (s.strip() for s in _source(cell).splitlines() if s.strip() and not s.startswith("#")),
        "(comments only)",
    )
    if len(section) > width // 2:
        section = section[: width // 2 - 1] + "…"
    text = f"{section}: {first}" if section else first
    return text if len(text) <= width else text[: width - 1] + "…"


def _variants(secret: str) -> set[str]:
    forms = {secret, json.dumps(secret)[1:-1], html.escape(secret), urllib.parse.quote(secret)}
    forms.add(urllib.parse.quote(secret, safe=""))
    return {form for form in forms if form}


def mask_values(node: Any, secrets: Iterable[str]) -> Any:
    """``node`` (a notebook, any JSON-like tree) with every secret's text forms masked, in place."""
    forms = sorted({v for s in secrets if s for v in _variants(s)}, key=len, reverse=True)
    if not forms:
        return node

    def mask(text: str) -> str:
        for form in forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return mask(value)
        if isinstance(value, dict):
            for key in list(value):
                value[key] = walk(value[key])
            return value
        if isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = walk(item)
            return value
        return value

    return walk(node)


def _error_text(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None)
    if evalue is None:
        lines = str(exc).strip().splitlines()
        evalue = lines[-1] if lines else ""
    return f"{ename}: {evalue}".strip()


def _client_class() -> Any:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbclient.util import ensure_async, run_sync

    stopping = (CellExecutionError, CellTimeoutError, DeadKernelError)

    class RunbookClient(NotebookClient):
        """Runs the cells itself, so progress is reported and the first error stops cleanly."""

        progress: Callable[[CellProgress], None] | None = None
        outcome: Execution

        async def async_execute(self, reset_kc: bool = False, **kwargs: Any) -> Any:
            self.outcome = Execution()
            self.reset_execution_trackers()
            async with self.async_setup_kernel(**kwargs):
                assert self.kc is not None
                info = await self.async_wait_for_reply(await ensure_async(self.kc.kernel_info()))
                if info is not None and "language_info" in info["content"]:
                    self.nb.metadata["language_info"] = info["content"]["language_info"]
                await self._run_cells(stopping)
                if self.outcome.failure is None or not isinstance(
                    self._last_error, DeadKernelError
                ):
                    self.set_widgets_metadata()
                    await self._store_live_widget_state()
                    await self._scrub_outputs()
            return self.nb

        async def _run_cells(self, stopping: tuple[type[BaseException], ...]) -> None:
            sections = _sections(self.nb)
            code = [i for i, c in enumerate(self.nb.cells) if c.get("cell_type") == "code"]
            self._last_error: BaseException | None = None
            for number, index in enumerate(code, 1):
                cell = self.nb.cells[index]
                label = cell_label(cell, sections[index])
                self._report(CellProgress(index, number, len(code), label))
                started = time.perf_counter()
                try:
                    await self.async_execute_cell(
                        cell, index, execution_count=self.code_cells_executed + 1
                    )
                except stopping as exc:
                    seconds = time.perf_counter() - started
                    self._last_error = exc
                    self.outcome.failure = CellFailure(
                        index, number, sections[index], _error_text(exc)
                    )
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
            slots: list[tuple[dict[str, Any], str]] = []
            for cell in self.nb.cells:
                for output in cell.get("outputs", []):
                    if isinstance(output.get("text"), str):
                        slots.append((output, "text"))
                    for mime, value in output.get("data", {}).items():
                        if isinstance(value, str) and (
                            mime.startswith("text/") or mime.endswith("json")
                        ):
                            slots.append((output["data"], mime))
            if not slots:
                return
            texts = json.dumps([holder[key] for holder, key in slots])
            scrubbed = await self._ask(_SCRUB_CODE.format(texts=texts), "t", "_svcnb_scrubbed")
            if scrubbed:
                for (holder, key), text in zip(slots, json.loads(scrubbed), strict=True):
                    holder[key] = text

        execute = run_sync(async_execute)

    return RunbookClient


def execute(
    nb: Any,
    *,
    cwd: str,
    env: Mapping[str, str],
    timeout: float,
    progress: Callable[[CellProgress], None] | None = None,
) -> Execution:
    """Run ``nb`` in place in a fresh kernel (its kernelspec, else python3)."""
    kernel = (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    client = _client_class()(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        store_widget_state=True,
        resources={"metadata": {"path": cwd}},
    )
    client.progress = progress
    # The kernel's chatter (warnings on its stderr) would break up the progress lines.
    client.execute(env=dict(env), stderr=subprocess.DEVNULL)
    return client.outcome
