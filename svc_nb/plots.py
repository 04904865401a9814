"""matplotlib charts: attempt timelines, status codes, latency, retry schedules, memory.

matplotlib is imported inside each function so that ``import svc_nb`` stays light.
Every function returns the Figure; in a notebook it shows. All charts share one
style (:func:`_figure` and :func:`_finish`) and read only public section APIs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._fmt import format_duration

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from svc_nb.cache import CacheMemory

__all__ = [
    "attempt_timeline",
    "attempt_volume",
    "latency_distribution",
    "memory_usage",
    "policy_comparison",
    "status_by_attempt",
]


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


_OUTCOME_COLOURS = {
    "delivered": "#1a7f37",
    "http_error": "#d1242f",
    "timeout": "#8250df",
    "connect_error": "#bc4c00",
    "tls_error": "#6e7781",
    "cancelled": "#afb8c1",
}
# Above this many deliveries the timeline bins rows, so 100 000 attempts stay fast.
TIMELINE_MAX_ROWS = 2000


_CHART_CLASS: list[type] = []


def _figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """A Figure outside pyplot's state (nothing leaks between cells) that still shows in notebooks."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not _CHART_CLASS:

        class ChartFigure(Figure):
            """A plain Figure that renders itself as PNG in Jupyter, whatever the backend."""

            def _repr_png_(self) -> bytes:
                import io

                buf = io.BytesIO()
                self.savefig(buf, format="png", bbox_inches="tight")
                return buf.getvalue()

        _CHART_CLASS.append(ChartFigure)
    fig: Figure = _CHART_CLASS[0](figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


# One look for every chart: title and legend sizes, a light grid on the value axis.
_TITLE_SIZE = 10
_LEGEND_SIZE = 8
_GRID_ALPHA = 0.3
_INK = "#24292f"
_GOOD, _BAD, _MUTED = "#1a7f37", "#d1242f", "#8c959f"
_PALETTE = ["#0969da", _BAD, _GOOD, "#8250df", "#bf8700", "#57606a"]


def _finish(ax: Any, *, title: str, grid: str = "x", legend: dict[str, Any] | None = None) -> None:
    """Apply the shared style to a finished axes."""
    ax.set_title(title, fontsize=_TITLE_SIZE)
    if grid:
        ax.grid(axis=grid, alpha=_GRID_ALPHA)
    if legend is not None and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=_LEGEND_SIZE, **legend)


def _axes(ax: Any, width: float, height: float) -> tuple[Figure, Any]:
    """The caller's axes, or a new one on a fresh Figure of the shared kind."""
    if ax is not None:
        return ax.figure, ax
    fig = _figure(width, height)
    return fig, fig.add_subplot()


def _attempt_frame(attempts: Any) -> pd.DataFrame:
    from svc_nb.webhooks import ATTEMPT_COLUMNS, load_attempts

    if hasattr(attempts, "attempts") and not hasattr(attempts, "columns"):
        attempts = attempts.attempts
    if all(c in getattr(attempts, "columns", ()) for c in ATTEMPT_COLUMNS):
        return attempts
    return load_attempts(attempts)


# Tick steps a person reads at a glance: 1, 2, 5, 10, 15, 30 of a unit (never "1.67 min").
_ROUND_STEPS: tuple[float, ...] = (
    *(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),  # milliseconds
    *(1, 2, 5, 10, 15, 30),  # seconds
    *(60, 120, 300, 600, 900, 1800),  # minutes
    *(3600, 7200, 10800, 21600, 43200),  # hours
    *(86400, 172800, 604800),  # days
)
_WEEK = 604800
# Unit of a step: (smallest step shown in it, divisor, unit).
_TICK_UNITS = (
    (86400, 86400, "d"),
    (3600, 3600, "h"),
    (60, 60, "min"),
    (1, 1, "s"),
    (0, 0.001, "ms"),
)
# The durations a log time axis marks.
_LOG_TICKS = (1, 10, 60, 300, 3600, 86400, _WEEK)


def _round_step(span: float, *, most: int = 8) -> float:
    """The smallest round step that puts at most ``most`` ticks over ``span`` seconds."""
    for step in _ROUND_STEPS:
        if span / step <= most:
            return float(step)
    return float(math.ceil(span / most / _WEEK) * _WEEK)


