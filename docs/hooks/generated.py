"""MkDocs hook: tables generated from the code at build time, so the docs cannot drift.

``<!-- causes-table -->`` becomes every section's cause codes and meanings
(``svc_nb.causes.markdown_table()``).
"""

from __future__ import annotations

from typing import Any

_MARKERS = {"<!-- causes-table -->": "svc_nb.causes:markdown_table"}


def on_page_markdown(markdown: str, **_: Any) -> str:
    import importlib

    for marker, target in _MARKERS.items():
        if marker in markdown:
            module_name, function = target.split(":")
            table = getattr(importlib.import_module(module_name), function)()
            markdown = markdown.replace(marker, table)
    return markdown
