"""What every widget shares: rendering results to HTML and running probes without blocking."""

from __future__ import annotations

import html
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from svc_nb._redact import scrub
from svc_nb._runtime import start_background

__all__ = ["error_html", "html_of", "run_later"]

T = TypeVar("T")


def html_of(result: Any) -> str:
    """The HTML a notebook would show for ``result`` (a Report, Figure-free object, text)."""
    render = getattr(result, "_repr_html_", None)
    if callable(render):
        return str(render())
    return f"<pre>{html.escape(scrub(str(result)))}</pre>"


def error_html(exc: BaseException) -> str:
    """An error box for a widget: the exception's type and (scrubbed) message, no traceback."""
    return (
        '<div style="color:#cf222e"><b>'
        f"{html.escape(type(exc).__name__)}</b>: {html.escape(scrub(str(exc)))}</div>"
    )


def run_later(
    coro: Coroutine[Any, Any, T], on_done: Callable[[T | None, BaseException | None], None]
) -> Any:
    """Start a probe from a widget callback and call ``on_done`` when it finishes."""
    return start_background(coro, on_done)