def _tick_label(seconds: float, step: float) -> str:
    """``seconds`` (a multiple of ``step``) in the unit of the step: '0', '15 s', '2 min'."""
    if abs(seconds) < step / 1000:
        return "0"
    for smallest, divisor, unit in _TICK_UNITS:
        if step >= smallest:
            return f"{seconds / divisor:g} {unit}"
    return f"{seconds:g} s"  # pragma: no cover - the last unit takes every step


def _human_axis(axis: Any, *, log: bool = False) -> None:
    """Time ticks at round durations, each labelled in the unit of its step."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MultipleLocator

    low, high = axis.get_view_interval()
    if log:
        # symlog: one tick per round duration that falls in view.
        ticks = [0.0, *(float(t) for t in _LOG_TICKS)]
        axis.set_major_locator(FixedLocator([t for t in ticks if low <= t <= high * 1.05]))
        axis.set_major_formatter(
            FuncFormatter(lambda v, _pos: "0" if v <= 0 else format_duration(v))
        )
        return
    step = _round_step(max(high - max(low, 0.0), 1e-9))
    axis.set_major_locator(MultipleLocator(step))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _tick_label(v, step)))


def _nothing_to_draw(fig: Figure, ax: Any, message: str, *, title: str) -> Figure:
    """The shared look of a chart without data: the reason in the middle, no axes."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, transform=ax.transAxes)
    _finish(ax, title=title, grid="")
    return fig


class _Points(NamedTuple):
    """What the timeline draws: markers (x, row, outcome, size) and retry-gap segments."""

    x: Any
    row: Any
    outcome: Any
    size: Any
    gap_x0: Any
    gap_x1: Any
    gap_row: Any


def _timeline_rows(df: pd.DataFrame, col: str) -> tuple[Any, Any, Any]:
    """Seconds since the first attempt, the row of each attempt (deliveries in order of
    their first attempt) and the delivery ids in row order."""
    import numpy as np
    import pandas as pd

    t = df[col]
    x = (t - t.min()).dt.total_seconds().to_numpy(dtype=float)
    codes, uniques = pd.factorize(df["delivery_id"])
    first = np.full(len(uniques), np.inf)
    np.minimum.at(first, codes, x)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniques))
    return x, rank[codes], uniques[np.argsort(rank)]


def _each_attempt(x: Any, row: Any, attempt: Any, outcome: Any, deliveries: int) -> _Points:
    import numpy as np

    order = np.lexsort((attempt, row))
    oy, ox = row[order], x[order]
    nxt = oy[1:] == oy[:-1]
    size = np.full(len(x), 36.0 if deliveries <= 50 else 12.0)
    return _Points(x, row, outcome, size, ox[:-1][nxt], ox[1:][nxt], oy[:-1][nxt])


def _binned(x: Any, row: Any, attempt: Any, outcome: Any) -> _Points:
    """Rows already divided into bins: equal points merged (marker area = how many)."""
    import numpy as np
    import pandas as pd

    pts = pd.DataFrame({"y": row, "a": attempt, "o": outcome, "x": x})
    merged = (
        pts.groupby(["y", "a", "o"], sort=False).agg(x=("x", "mean"), n=("x", "size")).reset_index()
    )
    line = pts.groupby(["y", "a"]).agg(x=("x", "mean")).reset_index()
    ly, la, lx = line["y"].to_numpy(), line["a"].to_numpy(), line["x"].to_numpy()
    nxt = (ly[1:] == ly[:-1]) & (la[1:] == la[:-1] + 1)
    return _Points(
        merged["x"].to_numpy(),
        merged["y"].to_numpy(),
        merged["o"].to_numpy(),
        6 + 4 * np.sqrt(merged["n"].to_numpy()),
        lx[:-1][nxt],
        lx[1:][nxt],
        ly[:-1][nxt],
    )


