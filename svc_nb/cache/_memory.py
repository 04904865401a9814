"""``memory()``: the server's memory figures as a table, with the findings that judge them."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Report, ReprMixin, Status
from svc_nb._validate import DEFAULT_TIMEOUT_S
from svc_nb.cache._causes import CacheCause
from svc_nb.cache._classify import failure_findings
from svc_nb.cache._client import open_client
from svc_nb.cache._common import NEAR_LIMIT, Target, figure, human
from svc_nb.cache._memory_judge import memory_findings
from svc_nb.cache._parse import parse
from svc_nb.cache._probe import check_args
from svc_nb.cache._probe_state import Outcome

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MEMORY_COLUMNS", "CacheMemory", "memory"]

MEMORY_COLUMNS = ("metric", "label", "bytes", "human", "meaning")
_MEMORY_ROWS = (
    (
        "used_memory",
        "used",
        "memory Redis allocated for data and overhead (counts toward maxmemory)",
    ),
    ("used_memory_dataset", "dataset", "the keys and values themselves"),
    ("used_memory_overhead", "overhead", "server bookkeeping: clients, buffers, dictionaries"),
    ("used_memory_peak", "peak", "the highest used_memory since start or the last MEMORY RESET"),
    ("used_memory_rss", "rss", "what the OS sees the process using (includes fragmentation)"),
    ("maxmemory", "maxmemory", "the configured limit (0 = none)"),
)
_TITLE = "svc_nb cache memory"
_NO_REDIS = {
    CacheCause.MEMORY_BACKEND: Explanation(
        Status.SKIP,
        "mem:// keeps the cache inside the app process; there is no Redis memory to read",
        "Point url= (or CACHE_URL) at a Redis server to see its memory.",
    ),
    CacheCause.URL_INVALID: Explanation(
        Status.SKIP,
        "not read: fix the URL first",
        "redis-py would fail before connecting (see cache.url).",
    ),
}


@dataclass(frozen=True, eq=False)
class CacheMemory(ReprMixin):
    """Redis' memory figures (``frame``) and the findings that judge them (``report``).

    ``frame`` has the columns metric, label, bytes, human and meaning, and is
    empty when Redis could not be read; ``error`` then says why, and ``report``
    holds the finding with the fix. Draw it with :func:`svc_nb.plots.memory_usage`.
    """

    frame: pd.DataFrame
    report: Report
    url: str
    maxmemory: int = 0
    used_memory: int = 0
    maxmemory_policy: str | None = None
    mem_fragmentation_ratio: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the figures were read (the report may still warn about them)."""
        return self.error is None

    @property
    def used_share(self) -> float | None:
        """used_memory as a share of maxmemory (None without a limit)."""
        return self.used_memory / self.maxmemory if self.maxmemory else None

    @property
    def near_limit(self) -> bool:
        """Whether used memory is at :data:`NEAR_LIMIT` of maxmemory or beyond."""
        share = self.used_share
        return share is not None and share >= NEAR_LIMIT

    def headline(self) -> str:
        if self.error is not None:
            return f"Redis memory at {self.url}: not read — {self.error}"
        limit = (
            f"of maxmemory {human(self.maxmemory)}" if self.maxmemory else "(no maxmemory limit)"
        )
        return f"Redis memory at {self.url}: {human(self.used_memory)} used {limit}, policy {self.maxmemory_policy}"

    def __str__(self) -> str:
        parts = [self.headline()]
        if not self.frame.empty:
            parts.append(self.frame.to_string(index=False))
        parts.append(str(self.report))
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return f"<CacheMemory {self.headline()!r}>"

    def _repr_html_(self) -> str:
        table = "" if self.frame.empty else self.frame.to_html(index=False, border=0)
        return (
            f'<div class="svcnb-cache-memory"><div style="font-weight:bold">{html.escape(self.headline())}</div>'
            f"{table}{self.report._repr_html_()}</div>"
        )


def _frame(info: Mapping[str, Any] | None) -> pd.DataFrame:
    import pandas as pd

    figures = {metric: figure(info or {}, metric) for metric, _, _ in _MEMORY_ROWS}
    rows = [
        {
            "metric": metric,
            "label": label,
            "bytes": figures[metric],
            "human": human(figures[metric]),
            "meaning": meaning,
        }
        for metric, label, meaning in (_MEMORY_ROWS if info is not None else ())
    ]
    return pd.DataFrame(rows, columns=list(MEMORY_COLUMNS))


async def _read_info(target: Target, timeout: float) -> tuple[dict[str, Any] | None, list[Finding]]:
    """INFO memory, or the findings saying why it could not be read."""
    out = Outcome()
    try:
        async with open_client(target, timeout) as client, asyncio.timeout(timeout):
            return dict(await client.info("memory")), []
    except TimeoutError:
        out.timed_out = True
    except Exception as exc:  # classified like check() does
        out.error = exc
    return None, failure_findings(target, out, timeout)


async def memory(
    url: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    environ: Mapping[str, str] | None = None,
) -> CacheMemory:
    """The server's memory figures, judged: used vs maxmemory, eviction policy, fragmentation.

    ``url=None`` resolves ``CACHE_URL``, then ``REDIS_URL`` from ``environ``
    (default ``os.environ``). Never raises for a server problem: when Redis
    cannot be read the result's ``frame`` is empty and ``error`` says why.
    """
    url, _, seconds = check_args(url, timeout, environ, "memory")
    findings, target = parse(url)
    shown = str(findings[0].data.get("url") or (target.shown if target else "the cache URL"))
    info: dict[str, Any] | None = None
    error: str | None
    if target is None or target.memory_backend:
        cause = CacheCause.MEMORY_BACKEND if target is not None else CacheCause.URL_INVALID
        problem = explain("cache.memory", cause, _NO_REDIS)
        findings.append(problem)
        error = findings[0].summary if target is None else problem.summary
    else:
        info, failed = await _read_info(target, seconds)
        findings += failed or memory_findings(info or {})
        error = failed[-1].summary if failed else None
    report = Report(findings, title=_TITLE)
    if info is None:
        return CacheMemory(frame=_frame(None), report=report, url=shown, error=error)
    return CacheMemory(
        frame=_frame(info),
        report=report,
        url=shown,
        maxmemory=figure(info, "maxmemory"),
        used_memory=figure(info, "used_memory"),
        maxmemory_policy=str(info.get("maxmemory_policy", "")),
        mem_fragmentation_ratio=figure(info, "mem_fragmentation_ratio", float),
    )
