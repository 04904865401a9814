"""One reading of a webhook URL for the probe (which reports a problem) and deliveries (which raise)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from svc_nb._redact import mask_url, scrub

__all__ = ["Target", "UrlProblem", "split_url"]

_FORM = "Write it as https://host[:port]/path, with a port between 1 and 65535."


@dataclass(frozen=True)
class Target:
    """A usable webhook URL's parts."""

    scheme: str
    host: str
    port: int
    shown: str  # the URL with secrets masked


@dataclass(frozen=True)
class UrlProblem:
    """Why a webhook URL cannot be used, and what to write instead."""

    summary: str
    fix: str
    shown: str


def split_url(url: str) -> Target | UrlProblem:
    """The URL's scheme, host and port, or the problem with it. No I/O, linear in the URL."""
    text = url.strip()
    shown = mask_url(text)

    def bad(summary: str, fix: str = _FORM) -> UrlProblem:
        return UrlProblem(summary, fix, shown)

    if not text:
        return bad(
            "the webhook URL is empty",
            "Pass the subscription URL, e.g. https://hooks.example.com/svc",
        )
    if any(c.isspace() for c in text):
        return bad(
            "the webhook URL contains whitespace",
            "Remove spaces/newlines from the URL (copy-paste?).",
        )
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", a non-numeric port
        return bad(f"the webhook URL is malformed: {scrub(str(exc))}")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return bad(
            f"the webhook URL's scheme is {parts.scheme or 'missing'!r}, not http or https",
            "Webhooks are HTTP POSTs: use https://host/path (http:// only for local tests).",
        )
    if not parts.hostname:
        return bad("the webhook URL has no host")
    if port == 0:
        return bad("the webhook URL's port is 0, which no server listens on")
    return Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80), shown)
