"""Optional imports the ``svc-nb`` process declines, so that the command starts fast.

Some libraries the checks use try, while they load, to import an optional
package they do not need for what svc-nb asks of them, and fall back cleanly
when it is missing:

- redis-py 8 tries the OpenTelemetry *SDK* (``redis/observability/providers.py``)
  for a type hint and a flag nothing else reads; the code that uses the SDK
  (``redis/observability/config.py``) imports it inside a function, when
  metrics are configured;
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

One more decline holds only while a command has said it runs no code but
svc-nb's own (:func:`running_only_svc_nb`; ``svc-nb doctor`` without an app to
import), because what it removes is what someone else's code may need:

- PyJWT (``jwt/algorithms.py``, ``jwt/utils.py``) tries cryptography for its
  RSA, EC and EdDSA algorithms and ``PyJWK`` of those keys; its Rust bindings
  and x509 cost about 100 ms. The doctor's one use of PyJWT is the
  ``tokens.secret`` round trip, HS256 only (hashlib's HMAC), with no JWKS key
  other than ``oct``. The single HS256 step that asks cryptography is PyJWT
  refusing a DER public key or certificate as an HMAC secret; the doctor keeps
  cryptography for a secret that could be one (``svc_nb._cli_doctor``). An app
  imported into the process (``--app``, ``SVC_NB_APP``) would find PyJWT loaded
  without those algorithms, so that run keeps them.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
from collections.abc import Iterator, Mapping, Sequence
from types import FrameType, ModuleType
from typing import Any

__all__ = [
    "REFUSED",
    "REFUSED_WITHOUT_USER_CODE",
    "declining_optional_imports",
    "running_only_svc_nb",
]

# Optional package -> the libraries whose import-time code tries it (top-level names).
REFUSED: dict[str, tuple[str, ...]] = {
    "opentelemetry.sdk": ("redis",),
    "trio": ("httpcore",),
    "httpx._main": ("httpx",),
}
# As REFUSED, but only within running_only_svc_nb(): no user code shares the library.
REFUSED_WITHOUT_USER_CODE: dict[str, tuple[str, ...]] = {
    "cryptography": ("jwt",),
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
    """Raises ModuleNotFoundError for a refused name tried while its library loads."""

    def __init__(self) -> None:
        self.only_svc_nb = False  # set by running_only_svc_nb()

    def _tables(self) -> tuple[Mapping[str, tuple[str, ...]], ...]:
        # Read at each import, not copied: the tables are the module's, as documented.
        return (REFUSED, REFUSED_WITHOUT_USER_CODE) if self.only_svc_nb else (REFUSED,)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> Any:
        for table in self._tables():
            for refused, libraries in table.items():
                if fullname == refused or fullname.startswith(refused + "."):
                    importer = _importer(sys._getframe(1))
                    if importer is not None and importer.split(".")[0] in libraries:
                        # Named after the refused package, as if it were not installed: for
                        # `from cryptography import x509` with cryptography itself loaded,
                        # the submodule's name would be swallowed and become an ImportError
                        # the library does not catch.
                        raise ModuleNotFoundError(
                            f"svc-nb does not load the optional {fullname} for {importer}",
                            name=refused,
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


@contextlib.contextmanager
def running_only_svc_nb() -> Iterator[None]:
    """Within this block REFUSED_WITHOUT_USER_CODE is declined too, if svc-nb's finder is active.

    A command enters it when it imports no code of the user's and none of its
    checks needs what that table refuses. Outside
    :func:`declining_optional_imports` (a caller's own process) it changes nothing.
    """
    finders = [f for f in sys.meta_path if isinstance(f, _DeclineOptional)]
    before = [f.only_svc_nb for f in finders]
    for finder in finders:
        finder.only_svc_nb = True
    try:
        yield
    finally:
        for finder, was in zip(finders, before, strict=True):
            finder.only_svc_nb = was
