"""The charts of :mod:`svc_nb.plots` drawn from an :class:`~svc_nb.webhooks.AttemptSummary`.

Aggregates only: a summary of ten million attempts draws as fast as one of
ten. Same look, colours and titles as the charts drawn from attempt rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from svc_nb import plots

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from svc_nb.webhooks import AttemptSummary

__all__ = ["is_summary", "latency_from", "status_from", "volume_from"]


def is_summary(value: Any) -> bool:
    from svc_nb.webhooks import AttemptSummary

    return isinstance(value, AttemptSummary)


def status_from(summary: AttemptSummary, ax: Any) -> Figure:
    """Stacked bars per attempt number: its status code, or the outcome when there is none."""
    import numpy as np

    title = "status by attempt number"
    fig, ax = plots._axes(ax, 7, 4)
    rows = summary.by_attempt
    if rows.empty:
        return plots._nothing_to_draw(fig, ax, "no attempts", title=title)
    code = rows["status_code"]
    label = code.astype("string").fillna(rows["outcome"]).astype(str)
    table = rows.assign(label=label).pivot_table(
        index="attempt", columns="label", values="attempts", aggfunc="sum", fill_value=0
    )
    xs = table.index.to_numpy()
    bottom = np.zeros(len(xs))
    for name in sorted(table.columns, key=lambda s: (not s.isdigit(), s)):
        values = table[name].to_numpy(dtype=float)
        ax.bar(xs, values, bottom=bottom, label=name, color=plots._status_colour(name), width=0.7)
        bottom += values
    ax.set_xticks(xs)
    ax.set_xlabel("attempt")
    ax.set_ylabel("attempts")
    legend = {"title": "status", "title_fontsize": plots._LEGEND_SIZE}
    plots._finish(ax, title=title, grid="y", legend=legend)
    return fig


def latency_from(summary: AttemptSummary, ax: Any) -> Figure:
    """The latency histogram per outcome (log bins), with p50 and p95 when there is one group."""
    import numpy as np

    fig, ax = plots._axes(ax, 7, 4)
    bins = summary.latency_histogram
    if bins.empty:
        return plots._nothing_to_draw(fig, ax, "no timed attempts", title="attempt latency")
    table = bins.pivot_table(
        index=["low_ms", "high_ms"], columns="outcome", values="attempts", aggfunc="sum"
    ).fillna(0)
    low = table.index.get_level_values("low_ms").to_numpy()
    high = table.index.get_level_values("high_ms").to_numpy()
    bottom = np.zeros(len(low))
    for name in [o for o in plots._OUTCOME_COLOURS if o in table.columns]:
        values = table[name].to_numpy(dtype=float)
        ax.bar(
            low,
            values,
            width=high - low,
            bottom=bottom,
            align="edge",
            label=name,
            color=plots._OUTCOME_COLOURS[name],
        )
        bottom += values
    totals = summary.totals
    if len(totals) == 1:
        for column, style in (("p50_ms", "--"), ("p95_ms", ":")):
            value = totals[column].iloc[0]
            if value == value:  # NaN when the database has no percentile_cont
                label = f"{column[:3]} {value:.1f} ms"
                ax.axvline(value, color=plots._INK, linestyle=style, linewidth=1, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("attempt duration (ms)")
    ax.set_ylabel("attempts")
    timed = int(bins["attempts"].sum())
    plots._finish(ax, title=f"latency of {timed} attempts", grid="y", legend={})
    return fig


def volume_from(summary: AttemptSummary, ax: Any) -> Figure:
    """Attempts per time bucket, stacked by outcome, with the deliveries each bucket started."""
    import numpy as np

    from svc_nb._fmt import format_duration

    fig, ax = plots._axes(ax, 9, 4)
    title = "attempts over time"
    rows = summary.timeline
    if rows.empty:
        return plots._nothing_to_draw(fig, ax, "no attempts", title=title)
    table = rows.pivot_table(
        index="bucket_start", columns="outcome", values="attempts", aggfunc="sum"
    ).fillna(0)
    started = rows.groupby("bucket_start")["first_attempts"].sum().reindex(table.index)
    xs = list(table.index.to_series().dt.to_pydatetime())
    width = summary.bucket_s / 86400  # matplotlib dates count days
    bottom = np.zeros(len(xs))
    for name in [o for o in plots._OUTCOME_COLOURS if o in table.columns]:
        values = table[name].to_numpy(dtype=float)
        ax.bar(
            xs,
            values,
            width=width,
            bottom=bottom,
            align="edge",
            label=name,
            color=plots._OUTCOME_COLOURS[name],
        )
        bottom += values
    from matplotlib.dates import date2num

    edges = date2num([*xs, xs[-1] + timedelta(seconds=summary.bucket_s)])
    ax.stairs(
        started.to_numpy(dtype=float),
        edges,
        color=plots._INK,
        linewidth=1,
        baseline=None,
        label="deliveries started",
    )
    ax.set_ylabel(f"attempts per {format_duration(summary.bucket_s)}")
    fig.autofmt_xdate()
    plots._finish(ax, title=title, grid="y", legend={})
    return fig
