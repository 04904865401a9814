"""Exact latency percentiles without sorting the table: the histogram narrows, one pass finishes.

``percentile_cont`` sorts every timed attempt; at ten million rows that sort
is most of a summary's time. The counts query already returns the latency
histogram (``floor(ln(ms) * BINS_PER_E)`` per group), so the rank each
percentile needs, ``q * (n - 1)`` and the one after it, falls in a known bin
at a known offset. One more statement numbers only the rows of those few bins
(``row_number()`` per group and bin) and returns the ranked values; the
interpolation is percentile_cont's own, so the figures are the same to the
last bit.

When the histogram cannot account for every timed row (NaN durations, or rows
that changed between statements in a caller's READ COMMITTED transaction), or
when many ``by`` groups would make that statement return more than a few
thousand rows, the caller falls back to ``percentile_cont``: this path is an
optimisation, never a second opinion.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from svc_nb.webhooks._summary_sql import BINS_PER_E, PERCENTILES, Columns, latency_bin

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ranked_percentiles"]

# Durations <= 0 have no logarithmic bin; they rank first, in a bin of their own.
_NON_POSITIVE = -1.0e300
# A bin's bounds, widened so float rounding can only add rows the exact test then drops.
_SLACK = 1e-9

# The ranked statement filters the wanted bins and offsets as two lists, not per group (a
# group key of any type would have to be bound as a parameter), so each group returns its
# rows at *every* wanted offset of the wanted bins: few for a few groups, most of the table
# for thousands. Above this many rows, percentile_cont's sort is the cheaper answer.
_MOST_ROWS = 20_000

Key = tuple[Any, ...]


def _key(row: Any, keys: list[str]) -> Key:
    """A group's key; a NULL group is None whichever form (None, NaN) pandas gave it."""
    return tuple(None if _missing(v := getattr(row, k)) else v for k in keys)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass
class _Group:
    """One ``by`` group's timed rows as bins in rank order, with running counts."""

    bins: list[float]
    ends: list[int]  # rows up to and including each bin

    def locate(self, rank: int) -> tuple[float, int]:
        """(bin, offset in the bin) of the row at 0-based ``rank``."""
        at = bisect.bisect_right(self.ends, rank)
        before = self.ends[at - 1] if at else 0
        return self.bins[at], rank - before


def _ranks(timed: int) -> set[int]:
    """The 0-based ranks percentile_cont reads: floor and ceil of q * (n - 1), per percentile."""
    return {f(q * (timed - 1)) for q in PERCENTILES for f in (math.floor, math.ceil)}


def _groups(
    totals: pd.DataFrame, histogram: pd.DataFrame, keys: list[str]
) -> dict[Key, _Group] | None:
    """Each group's bins, or None when the histogram does not add up to the timed rows."""
    per_bin: dict[Key, dict[float, int]] = {}
    rows: Any = histogram.itertuples(index=False)
    for row in rows:
        key = _key(row, keys)
        per_bin.setdefault(key, {})[float(row.latency_bin)] = int(row.attempts)
    groups: dict[Key, _Group] = {}
    group_rows: Any = totals.itertuples(index=False)
    for row in group_rows:
        key = _key(row, keys)
        bins = per_bin.get(key, {})
        non_positive = int(row.non_positive or 0)
        if any(math.isnan(b) for b in bins) or non_positive + sum(bins.values()) != int(row.timed):
            return None
        ordered = ([(_NON_POSITIVE, non_positive)] if non_positive else []) + sorted(bins.items())
        ends, running = [], 0
        for _, count in ordered:
            running += count
            ends.append(running)
        groups[key] = _Group([b for b, _ in ordered], ends)
    return groups


def _wanted(groups: dict[Key, _Group], timed: dict[Key, int]) -> dict[Key, set[tuple[float, int]]]:
    wanted: dict[Key, set[tuple[float, int]]] = {}
    for key, group in groups.items():
        if timed[key]:
            wanted[key] = {group.locate(r) for r in _ranks(timed[key])}
    return wanted


