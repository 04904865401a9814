"""What a target names: an ASGI app object, ``"package.module:attr"``, or a running service's URL.

Resolving never raises for a target that is merely broken (a module that does
not import, an attribute that is not an app, a malformed URL): each becomes a
``service.target`` finding. Only a target of a type that cannot name a service
at all raises :class:`~svc_nb.service.ServiceTypeError`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect as _inspect
import os
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import mask_url, scrub
from svc_nb._report import Finding, Status
from svc_nb.service._causes import ServiceCause as C
from svc_nb.service._errors import ServiceTypeError
from svc_nb.service._startup import STARTUP_EXPLAIN, classify_exception

__all__ = [
    "Target",
    "is_asgi",
    "resolve_target",
    "resolve_target_async",
    "resolve_target_within",
]

CHECK = "service.target"
_MAX_TARGET_CHARS = 2048
_SHOWN_NAMES = 8
_MAX_WRAPPERS = 8
_F = Status.FAIL

_TARGET: dict[C, Explanation] = {
    C.BAD_TARGET: Explanation(
        _F,
        "{shown} is not a target svc_nb can use: {problem}",
        "A target is an ASGI app object, an import string 'package.module:attr' (as uvicorn takes "
        "it), or the base URL of a running service, http(s)://host[:port].",
        "Pass e.g. service.check('myservice.main:app') or service.check('http://127.0.0.1:8000').",
    ),
    C.IMPORT_FAILED: Explanation(
        _F,
        "cannot import {module}: {error}",
        "{detail}",
        "{fix}",
    ),
    C.IMPORT_TIMEOUT: Explanation(
        _F,
        "importing {module} did not finish within {timeout:g} s{since}",
        "Importing the module runs its code, and that code is waiting: typically a connection "
        "opened at import time (a database, Redis, an HTTP call) to a host that does not answer, "
        "or a prompt for input. Nothing was started. The import cannot be stopped: it goes on "
        "in a background thread, and the module stays half-imported until it ends; a later "
        "call waits on that same import and uses the module once it has finished.",
        "Open connections in the app's lifespan, not at import; run `python -c 'import {module}'` "
        "to see where it waits, or raise timeout= if the import is merely slow (restart the "
        "kernel or process if it never ends).",
    ),
    C.ATTRIBUTE_MISSING: Explanation(
        _F,
        "{module} has no attribute {attr!r}",
        "{hint}",
        "Name the variable that holds the app: '{module}:app' if main.py says app = FastAPI(…).",
    ),
    C.NOT_ASGI: Explanation(
        _F,
        "{module}:{attr} is a {kind}, not an ASGI app",
        "An ASGI app is called as app(scope, receive, send) — a FastAPI or Starlette instance, "
        "or a middleware wrapping one.{hint}",
        "Point at the app object itself, e.g. '{module}:app'; for an app factory, build it first: "
        "service.check({module}.{attr}()).",
    ),
}
_IMPORT_FIX_MODULE = (
    "Run from the project's root (the folder that holds the package), or install the project "
    "(pip install -e .), so that `python -c 'import {module}'` works here."
)


@dataclass(frozen=True)
class Target:
    """A resolved target: an app to run in process, or the base URL of a running service."""

    label: str
    app: Any = None
    base_url: str | None = None

    @property
    def in_process(self) -> bool:
        return self.app is not None


def is_asgi(obj: Any) -> bool:
    """Whether ``obj`` can be called as an ASGI 3 app: ``await obj(scope, receive, send)``."""
    if obj is None or _inspect.isclass(obj) or isinstance(obj, str | bytes | int | float):
        return False
    function = _inspect.isfunction(obj) or _inspect.ismethod(obj)
    call = obj if function else (obj.__call__ if callable(obj) else None)
    if call is None or not _inspect.iscoroutinefunction(call):
        return False
    try:
        params = _inspect.signature(call).parameters.values()
    except (TypeError, ValueError):
        return True  # a C-level coroutine callable: trust it
    kinds = [p.kind for p in params]
    if _inspect.Parameter.VAR_POSITIONAL in kinds:
        return True
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) == 3


def _shown(text: str) -> str:
    clipped = text if len(text) <= 120 else text[:60] + "…" + text[-40:]
    return repr(scrub(clipped))


def _bad(text: str, problem: str) -> Finding:
    return explain(CHECK, C.BAD_TARGET, _TARGET, shown=_shown(text), problem=problem)


def _url_target(text: str) -> Target | Finding:
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        return _bad(text, "a URL cannot contain spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        return _bad(text, f"cannot parse it as a URL ({exc})")
    if not parts.hostname:
        return _bad(text, "the URL has no host")
    if parts.query or parts.fragment:
        return _bad(text, "give the service's base URL, without ?query or #fragment")
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return Target(label=mask_url(base), base_url=base)


def _is_dotted(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def _import_failure(module: str, exc: BaseException) -> Finding:
    """Why importing the app failed: its own module missing, or what its code raised, classified."""
    data = {"module": module, "exception_type": type(exc).__name__}
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if missing is not None and (module == missing or module.startswith(f"{missing}.")):
        return explain(
            CHECK,
            C.IMPORT_FAILED,
            _TARGET,
            data=data,
            module=module,
            error=f"no module named {missing!r}",
            detail=f"Python cannot find it on sys.path from {os.getcwd()}.",
            fix=_IMPORT_FIX_MODULE.format(module=module),
        )
    cause, fields = classify_exception(exc)
    if cause is C.STARTUP_FAILED:
        return explain(
            CHECK,
            C.IMPORT_FAILED,
            _TARGET,
            data=data,
            module=module,
            error=fields["error"],
            detail="Importing the module ran its code, and that code raised.",
            fix=f"Run `python -c 'import {module}'` to see the full traceback.",
        )
    return explain(CHECK, cause, STARTUP_EXPLAIN, data=data, when=f"importing {module}", **fields)


def _asgi_names(module: Any) -> list[str]:
    names = [n for n, v in vars(module).items() if not n.startswith("_") and is_asgi(v)]
    return sorted(names)[:_SHOWN_NAMES]


def _kind(obj: Any) -> str:
    if _inspect.isclass(obj):
        return f"class ({obj.__name__})"
    if _inspect.isfunction(obj) or _inspect.ismethod(obj):
        return f"function ({obj.__name__}(…))"
    return type(obj).__name__


def _split(text: str) -> tuple[str, str] | None:
    module_name, _, attr = text.partition(":")
    module_name, attr = module_name.strip(), attr.strip()
    if not _is_dotted(module_name) or not _is_dotted(attr):
        return None
    return module_name, attr


def _importable_here() -> None:
    """As uvicorn does (``--app-dir .``): the current folder is importable."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def _import_target(
    text: str, importer: Callable[[str], Any] = importlib.import_module
) -> Target | Finding:
    split = _split(text)
    if split is None:
        return _bad(text, "expected 'package.module:attr' with Python names on both sides")
    module_name, attr = split
    _importable_here()
    try:
        module = importer(module_name)
    except (Exception, SystemExit) as exc:  # the user's module may raise anything at import
        return _import_failure(module_name, exc)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = _asgi_names(module)
            hint = f"ASGI apps in {module_name}: {', '.join(names)}." if names else ""
            return explain(
                CHECK, C.ATTRIBUTE_MISSING, _TARGET, module=module_name, attr=attr, hint=hint
            )
        obj = getattr(obj, part)
    if not is_asgi(obj):
        names = _asgi_names(module)
        hint = f" ASGI apps in {module_name}: {', '.join(names)}." if names else ""
        return explain(
            CHECK, C.NOT_ASGI, _TARGET, module=module_name, attr=attr, kind=_kind(obj), hint=hint
        )
    return Target(label=f"{module_name}:{attr}", app=obj)


