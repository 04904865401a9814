"""Reading signature headers: any header form to one dict, the scheme, and what it offers.

Header text comes from users (pasted, logged, forwarded), so nothing here
raises on text: unreadable JSON, deeply nested JSON and lines without a colon
simply yield fewer headers.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from svc_nb._exceptions import ArgumentTypeError, SvcNbError
from svc_nb.webhooks._causes import WebhooksCause
from svc_nb.webhooks._schemes import HeadersInput, encode

__all__ = [
    "HeaderProblem",
    "Parsed",
    "detect_scheme",
    "lower_headers",
    "lower_names",
    "parse_headers",
    "read_signature",
    "standard_common",
]

_SHOWN_VALUE = 80  # characters of a malformed header value quoted back
_MAX_SIGNATURES = 16


# --------------------------------------------------------------------------- header forms


def _header_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        # A JSON object's nested value is no header value; keep its text, bounded.
        # TypeError: a key JSON cannot hold (a tuple); other values are shown as str().
        try:
            return json.dumps(value, default=str)[:4096]
        except (RecursionError, ValueError, TypeError):
            return ""
    return str(value)


def _header_name(name: Any) -> str:
    if isinstance(name, bytes | bytearray):
        return bytes(name).decode("latin-1").strip().lower()
    return str(name).strip().lower()


def _from_text(text: str) -> dict[str, str]:
    text = text.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except (ValueError, RecursionError):
            loaded = None
        if isinstance(loaded, dict):
            return {_header_name(k): _header_value(v) for k, v in loaded.items()}
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        name = name.strip().strip('"').strip()
        if sep and name and " " not in name:
            out[name.lower()] = value.strip().rstrip(",").strip().strip('"')
    return out


def parse_headers(headers: HeadersInput) -> dict[str, str]:
    """Headers as a dict with lower-case names, from a mapping, pairs, JSON or ``Name: value`` lines.

    Names and values may be str or bytes (ASGI scopes carry bytes), and so may
    the text. Never raises on text: lines without a colon are ignored.
    """
    if isinstance(headers, str):
        return _from_text(headers)
    if isinstance(headers, bytes | bytearray):
        return _from_text(bytes(headers).decode("latin-1"))
    items: Iterable[Any]
    if isinstance(headers, Mapping):
        items = headers.items()
    elif isinstance(headers, Iterable):
        items = headers
    else:
        raise ArgumentTypeError(
            "headers must be a mapping (request.headers), pairs, JSON text or 'Name: value' lines, "
            f"not {type(headers).__name__}"
        )
    out: dict[str, str] = {}
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise ArgumentTypeError("header pairs must be (name, value) tuples") from None
        out[_header_name(name)] = _header_value(value)
    return out


def lower_names(headers: dict[Any, Any]) -> dict[Any, Any]:
    """``headers`` with lower-case names, values untouched; TypeError for a name that is not str.

    A dict whose names are all lower-case already (ASGI servers hand them over so:
    ``dict(request.headers)`` in Starlette) is returned itself, not copied: read it,
    never change it. One pass over the joined names tells: every character that
    ``islower()`` lets through is its own ``lower()`` (tested on this Python's Unicode).
    """
    if "".join(headers).islower():  # TypeError for bytes or other names, as str.lower gives
        return headers
    return {str.lower(k): v for k, v in headers.items()}


def lower_headers(headers: HeadersInput) -> dict[str, str]:
    """:func:`parse_headers`, with a fast path for the common plain ``dict[str, str]``.

    The result is only read: it may be ``headers`` itself (see :func:`lower_names`).
    """
    if type(headers) is dict:
        try:
            # Bytes names take the general path below.
            lowered = lower_names(headers)
        except TypeError:
            return parse_headers(headers)
        for value in lowered.values():
            if type(value) is not str:  # rare (bytes, numbers): convert them all
                return {name: _header_value(value) for name, value in lowered.items()}
        return lowered
    return parse_headers(headers)


_DETECT = (
    ("webhook-signature", "standard"),
    ("svix-signature", "standard"),
    ("stripe-signature", "stripe"),
    ("x-hub-signature-256", "github"),
    ("x-hub-signature", "github"),
    ("x-signature", "svc-infra"),
)


def detect_in(lowered: Mapping[str, str]) -> str | None:
    for name, scheme in _DETECT:
        if name in lowered:
            return scheme
    return None


def detect_scheme(headers: HeadersInput) -> str | None:
    """The signing scheme the headers belong to, or None (names are case-insensitive)."""
    try:
        return detect_in(lower_headers(headers))
    except TypeError:
        return None


# --------------------------------------------------------------------------- what a scheme offers


class Parsed:
    """What a scheme's headers say: the signatures offered and the signed prefix."""

    __slots__ = ("algo", "encoding", "prefix", "sigs", "timestamp", "ts_text")

    def __init__(
        self,
        sigs: list[str],
        encoding: str,
        prefix: bytes = b"",
        timestamp: float | None = None,
        ts_text: str = "",
        algo: str = "sha256",
    ) -> None:
        self.sigs = sigs
        self.encoding = encoding  # "hex" or "base64"
        self.prefix = prefix
        self.timestamp = timestamp
        self.ts_text = ts_text
        self.algo = algo

    def matches(self, digest: bytes) -> bool:
        """Whether ``digest`` is one of the offered signatures (constant time, every one compared)."""
        expected = encode(digest, self.encoding)
        found = False
        for sig in self.sigs:
            # No early exit: that would leak which offered signature matched.
            found |= hmac.compare_digest(expected, sig) if sig.isascii() else False
        return found


class HeaderProblem(SvcNbError):
    """A signature header is missing or malformed; carries what the explanation needs."""

    def __init__(
        self, cause: WebhooksCause, header: str, scheme: str, expected: str, value: str = ""
    ) -> None:
        super().__init__(cause.value)
        self.cause = cause
        self.header = header
        self.scheme = scheme
        self.expected = expected
        self.shown = value if len(value) <= _SHOWN_VALUE else value[: _SHOWN_VALUE - 3] + "…"


def _missing(header: str, scheme: str, expected: str) -> HeaderProblem:
    return HeaderProblem(WebhooksCause.MISSING_HEADER, header, scheme, expected)


def _malformed(header: str, scheme: str, value: str, expected: str) -> HeaderProblem:
    return HeaderProblem(WebhooksCause.MALFORMED_HEADER, header, scheme, expected, value)


def _check_count(sigs: list[str], header: str, scheme: str, value: str) -> None:
    # Senders offer one signature per active secret; thousands are junk, and each one
    # offered multiplies the work of explaining a mismatch.
    if len(sigs) > _MAX_SIGNATURES:
        raise _malformed(
            header, scheme, value, f"at most {_MAX_SIGNATURES} v1 signatures (got {len(sigs)})"
        )


def _timestamp(text: str, header: str, scheme: str) -> float:
    if text.isascii() and text.isdigit() and len(text) < 16:
        return float(int(text))
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    # NaN or inf would compare false with every tolerance and pass as fresh.
    if not math.isfinite(value):
        raise _malformed(header, scheme, text, "Unix time in seconds, e.g. 1714000000")
    return value


def _svc_infra(h: Mapping[str, str]) -> Parsed:
    sig = h.get("x-signature")
    if sig is None:
        raise _missing("X-Signature", "svc-infra", "64 lowercase hex characters")
    return Parsed([sig.strip()], "hex")


def _github(h: Mapping[str, str]) -> Parsed:
    for name, shown, algo, digits in (
        ("x-hub-signature-256", "X-Hub-Signature-256", "sha256", 64),
        ("x-hub-signature", "X-Hub-Signature", "sha1", 40),
    ):
        if name in h:
            value = h[name].strip()
            label, sep, sig = value.partition("=")
            if not sep or label.strip().lower() != algo:
                raise _malformed(shown, "github", value, f"{algo}=<{digits} hex characters>")
            return Parsed([sig.strip()], "hex", algo=algo)
    raise _missing("X-Hub-Signature-256", "github", "sha256=<64 hex characters>")


def _stripe(h: Mapping[str, str]) -> Parsed:
    if "stripe-signature" not in h:
        raise _missing("Stripe-Signature", "stripe", "t=<unix seconds>,v1=<hex>")
    value = h["stripe-signature"]
    ts_text = ""
    sigs: list[str] = []
    for part in value.split(","):
        key, sep, val = part.strip().partition("=")
        if sep and key == "t":
            ts_text = val.strip()
        elif sep and key == "v1":
            sigs.append(val.strip())
    if not ts_text or not sigs:
        missing = " (no t=)" if not ts_text else " (no v1=)"
        raise _malformed("Stripe-Signature", "stripe", value, "t=<unix seconds>,v1=<hex>" + missing)
    _check_count(sigs, "Stripe-Signature", "stripe", value)
    ts = _timestamp(ts_text, "Stripe-Signature t=", "stripe")
    return Parsed(sigs, "hex", f"{ts_text}.".encode(), ts, ts_text)


STANDARD_NAMES = {k: f"webhook-{k}" for k in ("id", "timestamp", "signature")}
_SVIX_NAMES = {k: f"svix-{k}" for k in ("id", "timestamp", "signature")}


def standard_common(
    h: Mapping[str, str], names: Mapping[str, str]
) -> tuple[str, bytes, float, str] | None:
    """The common case in one step: one v1 signature and a plain seconds timestamp.

    Returns (signature, signed prefix, timestamp, timestamp text), or None when the
    headers need the full reading (several signatures, odd spacing, missing parts).
    """
    if names is STANDARD_NAMES:  # the usual names as constants: no lookups per request
        sig, mid, ts = h.get("webhook-signature"), h.get("webhook-id"), h.get("webhook-timestamp")
    else:
        sig, mid, ts = h.get(names["signature"]), h.get(names["id"]), h.get(names["timestamp"])
    if (
        type(sig) is str
        and type(mid) is str
        and type(ts) is str
        and ts.isascii()
        and ts.isdigit()
        and len(ts) < 12
        and sig.startswith("v1,")
        and " " not in sig
    ):
        return sig[3:], f"{mid.strip()}.{ts}.".encode(), float(ts), ts
    return None


def _standard(h: Mapping[str, str]) -> Parsed:
    names = STANDARD_NAMES if "webhook-signature" in h or "svix-signature" not in h else _SVIX_NAMES
    common = standard_common(h, names)
    if common is not None:
        sig, prefix, ts, ts_text = common
        return Parsed([sig], "base64", prefix, ts, ts_text)
    for key, expected in (
        ("signature", "v1,<base64> (space-separated list)"),
        ("id", "the message id, e.g. msg_2b…"),
        ("timestamp", "Unix seconds"),
    ):
        if names[key] not in h:
            raise _missing(names[key], "standard", expected)
    mid = h[names["id"]].strip()
    ts_text = h[names["timestamp"]].strip()
    ts = _timestamp(ts_text, names["timestamp"], "standard")
    value = h[names["signature"]]
    sigs: list[str] = []
    versions: set[str] = set()
    for item in value.split():
        version, sep, sig = item.partition(",")
        versions.add(version)
        if sep and version == "v1":
            sigs.append(sig)
    if not sigs:
        shown = sorted(v[:20] for v in versions)[:5]
        found = f" (found versions {', '.join(shown)})" if versions else ""
        raise _malformed(
            names["signature"], "standard", value, "space-separated 'v1,<base64>' entries" + found
        )
    _check_count(sigs, names["signature"], "standard", value)
    return Parsed(sigs, "base64", f"{mid}.{ts_text}.".encode(), ts, ts_text)


_READERS: dict[str, Callable[[Mapping[str, str]], Parsed]] = {
    "svc-infra": _svc_infra,
    "github": _github,
    "stripe": _stripe,
    "standard": _standard,
}


def read_signature(scheme: str, h: Mapping[str, str]) -> Parsed:
    """The signatures and signed prefix ``scheme`` finds in ``h``; raises :class:`HeaderProblem`."""
    return _READERS[scheme](h)
