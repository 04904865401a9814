"""retry_explorer(): pick a retry preset or shape an exponential policy, see its schedule."""

from __future__ import annotations

import html
import io
from typing import Any

from svc_nb.webhooks._policy import RetryPolicy, format_seconds

__all__ = ["retry_explorer"]

EXPONENTIAL = "exponential (sliders)"


def _png(policy: RetryPolicy) -> bytes:
    from svc_nb.plots import policy_comparison

    reference = RetryPolicy.svc_infra()
    policies = [policy] if policy == reference else [policy, reference]
    fig = policy_comparison(*policies)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()


def _summary_html(policy: RetryPolicy) -> str:
    waits = ", ".join(format_seconds(w) for w in policy.waits) or "none"
    real = RetryPolicy.svc_infra()
    return (
        f"<div><b>{html.escape(policy.name)}</b>: {policy.attempts} attempts; waits {html.escape(waits)}"
        f"<br>Gives up <b>{html.escape(format_seconds(policy.give_up_after()))}</b> after the first attempt "
        f"(svc-infra really gives up after {html.escape(format_seconds(real.give_up_after()))}, "
        "then moves the job to <code>jobs:dlq</code>).</div>"
    )


def retry_explorer(*, seed: int = 0) -> Any:
    """A preset dropdown and sliders (base delay, factor, attempts, jitter) over a live schedule chart.

    Returns an ipywidgets VBox with ``.preset .base .factor .attempts .jitter``
    controls, ``.chart`` (Image), ``.summary`` (HTML) and ``.policy`` (the
    RetryPolicy shown now).
    """
    import ipywidgets as w

    presets = RetryPolicy.presets()
    preset = w.Dropdown(options=[*presets, EXPONENTIAL], value="svc-infra", description="policy")
    style = {"description_width": "110px"}
    base = w.FloatLogSlider(value=5.0, base=10, min=-1, max=4, step=0.1, description="base delay (s)",
                            continuous_update=False, style=style)
    factor = w.FloatSlider(value=2.0, min=1.0, max=10.0, step=0.5, description="factor",
                           continuous_update=False, style=style)
    attempts = w.IntSlider(value=5, min=1, max=15, description="attempts", continuous_update=False, style=style)
    jitter = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="jitter (±)",
                           continuous_update=False, style=style, readout_format=".0%")
    max_delay = w.FloatLogSlider(value=86400.0, base=10, min=0, max=6, step=0.1, description="max delay (s)",
                                 continuous_update=False, style=style)
    chart = w.Image(format="png")
    summary = w.HTML()
    box = w.VBox([preset, w.HBox([w.VBox([base, factor]), w.VBox([attempts, jitter, max_delay])]), summary, chart])
    state = {"syncing": False}

    def current() -> RetryPolicy:
        if preset.value != EXPONENTIAL:
            return presets[preset.value]
        return RetryPolicy.exponential(base.value, factor.value, max_delay.value, attempts.value,
                                       jitter.value, seed=seed)

    def redraw(*_: Any) -> None:
        policy = current()
        box.policy = policy
        summary.value = _summary_html(policy)
        chart.value = _png(policy)

    def on_preset(change: dict[str, Any]) -> None:
        if change["new"] != EXPONENTIAL:
            state["syncing"] = True
            try:
                attempts.value = presets[change["new"]].attempts
            finally:
                state["syncing"] = False
        redraw()

    def on_slider(_: dict[str, Any]) -> None:
        if state["syncing"]:
            return
        if preset.value != EXPONENTIAL:
            preset.value = EXPONENTIAL  # triggers redraw through on_preset
        else:
            redraw()

    preset.observe(on_preset, names="value")
    for slider in (base, factor, attempts, jitter, max_delay):
        slider.observe(on_slider, names="value")
    box.preset, box.base, box.factor, box.attempts = preset, base, factor, attempts
    box.jitter, box.max_delay, box.chart, box.summary = jitter, max_delay, chart, summary
    redraw()
    return box
