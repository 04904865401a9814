"""Public names of a section package, each loaded from its private module on first use.

``svc-nb doctor`` imports every section to register its checks. When a
section's ``__init__`` imported all its modules, a doctor run paid for
notebook helpers, summaries and receivers it never calls; now a section
imports a module when one of its names is first used (or a check runs).

Where each name lives is written once: in the package's ``if TYPE_CHECKING:``
imports, which type checkers and editors read too. :func:`exports` reads
that block (the first time a lazy name is asked for), keeping the names the
package lists in ``__all__``. A package takes its ``__getattr__`` and
``__dir__`` from :func:`lazy_package`::

    __getattr__, __dir__ = lazy_package(__name__)

Type checkers read the ``TYPE_CHECKING`` imports for the public names, so the
assignment changes nothing they see; ``from package import name`` and
``hasattr`` go through ``__getattr__`` as for a ``def``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["exports", "lazy_package", "load_export"]


def _is_type_checking(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and (node.test.id == "TYPE_CHECKING")
    )


def _source(module: Any) -> str:
    """The package's ``__init__`` source, through its loader (a zip import too)."""
    loader = getattr(module.__spec__, "loader", None)
    get_source = getattr(loader, "get_source", None)
    text = get_source(module.__name__) if get_source is not None else None
    if text is None:
        file = str(getattr(module, "__file__", "") or "")
        if not file.endswith(".py"):  # a sourceless (.pyc-only) install: nothing to read
            raise ImportError(
                f"{module.__name__} finds its public names in its __init__.py source, which "
                "this installation does not include; reinstall svc-nb from its wheel",
                name=module.__name__,
            )
        text = Path(file).read_text(encoding="utf-8")
    return str(text)


@functools.cache
def exports(package: str) -> dict[str, str]:
    """Public name -> ``"_module"`` (or ``"_module:attr"`` when renamed) for ``package``."""
    module = sys.modules[package]
    public = set(getattr(module, "__all__", ()))
    tree = ast.parse(_source(module), filename=str(module.__file__))
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


def lazy_package(package: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public names load on first use."""

    def __getattr__(name: str) -> Any:
        return load_export(package, name)

    def __dir__() -> list[str]:
        module = sys.modules[package]
        return sorted(set(vars(module)) | set(getattr(module, "__all__", ())))

    return __getattr__, __dir__
