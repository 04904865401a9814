"""What every widget shares: one shape (:class:`View`), secrets kept out of widget
state (:class:`SecretField`, :class:`MaskedField`), HTML rendering, background runs.

Widget state is not private: every synced trait goes to the browser, and "Save
widget state" writes it into the notebook file. So no secret is ever left in a
synced value: a password field is emptied as soon as its value arrives, and a
text field shows its text scrubbed while the kernel keeps the real text.
"""

from __future__ import annotations

import collections
import html
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from svc_nb._redact import scrub
from svc_nb._runtime import start_background

__all__ = ["MaskedField", "SecretField", "View", "error_html", "html_of", "run_later"]

T = TypeVar("T")


class View:
    """The one shape of an svc_nb widget.

    ``widget`` is the ipywidgets container a notebook shows; the input and
    output controls are attributes (drive them by setting ``.value``, as the
    browser does), and so is the latest result of the public function the view
    wraps (``report``, ``policy``...). Displaying the view displays ``widget``.
    """

    widget: Any

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        bundle: dict[str, Any] = self.widget._repr_mimebundle_(
            include=include, exclude=exclude, **kwargs
        )
        # ipywidgets' text fallback is the repr of the whole tree, field values included.
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: an svc_nb widget, shown in a notebook>"

    def walk(self) -> Iterator[Any]:
        """Every ipywidgets model in the view (containers, controls, layouts, styles)."""
        from ipywidgets import Widget

        seen: set[int] = set()
        stack = [self.widget]
        while stack:
            model = stack.pop()
            if id(model) in seen:
                continue
            seen.add(id(model))
            yield model
            for name in model.keys:
                value = getattr(model, name, None)
                items = value if isinstance(value, tuple | list) else (value,)
                stack.extend(item for item in items if isinstance(item, Widget))


class SecretField:
    """A password input whose secret stays in the kernel.

    ``Password`` only hides the characters on screen: its ``value`` is synced
    state like any other. So the value is read when it arrives (Enter or leaving
    the field), kept here, and the field is reset to empty; its placeholder then
    shows what is set through ``describe`` (fingerprints), and a button forgets it.
    """

    def __init__(
        self,
        *,
        description: str,
        placeholder: str,
        describe: Callable[[str], str],
        on_change: Callable[[], None],
        value: str = "",
    ) -> None:
        import ipywidgets as w

        self._placeholder = placeholder
        self._describe = describe
        self._on_change = on_change
        self._secret = ""
        # Per keystroke, every character would arrive (and be reset) on its own.
        self.field = w.Password(
            value="",
            placeholder=placeholder,
            description=description,
            continuous_update=False,
            layout=w.Layout(flex="1 1 auto", width="auto"),
        )
        self.forget = w.Button(
            description="Forget", tooltip="forget the value typed here", disabled=True
        )
        self.forget.on_click(lambda _button: self.set(""))
        self.box = w.HBox([self.field, self.forget], layout=w.Layout(width="100%"))
        self.field.observe(self._received, names="value")
        self.set(value, notify=False)

    @property
    def secret(self) -> str:
        """What was typed last (never synced to the browser)."""
        return self._secret

    def set(self, secret: str, *, notify: bool = True) -> None:
        """Hold ``secret`` (from code or the browser); ``""`` forgets it."""
        self._secret = secret
        self.field.placeholder = (
            f"set: {self._describe(secret)}; type another to replace it"
            if secret
            else self._placeholder
        )
        self.forget.disabled = not secret
        if notify:
            self._on_change()

    def _received(self, change: dict[str, Any]) -> None:
        typed = change["new"]
        if not typed:
            return  # the reset below, echoed back
        self.field.value = ""
        self.set(typed)


# Masked lines remembered per field: enough for any pasted text, bounded in a long session.
_MEMORY_LINES = 256
_MEMORY_CHARS = 8_000_000


class _Masked:
    """One masked line: the real text, what is shown, and the context of the hidden part."""

    __slots__ = ("head_raw", "head_shown", "marker", "raw", "shown", "tail_raw", "tail_shown")

    def __init__(self, raw: str, shown: str) -> None:
        prefix = _common_prefix(raw, shown)
        suffix = _common_prefix(raw[prefix:][::-1], shown[prefix:][::-1])
        self.raw, self.shown = raw, shown
        # An edit after the hidden part keeps its head, an edit before it keeps its tail.
        self.head_raw, self.head_shown = raw[: len(raw) - suffix], shown[: len(shown) - suffix]
        self.tail_raw, self.tail_shown = raw[prefix:], shown[prefix:]
        self.marker = shown[prefix : len(shown) - suffix]

    def reveal(self, line: str) -> str | None:
        if line.startswith(self.head_shown):
            return self.head_raw + line[len(self.head_shown) :]
        if line.endswith(self.tail_shown):
            return line[: len(line) - len(self.tail_shown)] + self.tail_raw
        return None


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix, by halving (C-speed comparisons, linear overall)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


