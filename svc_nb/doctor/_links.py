"""Each finding's ``docs`` link and ``notebook``: where to read about it, where to dig in.

The docs link scheme (stable; documented in docs/cli.md):

- a finding with a cause links to that cause's row in the generated cause table,
  ``docs/causes.md#<section>-<cause>`` (``docs/causes.md#db-auth_failed``); a cause
  shared by every HTTP probe lives in the ``transport`` rows
  (``docs/causes.md#transport-timeout``);
- a non-ok finding whose cause is not in the table links to its section's rows,
  ``docs/causes.md#<section>-causes``;
- an ok finding links to its section's guide page (``docs/database.md``).

Paths are relative to the repository; with ``SVC_NB_DOCS_URL`` set (the site's
root URL) they become site URLs: ``<root>/causes/#db-auth_failed``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from svc_nb.runbook._map import NotebookRef, UnknownCheckError, notebook_for

__all__ = ["GUIDE_PAGES", "cause_anchor", "docs_link", "notebook_ref", "section_anchor"]

# Check-id section -> the cause table's section (the enum that holds its codes).
_CAUSE_SECTION = {"python": "env", "loop": "env"}
# Check-id section -> its guide page in docs/.
GUIDE_PAGES: Mapping[str, str] = {
    "env": "quick-diagnostics.md",
    "python": "quick-diagnostics.md",
    "loop": "quick-diagnostics.md",
    "db": "database.md",
    "migrations": "environment.md",
    "cache": "redis.md",
    "tokens": "jwt.md",
    "oauth": "oauth.md",
    "webhooks": "webhooks.md",
    "cors": "environment.md",
    "support": "getting-help.md",
    "service": "service.md",
}
_CAUSES_PAGE = "causes.md"
_codes_cache: dict[str, frozenset[str]] = {}


def cause_anchor(section: str, code: str) -> str:
    """The id of a cause's row in docs/causes.md."""
    return f"{section}-{code}"


def section_anchor(section: str) -> str:
    """The id of a section's first row in docs/causes.md."""
    return f"{section}-causes"


def _codes(section: str) -> frozenset[str]:
    if section not in _codes_cache:
        from svc_nb import causes

        enum = causes.enum_for(section) if section in causes.SECTIONS else None
        _codes_cache[section] = frozenset(member.value for member in enum or ())
    return _codes_cache[section]


def _href(page: str, anchor: str = "") -> str:
    root = os.environ.get("SVC_NB_DOCS_URL", "").strip()
    if root:
        site_page = "" if page == "index.md" else page.removesuffix(".md") + "/"
        return f"{root.rstrip('/')}/{site_page}" + (f"#{anchor}" if anchor else "")
    return f"docs/{page}" + (f"#{anchor}" if anchor else "")


def docs_link(check: str, cause: str | None, *, ok: bool = False) -> str:
    """The docs link of a finding (see the module docstring for the scheme)."""
    section = check.split(".", 1)[0]
    if ok:
        return _href(GUIDE_PAGES.get(section, "index.md"))
    table_section = _CAUSE_SECTION.get(section, section)
    if cause:
        for candidate in (table_section, "transport"):
            if cause in _codes(candidate):
                return _href(_CAUSES_PAGE, cause_anchor(candidate, cause))
    if _codes(table_section):
        return _href(_CAUSES_PAGE, section_anchor(table_section))
    return _href(_CAUSES_PAGE)


def notebook_ref(check: str) -> NotebookRef | None:
    """The notebook section for ``check``, or None when no notebook covers it."""
    try:
        return notebook_for(check)
    except UnknownCheckError:
        return None