def _draw_timeline(ax: Any, points: _Points) -> None:
    import numpy as np
    from matplotlib.collections import LineCollection

    # All retry gaps in ONE path, segments separated by NaN rows: a LineCollection of
    # thousands of separate paths costs ~100 µs per path to build.
    count = len(points.gap_row)
    gaps = np.full((count * 3, 2), np.nan)
    gaps[0::3, 0], gaps[0::3, 1] = points.gap_x0, points.gap_row
    gaps[1::3, 0], gaps[1::3, 1] = points.gap_x1, points.gap_row
    gap_lines = LineCollection(
        [gaps[:-1]] if count else [], colors=_MUTED, linewidths=1.0, zorder=1, label="retry wait"
    )
    gap_lines.gap_count = count  # type: ignore[attr-defined]
    ax.add_collection(gap_lines, autolim=False)
    outcomes = points.outcome
    known = [o for o in _OUTCOME_COLOURS if (outcomes == o).any()]
    for name in known + sorted(set(outcomes) - set(_OUTCOME_COLOURS)):
        mask = outcomes == name
        ax.scatter(
            points.x[mask],
            points.row[mask],
            s=points.size[mask],
            c=_OUTCOME_COLOURS.get(name, "#57606a"),
            label=name,
            zorder=2,
            edgecolors="none",
        )


