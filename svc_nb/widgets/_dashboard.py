"""The quick-diagnostics dashboard: every check with its own progress light, the report, a re-run button."""

from __future__ import annotations

import asyncio
import html
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from svc_nb._diagnose import diagnose, registered_checks
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout
from svc_nb.widgets._base import View, error_html, html_of, run_later

if TYPE_CHECKING:
    import ipywidgets as widgets

__all__ = ["Dashboard", "dashboard"]

_RUNNING = "⏳"


def _row_html(name: str, findings: list[Finding] | None) -> str:
    if findings is None:
        return f'<span style="color:#57606a">{_RUNNING} <code>{html.escape(name)}</code> running…</span>'
    worst = max((f.status for f in findings), key=lambda s: s.rank, default=Status.SKIP)
    colour = {"ok": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "skip": "#57606a"}[worst.value]
    return (
        f'<span style="color:{colour}">{worst.symbol} <code>{html.escape(name)}</code> '
        f"{worst.value} ({len(findings)} finding{'s' * (len(findings) != 1)})</span>"
    )


class Dashboard(View):
    """A thin view over :func:`svc_nb.diagnose`: ``header``, ``button`` (re-run), one
    ``progress`` light per check and ``output`` (the report); ``report`` is the last result.
    """

    def __init__(
        self, environ: Mapping[str, str] | None = None, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        import ipywidgets as widgets

        timeout = check_timeout(timeout)
        self.environ = None if environ is None else dict(environ)
        self.timeout = timeout
        self.report: Report | None = None
        self.error: BaseException | None = None
        self.runs = 0
        self._done = threading.Event()
        self._lock = threading.Lock()
        self.header = widgets.HTML()
        self.button = widgets.Button(
            description="Re-run", icon="refresh", tooltip="Run every check again"
        )
        self.button.on_click(lambda _b: self.start())
        self.progress: dict[str, widgets.HTML] = {}
        self.progress_box = widgets.VBox()
        self.output = widgets.HTML()
        self.widget = widgets.VBox(
            [widgets.HBox([self.header, self.button]), self.progress_box, self.output]
        )
        self.start()

    # -- running ----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def start(self) -> None:
        """Run every check again in the background (ignored while a run is in progress)."""
        import ipywidgets as widgets

        with self._lock:
            if self.runs and self.running:
                return
            self._done.clear()
            self.runs += 1
        self.error = None
        self.button.disabled = True
        names = registered_checks()
        self.progress = {name: widgets.HTML(_row_html(name, None)) for name in names}
        self.progress_box.children = tuple(self.progress.values())
        self.header.value = (
            f"<b>svc_nb diagnose</b>: running {len(names)} checks (timeout {self.timeout:g} s)…"
        )
        self.output.value = ""
        self._started = time.perf_counter()
        run_later(
            diagnose(self.environ, timeout=self.timeout, on_done=self._check_done), self._finished
        )

    def _check_done(self, name: str, findings: list[Any]) -> None:
        row = self.progress.get(name)
        if row is not None:
            row.value = _row_html(name, list(findings))

    def _finished(self, report: Report | None, error: BaseException | None) -> None:
        elapsed = time.perf_counter() - self._started
        try:
            if error is not None or report is None:
                self.error = error
                self.header.value = "<b>svc_nb diagnose</b>: the run itself failed"
                self.output.value = error_html(error or RuntimeError("no report"))
            else:
                self.report = report
                c = report.counts()
                finished = time.strftime("%H:%M:%S")
                self.header.value = (
                    f"<b>svc_nb diagnose</b>: {report.worst.value.upper()} in {elapsed:.1f} s — "
                    f"{c['ok']} ok, {c['warn']} warn, {c['fail']} fail, {c['skip']} skip "
                    f"(run #{self.runs} at {finished})"
                )
                self.output.value = html_of(report)
        finally:
            self.button.disabled = False
            self._done.set()

    def wait(self, timeout: float | None = None) -> Report | None:
        """Block until the current run ends (not from a kernel's own loop: use ``until_done``)."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"the dashboard run did not finish within {timeout} s")
        return self.report

    async def until_done(self, timeout: float | None = None) -> Report | None:
        """Await the current run without blocking the loop it runs on (for notebook cells)."""
        async with asyncio.timeout(timeout):
            while not self._done.is_set():
                await asyncio.sleep(0.05)
        return self.report


def dashboard(
    environ: Mapping[str, str] | None = None, *, timeout: float = DEFAULT_TIMEOUT_S
) -> Dashboard:
    """Run :func:`svc_nb.diagnose` in the background with a light per check and a re-run button."""
    return Dashboard(environ, timeout=timeout)
