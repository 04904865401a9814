"""``redirect_uri_diff()``: compare registered redirect URIs with the one the app sent, live."""

from __future__ import annotations

from typing import Any

from svc_nb.oauth import compare_redirect_uris
from svc_nb.widgets._base import error_html, html_of

__all__ = ["redirect_uri_diff"]


def redirect_uri_diff(registered: str | list[str] = "", received: str = "") -> Any:
    """A two-field widget: registered URIs (one per line) and the received one; the verdict updates as you type.

    Returns an ``ipywidgets.VBox`` with ``.registered``, ``.received`` and
    ``.result`` (HTML) attributes, so it can be driven from code as well.
    """
    import ipywidgets as w

    if isinstance(registered, list | tuple):
        registered = "\n".join(registered)
    reg = w.Textarea(
        value=registered,
        description="Registered",
        placeholder="https://app.example.com/auth/oauth/google/callback (one per line)",
        layout=w.Layout(width="100%", height="80px"),
    )
    got = w.Text(
        value=received,
        description="Received",
        placeholder="redirect_uri from the authorization request or the provider's error page",
        layout=w.Layout(width="100%"),
    )
    result = w.HTML()

    def update(_: object = None) -> None:
        lines = [line for line in reg.value.splitlines() if line.strip()]
        if not lines or not got.value.strip():
            result.value = "<i>Enter the registered URI(s) and the received redirect_uri.</i>"
            return
        try:
            result.value = html_of(compare_redirect_uris(lines, got.value))
        except Exception as exc:  # a widget must never leave a traceback in the cell
            result.value = error_html(exc)

    reg.observe(update, names="value")
    got.observe(update, names="value")
    update()
    box = w.VBox([w.HTML("<b>Redirect URI comparison</b> (exact string, RFC 6749 / 9700 / 8252)"), reg, got, result])
    box.registered, box.received, box.result = reg, got, result
    return box
