"""matplotlib charts: attempt timelines, status codes, latency, retry schedules, memory.

matplotlib is imported inside each function so that ``import svc_nb`` stays light.
Every function returns the Figure; in a notebook it shows.
"""

from __future__ import annotations

__all__: list[str] = []

# --- webhook charts (issue 10) -------------------------------------------------


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


__all__ += [
    "attempt_timeline",
    "latency_distribution",
    "policy_comparison",
    "status_by_attempt",
]

from typing import TYPE_CHECKING as _TC10  # noqa: E402  (kept inside this section's block)
from typing import Any as _Any10  # noqa: E402

if _TC10:
    import pandas as _pd10
    from matplotlib.figure import Figure as _Figure10

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


def _figure(width: float, height: float, *, layout: str | None = "constrained") -> _Figure10:
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
    fig: _Figure10 = _CHART_CLASS[0](figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _attempt_frame(attempts: _Any10) -> _pd10.DataFrame:
    from svc_nb.webhooks._attempts import ATTEMPT_COLUMNS, load_attempts

    if hasattr(attempts, "attempts") and not hasattr(attempts, "columns"):
        attempts = attempts.attempts
    if all(c in getattr(attempts, "columns", ()) for c in ATTEMPT_COLUMNS):
        return attempts
    return load_attempts(attempts)


def _human_axis(axis: _Any10) -> None:
    from matplotlib.ticker import FuncFormatter

    from svc_nb.webhooks._policy import format_seconds

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: "0" if v <= 0 else format_seconds(v)))


def attempt_timeline(
    attempts: _Any10, *, time: str = "nominal", ax: _Any10 = None, max_rows: int = TIMELINE_MAX_ROWS
) -> _Figure10:
    """One row per delivery, a marker per attempt coloured by outcome, retry gaps as lines.

    ``time="nominal"`` places attempts on the policy's schedule (what a real
    deployment would see), ``"actual"`` on when they really ran. Drawn with one
    scatter per outcome and one LineCollection; above ``max_rows`` deliveries the
    rows are binned and equal points merged (marker area = how many).
    """
    import numpy as np
    import pandas as pd
    from matplotlib.collections import LineCollection

    if time not in ("nominal", "actual"):
        raise ValueError('time must be "nominal" (the policy schedule) or "actual" (when attempts ran)')
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
        ax.text(0.5, 0.5, "no attempts", ha="center", va="center", transform=ax.transAxes)
        return fig
    col = "scheduled_at" if time == "nominal" else "started_at"
    t = df[col]
    x = (t - t.min()).dt.total_seconds().to_numpy(dtype=float)
    codes, uniques = pd.factorize(df["delivery_id"])
    n = len(uniques)
    first = np.full(n, np.inf)
    np.minimum.at(first, codes, x)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(n)
    y = rank[codes]
    attempt = df["attempt"].to_numpy()
    outcome = df["outcome"].to_numpy()
    binned = n > max_rows
    if binned:
        per_row = int(np.ceil(n / max_rows))
        y = y // per_row
        pts = pd.DataFrame({"y": y, "a": attempt, "o": outcome, "x": x})
        g = pts.groupby(["y", "a", "o"], sort=False).agg(x=("x", "mean"), n=("x", "size")).reset_index()
        py, po, px, pn = g["y"].to_numpy(), g["o"].to_numpy(), g["x"].to_numpy(), g["n"].to_numpy()
        sizes = 6 + 4 * np.sqrt(pn)
        line = pts.groupby(["y", "a"]).agg(x=("x", "mean")).reset_index()
        ly, la, lx = line["y"].to_numpy(), line["a"].to_numpy(), line["x"].to_numpy()
        nxt = (ly[1:] == ly[:-1]) & (la[1:] == la[:-1] + 1)
        seg_x0, seg_x1, seg_y = lx[:-1][nxt], lx[1:][nxt], ly[:-1][nxt]
    else:
        py, po, px = y, outcome, x
        sizes = np.full(len(px), 36.0 if n <= 50 else 12.0)
        order = np.lexsort((attempt, y))
        oy, ox = y[order], x[order]
        nxt = oy[1:] == oy[:-1]
        seg_x0, seg_x1, seg_y = ox[:-1][nxt], ox[1:][nxt], oy[:-1][nxt]
    # All retry gaps in ONE path, segments separated by NaN rows: a LineCollection of
    # thousands of separate paths costs ~100 µs per path to build.
    gaps = np.full((len(seg_y) * 3, 2), np.nan)
    gaps[0::3, 0], gaps[0::3, 1] = seg_x0, seg_y
    gaps[1::3, 0], gaps[1::3, 1] = seg_x1, seg_y
    gap_lines = LineCollection([gaps[:-1]] if len(seg_y) else [], colors="#8c959f",
                               linewidths=1.0, zorder=1, label="retry wait")
    gap_lines.gap_count = len(seg_y)  # type: ignore[attr-defined]
    ax.add_collection(gap_lines, autolim=False)
    for name in [o for o in _OUTCOME_COLOURS if (po == o).any()] + sorted(
        set(po) - set(_OUTCOME_COLOURS)
    ):
        mask = po == name
        ax.scatter(px[mask], py[mask], s=sizes[mask], c=_OUTCOME_COLOURS.get(name, "#57606a"),
                   label=name, zorder=2, edgecolors="none")
    rows = int(py.max()) + 1
    ax.set_ylim(rows - 0.5, -0.5)
    span = float(px.max()) if len(px) else 1.0
    ax.set_xlim(-0.02 * max(span, 1e-3), max(span, 1e-3) * 1.05)
    _human_axis(ax.xaxis)
    if not binned and n <= 30:
        ax.set_yticks(range(n))
        labels = [str(d) for d in uniques[np.argsort(rank)]]
        ax.set_yticklabels([lab if len(lab) <= 14 else lab[:12] + "…" for lab in labels], fontsize=8)
    else:
        ax.set_ylabel(f"deliveries ({n}" + (f", {per_row} per row" if binned else "") + ")")
    ax.set_xlabel(f"time since first attempt ({time})")
    ax.set_title(f"{_plural(n, 'delivery', 'deliveries')}, {_plural(len(df), 'attempt')}")
    ax.legend(loc="upper right", fontsize=8, markerscale=0.8)
    ax.grid(axis="x", alpha=0.3)
    return fig


