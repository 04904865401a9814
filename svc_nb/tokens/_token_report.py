"""TokenReport: what a token says and whether it holds, as text, HTML and findings."""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from svc_nb._fmt import format_duration
from svc_nb._redact import scrub, shorten_token
from svc_nb._report import DeferredReport, Finding, Status
from svc_nb.tokens._explanations import Spec, build
from svc_nb.tokens._parse import clip, numeric_date, utc

__all__ = ["TokenReport"]

_TIME_CLAIMS = ("exp", "nbf", "iat", "auth_time")
_SHOWN_TOKEN_CHARS = 2000
_SHOWN_VALUE_CHARS = 200
_SHOWN_CLAIMS = 100  # a view lists this many claims; .claims holds them all
_VERDICT_LINE = {
    "valid": "VALID — signature verified",
    "invalid": "INVALID",
    "unverified": "NOT VERIFIED — decoded only, the signature was not checked",
}
_VERDICT_COLOURS = {
    "valid": ("#1a7f37", "#e6f4ea"),
    "invalid": ("#cf222e", "#ffebe9"),
    "unverified": ("#9a6700", "#fff8c5"),
}


class TokenReport(DeferredReport):
    """What a token says and whether it holds: ``.header``, ``.claims``, ``.verdict``, findings.

    Findings are worded on first use (``inspect`` only names them) so that
    inspecting stays about as cheap as a bare ``jwt.decode``.
    """

    def __init__(
        self,
        *,
        token: str,
        header: dict[str, Any],
        claims: dict[str, Any],
        specs: Sequence[Spec | Finding],
        verified: bool,
        now: float,
        title: str = "JWT inspection",
    ) -> None:
        statuses = (item.status for item in specs)
        super().__init__(
            lambda: [build(item) for item in specs],
            worst=max(statuses, key=lambda status: status.rank, default=Status.SKIP),
            title=title,
        )
        self.header = header
        self.claims = claims
        self.verified = verified
        self.now = now
        self._token = token

    @property
    def token(self) -> str:
        """The token, shortened: header and claims kept, signature hidden."""
        if not self._token:
            return "(empty)"
        return clip(shorten_token(self._token), _SHOWN_TOKEN_CHARS)

    @property
    def verdict(self) -> str:
        """'invalid' (something failed), 'valid' (signature verified) or 'unverified'."""
        if self.worst is Status.FAIL:
            return "invalid"
        return "valid" if self.verified else "unverified"

    @property
    def reasons(self) -> list[str]:
        """One line per failed (or, if none failed, warned) finding."""
        for wanted in (Status.FAIL, Status.WARN):
            lines = [f.summary for f in self.findings if f.status is wanted]
            if lines:
                return lines
        return []

    def times(self) -> dict[str, float]:
        """The numeric iat/nbf/exp claims plus 'now', as Unix seconds."""
        out = {
            name: value
            for name in ("iat", "nbf", "exp")
            if (value := numeric_date(self.claims.get(name))) is not None
        }
        out["now"] = self.now
        return out

    def __repr__(self) -> str:
        return f"<TokenReport {self.verdict}: alg={self.header.get('alg')!r:.40}, {len(self)} findings>"

    def __str__(self) -> str:
        lines = [f"jwt: {self.token}", f"verdict: {_VERDICT_LINE[self.verdict]}"]
        if self.header:
            lines.append("header: " + _json_text(self.header))
        if self.claims:
            lines.append("claims:")
            lines += [f"  {clip(k)}: {self._claim_text(k, v)}" for k, v in self._shown_claims()]
            if len(self.claims) > _SHOWN_CLAIMS:
                lines.append(f"  … {len(self.claims) - _SHOWN_CLAIMS} more (see .claims)")
        lines += ["", super().__str__()]
        return scrub("\n".join(lines))

    def _shown_claims(self) -> list[tuple[str, Any]]:
        return list(itertools.islice(self.claims.items(), _SHOWN_CLAIMS))

    def _claim_text(self, name: str, value: Any) -> str:
        """A claim's value as shown (clipped); times also as UTC and relative to now."""
        text = _json_text(value)
        ts = numeric_date(value)
        if name in _TIME_CLAIMS and ts is not None:
            delta = ts - self.now
            when = f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(delta)} ago"
            text += f"  ({utc(ts)}, {when})"
        return text

    def _repr_html_(self) -> str:
        esc = html.escape
        fg, bg = _VERDICT_COLOURS[self.verdict]
        reasons = "".join(f"<li>{esc(r)}</li>" for r in self.reasons)
        verdict = (
            f'<div class="svcnb-verdict" data-verdict="{self.verdict}" style="color:{fg};'
            f'background:{bg};padding:6px;font-weight:bold">{esc(_VERDICT_LINE[self.verdict])}'
            f"{f'<ul style=font-weight:normal>{reasons}</ul>' if reasons else ''}</div>"
        )
        header_items = itertools.islice(self.header.items(), _SHOWN_CLAIMS)
        header = _table("Header", {k: _json_text(v) for k, v in header_items})
        claims = _table("Claims", {k: self._claim_text(k, v) for k, v in self._shown_claims()})
        body = (
            f'<div class="svcnb-token"><div><b>Token:</b> '
            f'<code style="word-break:break-all">{esc(self.token)}</code></div>'
            f"{verdict}{header if self.header else ''}{claims if self.claims else ''}"
            f"{super()._repr_html_()}</div>"
        )
        return scrub(body)


def _json_text(value: Any) -> str:
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return clip(text, _SHOWN_VALUE_CHARS)


def _table(caption: str, items: Mapping[str, str]) -> str:
    esc = html.escape
    rows = "".join(
        f'<tr><td style="padding:1px 8px"><code>{esc(clip(k))}</code></td>'
        f'<td style="padding:1px 8px"><code>{esc(clip(v, _SHOWN_VALUE_CHARS))}</code></td></tr>'
        for k, v in items.items()
    )
    return (
        f'<table class="svcnb-{caption.lower()}" style="border-collapse:collapse;'
        f'text-align:left;margin:4px 0"><caption style="text-align:left;font-weight:bold">'
        f"{caption}</caption>{rows}</table>"
    )
