"""Tracebacks and their locals, with every secret they hold registered and masked.

Before anything is rendered, each frame's locals (and each exception's own
attributes) are walked: a value under a secret-looking *name* (a local, a
mapping key, an object attribute) and a URL's password are registered with
:mod:`svc_nb._redact`, so that :func:`~svc_nb._redact.scrub` hides them in the
message, the traceback's source lines and every repr shown afterwards.
"""

from __future__ import annotations

import sys
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from types import (
    BuiltinFunctionType,
    FrameType,
    FunctionType,
    MethodType,
    ModuleType,
    TracebackType,
)
from typing import Any

from svc_nb._redact import MASK, is_secret_name, register_secret, scrub
from svc_nb._redact import safe_repr as redact_safe_repr

__all__ = [
    "innermost_locals",
    "iter_chain",
    "last_exception",
    "local_repr",
    "register_exception_secrets",
]

MAX_LOCAL_REPR = 120
# Bounds on the walk: a notebook's module frame holds the whole user namespace.
_MAX_ITEMS = 200
_MAX_DEPTH = 3
_MAX_REPR = 1_000_000
# Code, not data: walking a module's namespace would register every constant
# with a secret-looking name (TOKEN_TYPE = "bearer") and mask ordinary words.
_NOT_WALKED = (int, float, complex, type, ModuleType, FunctionType, BuiltinFunctionType, MethodType)


def last_exception() -> BaseException | None:
    """The last exception of this interactive session (IPython sets sys.last_value too)."""
    last = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    return last if isinstance(last, BaseException) else None


def iter_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes/contexts, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _frames(tb: TracebackType | None) -> list[FrameType]:
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def _attributes(value: Any) -> Iterable[tuple[str, Any]]:
    """An object's stored attributes (``__dict__`` and ``__slots__``), without running properties."""
    try:
        stored = dict(vars(value))
    except TypeError:
        stored = {}
    for klass in type(value).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot not in stored and slot not in ("__dict__", "__weakref__"):
                try:
                    stored[slot] = object.__getattribute__(value, slot)
                except AttributeError:
                    continue
    return list(stored.items())[:_MAX_ITEMS]


def _register_text(name: str, text: str) -> None:
    if is_secret_name(name):
        register_secret(text)
    if "://" in text:
        try:
            password = urllib.parse.urlsplit(text.strip()).password
        except ValueError:
            password = None
        if password:
            register_secret(password, urllib.parse.unquote(password))


def _register_value(name: str, value: Any, depth: int, seen: set[int]) -> None:
    """Register the secrets ``value`` holds under ``name``, walking containers and objects."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        _register_text(name, value)
        return
    if depth >= _MAX_DEPTH or id(value) in seen or isinstance(value, _NOT_WALKED):
        return
    seen.add(id(value))
    items: Iterable[tuple[str, Any]]
    if isinstance(value, Mapping):
        try:
            items = [(str(k), v) for k, v in list(value.items())[:_MAX_ITEMS]]
        except Exception:  # a mapping whose items() misbehaves is not worth a failed report
            return
    elif isinstance(value, list | tuple | set | frozenset):
        items = [(name, v) for v in list(value)[:_MAX_ITEMS]]
    else:
        items = _attributes(value)
    for key, item in items:
        if not key.startswith("__"):
            _register_value(key, item, depth + 1, seen)


def register_exception_secrets(exc: BaseException) -> None:
    """Register the secrets held by every frame's locals and every exception's attributes."""
    seen: set[int] = set()
    for link in iter_chain(exc):
        _register_value("exception", link, 0, seen)
        for frame in _frames(link.__traceback__):
            try:
                items = list(frame.f_locals.items())
            except Exception:  # a frame proxy can fail on exotic objects
                continue
            for name, value in items:
                if not name.startswith("__"):
                    _register_value(name, value, 0, seen)


def local_repr(name: str, value: Any, *, limit: int = MAX_LOCAL_REPR) -> str:
    """A local variable's value safe to show: masked whole under a secret name, else scrubbed.

    A string is scrubbed as written, before ``repr`` escapes its line breaks (a
    header line ``Authorization: Basic …`` must still read as one); any other
    object goes through :func:`svc_nb._redact.safe_repr`, which masks attributes
    and keys with secret names.
    """
    _register_value(name, value, 0, set())
    if is_secret_name(name):
        return f"{MASK} ({type(value).__name__})"
    if isinstance(value, str | bytes | bytearray):
        if len(value) > _MAX_REPR:
            return f"<{type(value).__name__} of {len(value)} characters>"
        text = value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")
        shown = repr(scrub(text))
        # Scrubbed whole, then cut: a cut secret would no longer match its registered form.
        return shown if len(shown) <= limit else shown[: limit - 1] + "…"
    return redact_safe_repr(value, limit=limit)


def innermost_locals(exc: BaseException) -> list[tuple[str, str]]:
    """The innermost frame's locals as (name, safe repr) rows."""
    frames = _frames(exc.__traceback__)
    if not frames:
        return []
    try:
        items = list(frames[-1].f_locals.items())[:40]
    except Exception:
        return []
    return [(name, local_repr(name, value)) for name, value in items if not name.startswith("__")]
