"""Webhook charts: the artists hold the expected points; big timelines stay fast."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure

from svc_nb import plots
from svc_nb.webhooks import RetryPolicy, WebhooksError, load_attempts


def _attempts(deliveries: int, *, tries: int = 3, seed: int = 0) -> pd.DataFrame:
    """``deliveries`` deliveries that fail ``tries - 1`` times (503, timeout) and then succeed."""
    rng = np.random.default_rng(seed)
    did = np.repeat(np.arange(deliveries), tries)
    att = np.tile(np.arange(1, tries + 1), deliveries)
    offsets = np.concatenate([[0], np.cumsum(60 * np.arange(1, tries))])
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    sched = t0 + pd.to_timedelta(did * 0.5 + offsets[att - 1], unit="s")
    last = att == tries
    outcome = np.where(last, "delivered", np.where(att % 2 == 1, "http_error", "timeout"))
    status = np.where(last, 200, np.where(outcome == "http_error", 503, -1)).astype(float)
    status[status < 0] = np.nan
    return load_attempts(
        pd.DataFrame(
            {
                "delivery_id": [f"d{i:06d}" for i in did],
                "attempt": att,
                "scheduled_at": sched,
                "started_at": sched + pd.to_timedelta(rng.uniform(0, 1, len(did)), unit="s"),
                "duration_ms": rng.exponential(8, len(did)) + 0.1,
                "status_code": status,
                "outcome": outcome,
                "error": "",
                "response_excerpt": "",
            }
        )
    )


def _scatters(fig: Figure) -> dict[str, int]:
    ax = fig.axes[0]
    return {
        str(c.get_label()): len(np.asarray(c.get_offsets()))
        for c in ax.collections
        if isinstance(c, PathCollection)
    }


def test_timeline_one_marker_per_attempt_and_one_gap_per_retry() -> None:
    df = _attempts(20, tries=4)
    fig = plots.attempt_timeline(df)
    assert isinstance(fig, Figure)
    counts = _scatters(fig)
    assert counts == {"delivered": 20, "http_error": 40, "timeout": 20}
    lines: list[Any] = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines) == 1  # one artist for every retry gap
    assert lines[0].gap_count == 20 * 3
    # retry gaps are real segments: finite vertex pairs separated by NaN rows
    verts = lines[0].get_segments()[0]
    assert int(np.isfinite(verts[:, 0]).sum()) == 2 * 60
    assert len(fig.axes[0].get_yticks()) == 20  # one labelled row per delivery
    fig.canvas.draw()


def test_timeline_actual_vs_nominal_time() -> None:
    df = _attempts(3)
    nominal = plots.attempt_timeline(df, time="nominal").axes[0]
    actual = plots.attempt_timeline(df, time="actual").axes[0]
    xs_n = np.sort(
        np.concatenate(
            [
                np.asarray(c.get_offsets())[:, 0]
                for c in nominal.collections
                if isinstance(c, PathCollection)
            ]
        )
    )
    xs_a = np.sort(
        np.concatenate(
            [
                np.asarray(c.get_offsets())[:, 0]
                for c in actual.collections
                if isinstance(c, PathCollection)
            ]
        )
    )
    assert xs_n.max() == pytest.approx(180 + 1.0)
    assert not np.allclose(xs_n, xs_a)
    with pytest.raises(ValueError, match="nominal"):
        plots.attempt_timeline(df, time="wall")


def test_timeline_bins_rows_for_many_deliveries_and_is_fast() -> None:
    df = _attempts(25_000, tries=4)  # 100 000 attempts
    x = (df["scheduled_at"] - df["scheduled_at"].min()).dt.total_seconds().to_numpy()
    y = np.repeat(np.arange(25_000), 4)

    def bare() -> float:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        t = time.perf_counter()
        f = Figure(figsize=(9, 4.5))
        FigureCanvasAgg(f)
        f.add_subplot().scatter(x, y)
        f.canvas.draw()
        return time.perf_counter() - t

    def ours() -> tuple[float, Figure]:
        t = time.perf_counter()
        f = plots.attempt_timeline(df)
        f.canvas.draw()
        return time.perf_counter() - t, f

    bare(), ours()  # warm caches on both sides
    base = min(bare() for _ in range(2))
    took, fig = min((ours() for _ in range(2)), key=lambda r: r[0])
    counts = _scatters(fig)
    # 25 000 rows binned into <= 2000: far fewer points, each standing for several attempts
    assert sum(counts.values()) <= 2000 * 4
    assert set(counts) == {"delivered", "http_error", "timeout"}
    assert "per row" in fig.axes[0].get_ylabel()
    assert took <= 3 * base, f"timeline {took:.3f}s vs bare scatter {base:.3f}s"


def test_status_by_attempt_counts() -> None:
    df = _attempts(10, tries=3)
    fig = plots.status_by_attempt(df)
    ax = fig.axes[0]
    containers: list[Any] = list(ax.containers)
    heights = {c.get_label(): [p.get_height() for p in c.patches] for c in containers}
    assert heights["503"] == [10, 0, 0]
    assert heights["timeout"] == [0, 10, 0]
    assert heights["200"] == [0, 0, 10]


def test_latency_distribution_counts_every_timed_attempt() -> None:
    df = _attempts(30, tries=2)
    fig = plots.latency_distribution(df)
    ax: Any = fig.axes[0]
    total = sum(p.get_height() for p in ax.patches if p.get_height() > 0 and p.get_x() > 0)
    # stacked histograms: the top stack's bar heights add up to every attempt
    assert total >= 60
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("p50") for lab in labels) and any(
        lab.startswith("p95") for lab in labels
    )


def test_policy_comparison_lines_and_give_up_points() -> None:
    fig = plots.policy_comparison(RetryPolicy.svc_infra(), RetryPolicy.guide())
    lines: list[Any] = list(fig.axes[0].get_lines())
    steps = [ln for ln in lines if len(ln.get_xdata()) > 1]
    assert [len(ln.get_xdata()) for ln in steps] == [5, 6]
    assert list(steps[0].get_xdata()) == [0, 60, 180, 360, 600]
    give_up = [ln for ln in lines if len(ln.get_xdata()) == 1]
    assert [ln.get_xdata()[0] for ln in give_up] == [600, 90335]
    assert len(plots.policy_comparison().axes[0].get_lines()) == 6  # three default presets


def test_charts_do_not_touch_pyplot_state() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plots.attempt_timeline(_attempts(2))
    plots.status_by_attempt(_attempts(2))
    assert plt.get_fignums() == before
    chart: Any = plots.policy_comparison()
    png = chart._repr_png_()
    assert png.startswith(b"\x89PNG")


def test_charts_accept_a_delivery_log_and_empty_input() -> None:
    from svc_nb.webhooks import DeliveryLog

    log = DeliveryLog(frame=_attempts(2))
    assert _scatters(plots.attempt_timeline(log))["delivered"] == 2
    empty = DeliveryLog()
    fig = plots.attempt_timeline(empty)
    assert "no attempts" in [t.get_text() for t in fig.axes[0].texts]


def _spanning(seconds: float, deliveries: int = 3) -> pd.DataFrame:
    """Deliveries whose three attempts run at 0, a third of ``seconds`` and ``seconds``."""
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    rows = [
        {
            "delivery_id": f"d{d}",
            "attempt": a + 1,
            "scheduled_at": t0 + pd.Timedelta(seconds=off),
            "started_at": t0 + pd.Timedelta(seconds=off),
            "duration_ms": 5.0,
            "status_code": 200.0 if a == 2 else 503.0,
            "outcome": "delivered" if a == 2 else "http_error",
            "error": "",
            "response_excerpt": "",
        }
        for d in range(deliveries)
        for a, off in enumerate((0.0, seconds / 3, seconds))
    ]
    return load_attempts(pd.DataFrame(rows))


_UNIT_S = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}
_ROUND = {
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    604800,
}


@pytest.mark.parametrize(
    ("span", "unit"),
    [
        (0.4, "ms"),
        (100, "s"),
        (17 * 60, "min"),
        (5 * 3600, "h"),
        (3 * 86400, "h"),
        (40 * 86400, "d"),
    ],
)
def test_timeline_time_axis_ticks_at_round_durations(span: float, unit: str) -> None:
    fig = plots.attempt_timeline(_spanning(span))
    fig.canvas.draw()
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    ticks = [
        (t.get_position()[0], t.get_text())
        for t in ax.get_xticklabels()
        if low <= t.get_position()[0] <= high
    ]
    labels = [text for _, text in ticks]
    assert labels[0] == "0" and 4 <= len(labels) <= 9, labels
    seconds = [0.0]
    for text in labels[1:]:
        match = re.fullmatch(r"(\d+) (ms|s|min|h|d)", text)  # whole numbers: never "1.67 min"
        assert match, labels
        assert match[2] == unit, labels
        seconds.append(int(match[1]) * _UNIT_S[match[2]])
    # each label says where its tick is, and the ticks are one round step apart
    assert [round(x, 6) for x, _ in ticks] == [round(s, 6) for s in seconds]
    steps = {round(b - a, 6) for a, b in itertools.pairwise(seconds)}
    assert len(steps) == 1
    step = steps.pop()
    assert step in _ROUND or round(step * 1000) in {1, 2, 5, 10, 20, 50, 100, 200, 500}
    assert seconds[-1] + step > span  # the axis reaches the last attempt


def test_policy_log_axis_labels_are_round_durations() -> None:
    fig = plots.policy_comparison(RetryPolicy.guide())
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["0", "1 s", "10 s", "1 min", "5 min", "1 h", "24 h"]


def test_policy_comparison_takes_names_and_lists_of_waits() -> None:
    fig = plots.policy_comparison("guide", [10, 20])
    steps = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 1]
    assert [list(ln.get_xdata()) for ln in steps][1] == [0, 10, 30]
    assert len(steps[0].get_xdata()) == RetryPolicy.guide().attempts
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[0].startswith("guide: 6 attempts") and texts[1].startswith("custom: 3 attempts")
    with pytest.raises(WebhooksError, match="unknown retry policy"):
        plots.policy_comparison("hourly")


def test_charts_without_data_share_one_look() -> None:
    from svc_nb.webhooks import DeliveryLog

    empty = DeliveryLog()
    figures = {
        "attempt timeline": plots.attempt_timeline(empty),
        "status by attempt number": plots.status_by_attempt(empty),
        "attempt latency": plots.latency_distribution(empty),
    }
    for title, fig in figures.items():
        ax: Any = fig.axes[0]
        assert ax.get_title() == title and not ax.axison
        assert ax.title.get_fontsize() == plots._TITLE_SIZE
        assert len(ax.texts) == 1 and ax.texts[0].get_text().startswith("no ")


def test_timeline_refuses_a_row_limit_below_one() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        plots.attempt_timeline(_attempts(2), max_rows=0)
