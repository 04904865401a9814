"""Debug logging into the notebook, with every record scrubbed at the source.

While debug logging is on, each log record is cleaned when it is *created*
(a wrapper around the logging record factory), so no handler ever sees a
secret: not the notebook handler, not a ``logging.basicConfig`` root handler,
not a file handler the application added. A filter on each enabled logger
does the same for a record made by a factory installed after ours.
"""

from __future__ import annotations

import collections
import html
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._redact import scrub
from svc_nb._report import ReprMixin

__all__ = ["DEFAULT_LOGGERS", "DebugLogging", "disable_debug_logging", "enable_debug_logging"]

DEFAULT_LOGGERS = ("svc_infra",)
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_SCRUBBED = "_svc_nb_scrubbed"


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Fold the arguments into the message and scrub it, the traceback and the stack, in place."""
    if getattr(record, _SCRUBBED, False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep its parts, scrubbed, for the handler to show
        message = f"{record.msg!s} % {record.args!r}"
    record.msg = scrub(message)
    record.args = ()
    if record.exc_info and record.exc_info[1] is not None:
        formatted = "".join(traceback.format_exception(record.exc_info[1]))
        # Formatters append exc_text; without exc_info no handler formats the raw exception again.
        record.exc_text = scrub(formatted.rstrip("\n"))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    setattr(record, _SCRUBBED, True)
    return record


class _ScrubbingFactory:
    """Wraps the record factory in place when enabled; stays (inert) if another wrapped it later."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous
        self.active = True

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        return scrub_record(record) if self.active else record


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


class _NotebookHandler(logging.Handler):
    """Writes scrubbed records to the current ``sys.stdout`` (the running cell, in a kernel)."""

    def __init__(self, keep: int = 500) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        self.lines: collections.deque[str] = collections.deque(maxlen=keep)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(scrub_record(record)))

    def emit(self, record: logging.LogRecord) -> None:
        # The handler sits on parent and child loggers: show a propagated record once.
        if getattr(record, "_svc_nb_shown", False):
            return
        record._svc_nb_shown = True
        try:
            line = self.format(record)
            self.lines.append(line)
            # Looked up per record: ipykernel swaps sys.stdout to route output to the running cell.
            stream = sys.stdout
            if stream is not None:
                stream.write(line + "\n")
                stream.flush()
        except Exception:
            self.handleError(record)


@dataclass
class DebugLogging(ReprMixin):
    """Handle returned by :func:`enable_debug_logging`; also a context manager."""

    names: list[str]
    handler: _NotebookHandler
    previous: dict[str, int] = field(default_factory=dict)
    factory: _ScrubbingFactory | None = None
    filter: _ScrubFilter = field(default_factory=_ScrubFilter)

    @property
    def records(self) -> list[str]:
        """The (scrubbed) lines logged so far, newest last."""
        return list(self.handler.lines)

    @property
    def active(self) -> bool:
        return _active is self

    def disable(self) -> None:
        disable_debug_logging()

    def __enter__(self) -> DebugLogging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disable()

    def __str__(self) -> str:
        state = "on" if self.active else "off"
        names = ", ".join(self.names)
        return f"debug logging {state} for {names} ({len(self.handler.lines)} records)"

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(str(self))}</code>"


_active: DebugLogging | None = None


def _install_factory() -> _ScrubbingFactory:
    current = logging.getLogRecordFactory()
    if isinstance(current, _ScrubbingFactory):
        current.active = True
        return current
    factory = _ScrubbingFactory(current)
    logging.setLogRecordFactory(factory)
    return factory


def enable_debug_logging(*names: str, level: int = logging.DEBUG) -> DebugLogging:
    """Turn on DEBUG for ``svc_infra`` (and ``names``) and show their records in the notebook.

    Every log record is scrubbed of secrets when it is created, before any
    handler (this one, a root handler, a file) sees it. Turn it off with
    :func:`disable_debug_logging` (or use the result as a context manager).
    """
    from svc_nb.env import register_env_secrets

    global _active
    for name in names:
        if not isinstance(name, str) or not name:
            raise ArgumentTypeError(
                f"logger names are non-empty strings such as 'svc_infra.webhooks', got {name!r}"
            )
    # Secrets of this process's environment are known before the first record.
    register_env_secrets(os.environ)
    if _active is None:
        _active = DebugLogging(names=[], handler=_NotebookHandler())
    _active.factory = _install_factory()
    for name in dict.fromkeys([*DEFAULT_LOGGERS, *names]):
        if name in _active.names:
            continue
        logger = logging.getLogger(name)
        _active.previous[name] = logger.level
        logger.setLevel(level)
        logger.addFilter(_active.filter)
        logger.addHandler(_active.handler)
        _active.names.append(name)
    return _active


def disable_debug_logging() -> None:
    """Remove the notebook handler and filters, restore the loggers' levels and the record factory."""
    global _active
    if _active is None:
        return
    for name in _active.names:
        logger = logging.getLogger(name)
        logger.removeHandler(_active.handler)
        logger.removeFilter(_active.filter)
        logger.setLevel(_active.previous.get(name, logging.NOTSET))
    factory = _active.factory
    if factory is not None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(factory.previous)
        else:  # someone wrapped ours since: unwrapping would drop theirs, so go inert
            factory.active = False
    _active.handler.close()
    _active = None