def _rows_back(groups: dict[Key, _Group], bins: set[float], offsets: list[int]) -> int:
    """How many rows the ranked statement returns: per group and wanted bin, the offsets in it."""
    total = 0
    for group in groups.values():
        before = 0
        for b, end in zip(group.bins, group.ends, strict=True):
            if b in bins:
                total += bisect.bisect_left(offsets, end - before)  # offsets < the bin's size
            before = end
    return total


def _bin_range(duration: Any, b: float) -> Any:
    """A cheap superset of bin ``b``'s rows, so ln() runs only on candidates."""
    if b == _NON_POSITIVE:
        return duration <= 0
    low = math.exp(b / BINS_PER_E) * (1 - _SLACK)
    if math.isinf(low):
        return duration >= low
    return (duration >= low) & (duration < math.exp((b + 1) / BINS_PER_E) * (1 + _SLACK))


def _ranked_query(c: Columns, bins: Sequence[float], offsets: Sequence[int]) -> Any:
    """The rows at the wanted offsets of the wanted bins, numbered per (group, bin)."""
    import sqlalchemy as sa

    duration = c.duration_ms
    exact = sa.func.coalesce(
        latency_bin(c), sa.cast(sa.literal_column(repr(_NON_POSITIVE)), sa.Float)
    )
    partition = [*([c.by] if c.by is not None else []), exact]
    numbered = (
        sa.select(
            *c.keys,
            exact.label("bin"),
            sa.cast(duration, sa.Float).label("value"),
            (sa.func.row_number().over(partition_by=partition, order_by=duration) - 1).label("k"),
        )
        .where(duration.is_not(None))
        .where(sa.or_(*(_bin_range(duration, b) for b in bins)))
        .where(exact.in_(list(bins)))
        .subquery("ranked")
    )
    return sa.select(numbered).where(numbered.c.k.in_(list(offsets)))


def ranked_percentiles(
    conn: Any, c: Columns, totals: pd.DataFrame, histogram: pd.DataFrame, keys: list[str]
) -> pd.DataFrame | None:
    """``totals`` with p50..p99 filled in, or None when the caller must use percentile_cont.

    ``totals`` carries ``timed`` and ``non_positive`` per group; ``histogram`` the
    attempts per (group, latency_bin), NULL bins left out.
    """
    groups = _groups(totals, histogram, keys)
    if groups is None:
        return None
    order = [_key(r, keys) for r in totals.itertuples(index=False)]
    timed = dict(zip(order, (int(n) for n in totals["timed"]), strict=True))
    wanted = _wanted(groups, timed)
    values: dict[tuple[Key, float, int], float] = {}
    if wanted:
        bins = sorted({b for pairs in wanted.values() for b, _ in pairs})
        offsets = sorted({k for pairs in wanted.values() for _, k in pairs})
        if _rows_back(groups, set(bins), offsets) > _MOST_ROWS:
            return None
        for row in conn.execute(_ranked_query(c, bins, offsets)):
            key = tuple(None if _missing(v) else v for v in row[:-3])
            values[(key, float(row.bin), int(row.k))] = float(row.value)
    filled = totals.copy()
    for q in PERCENTILES:
        column: list[float | None] = []
        for key in order:
            if not timed[key]:
                column.append(None)
                continue
            found = _interpolate(q, groups[key], key, values)
            if found is None:
                return None  # a wanted row is missing: the rows changed between statements
            column.append(found)
        filled[f"p{round(q * 100)}_ms"] = column
    return filled


def _interpolate(
    q: float, group: _Group, key: Key, values: dict[tuple[Key, float, int], float]
) -> float | None:
    """percentile_cont's arithmetic: first + (second - first) * weight, in double precision."""
    position = q * (group.ends[-1] - 1)
    first_rank, second_rank = math.floor(position), math.ceil(position)
    first = values.get((key, *group.locate(first_rank)))
    second = values.get((key, *group.locate(second_rank)))
    if first is None or second is None:
        return None
    if first_rank == second_rank:
        return first
    return first + (second - first) * (position - first_rank)
