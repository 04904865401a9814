"""``jwt_inspector()``: paste a token (and a key), see what it says and why it fails, live.

A thin view over :func:`svc_nb.tokens.inspect`: every change of the token, the
key or the leeway re-renders the header and claims tables, the verdict with its
reasons and a timeline bar (iat, nbf, now, exp). Neither the key nor the
token's signature is ever echoed, nor kept in the widget state.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from svc_nb._clock import Now
from svc_nb._redact import fingerprint, scrub
from svc_nb._validate import DEFAULT_TIMEOUT_S
from svc_nb.widgets._base import MaskedField, SecretField, View, error_html

if TYPE_CHECKING:
    from svc_nb.tokens import TokenReport

__all__ = ["JwtInspector", "jwt_inspector", "timeline_svg"]

_MARKS = {"iat": "#57606a", "nbf": "#0969da", "now": "#1f2328", "exp": "#cf222e"}


def timeline_svg(times: dict[str, float], *, width: int = 560) -> str:
    """An inline SVG bar placing iat, nbf, now and exp on one time axis ('' if only now)."""
    if set(times) <= {"now"}:
        return ""
    lo, hi = min(times.values()), max(times.values())
    span = max(hi - lo, 1.0)
    pad, bar_y, height = 12, 48, 96

    def x(ts: float) -> float:
        return pad + (ts - lo) / span * (width - 2 * pad)

    now = times["now"]
    start = times.get("nbf", times.get("iat"))
    end = times.get("exp")
    parts = [
        f'<svg class="svcnb-timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" role="img" aria-label="token timeline">',
        f'<line x1="{pad}" y1="{bar_y}" x2="{width - pad}" y2="{bar_y}" stroke="#d0d7de" '
        'stroke-width="6"/>',
    ]
    if end is not None:
        valid = (start is None or start <= now) and now < end
        colour = "#2da44e" if valid else "#cf222e"
        x0 = x(start) if start is not None else pad
        parts.append(
            f'<line class="svcnb-valid-window" x1="{x0:.1f}" y1="{bar_y}" x2="{x(end):.1f}" '
            f'y2="{bar_y}" stroke="{colour}" stroke-width="6" opacity="0.6"/>'
        )
    # Labels of close marks would overprint: each goes to the first row (above, below,
    # further above, further below) whose previous label ends left of it.
    rows = [14, 84, 28, 70]
    row_end = [-1e9] * len(rows)
    for name, ts in sorted(times.items(), key=lambda kv: kv[1]):
        px = x(ts)
        when = datetime.fromtimestamp(ts, UTC).strftime("%m-%d %H:%M:%S") if abs(ts) < 1e11 else "?"
        label = f"{name} {when}"
        label_w = 6.2 * len(label)
        left = min(max(px - label_w / 2, 0), width - label_w)
        row = next((i for i, end_x in enumerate(row_end) if end_x < left), len(rows) - 1)
        row_end[row] = left + label_w + 4
        parts.append(
            f'<g class="svcnb-mark" data-mark="{name}"><line x1="{px:.1f}" y1="{bar_y - 10}" '
            f'x2="{px:.1f}" y2="{bar_y + 10}" stroke="{_MARKS[name]}" stroke-width="2"/>'
            f'<text x="{left:.1f}" y="{rows[row]}" font-size="10" font-family="monospace" '
            f'fill="{_MARKS[name]}">{html.escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


class JwtInspector(View):
    """The inspector: ``token``, ``key``, ``audience``, ``leeway`` in, ``output`` and ``report`` out.

    The key is a password field emptied as soon as it is read (the kernel keeps
    it; ``forget_key`` drops it); the token field shows the token with its
    signature hidden, and an edit of it keeps the hidden signature. ``now`` pins
    the clock (tests, reproducible notebooks); by default the current time is
    used at every update.
    """

    def __init__(
        self, token: str = "", key: str = "", *, now: Now = None, audience: str = ""
    ) -> None:
        import ipywidgets as w

        self.now = now
        self.report: TokenReport | None = None
        self._token = MaskedField.textarea(
            self.update,
            description="Token",
            placeholder="paste a JWT (Bearer prefix and quotes are fine)",
            height="80px",
            value=token,
        )
        self.token = self._token.field
        # The key applies on Enter / leaving the field, not per keystroke: a JWKS URL typed
        # character by character would otherwise trigger a fetch (and a DNS lookup) each time.
        self._key = SecretField(
            description="Key",
            placeholder="secret, PEM public key, JWK JSON or JWKS URL",
            describe=_describe_key,
            on_change=self.update,
            value=key,
        )
        self.key, self.forget_key = self._key.field, self._key.forget
        self.audience = w.Text(
            value=audience,
            placeholder="e.g. fastapi-users:auth (optional)",
            description="Audience",
            layout=w.Layout(width="100%"),
        )
        self.leeway = w.IntSlider(value=0, min=0, max=600, step=5, description="Leeway (s)")
        self.output = w.HTML()
        for control in (self.audience, self.leeway):
            control.observe(lambda _change: self.update(), names="value")
        self.widget = w.VBox([self.token, self._key.box, self.audience, self.leeway, self.output])
        self.update()

    def update(self) -> None:
        """Re-inspect the current inputs and render the result into ``output``."""
        from svc_nb import tokens

        text = self._token.text
        if not text.strip():
            self.report = None
            self.output.value = "<i>Paste a token above.</i>"
            return
        try:
            # inspect() registers the key, so every later rendering masks it too.
            report = tokens.inspect(
                text,
                key=self._key.secret.strip() or None,
                audience=self.audience.value.strip() or None,
                leeway=self.leeway.value,
                now=self.now,
                timeout=DEFAULT_TIMEOUT_S,
            )
        except Exception as exc:  # a misuse shows as an error box, not a traceback
            self.report = None
            self.output.value = error_html(exc)
            return
        self.report = report
        self.output.value = scrub(timeline_svg(report.times()) + report._repr_html_())


def _describe_key(key: str) -> str:
    return f"key {fingerprint(key.strip())}"


def jwt_inspector(
    token: str = "", key: str = "", *, now: Now = None, audience: str = ""
) -> JwtInspector:
    """An interactive JWT inspector: token text area, key password field, leeway slider."""
    return JwtInspector(token, key, now=now, audience=audience)
