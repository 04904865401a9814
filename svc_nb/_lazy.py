"""Public names of a section package, each loaded from its private module on first use.

``svc-nb doctor`` imports every section to register its checks. When a
section's ``__init__`` imported all its modules, a doctor run paid for
notebook helpers, summaries and receivers it never calls; now a section
imports a module when one of its names is first used (or a check runs).

Where each name lives is written once: in the package's ``if TYPE_CHECKING:``
imports, which type checkers and editors read too. :func:`exports` reads
that block (the first time a lazy name is asked for), keeping the names the
package lists in ``__all__``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import sys
from pathlib import Path
from typing import Any

__all__ = ["exports", "load_export"]


def _is_type_checking(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and (node.test.id == "TYPE_CHECKING")
    )


@functools.cache
def exports(package: str) -> dict[str, str]:
    """Public name -> ``"_module"`` (or ``"_module:attr"`` when renamed) for ``package``."""
    module = sys.modules[package]
    public = set(getattr(module, "__all__", ()))
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    where: dict[str, str] = {}
    prefix = package + "."
    for block in filter(_is_type_checking, tree.body):
        for node in getattr(block, "body", []):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith(prefix)):
                continue
            source = str(node.module)[len(prefix) :]
            for alias in node.names:
                shown = alias.asname or alias.name
                if shown in public:
                    where[shown] = source if shown == alias.name else f"{source}:{alias.name}"
    return where


def load_export(package: str, name: str) -> Any:
    """``package.name``, imported from the private module its TYPE_CHECKING import names.

    For a package's ``__getattr__``: raises AttributeError for a name it does not
    export, so ``hasattr`` and ``from package import submodule`` keep working.
    """
    spec = exports(package).get(name)
    if spec is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    module_name, _, attribute = spec.partition(":")
    value = getattr(importlib.import_module(f"{package}.{module_name}"), attribute or name)
    # Later look-ups find the attribute itself and never come back here.
    setattr(sys.modules[package], name, value)
    return value