class MaskedField:
    """A text field that shows its text scrubbed while the kernel keeps the real text.

    A pasted JWT shows with ``<signature hidden>``, a URL with ``user:****@``;
    each changed line is remembered, so an edit elsewhere in a masked line
    (before or after the hidden part) keeps what was hidden.
    """

    def __init__(
        self,
        field: Any,
        on_change: Callable[[], None],
        *,
        mask: Callable[[str], str] = scrub,
        value: str = "",
    ) -> None:
        self.field = field
        self._mask = mask
        self._on_change = on_change
        self._memory: collections.OrderedDict[str, _Masked] = collections.OrderedDict()
        self._chars = 0
        self._raw = value
        self._shown = self._hide(value)
        field.value = self._shown
        field.observe(self._received, names="value")

    @classmethod
    def textarea(
        cls,
        on_change: Callable[[], None],
        *,
        description: str,
        placeholder: str,
        height: str,
        value: str = "",
        mask: Callable[[str], str] = scrub,
        continuous_update: bool = True,
    ) -> MaskedField:
        """A full-width ``Textarea`` of ``height``, masked; the widget is ``.field``."""
        import ipywidgets as w

        field = w.Textarea(
            description=description,
            placeholder=placeholder,
            continuous_update=continuous_update,
            layout=w.Layout(width="100%", height=height),
        )
        return cls(field, on_change, mask=mask, value=value)

    @property
    def text(self) -> str:
        """The field's real text."""
        return self._raw if self.field.value == self._shown else self._reveal(self.field.value)

    def _received(self, change: dict[str, Any]) -> None:
        typed = change["new"]
        if typed != self._shown:
            self._raw = self._reveal(typed)
            self._shown = self._hide(self._raw)
            if self._shown != typed:
                self.field.value = self._shown  # observed again, as the shown text
                return
        self._on_change()

    def _hide(self, raw: str) -> str:
        shown = self._mask(raw)
        if shown == raw:
            return raw
        raw_lines, shown_lines = raw.split("\n"), shown.split("\n")
        if len(raw_lines) != len(shown_lines):  # a mask spanning lines: remember it whole
            raw_lines, shown_lines = [raw], [shown]
        for raw_line, shown_line in zip(raw_lines, shown_lines, strict=True):
            if raw_line != shown_line:
                self._remember(_Masked(raw_line, shown_line))
        return shown

    def _remember(self, masked: _Masked) -> None:
        old = self._memory.pop(masked.shown, None)
        self._chars += len(masked.raw) - (len(old.raw) if old else 0)
        self._memory[masked.shown] = masked
        while len(self._memory) > _MEMORY_LINES or (
            self._chars > _MEMORY_CHARS and len(self._memory) > 1
        ):
            _, dropped = self._memory.popitem(last=False)
            self._chars -= len(dropped.raw)

    def _reveal(self, text: str) -> str:
        if not self._memory:
            return text
        whole = self._memory.get(text)
        if whole is not None:
            return whole.raw
        markers = {m.marker for m in self._memory.values() if m.marker}
        if not any(marker in text for marker in markers):
            return text  # nothing masked left in it: typed or pasted anew
        # A line left where it was is what it was (two lines may look the same masked).
        shown_before, raw_before = self._shown.split("\n"), self._raw.split("\n")
        if len(shown_before) != len(raw_before):
            shown_before = raw_before = []
        revealed = []
        for index, line in enumerate(text.split("\n")):
            if index < len(shown_before) and line == shown_before[index]:
                revealed.append(raw_before[index])
            else:
                revealed.append(self._reveal_line(line, markers))
        return "\n".join(revealed)

    def _reveal_line(self, line: str, markers: set[str]) -> str:
        if not any(marker in line for marker in markers):
            return line
        exact = self._memory.get(line)
        if exact is not None:
            return exact.raw
        for masked in reversed(self._memory.values()):  # the latest first
            if masked.marker and masked.marker in line:
                revealed = masked.reveal(line)
                if revealed is not None:
                    return revealed
        return line


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
