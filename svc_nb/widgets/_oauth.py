"""``redirect_uri_diff()``: compare registered redirect URIs with the one the app sent, live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from svc_nb.oauth import compare_redirect_uris, mask_uri_secrets
from svc_nb.widgets._base import MaskedField, View, error_html, html_of

if TYPE_CHECKING:
    from svc_nb._report import Report

__all__ = ["RedirectUriDiff", "redirect_uri_diff"]


def _mask_lines(text: str) -> str:
    """Each line (one URI) with its password and secret query values replaced by ``****``."""
    return "\n".join(mask_uri_secrets(line) for line in text.split("\n"))


class RedirectUriDiff(View):
    """Registered URIs (``registered``, one per line) and the ``received`` one in; the
    verdict in ``result`` (HTML) and ``report`` out, updated when a field is committed
    (Enter or leaving the field).

    A URL password typed into either field shows as ``****`` in the field and
    is kept only in the kernel for the comparison.
    """

    def __init__(self, registered: str | list[str] = "", received: str = "") -> None:
        import ipywidgets as w

        if isinstance(registered, list | tuple):
            registered = "\n".join(registered)
        self.report: Report | None = None
        self.title = w.HTML("<b>Redirect URI comparison</b> (exact string, RFC 6749 / 9700 / 8252)")
        # One memory per field: the same masked text may stand for different passwords in each.
        self._registered = MaskedField.textarea(
            self.update,
            description="Registered",
            placeholder="https://app.example.com/auth/oauth/google/callback (one per line)",
            height="80px",
            value=registered,
            mask=_mask_lines,
            continuous_update=False,
        )
        self.registered = self._registered.field
        self.received = w.Text(
            description="Received",
            placeholder="redirect_uri from the authorization request or the provider's error page",
            continuous_update=False,
            layout=w.Layout(width="100%"),
        )
        self._received = MaskedField(self.received, self.update, mask=_mask_lines, value=received)
        self.result = w.HTML()
        self.widget = w.VBox([self.title, self.registered, self.received, self.result])
        self.update()

    def update(self) -> None:
        """Compare the fields' real text and render the verdict into ``result``."""
        lines = [line for line in self._registered.text.split("\n") if line.strip()]
        received = self._received.text
        self.report = None
        if not lines or not received.strip():
            self.result.value = "<i>Enter the registered URI(s) and the received redirect_uri.</i>"
            return
        try:
            self.report = compare_redirect_uris(lines, received)
        except Exception as exc:  # a widget must never leave a traceback in the cell
            self.result.value = error_html(exc)
            return
        self.result.value = html_of(self.report)


def redirect_uri_diff(registered: str | list[str] = "", received: str = "") -> RedirectUriDiff:
    """A two-field widget: registered URIs (one per line) and the received one; the verdict
    updates when a field is committed (Enter or leaving the field)."""
    return RedirectUriDiff(registered, received)
