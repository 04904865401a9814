"""One vocabulary of causes: every code a Finding's ``cause`` can hold, by section.

Each section declares its codes as a :class:`~svc_nb._explain.CauseEnum` next
to its checks; this module only gathers them, so the table in the docs
(``docs/causes.md``, generated at build time) cannot drift from the code.

>>> from svc_nb import causes
>>> "auth_failed" in causes.codes("db")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from svc_nb._explain import CauseEnum

__all__ = ["SECTIONS", "Cause", "codes", "enum_for", "markdown_table", "rows"]

# section -> (module, enum name). "transport" is shared by every HTTP probe, "run" by
# every check diagnose runs (its timeout and crash guard).
SECTIONS: dict[str, tuple[str, str]] = {
    "transport": ("svc_nb._http", "TransportCause"),
    "run": ("svc_nb._runtime", "RunCause"),
    "env": ("svc_nb.env", "EnvCause"),
    "db": ("svc_nb.db", "DbCause"),
    "migrations": ("svc_nb.migrations", "MigrationsCause"),
    "cache": ("svc_nb.cache", "CacheCause"),
    "tokens": ("svc_nb.tokens", "TokensCause"),
    "oauth": ("svc_nb.oauth", "OAuthCause"),
    "webhooks": ("svc_nb.webhooks", "WebhooksCause"),
    "cors": ("svc_nb.cors", "CorsCause"),
    "support": ("svc_nb.support", "SupportCause"),
    "service": ("svc_nb.service", "ServiceCause"),
}
_SHARED = ("transport", "run")


class Cause(NamedTuple):
    section: str
    code: str
    meaning: str


def enum_for(section: str) -> type[CauseEnum] | None:
    """The cause enum of a section, or None if that section declares none."""
    module_name, enum_name = SECTIONS[section]
    found = getattr(importlib.import_module(module_name), enum_name, None)
    return found if isinstance(found, type) and issubclass(found, CauseEnum) else None


def rows() -> list[Cause]:
    """Every declared cause, section by section, in declaration order."""
    result: list[Cause] = []
    for section in SECTIONS:
        enum = enum_for(section)
        for member in enum or ():
            result.append(Cause(section, member.value, member.description))
    return result


def codes(section: str | None = None) -> frozenset[str]:
    """The codes of one section (the shared ``transport`` and ``run`` codes included), or of all."""
    return frozenset(
        row.code for row in rows() if section is None or row.section in (section, *_SHARED)
    )


def markdown_table() -> str:
    """The documented table: section, code, meaning.

    Every row carries the anchor ``<section>-<code>`` and each section's first row
    also ``<section>-causes``: ``svc-nb doctor`` links findings to them.
    """
    lines = ["| section | cause | meaning |", "|---|---|---|"]
    started: set[str] = set()
    for row in rows():
        anchors = f'<a id="{row.section}-{row.code}"></a>'
        if row.section not in started:
            started.add(row.section)
            anchors = f'<a id="{row.section}-causes"></a>{anchors}'
        meaning = row.meaning.replace("|", "/")
        lines.append(f"| {row.section} | {anchors}`{row.code}` | {meaning} |")
    return "\n".join(lines)
