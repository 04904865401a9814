"""After a signature mismatch: try the usual mistakes and name the one that reproduces it.

Each stage tries one family of mistakes (the MAC spelt wrongly, timestamp
units, another reading of the secret, a body changed after signing) and
returns the cause it proves, or None. The first stage that proves a cause
wins; :mod:`svc_nb.webhooks._verdicts` turns the cause into the finding.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from svc_nb._fmt import b64decode_lenient
from svc_nb._redact import fingerprint
from svc_nb._report import Finding, Report
from svc_nb.webhooks._causes import WebhooksCause as C
from svc_nb.webhooks._headers import Parsed
from svc_nb.webhooks._schemes import STANDARD_PREFIX, mac, utf8
from svc_nb.webhooks._verdicts import (
    TITLE,
    guide_header_finding,
    is_milliseconds,
    signature_finding,
    timestamp_findings,
)

__all__ = ["Mismatch", "explain_mismatch"]


@dataclass
class Mismatch:
    """Everything a stage may try: the request as received and the secrets' keys."""

    scheme: str
    parsed: Parsed
    raw: bytes
    canonical: bytes | None
    secrets: Sequence[str | bytes]
    keys: Sequence[bytes | None]  # None: the secret gives no key in this scheme
    fps: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.fps = [fingerprint(s) for s in self.secrets]

    @property
    def valid_keys(self) -> list[tuple[int, bytes]]:
        return [(i, k) for i, k in enumerate(self.keys) if k is not None]

    @property
    def bodies(self) -> list[bytes]:
        return [self.raw] + ([self.canonical] if self.canonical is not None else [])

    def reproduces(self, key: bytes, body: bytes, prefix: bytes | None = None) -> bool:
        signed = (self.parsed.prefix if prefix is None else prefix) + body
        return self.parsed.matches(mac(key, signed, self.parsed.algo))

    def secret_fields(self, i: int) -> dict[str, Any]:
        return {"n": i + 1, "fp": self.fps[i]}


@dataclass(frozen=True)
class _Hit:
    cause: C
    fields: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- the right MAC, spelt wrongly

_ENCODING_FIX = {
    "svc-infra": "Send hmac.new(secret, canonical_json(event), sha256).hexdigest() (lowercase hex, "
    "no prefix) in X-Signature.",
    "github": "Send 'sha256=' + hmac.new(secret, body, sha256).hexdigest() in X-Hub-Signature-256.",
    "stripe": "Send t=<ts>,v1=<lowercase hex HMAC of '<ts>.<body>'> in Stripe-Signature.",
    "standard": "Send 'v1,' + base64.b64encode(hmac digest) (standard alphabet, padded) in webhook-signature.",
}


def _hex_misspelling(sig: str, digest: bytes) -> str | None:
    if sig.lower() == digest.hex() and sig != digest.hex():
        return "the signature is uppercase hex; the scheme sends lowercase and compares exactly"
    if b64decode_lenient(sig) == digest:
        return "the signature is base64 but the scheme wants hex"
    for prefix in ("sha256=", "v1=", "v1,"):
        if sig.lower().startswith(prefix) and sig[len(prefix) :] == digest.hex():
            return f"the signature carries a {prefix!r} prefix the scheme does not use"
    return None


def _base64_misspelling(sig: str, digest: bytes) -> str | None:
    if sig.lower() == digest.hex():
        return "the signature is hex but Standard Webhooks wants base64"
    if ("-" in sig or "_" in sig) and b64decode_lenient(sig, urlsafe=True) == digest:
        return "the signature is URL-safe base64 (- and _) but the scheme wants standard base64"
    if sig.rstrip("=") == base64.b64encode(digest).decode().rstrip("="):
        return "the base64 signature lost its = padding"
    return None


def _spelling(m: Mismatch) -> _Hit | None:
    misspelling = _hex_misspelling if m.parsed.encoding == "hex" else _base64_misspelling
    for i, key in m.valid_keys:
        for body in m.bodies:
            digest = mac(key, m.parsed.prefix + body, m.parsed.algo)
            for sig in m.parsed.sigs:
                why = misspelling(sig.strip(), digest)
                if why:
                    return _Hit(
                        C.SIGNATURE_ENCODING,
                        {**m.secret_fields(i), "why": why, "fix": _ENCODING_FIX[m.scheme]},
                        {"matched_secret": i},
                    )
    return None


