"""From pasted text to header, claims and signature; every step linear in the input."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any, NamedTuple

from svc_nb._fmt import b64decode_lenient
from svc_nb.tokens._causes import TokensCause
from svc_nb.tokens._explanations import Notes

__all__ = ["Parsed", "b64url", "clean", "clip", "numeric_date", "parse", "shown", "utc"]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# What a finding quotes of a user's value: enough to recognise it, never megabytes.
_SHOWN_CHARS = 80
_SHOWN_ITEMS = 10


def clip(text: str, limit: int = _SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


def shown(value: Any) -> str:
    """A user's value as a finding quotes it: repr, clipped."""
    if isinstance(value, list) and len(value) > _SHOWN_ITEMS:
        head = ", ".join(shown(v) for v in value[:_SHOWN_ITEMS])
        return f"[{head}, … ({len(value)} items)]"
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return clip(repr(value) if isinstance(value, str) else json_excerpt(value))


def json_excerpt(value: Any, limit: int = _SHOWN_CHARS) -> str:
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


def b64url(segment: str) -> bytes | None:
    """A JWT segment decoded, or None: base64url without padding, strictly (no '+', '/', '=')."""
    if not _B64URL.fullmatch(segment):
        return None
    return b64decode_lenient(segment, urlsafe=True)


def numeric_date(value: Any) -> float | None:
    """A finite NumericDate as float, else None (booleans, strings, 1e400, 10**400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def utc(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{ts!r} (out of range)"


def clean(token: str) -> tuple[str, list[str]]:
    """The token without what people paste around it, and what was stripped."""
    stripped: list[str] = []
    text = token
    if text != text.strip():
        stripped.append("surrounding whitespace/newline")
        text = text.strip()
    for _ in range(2):  # 'Bearer "eyJ..."' and '"Bearer eyJ..."' both happen
        if text[:7].lower() in ("bearer ", "bearer\t"):
            stripped.append("'Bearer ' prefix")
            text = text[7:].strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
            stripped.append("quotes")
            text = text[1:-1].strip()
    if any(c in text for c in " \t\r\n"):
        stripped.append("inner whitespace/line breaks")
        text = "".join(text.split())
    return text, stripped


class Parsed(NamedTuple):
    """A structurally sound JWT: three segments, JSON-object header and claims."""

    parts: list[str]
    header: dict[str, Any]
    claims: dict[str, Any]
    signature: bytes

    @property
    def alg(self) -> Any:
        return self.header.get("alg")

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return str(kid) if kid is not None else None

    @property
    def signing_input(self) -> bytes:
        return (self.parts[0] + "." + self.parts[1]).encode()


_SEGMENTS = (("header", 1), ("claims", 2))


def parse(text: str, notes: Notes) -> Parsed | None:
    """The token's parts, or None after noting what is malformed (the first problem only)."""
    if not text:
        notes.add("tokens.format", TokensCause.EMPTY_TOKEN)
        return None
    parts = text.split(".")
    if len(parts) != 3:
        _wrong_segment_count(len(parts), notes)
        return None
    decoded: list[dict[str, Any]] = []
    for (name, number), segment in zip(_SEGMENTS, parts, strict=False):
        value = _json_segment(segment, name, number, notes)
        if value is None:
            return None
        decoded.append(value)
    signature = b64url(parts[2])
    if signature is None:
        _malformed(notes, TokensCause.BAD_BASE64, "signature", 3)
        return None
    return Parsed(parts, decoded[0], decoded[1], signature)


def _wrong_segment_count(count: int, notes: Notes) -> None:
    if count == 5:
        notes.add("tokens.format", TokensCause.ENCRYPTED_JWE, data={"segments": count})
        return
    hint = (
        "; a refresh token in svc-infra is an opaque 64-hex string, not a JWT" if count == 1 else ""
    )
    notes.add(
        "tokens.format",
        TokensCause.WRONG_SEGMENT_COUNT,
        data={"segments": count},
        segments=count,
        hint=hint,
    )


def _json_segment(segment: str, name: str, number: int, notes: Notes) -> dict[str, Any] | None:
    raw = b64url(segment)
    if raw is None:
        _malformed(notes, TokensCause.BAD_BASE64, name, number)
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        _malformed(notes, TokensCause.BAD_JSON, name, number)
        return None
    if not isinstance(value, dict):
        _malformed(notes, TokensCause.NOT_JSON_OBJECT, name, number, kind=type(value).__name__)
        return None
    return value


def _malformed(notes: Notes, cause: TokensCause, segment: str, number: int, **fields: Any) -> None:
    notes.add(
        "tokens.format", cause, data={"segment": segment}, segment=segment, number=number, **fields
    )