def _status_label(code: _Any10, outcome: str) -> str:
    return outcome if code is None or code != code else str(int(code))


def _status_colour(label: str) -> str:
    if label.isdigit():
        return {"2": "#1a7f37", "3": "#0969da", "4": "#bf8700", "5": "#d1242f"}.get(label[0], "#57606a")
    return _OUTCOME_COLOURS.get(label, "#57606a")


def status_by_attempt(attempts: _Any10, *, ax: _Any10 = None) -> _Figure10:
    """Stacked bars: for each attempt number, how many got each status code (or network outcome)."""
    import numpy as np
    import pandas as pd

    df = _attempt_frame(attempts)
    fig = ax.figure if ax is not None else _figure(7, 4)
    ax = ax if ax is not None else fig.add_subplot()
    if df.empty:
        ax.text(0.5, 0.5, "no attempts", ha="center", va="center", transform=ax.transAxes)
        return fig
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
    ax.set_title("status by attempt number")
    ax.legend(fontsize=8, title="status", title_fontsize=8)
    return fig


def latency_distribution(attempts: _Any10, *, ax: _Any10 = None, bins: int = 40) -> _Figure10:
    """Histogram of attempt durations (log scale) per outcome, with the median and p95 marked."""
    import numpy as np

    df = _attempt_frame(attempts)
    fig = ax.figure if ax is not None else _figure(7, 4)
    ax = ax if ax is not None else fig.add_subplot()
    d = df[df["duration_ms"].notna() & (df["duration_ms"] > 0)]
    if d.empty:
        ax.text(0.5, 0.5, "no timed attempts", ha="center", va="center", transform=ax.transAxes)
        return fig
    ms = d["duration_ms"].to_numpy(dtype=float)
    lo, hi = ms.min(), ms.max()
    edges = np.geomspace(lo * 0.9, hi * 1.1 if hi > lo else lo * 1.2, bins + 1)
    names = [o for o in _OUTCOME_COLOURS if (d["outcome"] == o).any()]
    data = [d.loc[d["outcome"] == o, "duration_ms"].to_numpy(dtype=float) for o in names]
    ax.hist(data, bins=edges, stacked=True, label=names, color=[_OUTCOME_COLOURS[o] for o in names])
    p50, p95 = np.percentile(ms, [50, 95])
    ax.axvline(p50, color="#24292f", linestyle="--", linewidth=1, label=f"p50 {p50:.1f} ms")
    ax.axvline(p95, color="#24292f", linestyle=":", linewidth=1, label=f"p95 {p95:.1f} ms")
    ax.set_xscale("log")
    ax.set_xlabel("attempt duration (ms)")
    ax.set_ylabel("attempts")
    ax.set_title(f"latency of {len(ms)} attempts")
    ax.legend(fontsize=8)
    return fig


