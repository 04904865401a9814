"""retry_explorer(): the widget as an object — presets, sliders, live chart and give-up time."""

from __future__ import annotations

from svc_nb.widgets import retry_explorer


def test_starts_on_svc_infras_real_policy() -> None:
    box = retry_explorer()
    assert box.policy.name == "svc-infra"
    assert box.policy.delays() == [60, 120, 180, 240]
    assert "10 min" in box.summary.value  # gives up 600 s after the first attempt
    assert bytes(box.chart.value).startswith(b"\x89PNG")


def test_preset_change_updates_chart_and_give_up_time() -> None:
    box = retry_explorer()
    first_png = bytes(box.chart.value)
    box.preset.value = "guide"
    assert box.policy.delays() == [5, 30, 300, 3600, 86400]
    assert box.attempts.value == 6  # the slider follows the preset
    assert box.preset.value == "guide"  # ... without switching to the sliders' policy
    assert "25.1 h" in box.summary.value
    assert bytes(box.chart.value) != first_png


def test_sliders_switch_to_exponential_and_redraw() -> None:
    box = retry_explorer()
    box.base.value = 10
    assert box.preset.value.startswith("exponential")
    box.factor.value = 3
    box.attempts.value = 4
    assert box.policy.delays() == [10, 30, 90]
    assert "2 min" in box.summary.value
    png = bytes(box.chart.value)
    box.jitter.value = 0.5
    assert box.policy.delays() != [10, 30, 90]
    assert bytes(box.chart.value) != png
    box.max_delay.value = 20
    assert max(box.policy.nominal) == 20
