"""Causes and their explanations: classification as tables, not if-chains.

Each section lists its causes as a :class:`CauseEnum` (a stable snake_case code
with a one-line meaning) and maps the causes it reports to an
:class:`Explanation`: the status, summary, detail and fix a user sees. A
classifier then only has to *name* the cause; :func:`explain` builds the
Finding, filling ``{placeholders}`` from what was observed.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svc_nb._report import Finding, Status

__all__ = ["CauseEnum", "Explanation", "explain"]


class CauseEnum(enum.StrEnum):
    """A section's cause codes. Members are declared as ``NAME = "code", "meaning"``."""

    description: str

    def __new__(cls, code: str, description: str = "") -> CauseEnum:
        member = str.__new__(cls, code)
        member._value_ = code
        member.description = description
        return member


@dataclass(frozen=True)
class Explanation:
    """What a user reads for one cause; ``{name}`` placeholders are filled by :func:`explain`."""

    status: Status
    summary: str
    detail: str = ""
    fix: str = ""


class _Blank(dict[str, Any]):
    # A placeholder the caller did not supply stays visible instead of raising
    # KeyError from deep inside a classifier.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_FORMATTER = string.Formatter()


def _fill(template: str, values: _Blank) -> str:
    # format_map runs only over our own templates; user text is inserted, never parsed.
    return _FORMATTER.vformat(template, (), values) if "{" in template else template


def explain(
    check: str,
    cause: CauseEnum,
    table: Mapping[Any, Explanation],
    *,
    data: Mapping[str, Any] | None = None,
    status: Status | None = None,
    **fields: Any,
) -> Finding:
    """The Finding for ``cause`` from ``table``, its text filled from ``fields``."""
    entry = table[cause]
    values = _Blank(fields)
    final = status or entry.status
    return Finding(
        check=check,
        status=final,
        summary=_fill(entry.summary, values),
        detail=_fill(entry.detail, values),
        fix=_fill(entry.fix, values),
        data=dict(data or {}),
        cause=None if final is Status.OK else cause.value,
    )
