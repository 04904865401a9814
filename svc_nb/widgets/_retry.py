"""``retry_explorer()``: pick a retry preset or shape an exponential policy, see its schedule."""

from __future__ import annotations

import html
import io

from svc_nb._fmt import format_duration
from svc_nb.webhooks import RetryPolicy
from svc_nb.widgets._base import View

__all__ = ["EXPONENTIAL", "RetryExplorer", "retry_explorer"]

EXPONENTIAL = "exponential (sliders)"
_STYLE = {"description_width": "110px"}


def _png(policy: RetryPolicy) -> bytes:
    from svc_nb.plots import policy_comparison

    reference = RetryPolicy.svc_infra()
    policies = [policy] if policy == reference else [policy, reference]
    fig = policy_comparison(*policies)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()


def _summary_html(policy: RetryPolicy) -> str:
    waits = ", ".join(format_duration(w) for w in policy.waits) or "none"
    real = RetryPolicy.svc_infra()
    return (
        f"<div><b>{html.escape(policy.name)}</b>: {policy.attempts} attempts; "
        f"waits {html.escape(waits)}<br>Gives up "
        f"<b>{html.escape(format_duration(policy.give_up_after()))}</b> after the first attempt "
        f"(svc-infra really gives up after {html.escape(format_duration(real.give_up_after()))}, "
        "then moves the job to <code>jobs:dlq</code>).</div>"
    )


class RetryExplorer(View):
    """A preset dropdown and sliders over a live schedule chart.

    Controls: ``preset``, ``base``, ``factor``, ``attempts``, ``jitter``,
    ``max_delay``; outputs: ``summary`` (HTML), ``chart`` (PNG image) and
    ``policy`` (the :class:`~svc_nb.webhooks.RetryPolicy` shown now). ``seed``
    makes the jitter reproducible.
    """

    def __init__(self, *, seed: int = 0) -> None:
        import ipywidgets as w

        self.seed = seed
        self._presets = RetryPolicy.presets()
        self._syncing = False
        self.preset = w.Dropdown(
            options=[*self._presets, EXPONENTIAL], value="svc-infra", description="policy"
        )
        self.base = w.FloatLogSlider(
            value=5.0, base=10, min=-1, max=4, step=0.1, description="base delay (s)",
            continuous_update=False, style=_STYLE,
        )  # fmt: skip
        self.factor = w.FloatSlider(
            value=2.0, min=1.0, max=10.0, step=0.5, description="factor",
            continuous_update=False, style=_STYLE,
        )  # fmt: skip
        self.attempts = w.IntSlider(
            value=5, min=1, max=15, description="attempts", continuous_update=False, style=_STYLE
        )
        self.jitter = w.FloatSlider(
            value=0.0, min=0.0, max=1.0, step=0.05, description="jitter (±)",
            continuous_update=False, style=_STYLE, readout_format=".0%",
        )  # fmt: skip
        self.max_delay = w.FloatLogSlider(
            value=86400.0, base=10, min=0, max=6, step=0.1, description="max delay (s)",
            continuous_update=False, style=_STYLE,
        )  # fmt: skip
        self.summary = w.HTML()
        self.chart = w.Image(format="png")
        self.policy = self._presets["svc-infra"]
        self.preset.observe(self._on_preset, names="value")
        for slider in (self.base, self.factor, self.attempts, self.jitter, self.max_delay):
            slider.observe(self._on_slider, names="value")
        sliders = w.HBox(
            [w.VBox([self.base, self.factor]), w.VBox([self.attempts, self.jitter, self.max_delay])]
        )
        self.widget = w.VBox([self.preset, sliders, self.summary, self.chart])
        self.redraw()

    def current(self) -> RetryPolicy:
        """The policy the controls describe."""
        if self.preset.value != EXPONENTIAL:
            return self._presets[self.preset.value]
        return RetryPolicy.exponential(
            self.base.value,
            self.factor.value,
            self.max_delay.value,
            self.attempts.value,
            self.jitter.value,
            seed=self.seed,
        )

    def redraw(self) -> None:
        """Show the current policy: its summary and its schedule chart."""
        self.policy = self.current()
        self.summary.value = _summary_html(self.policy)
        self.chart.value = _png(self.policy)

    def _on_preset(self, change: dict[str, object]) -> None:
        if change["new"] != EXPONENTIAL:
            self._syncing = True  # the attempts slider follows the preset without leaving it
            try:
                self.attempts.value = self._presets[str(change["new"])].attempts
            finally:
                self._syncing = False
        self.redraw()

    def _on_slider(self, _change: dict[str, object]) -> None:
        if self._syncing:
            return
        if self.preset.value != EXPONENTIAL:
            self.preset.value = EXPONENTIAL  # redraws through _on_preset
        else:
            self.redraw()


def retry_explorer(*, seed: int = 0) -> RetryExplorer:
    """A preset dropdown and sliders (base delay, factor, attempts, jitter) over a live chart."""
    return RetryExplorer(seed=seed)