# -- an import string's import, bounded by a timeout ------------------------------------


@dataclass(frozen=True)
class _Import:
    """One import running in a daemon thread, and when it started."""

    module: str
    outcome: Future[Any]
    started: float


# Imports still running, by module: a later call waits on the same one instead of
# starting a thread that would only queue on the module's import lock.
_RUNNING: dict[str, _Import] = {}
_RUNNING_LOCK = threading.Lock()


def _start_import(module_name: str) -> tuple[_Import, bool]:
    """The import of ``module_name`` in a daemon thread, and whether an earlier call started it.

    A daemon thread: a module that hangs at import can hold neither the caller nor
    the interpreter's exit. It leaves the registry when it ends, however it ends.
    """
    with _RUNNING_LOCK:
        earlier = _RUNNING.get(module_name)
        if earlier is not None:
            return earlier, True
        _importable_here()  # before the thread imports: the current folder is searched too
        job = _Import(module_name, Future(), time.monotonic())
        job.outcome.set_running_or_notify_cancel()  # nobody can cancel it: it cannot be stopped
        _RUNNING[module_name] = job

    def run() -> None:
        try:
            job.outcome.set_result(importlib.import_module(module_name))
        except BaseException as exc:  # replayed in the caller's thread
            job.outcome.set_exception(exc)
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(module_name, None)

    threading.Thread(target=run, name=f"svc_nb-import-{module_name}", daemon=True).start()
    return job, False