# --------------------------------------------------------------------------- timestamp units


def _timestamp_units(m: Mismatch) -> _Hit | None:
    ts = m.parsed.timestamp
    if ts is None:
        return None
    other = str(int(ts // 1000)) if is_milliseconds(ts) else str(int(ts) * 1000)
    prefix = m.parsed.prefix.replace(m.parsed.ts_text.encode(), other.encode(), 1)
    for i, key in m.valid_keys:
        if m.reproduces(key, m.raw, prefix):
            units = "seconds" if len(other) < len(m.parsed.ts_text) else "milliseconds"
            return _Hit(
                C.TIMESTAMP_UNITS,
                {"signed": other, "sent": m.parsed.ts_text, "signed_units": units},
                {"matched_secret": i},
            )
    return None


# --------------------------------------------------------------------------- the secret read another way


def _standard_readings(secret: str) -> list[tuple[C, str, bytes]]:
    bare = secret.removeprefix(STANDARD_PREFIX)
    out = [
        (
            C.SECRET_RAW,
            "the sender used the secret string's raw bytes as the key, not its "
            "base64-decoded value",
            utf8(secret),
        )
    ]
    if secret.startswith(STANDARD_PREFIX):
        out.append(
            (
                C.SECRET_RAW,
                "the sender used the raw bytes of the part after whsec_ as the key",
                utf8(bare),
            )
        )
    else:
        out.append(
            (
                C.SECRET_PREFIX,
                "the sender used the whsec_ string itself as a raw key",
                utf8(STANDARD_PREFIX + secret),
            )
        )
    return out


def _text_readings(scheme: str, secret: str) -> list[tuple[C, str, bytes]]:
    out: list[tuple[C, str, bytes]] = []
    if secret.startswith(STANDARD_PREFIX):
        bare = secret.removeprefix(STANDARD_PREFIX)
        out.append(
            (
                C.SECRET_PREFIX,
                f"the sender signed without the whsec_ prefix ({scheme} uses the "
                "secret string exactly as given)",
                utf8(bare),
            )
        )
        decoded = b64decode_lenient(bare, urlsafe=False) if bare.isascii() else None
        if decoded:
            out.append(
                (
                    C.SECRET_BASE64,
                    "the sender base64-decoded the secret after whsec_ (Standard Webhooks style)",
                    decoded,
                )
            )
    else:
        out.append(
            (
                C.SECRET_PREFIX,
                "the sender signed with the whsec_ prefix included",
                utf8(STANDARD_PREFIX + secret),
            )
        )
        decoded = (
            b64decode_lenient(secret, urlsafe=False)
            if len(secret) >= 8 and secret.isascii()
            else None
        )
        if decoded:
            out.append(
                (
                    C.SECRET_BASE64,
                    "the sender base64-decoded the secret before using it as the key",
                    decoded,
                )
            )
    stripped = secret.strip()
    if stripped != secret:
        out.append(
            (
                C.SECRET_WHITESPACE,
                "the sender's secret has no surrounding whitespace (yours "
                "has: a newline from a file or env?)",
                utf8(stripped),
            )
        )
    return out


def _readings(scheme: str, secret: str | bytes) -> list[tuple[C, str, bytes]]:
    """Other readings of a secret: (cause, how the sender read it, key)."""
    if isinstance(secret, bytes):
        return []
    return _standard_readings(secret) if scheme == "standard" else _text_readings(scheme, secret)


_SECRET_RULE = {
    "standard": "Standard Webhooks keys are the base64-decoded bytes after whsec_.",
    "stripe": "Stripe uses the whole whsec_… string as the key, prefix included.",
}
_SECRET_FIX = {
    "standard": "Use the Standard Webhooks library (standardwebhooks.Webhook(secret)) on both sides, "
    "or decode base64 after whsec_.",
}
_SAME_SECRET_FIX = (
    "Use the same secret string on both sides, byte for byte (prefix included or not, on both)."
)


def _secret_reading(m: Mismatch) -> _Hit | None:
    rule = _SECRET_RULE.get(
        m.scheme, f"{m.scheme} uses the secret string's UTF-8 bytes as the key, exactly as stored."
    )
    for i, secret in enumerate(m.secrets):
        for cause, why, key in _readings(m.scheme, secret):
            if any(m.reproduces(key, body) for body in m.bodies):
                fix = _SECRET_FIX.get(m.scheme, _SAME_SECRET_FIX)
                return _Hit(
                    cause,
                    {**m.secret_fields(i), "why": why, "rule": rule, "fix": fix},
                    {"matched_secret": i},
                )
    return None


# --------------------------------------------------------------------------- the body changed after signing


def _json_variant(**kwargs: Any) -> Callable[[bytes], bytes | None]:
    def apply(raw: bytes) -> bytes | None:
        try:
            return json.dumps(json.loads(raw.decode("utf-8-sig")), **kwargs).encode()
        except (ValueError, RecursionError):
            return None

    return apply


# (code, how the body changed after signing, the transformation back to what was signed)
_TRANSFORMS: tuple[tuple[str, str, Callable[[bytes], bytes | None]], ...] = (
    (
        "trailing_newline",
        "a trailing newline was added after signing",
        lambda b: b.rstrip(b"\r\n") if b.endswith((b"\n", b"\r")) else None,
    ),
    (
        "missing_newline",
        "the trailing newline that was signed was removed",
        lambda b: b + b"\n" if not b.endswith(b"\n") else None,
    ),
    (
        "bom",
        "a UTF-8 byte-order mark (BOM) was added in front",
        lambda b: b[3:] if b.startswith(b"\xef\xbb\xbf") else None,
    ),
    (
        "crlf",
        "line endings were converted from \\n to \\r\\n",
        lambda b: b.replace(b"\r\n", b"\n") if b"\r\n" in b else None,
    ),
    (
        "lf",
        "line endings were converted from \\r\\n to \\n",
        lambda b: b.replace(b"\n", b"\r\n") if b"\n" in b and b"\r\n" not in b else None,
    ),
    (
        "whitespace",
        "surrounding whitespace was added",
        lambda b: b.strip() if b.strip() != b else None,
    ),
    (
        "compact_json",
        "the JSON was re-serialised with spaces or indentation (it was signed compact)",
        _json_variant(separators=(",", ":"), ensure_ascii=False),
    ),
    (
        "compact_json_ascii",
        "the JSON was re-serialised (it was signed compact with \\u escapes)",
        _json_variant(separators=(",", ":")),
    ),
    (
        "spaced_json",
        "the JSON was re-serialised compact (it was signed as json.dumps's default ', ' / ': ')",
        _json_variant(),
    ),
    (
        "pretty_json",
        "the JSON was compacted (it was signed pretty-printed, indent=2)",
        _json_variant(indent=2),
    ),
    (
        "pretty_json4",
        "the JSON was compacted (it was signed pretty-printed, indent=4)",
        _json_variant(indent=4),
    ),
    (
        "key_order",
        "the JSON keys were reordered (it was signed with sorted keys)",
        _json_variant(sort_keys=True),
    ),
    (
        "key_order_compact",
        "the JSON was re-serialised with another key order (signed sorted and compact)",
        _json_variant(sort_keys=True, separators=(",", ":")),
    ),
)


def _body_changed(m: Mismatch) -> _Hit | None:
    for code, why, transform in _TRANSFORMS:
        candidate = transform(m.raw)
        if candidate is None or candidate == m.raw:
            continue
        for i, key in m.valid_keys:
            if m.reproduces(key, candidate):
                return _Hit(
                    C.BODY_ALTERED,
                    {**m.secret_fields(i), "why": why, "transformation": code},
                    {"transformation": code, "matched_secret": i},
                )
    return None


# --------------------------------------------------------------------------- int keys signed, text keys sent

_SHOWN_KEYS = 6
_SHOWN_PLACES = 3


def _int_text(key: str) -> bool:
    """Whether ``key`` is how json.dumps writes an int key (``str(int)``)."""
    digits = key[1:] if key.startswith("-") else key
    return (
        digits.isascii()
        and digits.isdigit()
        and (digits == "0" or not digits.startswith("0"))
        and key != "-0"
    )


def _int_keyed(raw: bytes, places: list[str]) -> Any:
    """The JSON with each object whose keys are all int-like re-keyed by int (as it was signed).

    ``places`` collects the key lists whose order changes (text order vs number order).
    """

    def rekey(pairs: list[tuple[str, Any]]) -> dict[Any, Any]:
        keys = [k for k, _ in pairs]
        if len(keys) < 2 or not all(_int_text(k) for k in keys):
            return dict(pairs)
        as_numbers = sorted(keys, key=int)
        if as_numbers != sorted(keys):
            more = ", …" if len(keys) > _SHOWN_KEYS else ""
            places.append(", ".join(as_numbers[:_SHOWN_KEYS]) + more)
        return {int(k): v for k, v in pairs}

    return json.loads(raw.decode("utf-8-sig"), object_pairs_hook=rekey)


def _non_string_keys(m: Mismatch) -> _Hit | None:
    """svc-infra signs ``json.dumps(sort_keys=True)`` of the dict it holds: int keys sort as numbers.

    On the wire they are text, which every receiver sorts as text ('10' before '2').
    """
    if m.scheme != "svc-infra" or m.canonical is None:
        return None
    places: list[str] = []
    try:
        event = _int_keyed(m.raw, places)
        if not places:
            return None
        signed = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    for i, key in m.valid_keys:
        if m.reproduces(key, signed):
            where = "; ".join(f"keys {keys}" for keys in places[:_SHOWN_PLACES]) + (
                f"; and {len(places) - _SHOWN_PLACES} more objects"
                if len(places) > _SHOWN_PLACES
                else ""
            )
            return _Hit(
                C.NON_STRING_KEYS,
                {**m.secret_fields(i), "where": where},
                {"matched_secret": i, "objects": len(places)},
            )
    return None


# --------------------------------------------------------------------------- nothing reproduced it


def _not_json(m: Mismatch) -> _Hit | None:
    return _Hit(C.BODY_NOT_JSON, {}) if m.scheme == "svc-infra" and m.canonical is None else None


def _secret_not_base64(m: Mismatch) -> _Hit | None:
    unusable = [i for i, k in enumerate(m.keys) if k is None]
    return _Hit(C.SECRET_NOT_BASE64, m.secret_fields(unusable[0])) if unusable else None


def _wrong_secret(m: Mismatch) -> _Hit:
    note = (
        (
            " svc-infra signs the canonical JSON of {topic, payload, version, created_at}; both the "
            "raw body and its canonical form were tried."
        )
        if m.scheme == "svc-infra"
        else ""
    )
    return _Hit(
        C.WRONG_SECRET,
        {"scheme": m.scheme, "count": len(m.secrets), "fps": ", ".join(m.fps), "note": note},
    )


# In order: the cheapest and most specific proofs first.
_STAGES: tuple[Callable[[Mismatch], _Hit | None], ...] = (
    _spelling,
    _timestamp_units,
    _secret_reading,
    _body_changed,
    _non_string_keys,
    _not_json,
    _secret_not_base64,
)


def explain_mismatch(m: Mismatch, h: Mapping[str, str], now_s: float, tolerance: float) -> Report:
    """The Report for a signature no secret matched: the proven cause, or wrong_secret."""
    hit = next(
        (found for stage in _STAGES if (found := stage(m)) is not None), None
    ) or _wrong_secret(m)
    verdict = signature_finding(
        hit.cause, data={"scheme": m.scheme, "candidates": m.fps, **hit.data}, **hit.fields
    )
    extra: list[Finding] = [guide_header_finding()] if "x-webhook-signature" in h else []
    return Report(
        [verdict, *extra, *timestamp_findings(m.parsed, now_s, tolerance, m.scheme)], title=TITLE
    )
