"""``progress_bar(total)``: an ipywidgets bar fed by ``on_progress(done, total)`` callbacks.

svc_nb.webhooks.deliver_many uses it by default inside a notebook kernel; the
delivery code itself only calls the callback and never imports ipywidgets.
"""

from __future__ import annotations

import time

from svc_nb.widgets._base import View

__all__ = ["ProgressBar", "progress_bar"]

_MIN_INTERVAL_S = 0.1  # redraws per second are bounded: thousands of deliveries finish per second


class ProgressBar(View):
    """An ``IntProgress`` (``widget``) shown at creation; call it with ``(done, total)``."""

    def __init__(self, total: int, *, description: str = "progress", display: bool = True) -> None:
        import ipywidgets

        self.widget = ipywidgets.IntProgress(
            value=0, min=0, max=max(total, 1), description=description
        )
        self._last = 0.0
        if display:
            from IPython.display import display as show

            show(self.widget)

    def __call__(self, done: int, total: int) -> None:
        finished = done >= total
        now = time.monotonic()
        if not finished and now - self._last < _MIN_INTERVAL_S:
            return
        self._last = now
        self.widget.max = max(total, 1)
        self.widget.value = min(done, total)
        if finished:
            self.widget.bar_style = "success"


def progress_bar(total: int, *, description: str = "progress", display: bool = True) -> ProgressBar:
    """A progress bar for ``total`` steps, displayed now; pass it as ``on_progress=``."""
    return ProgressBar(total, description=description, display=display)