def _replay(done: Future[Any]) -> Callable[[str], Any]:
    """An importer that gives the thread's outcome; a main-thread-only module imports here.

    That one import (a module calling signal.signal() at import time) runs in the
    caller's thread, as before svc_nb bounded imports, and is not bounded.
    """

    def importer(module_name: str) -> Any:
        error = done.exception()
        if isinstance(error, ValueError) and "main thread" in str(error):
            return importlib.import_module(module_name)
        return done.result()

    return importer


def _pending_import(target: Any) -> str | None:
    """The module an import-string target still has to import, if any.

    Read as :func:`resolve_target` reads the target (stripped, the same length
    limit), so that whatever it would import is imported in the thread.
    """
    if not isinstance(target, str):
        return None
    text = target.strip()
    if len(text) > _MAX_TARGET_CHARS or text.lower().startswith(("http://", "https://")):
        return None
    split = _split(text) if ":" in text else None
    if split is None:
        return None
    module = sys.modules.get(split[0])
    # A module still being imported (by an earlier call that timed out) is in sys.modules
    # already; importing it again waits on its lock, so it is still pending.
    spec = getattr(module, "__spec__", None)
    if module is not None and not getattr(spec, "_initializing", False):
        return None
    return split[0]


def _timed_out(job: _Import, earlier: bool, timeout: float) -> Finding:
    running = time.monotonic() - job.started
    since = f"; it has been running for {running:.1f} s, since an earlier call" if earlier else ""
    data = {"module": job.module, "timeout_s": timeout, "running_s": round(running, 1)}
    return explain(
        CHECK, C.IMPORT_TIMEOUT, _TARGET, data=data, module=job.module, timeout=timeout, since=since
    )


def resolve_target_within(target: Any, timeout: float) -> Target | Finding:
    """:func:`resolve_target`, with an import string's import bounded by ``timeout`` seconds."""
    module_name = _pending_import(target)
    if module_name is None:
        return resolve_target(target)
    job, earlier = _start_import(module_name)
    try:
        job.outcome.exception(timeout=timeout)
    except FutureTimeout:
        return _timed_out(job, earlier, timeout)
    return _import_target(target.strip(), _replay(job.outcome))


async def resolve_target_async(target: Any, timeout: float) -> Target | Finding:
    """:func:`resolve_target_within` for a coroutine: the event loop keeps running meanwhile."""
    module_name = _pending_import(target)
    if module_name is None:
        return resolve_target(target)
    job, earlier = _start_import(module_name)
    waiting = asyncio.wrap_future(job.outcome)
    # Retrieved here so that a late failure is never logged as "never retrieved".
    waiting.add_done_callback(lambda f: f.cancelled() or f.exception())
    finished, _ = await asyncio.wait({waiting}, timeout=timeout)  # raises nothing of the import's
    if not finished:
        return _timed_out(job, earlier, timeout)
    return _import_target(target.strip(), _replay(job.outcome))


def resolve_target(target: Any) -> Target | Finding:
    """The app or URL ``target`` names, or the ``service.target`` finding saying why it names none."""
    if isinstance(target, str):
        text = target.strip()
        if len(text) > _MAX_TARGET_CHARS:
            return _bad(text, f"it is {len(text):,} characters long")
        if text.lower().startswith(("http://", "https://")):
            return _url_target(text)
        if ":" in text:
            return _import_target(text)
        return _bad(text, "expected 'package.module:attr' or an http(s):// URL")
    if is_asgi(target):
        inner = target
        for _ in range(_MAX_WRAPPERS):  # through ASGI wrappers to the app's own title
            if getattr(inner, "title", None) or getattr(inner, "app", None) is None:
                break
            inner = inner.app
        name = getattr(inner, "title", None) or type(target).__name__
        return Target(label=str(name), app=target)
    raise ServiceTypeError(
        "target must be an ASGI app (a FastAPI/Starlette instance), an import string "
        "'package.module:attr', or a base URL 'http(s)://host:port'; got "
        f"{type(target).__name__}"
    )