def policy_comparison(*policies: _Any10, ax: _Any10 = None) -> _Figure10:
    """Cumulative time to each attempt for several retry policies, with each one's give-up point.

    With no arguments, compares svc-infra's real policy with the guide's,
    Standard Webhooks' and Svix's.
    """
    import numpy as np

    from svc_nb.webhooks._policy import RetryPolicy, as_policy, format_seconds

    pols = [as_policy(p) for p in policies] or [
        RetryPolicy.svc_infra(), RetryPolicy.guide(), RetryPolicy.standard_webhooks()
    ]
    fig = ax.figure if ax is not None else _figure(8, 4)
    ax = ax if ax is not None else fig.add_subplot()
    palette = ["#0969da", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#57606a"]
    for i, pol in enumerate(pols):
        colour = palette[i % len(palette)]
        offsets = np.asarray(pol.offsets())
        attempts = np.arange(1, len(offsets) + 1)
        ax.plot(offsets, attempts, drawstyle="steps-post", marker="o", color=colour,
                label=f"{pol.name}: {pol.attempts} attempts, gives up after {format_seconds(pol.give_up_after())}")
        ax.plot([pol.give_up_after()], [pol.attempts], marker="X", markersize=11, color=colour,
                linestyle="none")
    ax.set_xscale("symlog", linthresh=1.0)
    _human_axis(ax.xaxis)
    ax.set_xlabel("time since the first attempt (X = gives up)")
    ax.set_ylabel("attempt")
    ax.set_title("retry policies: cumulative time to each attempt")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


# --- end webhook charts --------------------------------------------------------

# --- cache memory chart (issue 6) ----------------------------------------------

__all__ += ["memory_usage"]

from typing import TYPE_CHECKING, Any  # noqa: E402  (kept inside this section's block)

if TYPE_CHECKING:
    import pandas as _pd
    from matplotlib.figure import Figure as _Figure


def memory_usage(frame: _pd.DataFrame, *, ax: Any = None) -> _Figure:
    """Bar chart of Redis memory figures from :func:`svc_nb.cache.memory`, with maxmemory marked.

    Bars: used, dataset, overhead, peak and RSS; a vertical line at maxmemory
    (red when used memory is within 10 % of it). An empty frame (Redis not
    reachable) draws the reason instead of bars.
    """
    import matplotlib.pyplot as plt

    required = {"label", "bytes"}
    if not hasattr(frame, "columns") or not required <= set(frame.columns):
        raise TypeError(
            "memory_usage() takes the DataFrame from svc_nb.cache.memory(url) "
            "(columns label and bytes)"
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 3.2))
        plt.close(fig)  # shown once, by the notebook's display of the returned Figure
    else:
        fig = ax.figure
    attrs = dict(getattr(frame, "attrs", {}) or {})
    if frame.empty:
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"no memory figures:\n{attrs.get('error', 'empty frame')}",
                ha="center", va="center", wrap=True, fontsize=10)
        return fig
    mib = 1024 * 1024
    bars = frame[frame["label"] != "maxmemory"]
    limit_rows = frame.loc[frame["label"] == "maxmemory", "bytes"]
    limit = int(limit_rows.iloc[0]) if len(limit_rows) else 0
    used_rows = frame.loc[frame["label"] == "used", "bytes"]
    used = int(used_rows.iloc[0]) if len(used_rows) else 0
    values = [int(v) / mib for v in bars["bytes"]]
    colours = ["#1f6feb" if label in ("used", "dataset", "overhead") else "#8c959f" for label in bars["label"]]
    ax.barh(list(bars["label"]), values, color=colours)
    ax.invert_yaxis()
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.1f} MiB", va="center", fontsize=8)
    if limit:
        near = used >= 0.9 * limit
        ax.axvline(limit / mib, color="#cf222e" if near else "#1a7f37", linestyle="--",
                   label=f"maxmemory {limit / mib:.1f} MiB ({attrs.get('maxmemory_policy', '?')})")
        ax.legend(loc="upper right", fontsize=8)
    ratio = attrs.get("mem_fragmentation_ratio")
    title = "Redis memory" + (f" — fragmentation ratio {ratio:.2f}" if ratio else "")
    if not limit:
        title += " — no maxmemory limit"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("MiB")
    ax.set_xlim(0, max([*values, limit / mib]) * 1.25 or 1)
    fig.tight_layout()
    return fig


# --- end cache memory chart ----------------------------------------------------
