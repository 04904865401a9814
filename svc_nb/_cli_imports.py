"""Optional imports the ``svc-nb`` process declines, so that the command starts fast.

Some libraries the checks use try, while they load, to import an optional
package they do not need for what svc-nb asks of them, and fall back cleanly
when it is missing:

- redis-py 8 tries the OpenTelemetry *SDK* (``redis/observability/providers.py``);
  it keeps the class only for a type hint, and imports the SDK again, inside a
  function, if its metrics are ever switched on;
- httpcore tries trio, used only when running under trio (svc-nb runs asyncio);
- httpx tries its own command line (click, rich, pygments) for ``httpx.main``.

Together they take longer to import than all of svc_nb's own modules, on
every run (``benchmarks`` item 9 measures the command). In svc-nb's *own* process
(:func:`svc_nb.cli.main` reading the command line) a finder makes exactly
those attempts fail as if the package were not installed. It refuses a name
only when the import statement runs in the module-level code of the library
named here, that is while that library is itself being imported; any later
import, anyone else's import, and a package already loaded are untouched.
Never installed by ``import svc_nb``, a notebook or a kernel.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
from collections.abc import Iterator, Sequence
from types import FrameType, ModuleType
from typing import Any

__all__ = ["REFUSED", "declining_optional_imports"]

# Optional package -> the libraries whose import-time code tries it (top-level names).
REFUSED: dict[str, tuple[str, ...]] = {
    "opentelemetry.sdk": ("redis",),
    "trio": ("httpcore",),
    "httpx._main": ("httpx",),
}


def _importer(frame: FrameType | None) -> str | None:
    """The module whose module-level code runs the import in progress, if any."""
    while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        frame = frame.f_back
    if frame is None or frame.f_code.co_name != "<module>":
        return None  # an import inside a function: a deliberate, later use
    name = frame.f_globals.get("__name__")
    return name if isinstance(name, str) else None


class _DeclineOptional(importlib.abc.MetaPathFinder):
    """Raises ModuleNotFoundError for a REFUSED name tried while its library loads."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> Any:
        for refused, libraries in REFUSED.items():
            if fullname == refused or fullname.startswith(refused + "."):
                importer = _importer(sys._getframe(1))
                if importer is not None and importer.split(".")[0] in libraries:
                    raise ModuleNotFoundError(
                        f"svc-nb does not load the optional {fullname} for {importer}",
                        name=fullname,
                    )
        return None  # not ours to answer: the normal finders look next


@contextlib.contextmanager
def declining_optional_imports() -> Iterator[None]:
    """Within this block, the libraries in REFUSED load without their optional extras."""
    finder = _DeclineOptional()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # someone else removed it already
            sys.meta_path.remove(finder)
