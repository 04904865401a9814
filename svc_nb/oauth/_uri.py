"""Redirect URIs as an authorization server sees them: split without normalising,
and shown without their user info, in time linear in their length."""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass

from svc_nb._redact import MASK, mask_url

__all__ = [
    "Uri",
    "authority_head",
    "clip",
    "diff_view",
    "hide_secrets",
    "parse_uri",
    "shown_uri",
    "similarity",
]

_LOOPBACK_NAMES = frozenset({"localhost"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters of user text shown in one summary line; the rest is elided in the middle.
_CLIP = 120


@dataclass(frozen=True)
class Uri:
    """A redirect URI split into the parts an authorization server compares."""

    raw: str
    scheme: str = ""
    userinfo: str = ""
    host: str = ""
    port: int | None = None
    port_text: str = ""
    path: str = ""
    query: str = ""
    has_fragment: bool = False
    error: str = ""

    @property
    def effective_port(self) -> int | None:
        return self.port if self.port is not None else DEFAULT_PORTS.get(self.scheme.lower())

    @property
    def has_default_port(self) -> bool:
        return self.port is None or self.port == DEFAULT_PORTS.get(self.scheme.lower())

    @property
    def is_loopback_ip(self) -> bool:
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def is_loopback(self) -> bool:
        return self.is_loopback_ip or self.host.lower() in _LOOPBACK_NAMES


def _split_hostport(hostport: str) -> tuple[str, str]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return hostport, ""
        return hostport[: end + 1], hostport[end + 2 :] if hostport[
            end + 1 : end + 2
        ] == ":" else ""
    host, _, port_text = hostport.partition(":")
    return host, port_text


def _port(port_text: str) -> tuple[int | None, str]:
    if not port_text:
        return None, ""
    # isdigit() also accepts other scripts' digits; only ASCII digits make a port.
    digits = port_text.lstrip("0") or "0"
    if port_text.isascii() and port_text.isdigit() and len(digits) <= 5 and int(digits) <= 65535:
        return int(digits), ""
    return None, f"port {clip(port_text, 20)!r} is not a number from 0 to 65535"


def parse_uri(raw: str) -> Uri:
    """Split without normalising: the exact text matters. Never raises."""
    text = raw.strip()
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError as exc:  # e.g. an unbalanced '[' in the host
        return Uri(raw, has_fragment="#" in text, error=f"unparseable URL: {exc}")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host, port_text = _split_hostport(hostport)
    port, error = _port(port_text)
    if not parts.scheme or not parts.netloc:
        error = error or "not an absolute URL (scheme://host/path)"
    return Uri(
        raw=raw,
        scheme=text[: len(parts.scheme)],  # urlsplit lowercases it; keep the exact text
        userinfo=userinfo,
        host=host,
        port=port,
        port_text=port_text,
        path=parts.path,
        query=parts.query,
        has_fragment="#" in text,
        error=error,
    )


def _userinfo_span(text: str) -> tuple[int, int] | None:
    """Where the user info of ``scheme://userinfo@host`` starts and where its '@' is.

    Found by position, not by pattern, so a password holding '@' or ':' is covered whole.
    """
    start = text.find("://")
    if start < 0:
        return None
    begin = start + 3
    end = len(text)
    for separator in "/?#":
        found = text.find(separator, begin, end)
        if found >= 0:
            end = found
    at = text.rfind("@", begin, end)
    return (begin, at) if at >= 0 else None


def authority_head(text: str) -> str:
    """``scheme://userinfo@`` of a URI, or "" when it has no user info."""
    span = _userinfo_span(text)
    return text[: span[1] + 1] if span else ""


def hide_secrets(text: str) -> str:
    """``text`` with a URL's password (or a bare token used as user name) and secret query
    values replaced by ``****``; nothing else changes, whitespace included."""
    span = _userinfo_span(text)
    if span is not None:
        begin, at = span
        user, colon, _ = text[begin:at].partition(":")
        text = f"{text[:begin]}{user + ':' + MASK if colon else MASK}{text[at:]}"
    return mask_url(text)


def shown_uri(text: str) -> str:
    """The URI as it may be shown: stripped, no user info secret, no secret query value."""
    return hide_secrets(text.strip())


def clip(text: str, limit: int = _CLIP) -> str:
    """``text`` cut in the middle to about ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]}…(+{len(text) - 2 * keep} chars)…{text[-keep:]}"


def _common_prefix(a: str, b: str) -> int:
    # Binary search over slice comparisons: C-speed memcmp, O(n log n) bytes touched.
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_suffix(a: str, b: str, limit: int) -> int:
    low, high = 0, limit
    while low < high:
        mid = (low + high + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            low = mid
        else:
            high = mid - 1
    return low


def _affixes(a: str, b: str) -> tuple[int, int]:
    prefix = _common_prefix(a, b)
    return prefix, _common_suffix(a, b, min(len(a), len(b)) - prefix)


def similarity(a: str, b: str) -> float:
    """How much two strings share at their ends, 0..1 (linear; difflib is quadratic)."""
    if not a and not b:
        return 1.0
    prefix, suffix = _affixes(a, b)
    return 2 * (prefix + suffix) / (len(a) + len(b))


def diff_view(registered: str, received: str, *, context: int = 24) -> dict[str, object]:
    """Where two (already masked) URIs first differ, with the differing middles bracketed."""
    prefix, suffix = _affixes(registered, received)

    def line(text: str) -> str:
        head = text[max(0, prefix - context) : prefix]
        tail = text[len(text) - suffix :][:context]
        lead = "…" if prefix > context else ""
        trail = "…" if suffix > context else ""
        return f"{lead}{head}[{clip(text[prefix : len(text) - suffix], 60)}]{tail}{trail}"

    return {"at": prefix, "registered": line(registered), "received": line(received)}
