"""``signature_checker()``: paste a webhook body, its headers and the secret(s); see the verdict.

A thin view over :func:`svc_nb.webhooks.verify`: every change re-detects the
scheme and re-verifies, showing the verdict and the explained cause. The
secret is typed into a password field, never echoed (only fingerprints) and
never kept in the widget state.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from svc_nb._clock import Now
from svc_nb._redact import fingerprint, scrub
from svc_nb.widgets._base import MaskedField, SecretField, View, error_html

if TYPE_CHECKING:
    from svc_nb._report import Report

__all__ = ["SignatureChecker", "signature_checker"]

_AUTO = "auto-detect"
_SPLIT = re.compile(r"[\s,]+")


def split_secrets(text: str) -> list[str]:
    """Secrets typed into one field: separated by spaces, commas or newlines (rotation)."""
    return [s for s in _SPLIT.split(text.strip()) if s]


class SignatureChecker(View):
    """The checker: ``body``, ``headers``, ``secret``, ``scheme``, ``tolerance`` in; ``output``,
    ``report`` and ``detected`` (the scheme the headers show) out.

    The secret field is emptied as soon as it is read (the kernel keeps the
    secrets, the field shows their fingerprints, ``forget_secret`` drops them);
    body and headers show scrubbed (a password field, an Authorization header)
    while the real text is verified. ``now`` pins the clock for
    timestamped schemes (tests, reproducible notebooks); by default the current
    time is used at every update.
    """

    def __init__(
        self,
        body: str = "",
        headers: str = "",
        secret: str = "",
        *,
        scheme: str | None = None,
        now: Now = None,
        tolerance: int = 300,
    ) -> None:
        import ipywidgets as w

        from svc_nb.webhooks import SCHEMES

        self.now = now
        self.report: Report | None = None
        self.detected: str | None = None
        self._body = MaskedField.textarea(
            self.update,
            description="Body",
            placeholder="paste the raw request body exactly as received",
            height="120px",
            value=body,
        )
        self._headers = MaskedField.textarea(
            self.update,
            description="Headers",
            placeholder="headers: 'Name: value' lines or a JSON object",
            height="100px",
            value=headers,
        )
        self.body, self.headers = self._body.field, self._headers.field
        self._secret = SecretField(
            description="Secret",
            placeholder="secret(s): several separated by spaces or commas (rotation)",
            describe=_describe_secrets,
            on_change=self.update,
            value=secret,
        )
        self.secret, self.forget_secret = self._secret.field, self._secret.forget
        self.scheme = w.Dropdown(
            options=[_AUTO, *SCHEMES], value=scheme or _AUTO, description="Scheme"
        )
        self.tolerance = w.BoundedIntText(
            value=tolerance,
            min=0,
            max=10**9,
            description="Tolerance (s)",
            style={"description_width": "initial"},
        )
        self.output = w.HTML()
        for control in (self.scheme, self.tolerance):
            control.observe(lambda _change: self.update(), names="value")
        self.widget = w.VBox(
            [
                self.body,
                self.headers,
                self._secret.box,
                w.HBox([self.scheme, self.tolerance]),
                self.output,
            ]
        )
        self.update()

    def update(self) -> None:
        """Re-verify the current inputs and render the result into ``output``."""
        from svc_nb.webhooks import detect_scheme, parse_headers, verify

        secrets = split_secrets(self._secret.secret)
        headers_text = self._headers.text
        if not headers_text.strip():
            self.report = None
            self.output.value = "<i>Paste the request headers (and body and secret) above.</i>"
            return
        headers = parse_headers(headers_text)
        self.detected = detect_scheme(headers)
        chosen = None if self.scheme.value == _AUTO else str(self.scheme.value)
        scheme_line = (
            f"Detected scheme: <b>{html.escape(self.detected)}</b>"
            if self.detected
            else "Detected scheme: <b>none</b> (no known signature header)"
        )
        if chosen and chosen != self.detected:
            scheme_line += f" — verifying as <b>{html.escape(chosen)}</b> (chosen)"
        if not secrets:
            self.report = None
            self.output.value = f"<div>{scheme_line}</div><i>Type the secret to verify.</i>"
            return
        try:
            # verify() registers each secret, so every later rendering masks it too.
            report = verify(
                self._body.text.encode("utf-8", "surrogatepass"),
                headers,
                secrets,
                scheme=chosen,
                tolerance=self.tolerance.value,
                now=self.now,
            )
        except Exception as exc:  # misuse shows as an error box, not a traceback
            self.report = None
            self.output.value = error_html(exc)
            return
        self.report = report
        finding = report["webhooks.signature"]
        verdict = "valid" if report.ok else "rejected"
        colour = "#1a7f37" if report.ok else "#cf222e"
        prints = ", ".join(fingerprint(s) for s in secrets)
        self.output.value = scrub(
            f"<div>{scheme_line}</div>"
            f'<div data-verdict="{verdict}" data-cause="{html.escape(finding.cause or "")}" '
            f'style="font-size:1.2em;color:{colour}"><b>Signature {verdict}</b>: '
            f"{html.escape(finding.summary)}</div>"
            f'<div style="color:#57606a">Secrets tried: {len(secrets)} ({html.escape(prints)})</div>'
            + report._repr_html_()
        )


def _describe_secrets(text: str) -> str:
    secrets = split_secrets(text)
    count = f"{len(secrets)} secret{'s' * (len(secrets) != 1)}"
    return f"{count} ({', '.join(fingerprint(s) for s in secrets)})"


def signature_checker(
    body: str = "",
    headers: str = "",
    secret: str = "",
    *,
    scheme: str | None = None,
    now: Now = None,
    tolerance: int = 300,
) -> SignatureChecker:
    """An interactive webhook signature checker: body and headers text areas, secret password field."""
    return SignatureChecker(body, headers, secret, scheme=scheme, now=now, tolerance=tolerance)