def attempt_timeline(
    attempts: Any, *, time: str = "nominal", ax: Any = None, max_rows: int = TIMELINE_MAX_ROWS
) -> Figure:
    """One row per delivery, a marker per attempt coloured by outcome, retry gaps as lines.

    ``time="nominal"`` places attempts on the policy's schedule (what a real
    deployment would see), ``"actual"`` on when they really ran. Drawn with one
    scatter per outcome and one LineCollection; above ``max_rows`` deliveries the
    rows are binned and equal points merged (marker area = how many). The time
    axis ticks at round durations (15 s, 5 min, 1 h...).
    """
    import numpy as np

    if time not in ("nominal", "actual"):
        raise ArgumentValueError(
            'time must be "nominal" (the policy schedule) or "actual" (when attempts ran)'
        )
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise ArgumentValueError(f"max_rows must be a whole number >= 1, got {max_rows!r}")
    df = _attempt_frame(attempts)
    if ax is None:
        # Fixed margins: constrained layout measures every tick label again on each
        # draw, which costs as much as the points themselves at 100 000 attempts.
        fig = _figure(9, 4.5, layout=None)
        fig.subplots_adjust(left=0.12, right=0.98, bottom=0.12, top=0.92)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    if df.empty:
        return _nothing_to_draw(fig, ax, "no attempts", title="attempt timeline")
    x, row, deliveries = _timeline_rows(df, "scheduled_at" if time == "nominal" else "started_at")
    attempt, outcome = df["attempt"].to_numpy(), df["outcome"].to_numpy()
    n = len(deliveries)
    per_row = int(np.ceil(n / max_rows))
    binned = per_row > 1
    if binned:
        points = _binned(x, row // per_row, attempt, outcome)
    else:
        points = _each_attempt(x, row, attempt, outcome, n)
    _draw_timeline(ax, points)
    ax.set_ylim(int(points.row.max()) + 0.5, -0.5)
    span = max(float(points.x.max()), 1e-3)
    ax.set_xlim(-0.02 * span, span * 1.05)
    _human_axis(ax.xaxis)
    if not binned and n <= 30:
        labels = [str(d) for d in deliveries]
        ax.set_yticks(range(n))
        ax.set_yticklabels(
            [lab if len(lab) <= 14 else lab[:12] + "…" for lab in labels], fontsize=8
        )
    else:
        ax.set_ylabel(f"deliveries ({n}" + (f", {per_row} per row" if binned else "") + ")")
    ax.set_xlabel(f"time since first attempt ({time})")
    title = f"{_plural(n, 'delivery', 'deliveries')}, {_plural(len(df), 'attempt')}"
    _finish(ax, title=title, legend={"loc": "upper right", "markerscale": 0.8})
    return fig


def _status_colour(label: str) -> str:
    if label.isdigit():
        return {"2": "#1a7f37", "3": "#0969da", "4": "#bf8700", "5": "#d1242f"}.get(
            label[0], "#57606a"
        )
    return _OUTCOME_COLOURS.get(label, "#57606a")


def status_by_attempt(attempts: Any, *, ax: Any = None) -> Figure:
    """Stacked bars: for each attempt number, how many got each status code (or network outcome).

    ``attempts`` is an attempt log (anything :func:`~svc_nb.webhooks.load_attempts`
    reads) or an :class:`~svc_nb.webhooks.AttemptSummary`, computed in the database.
    """
    import numpy as np
    import pandas as pd

    from svc_nb import _summary_plots

    if _summary_plots.is_summary(attempts):
        return _summary_plots.status_from(attempts, ax)
    df = _attempt_frame(attempts)
    fig, ax = _axes(ax, 7, 4)
    if df.empty:
        return _nothing_to_draw(fig, ax, "no attempts", title="status by attempt number")
    code = df["status_code"].astype("float64")
    label = code.map(lambda c: "" if c != c else str(int(c)))
    label = label.where(label != "", df["outcome"])
    table = pd.crosstab(df["attempt"], label)
    xs = table.index.to_numpy()
    bottom = np.zeros(len(xs))
    for name in sorted(table.columns, key=lambda s: (not s.isdigit(), s)):
        values = table[name].to_numpy()
        ax.bar(xs, values, bottom=bottom, label=name, color=_status_colour(name), width=0.7)
        bottom += values
    ax.set_xticks(xs)
    ax.set_xlabel("attempt")
    ax.set_ylabel("attempts")
    _finish(
        ax,
        title="status by attempt number",
        grid="y",
        legend={"title": "status", "title_fontsize": _LEGEND_SIZE},
    )
    return fig


def latency_distribution(attempts: Any, *, ax: Any = None, bins: int = 40) -> Figure:
    """Histogram of attempt durations (log scale) per outcome, with the median and p95 marked.

    From an :class:`~svc_nb.webhooks.AttemptSummary` the bins are the summary's
    (20 per decade) and ``bins`` is not used.
    """
    import numpy as np

    from svc_nb import _summary_plots

    if _summary_plots.is_summary(attempts):
        return _summary_plots.latency_from(attempts, ax)
    df = _attempt_frame(attempts)
    fig, ax = _axes(ax, 7, 4)
    d = df[df["duration_ms"].notna() & (df["duration_ms"] > 0)]
    if d.empty:
        return _nothing_to_draw(fig, ax, "no timed attempts", title="attempt latency")
    ms = d["duration_ms"].to_numpy(dtype=float)
    lo, hi = ms.min(), ms.max()
    edges = np.geomspace(lo * 0.9, hi * 1.1 if hi > lo else lo * 1.2, bins + 1)
    names = [o for o in _OUTCOME_COLOURS if (d["outcome"] == o).any()]
    data = [d.loc[d["outcome"] == o, "duration_ms"].to_numpy(dtype=float) for o in names]
    ax.hist(data, bins=edges, stacked=True, label=names, color=[_OUTCOME_COLOURS[o] for o in names])
    p50, p95 = np.percentile(ms, [50, 95])
    ax.axvline(p50, color=_INK, linestyle="--", linewidth=1, label=f"p50 {p50:.1f} ms")
    ax.axvline(p95, color=_INK, linestyle=":", linewidth=1, label=f"p95 {p95:.1f} ms")
    ax.set_xscale("log")
    ax.set_xlabel("attempt duration (ms)")
    ax.set_ylabel("attempts")
    _finish(ax, title=f"latency of {len(ms)} attempts", grid="y", legend={})
    return fig


def attempt_volume(attempts: Any, *, bucket: Any = None, ax: Any = None) -> Figure:
    """Attempts per time bucket, stacked by outcome, and the deliveries each bucket started.

    ``attempts`` is an :class:`~svc_nb.webhooks.AttemptSummary` (its buckets are
    used; compute it in the database with ``summarize_attempts``) or an attempt
    log, summarised here with ``bucket`` (seconds, timedelta or "5min"; None
    picks one).
    """
    from svc_nb import _summary_plots
    from svc_nb.webhooks import summarize_attempts

    summary = attempts if _summary_plots.is_summary(attempts) else None
    if summary is None:
        if hasattr(attempts, "attempts") and not hasattr(attempts, "columns"):
            attempts = attempts.attempts
        summary = summarize_attempts(attempts, bucket=bucket)
    return _summary_plots.volume_from(summary, ax)


def policy_comparison(*policies: Any, ax: Any = None) -> Figure:
    """Cumulative time to each attempt for several retry policies, with each one's give-up point.

    With no arguments, compares svc-infra's real policy with the guide's,
    Standard Webhooks' and Svix's.
    """
    import numpy as np

    from svc_nb.webhooks import RetryPolicy

    pols = [RetryPolicy.of(p) for p in policies] or [
        RetryPolicy.svc_infra(),
        RetryPolicy.guide(),
        RetryPolicy.standard_webhooks(),
    ]
    fig, ax = _axes(ax, 8, 4)
    for i, pol in enumerate(pols):
        colour = _PALETTE[i % len(_PALETTE)]
        offsets = np.asarray(pol.offsets())
        attempts = np.arange(1, len(offsets) + 1)
        ax.plot(
            offsets,
            attempts,
            drawstyle="steps-post",
            marker="o",
            color=colour,
            label=f"{pol.name}: {pol.attempts} attempts, "
            f"gives up after {format_duration(pol.give_up_after())}",
        )
        ax.plot(
            [pol.give_up_after()],
            [pol.attempts],
            marker="X",
            markersize=11,
            color=colour,
            linestyle="none",
        )
    ax.set_xscale("symlog", linthresh=1.0)
    _human_axis(ax.xaxis, log=True)
    ax.set_xlabel("time since the first attempt (X = gives up)")
    ax.set_ylabel("attempt")
    _finish(
        ax,
        title="retry policies: cumulative time to each attempt",
        grid="both",
        legend={"loc": "lower right"},
    )
    return fig


def _memory_inputs(frame: CacheMemory | pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The figures table and what was read beside it (error, policy, fragmentation)."""
    from svc_nb import cache

    if isinstance(frame, cache.CacheMemory):  # memory()'s result
        return frame.frame, {
            "error": frame.error or "empty frame",
            "maxmemory_policy": frame.maxmemory_policy,
            "mem_fragmentation_ratio": frame.mem_fragmentation_ratio,
        }
    if not hasattr(frame, "columns") or not {"label", "bytes"} <= set(frame.columns):
        raise ArgumentTypeError(
            "memory_usage() takes the result of svc_nb.cache.memory(url) "
            "(or its DataFrame: columns label and bytes)"
        )
    return frame, dict(getattr(frame, "attrs", {}) or {})


def _bytes_of(frame: pd.DataFrame, label: str) -> int:
    rows = frame.loc[frame["label"] == label, "bytes"]
    return int(rows.iloc[0]) if len(rows) else 0


def memory_usage(frame: CacheMemory | pd.DataFrame, *, ax: Any = None) -> Figure:
    """Bar chart of Redis memory figures from :func:`svc_nb.cache.memory`, with maxmemory marked.

    Bars: used, dataset, overhead, peak and RSS; a vertical line at maxmemory
    (red when used memory is within 10 % of it). An empty frame (Redis not
    reachable) draws the reason instead of bars.
    """
    from svc_nb import cache

    frame, attrs = _memory_inputs(frame)
    fig, ax = _axes(ax, 7.5, 3.2)
    if frame.empty:
        reason = f"no memory figures:\n{attrs.get('error', 'empty frame')}"
        return _nothing_to_draw(fig, ax, reason, title="Redis memory")
    mib = 1024 * 1024
    bars = frame[frame["label"] != "maxmemory"]
    limit, used = _bytes_of(frame, "maxmemory"), _bytes_of(frame, "used")
    values = [int(v) / mib for v in bars["bytes"]]
    colours = [
        _PALETTE[0] if label in ("used", "dataset", "overhead") else _MUTED
        for label in bars["label"]
    ]
    ax.barh(list(bars["label"]), values, color=colours)
    ax.invert_yaxis()
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.1f} MiB", va="center", fontsize=_LEGEND_SIZE)
    if limit:
        near = used >= cache.NEAR_LIMIT * limit
        ax.axvline(
            limit / mib,
            color=_BAD if near else _GOOD,
            linestyle="--",
            label=f"maxmemory {limit / mib:.1f} MiB ({attrs.get('maxmemory_policy', '?')})",
        )
    ratio = attrs.get("mem_fragmentation_ratio")
    title = "Redis memory" + (f" — fragmentation ratio {ratio:.2f}" if ratio else "")
    if not limit:
        title += " — no maxmemory limit"
    ax.set_xlabel("MiB")
    ax.set_xlim(0, max([*values, limit / mib]) * 1.25 or 1)
    _finish(ax, title=title, legend={"loc": "upper right"})
    return fig
