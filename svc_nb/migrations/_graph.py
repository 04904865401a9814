"""The revision graph of a scripts folder: order, heads, bases, what is pending."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from svc_nb._report import Finding

__all__ = ["Revision", "ScriptGraph"]


@dataclass(frozen=True)
class Revision:
    """One migration script: its id, the ids it revises, its file and message."""

    revision: str
    down: tuple[str, ...]
    path: str
    message: str = ""
    depends_on: tuple[str, ...] = ()


@dataclass
class ScriptGraph:
    """The revision graph of a scripts folder and what is wrong with it."""

    location: str
    reader: str  # "ast" or "alembic"
    revisions: dict[str, Revision] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)  # broken graph, unreadable files
    error: Finding | None = None  # the folder itself is missing or unreadable

    @property
    def heads(self) -> list[str]:
        """Revisions no other revision revises, in topological order."""
        revised = {d for r in self.revisions.values() for d in r.down}
        return [r for r in self.order() if r not in revised]

    @property
    def bases(self) -> list[str]:
        """Revisions that revise nothing: where the chains start."""
        return [r for r in self.order() if not self.revisions[r].down]

    def ancestors(self, rev: str, *, inclusive: bool = True) -> set[str]:
        """Every revision ``rev`` builds on (its down_revisions, transitively)."""
        seen: set[str] = {rev} if inclusive else set()
        stack = list(self.revisions[rev].down) if rev in self.revisions else []
        while stack:
            cur = stack.pop()
            if cur in seen or cur not in self.revisions:
                continue
            seen.add(cur)
            stack.extend(self.revisions[cur].down)
        return seen

    def order(self) -> list[str]:
        """All revisions from base to head (Kahn's algorithm; ties by file name).

        Revisions on a cycle never become ready and are left out.
        """
        children: dict[str, list[str]] = {r: [] for r in self.revisions}
        indegree = dict.fromkeys(self.revisions, 0)
        for rev in self.revisions.values():
            for down in rev.down:
                if down in self.revisions:
                    children[down].append(rev.revision)
                    indegree[rev.revision] += 1
        # A heap keeps ties in file-name order without re-sorting at every step.
        ready = [(Path(self.revisions[r].path).name, r) for r, n in indegree.items() if n == 0]
        heapq.heapify(ready)
        out: list[str] = []
        while ready:
            _, cur = heapq.heappop(ready)
            out.append(cur)
            for child in children[cur]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    heapq.heappush(ready, (Path(self.revisions[child].path).name, child))
        return out

    def pending(self, current: Iterable[str]) -> list[str]:
        """Revisions ``alembic upgrade heads`` would apply from ``current``, in order."""
        applied: set[str] = set()
        for rev in current:
            applied |= self.ancestors(rev)
        return [r for r in self.order() if r not in applied]

    def describe(self, revs: Iterable[str]) -> str:
        """Revision ids with their messages, e.g. ``b2 (add name), c3 (add index)``."""
        out = []
        for r in revs:
            message = self.revisions[r].message if r in self.revisions else ""
            out.append(f"{r} ({message})" if message else r)
        return ", ".join(out)
