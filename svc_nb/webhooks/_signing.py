"""Webhook signatures: sign and verify four schemes, and explain every mismatch.

Schemes (DESIGN §3):

- ``svc-infra``: HMAC-SHA256, lowercase hex, header ``X-Signature``, over the
  canonical JSON of the event (sorted keys, compact separators). The sender
  POSTs httpx's own serialisation, so the raw body usually differs from what
  was signed: receivers must verify the canonical form.
- ``standard`` (Standard Webhooks): ``webhook-signature: v1,<base64>`` over
  ``{id}.{timestamp}.{body}``, secret ``whsec_<base64>``.
- ``stripe``: ``Stripe-Signature: t=<ts>,v1=<hex>`` over ``{t}.{body}``; the
  whole ``whsec_…`` string is the HMAC key.
- ``github``: ``X-Hub-Signature-256: sha256=<hex>`` over the raw body.

The happy path computes one signature and compares it in constant time; the
cause-hunting (other secrets' encodings, body transformations, timestamps)
runs only after a mismatch.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from svc_nb._clock import unix_seconds
from svc_nb._redact import fingerprint, register_secret
from svc_nb._report import Finding, Report, Status

__all__ = [
    "SCHEMES",
    "SigningError",
    "canonical_json",
    "detect_scheme",
    "parse_headers",
    "sign",
    "verify",
]

SCHEMES: tuple[str, ...] = ("svc-infra", "standard", "stripe", "github")

CHECK = "webhooks.signature"
_TITLE = "webhook signature"
_MS_THRESHOLD = 100_000_000_000  # a Unix time above this is in milliseconds (year 5138 in s)
_STANDARD_PREFIX = "whsec_"

SecretInput = str | bytes | Sequence[str | bytes]
BodyInput = bytes | bytearray | str | Mapping[str, Any]
HeadersInput = Mapping[str, Any] | Iterable[tuple[str | bytes, Any]] | str


class SigningError(ValueError):
    """Misuse of the signing API (unknown scheme, unusable secret or body type)."""


# --------------------------------------------------------------------------- inputs


def canonical_json(event: Any) -> bytes:
    """The bytes svc-infra signs: ``json.dumps(event, sort_keys=True, separators=(",", ":"))``.

    ``event`` may be a dict or JSON text/bytes (parsed first).
    """
    if isinstance(event, bytes | bytearray | str):
        event = json.loads(event)
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def _body_bytes(body: BodyInput, *, scheme: str) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    if isinstance(body, Mapping):
        # A dict is sent as compact JSON; svc-infra signs its canonical form anyway.
        return canonical_json(dict(body))
    raise TypeError(
        f"body must be bytes, str or a dict (the event), not {type(body).__name__}; "
        "pass the raw request body: await request.body()"
    )


def _secrets(secret: SecretInput) -> list[str | bytes]:
    items: list[str | bytes]
    if isinstance(secret, str | bytes):
        items = [secret]
    elif isinstance(secret, Sequence) and not isinstance(secret, bytearray):
        items = [*secret]
    else:
        raise TypeError(
            f"secret must be a str, bytes, or a list of them (rotation), not {type(secret).__name__}"
        )
    for item in items:
        if not isinstance(item, str | bytes):
            raise TypeError(
                f"each secret must be str or bytes, not {type(item).__name__}"
            )
    return items


_registered_here: set[str | bytes] = set()


def _remember(secrets: Sequence[str | bytes]) -> None:
    # register_secret derives several forms; do it once per secret, not per verify call.
    for s in secrets:
        if s not in _registered_here:
            register_secret(s)
            if isinstance(s, str) and s.startswith(_STANDARD_PREFIX):
                register_secret(s[len(_STANDARD_PREFIX):])
            _registered_here.add(s)


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise SigningError(
            f"unknown signing scheme {scheme!r}; use one of {', '.join(SCHEMES)}"
        )
    return scheme


def _utf8(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def _standard_key(secret: str | bytes) -> bytes:
    """Standard Webhooks' key: ``whsec_`` stripped, base64-decoded (bytes are used as-is)."""
    if isinstance(secret, bytes):
        return secret
    raw = secret[len(_STANDARD_PREFIX):] if secret.startswith(_STANDARD_PREFIX) else secret
    try:
        key = base64.b64decode(raw + "==", validate=False)
        if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", raw) or not key:
            raise ValueError
    except (binascii.Error, ValueError):
        raise SigningError(
            "a Standard Webhooks secret is 'whsec_' followed by base64 "
            f"(this one, {fingerprint(secret)}, is not base64); pass the secret exactly as "
            "the sender shows it, or pass bytes for a raw key"
        ) from None
    return key


_key_cache: dict[tuple[str, str | bytes], bytes] = {}


def _key(scheme: str, secret: str | bytes) -> bytes:
    """The HMAC key a scheme derives from a secret (cached: verify runs in hot loops)."""
    cached = _key_cache.get((scheme, secret))
    if cached is None:
        cached = _standard_key(secret) if scheme == "standard" else _utf8(secret)
        if len(_key_cache) > 256:
            _key_cache.clear()
        _key_cache[(scheme, secret)] = cached
    return cached


_unix = unix_seconds


# Cached HMAC states keyed by the key bytes: copying one is cheaper than keying anew.
_hmac_cache: dict[tuple[bytes, str], Any] = {}


def _mac(key: bytes, message: bytes, algo: str = "sha256") -> bytes:
    base = _hmac_cache.get((key, algo))
    if base is None:
        if len(_hmac_cache) > 256:
            _hmac_cache.clear()
        keyed = hmac.new(key, digestmod=getattr(hashlib, algo))
        # the OpenSSL object inside hmac.HMAC copies without the Python wrapper's overhead
        base = getattr(keyed, "_hmac", None) or keyed
        _hmac_cache[(key, algo)] = base
    mac = base.copy()
    mac.update(message)
    return bytes(mac.digest())


# --------------------------------------------------------------------------- sign


def sign(
    body: BodyInput,
    secret: str | bytes,
    *,
    scheme: str = "svc-infra",
    timestamp: dt.datetime | float | int | None = None,
    msg_id: str | None = None,
    subscription_id: str | None = None,
) -> dict[str, str]:
    """The headers a sender of ``scheme`` would attach to ``body``.

    For ``svc-infra`` the body is the event (dict or JSON) and the signature
    covers its canonical JSON; for the others it covers the exact bytes sent.
    ``subscription_id`` fills svc-infra's ``X-Webhook-Subscription``.
    """
    _check_scheme(scheme)
    if not isinstance(secret, str | bytes):
        raise TypeError("sign() takes one secret (str or bytes); the sender signs with one")
    if not secret:
        raise SigningError("the secret is empty; pass the subscription's signing secret")
    _remember([secret])
    ts = int(_unix(timestamp))
    if scheme == "svc-infra":
        event: Any = body
        if isinstance(body, bytes | bytearray | str):
            try:
                event = json.loads(body)
            except ValueError:
                raise SigningError("svc-infra signs a JSON event; the body is not JSON") from None
        if not isinstance(event, Mapping | list | str | int | float | bool) and event is not None:
            raise TypeError(f"body must be the event dict or JSON, not {type(body).__name__}")
        signature = hmac.new(_utf8(secret), canonical_json(event), hashlib.sha256).hexdigest()
        headers = {
            "X-Signature": signature,
            "X-Event-Id": msg_id or str(uuid.uuid4().int % 10**9),
            "X-Attempt": "1",
            "X-Signature-Alg": "hmac-sha256",
            "X-Signature-Version": "v1",
        }
        if subscription_id is not None:
            headers["X-Webhook-Subscription"] = str(subscription_id)
        if isinstance(event, Mapping):
            if event.get("topic") is not None:
                headers["X-Topic"] = str(event["topic"])
            if event.get("version") is not None:
                headers["X-Payload-Version"] = str(event["version"])
        return headers
    data = _body_bytes(body, scheme=scheme)
    if scheme == "standard":
        mid = msg_id or f"msg_{uuid.uuid4().hex}"
        sig = base64.b64encode(_mac(_standard_key(secret), f"{mid}.{ts}.".encode() + data)).decode()
        return {"webhook-id": mid, "webhook-timestamp": str(ts), "webhook-signature": f"v1,{sig}"}
    if scheme == "stripe":
        sig_hex = _mac(_utf8(secret), f"{ts}.".encode() + data).hex()
        return {"Stripe-Signature": f"t={ts},v1={sig_hex}"}
    sig_hex = _mac(_utf8(secret), data).hex()
    headers = {"X-Hub-Signature-256": f"sha256={sig_hex}"}
    if msg_id:
        headers["X-GitHub-Delivery"] = msg_id
    return headers


# --------------------------------------------------------------------------- headers


def parse_headers(headers: HeadersInput) -> dict[str, str]:
    """Headers as a dict with lower-case names, from a mapping, pairs, JSON or ``Name: value`` lines.

    Never raises on text: lines without a colon are ignored.
    """
    if isinstance(headers, str):
        text = headers.strip()
        if text.startswith("{"):
            try:
                loaded = json.loads(text)
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                return {str(k).strip().lower(): _header_value(v) for k, v in loaded.items()}
        out: dict[str, str] = {}
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            name = name.strip().strip('"').strip()
            if sep and name and " " not in name:
                out[name.lower()] = value.strip().rstrip(",").strip().strip('"')
        return out
    if isinstance(headers, Mapping):
        items: Iterable[Any] = headers.items()
    elif isinstance(headers, Iterable):
        items = headers
    else:
        raise TypeError(
            "headers must be a mapping (request.headers), pairs, JSON text or 'Name: value' lines, "
            f"not {type(headers).__name__}"
        )
    out = {}
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError("header pairs must be (name, value) tuples") from None
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        out[str(name).lower()] = _header_value(value)
    return out


def _header_value(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else str(value)


def _lower(headers: HeadersInput) -> dict[str, str]:
    if type(headers) is dict:
        try:
            lowered = {k.lower(): v for k, v in headers.items()}
        except AttributeError:  # a non-str name: take the general path
            return parse_headers(headers)
        for k, v in lowered.items():
            if type(v) is not str:
                lowered[k] = _header_value(v)
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


def _detect(lowered: Mapping[str, str]) -> str | None:
    for name, scheme in _DETECT:
        if name in lowered:
            return scheme
    return None


def detect_scheme(headers: HeadersInput) -> str | None:
    """The signing scheme the headers belong to, or None (names are case-insensitive)."""
    try:
        return _detect(_lower(headers))
    except TypeError:
        return None


# --------------------------------------------------------------------------- verify


class _Fail(Exception):
    """Internal: a header problem found while reading the headers."""

    def __init__(self, cause: str, summary: str, detail: str, fix: str, **data: Any) -> None:
        super().__init__(cause)
        self.finding = Finding(
            CHECK, Status.FAIL, summary, detail, fix, {"cause": cause, **data}
        )


class _Parsed:
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


def _missing(header: str, scheme: str, expected: str) -> _Fail:
    return _Fail(
        "missing_header",
        f"header {header} is missing ({scheme} scheme)",
        f"The {scheme} scheme needs {header}: {expected}. Without it there is nothing to verify.",
        f"Pass every request header to verify(), e.g. verify(body, dict(request.headers), secret); "
        f"check that a proxy does not strip {header}.",
        header=header,
        scheme=scheme,
    )


def _malformed(header: str, scheme: str, value: str, expected: str) -> _Fail:
    shown = value if len(value) <= 80 else value[:77] + "…"
    return _Fail(
        "malformed_header",
        f"header {header} is malformed ({scheme} scheme)",
        f"Got {shown!r}; expected {expected}.",
        f"Send {header} exactly as the {scheme} scheme defines it: {expected}.",
        header=header,
        scheme=scheme,
    )


def _parse_timestamp(text: str, header: str, scheme: str) -> float:
    if text.isdigit() and len(text) < 16:
        return float(int(text))
    try:
        value = float(text.strip())
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError
    except ValueError:
        raise _malformed(header, scheme, text, "Unix time in seconds, e.g. 1714000000") from None
    return value


_STD_NAMES = {k: f"webhook-{k}" for k in ("id", "timestamp", "signature")}
_SVIX_NAMES = {k: f"svix-{k}" for k in ("id", "timestamp", "signature")}


def _parse(scheme: str, h: Mapping[str, str]) -> _Parsed:
    if scheme == "svc-infra":
        sig = h.get("x-signature")
        if sig is None:
            raise _missing("X-Signature", scheme, "64 lowercase hex characters")
        return _Parsed([sig.strip()], "hex")
    if scheme == "github":
        if "x-hub-signature-256" in h:
            value = h["x-hub-signature-256"].strip()
            algo, sep, sig = value.partition("=")
            if not sep or algo.strip().lower() != "sha256":
                raise _malformed("X-Hub-Signature-256", scheme, value, "sha256=<64 hex characters>")
            return _Parsed([sig.strip()], "hex")
        if "x-hub-signature" in h:
            value = h["x-hub-signature"].strip()
            algo, sep, sig = value.partition("=")
            if not sep or algo.strip().lower() != "sha1":
                raise _malformed("X-Hub-Signature", scheme, value, "sha1=<40 hex characters>")
            return _Parsed([sig.strip()], "hex", algo="sha1")
        raise _missing("X-Hub-Signature-256", scheme, "sha256=<64 hex characters>")
    if scheme == "stripe":
        if "stripe-signature" not in h:
            raise _missing("Stripe-Signature", scheme, "t=<unix seconds>,v1=<hex>")
        value = h["stripe-signature"]
        ts_text = ""
        sigs: list[str] = []
        for part in value.split(","):
            key, sep, val = part.strip().partition("=")
            if not sep:
                continue
            if key == "t":
                ts_text = val.strip()
            elif key == "v1":
                sigs.append(val.strip())
        if not ts_text or not sigs:
            raise _malformed(
                "Stripe-Signature", scheme, value,
                "t=<unix seconds>,v1=<hex>" + (" (no t=)" if not ts_text else " (no v1=)"),
            )
        ts = _parse_timestamp(ts_text, "Stripe-Signature t=", scheme)
        return _Parsed(sigs, "hex", f"{ts_text}.".encode(), ts, ts_text)
    # standard (or its Svix spelling)
    names = _STD_NAMES if "webhook-signature" in h or "svix-signature" not in h else _SVIX_NAMES
    f_sig = h.get(names["signature"])
    f_id = h.get(names["id"])
    f_ts = h.get(names["timestamp"])
    if (f_sig is not None and f_id is not None and f_ts is not None and f_ts.isascii()
            and f_ts.isdigit() and len(f_ts) < 12 and f_sig.startswith("v1,") and " " not in f_sig):
        # the common case: one v1 signature, a plain seconds timestamp
        return _Parsed([f_sig[3:]], "base64", f"{f_id.strip()}.{f_ts}.".encode(), float(f_ts), f_ts)
    for key, expected in (
        ("signature", "v1,<base64> (space-separated list)"),
        ("id", "the message id, e.g. msg_2b…"),
        ("timestamp", "Unix seconds"),
    ):
        if names[key] not in h:
            raise _missing(names[key], scheme, expected)
    mid = h[names["id"]].strip()
    ts_text = h[names["timestamp"]].strip()
    ts = _parse_timestamp(ts_text, names["timestamp"], scheme)
    value = h[names["signature"]]
    sigs = []
    versions = []
    for item in value.split():
        version, sep, sig = item.partition(",")
        versions.append(version)
        if sep and version == "v1":
            sigs.append(sig)
    if not sigs:
        raise _malformed(
            names["signature"], scheme, h[names["signature"]],
            "space-separated 'v1,<base64>' entries"
            + (f" (found versions {', '.join(sorted(set(versions)))})" if versions else ""),
        )
    return _Parsed(sigs, "base64", f"{mid}.{ts_text}.".encode(), ts, ts_text)


def _encode(digest: bytes, encoding: str) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def _matches(digest: bytes, parsed: _Parsed) -> bool:
    expected = _encode(digest, parsed.encoding)
    found = False
    for sig in parsed.sigs:
        # compare every offered signature: no early exit that would leak which one matched
        found |= hmac.compare_digest(expected, sig) if sig.isascii() else False
    return found


def verify(
    body: BodyInput,
    headers: HeadersInput,
    secret: SecretInput,
    *,
    scheme: str | None = None,
    tolerance: float = 300,
    now: dt.datetime | float | None = None,
) -> Report:
    """Check a received webhook's signature; explain the cause when it does not match.

    ``body`` is the raw request body (bytes as received); ``headers`` the request
    headers (mapping, pairs, JSON or ``Name: value`` lines); ``secret`` one secret
    or a list of them (rotation). ``scheme`` None detects it from the headers.
    Returns a Report whose ``webhooks.signature`` finding holds the verdict.
    """
    # Type checks first, cheapest form first: verify() sits in receivers' hot paths.
    secrets = [secret] if type(secret) is str or type(secret) is bytes else _secrets(secret)
    if scheme is not None and scheme not in SCHEMES:
        _check_scheme(scheme)
    if type(tolerance) is not int and type(tolerance) is not float:
        raise TypeError(f"tolerance must be a number of seconds, got {type(tolerance).__name__}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 seconds, got {tolerance!r}")
    if type(body) is bytes:
        raw = body
    elif isinstance(body, bytearray):
        raw = bytes(body)
    elif isinstance(body, str):
        raw = body.encode("utf-8", "surrogatepass")
    elif isinstance(body, Mapping):
        raw = canonical_json(dict(body))
    else:
        raise TypeError(
            f"body must be the raw request body (bytes or str), not {type(body).__name__}"
        )
    now_s = time.time() if now is None else _unix(now)
    for s in secrets:
        if s not in _registered_here:
            _remember(secrets)
            break
    h = _lower(headers)
    used = scheme or _detect(h)
    if used is None:
        return Report([_no_scheme(h)], title=_TITLE)
    usable = [s for s in secrets if s]
    if not usable:
        return Report([Finding(
            CHECK, Status.FAIL, "no secret given (empty)",
            "An empty secret cannot verify anything.",
            "Pass the subscription's signing secret (svc-infra stores it per subscription; "
            "WEBHOOK_SECRET is not an svc-infra setting).",
            {"cause": "empty_secret", "scheme": used},
        )], title=_TITLE)
    try:
        parsed = _parse(used, h)
    except _Fail as fail:
        findings = [fail.finding]
        if "x-webhook-signature" in h:
            findings.append(_guide_header_finding())
        return Report(findings, title=_TITLE)

    # ---- happy path: one HMAC per secret, constant-time compare ---------------
    keys: list[bytes | None] = []
    for index, s in enumerate(usable):
        try:
            key = _key(used, s)
        except SigningError:
            keys.append(None)
            continue
        keys.append(key)
        if _matches(_mac(key, parsed.prefix + raw, parsed.algo), parsed):
            return _accepted(used, parsed, index, usable, now_s, tolerance, h, form="raw")
    # svc-infra signs the canonical JSON, not httpx's serialisation.
    canonical = _canonical_or_none(raw) if used == "svc-infra" else None
    if canonical is not None and canonical != raw:
        for index, maybe in enumerate(keys):
            if maybe is not None and _matches(_mac(maybe, canonical), parsed):
                return _accepted(used, parsed, index, usable, now_s, tolerance, h, form="canonical")
    return _explain(used, parsed, raw, canonical, usable, keys, h, now_s, tolerance)


def _canonical_or_none(raw: bytes) -> bytes | None:
    try:
        return canonical_json(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return None


def _is_ms(ts: float) -> bool:
    """A Unix time that only makes sense in milliseconds (years 1973–5138 once divided)."""
    return _MS_THRESHOLD < ts < _MS_THRESHOLD * 1000


def _timestamp_findings(parsed: _Parsed, now_s: float, tolerance: float, scheme: str) -> list[Finding]:
    """A failing finding when the signed timestamp is outside the tolerance (replay or skew)."""
    ts = parsed.timestamp
    if ts is None:
        return []
    if _is_ms(ts):
        seconds = ts / 1000
        return [Finding(
            "webhooks.timestamp", Status.FAIL,
            f"timestamp {parsed.ts_text} is in milliseconds; {scheme} wants seconds",
            f"As seconds it would be {dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%d %H:%M:%S} UTC, "
            f"{now_s - seconds:+.0f} s from now; as written it is far in the future, so every "
            "receiver rejects it.",
            "Send int(time.time()), not int(time.time() * 1000) (JavaScript: Math.floor(Date.now() / 1000)).",
            {"cause": "timestamp_milliseconds", "timestamp": ts, "age_s": round(now_s - seconds, 3)},
        )]
    age = now_s - ts
    if abs(age) <= tolerance:
        return []
    old = age > 0
    return [Finding(
        "webhooks.timestamp", Status.FAIL,
        f"timestamp is {abs(age):.0f} s in the {'past' if old else 'future'} "
        f"(tolerance {tolerance:g} s)",
        ("A replayed or long-delayed delivery, or a slow clock on the receiver." if old
         else "The sender's clock runs ahead of the receiver's (or the receiver's clock is behind)."),
        "Sync both clocks with NTP (timedatectl set-ntp true); a retried delivery must be re-signed "
        "with a fresh timestamp. Only raise tolerance= if you accept older replays.",
        {"cause": "timestamp_too_old" if old else "timestamp_too_new", "age_s": round(age, 3),
         "tolerance_s": tolerance},
    )]


def _accepted(
    scheme: str,
    parsed: _Parsed,
    index: int,
    secrets: Sequence[str | bytes],
    now_s: float,
    tolerance: float,
    h: Mapping[str, str],
    *,
    form: str,
) -> Report:
    data: dict[str, Any] = {"scheme": scheme, "matched_secret": index, "form": form}
    if parsed.timestamp is not None:
        data["age_s"] = round(now_s - parsed.timestamp, 3)
    if form == "canonical":
        summary = f"{scheme} signature valid over the canonical JSON (the raw body differs)"
        detail = (
            "svc-infra signs json.dumps(event, sort_keys=True, separators=(',', ':')) but POSTs "
            "httpx's own serialisation; only the canonical form matches, which is expected. "
            "A receiver that HMACs the raw body (the guide's recipe) rejects this delivery."
        )
        fix = "Verify hmac(secret, canonical_json(json.loads(body))) — svc_nb.webhooks.canonical_json."
    else:
        summary = f"{scheme} signature valid"
        detail = fix = ""
    findings = [_ok_finding(summary, detail, fix, data)]
    if index > 0:
        findings.append(Finding(
            "webhooks.rotation", Status.WARN,
            f"signed with secret #{index + 1} of {len(secrets)} ({fingerprint(secrets[index])}), not the first",
            "During rotation the sender still signs with a secret other than the first you listed; "
            "if the list is newest-first, the sender has not switched to the new secret yet.",
            "Finish the rotation: set the new secret on the sender's subscription, then drop the old "
            "one from the receiver's list.",
            {"cause": "older_secret", "matched_secret": index},
        ))
    if parsed.timestamp is not None and (
        _is_ms(parsed.timestamp) or abs(now_s - parsed.timestamp) > tolerance
    ):
        findings.extend(_timestamp_findings(parsed, now_s, tolerance, scheme))
    if "x-webhook-signature" in h:
        findings.append(_guide_header_finding())
    return Report(findings, title=_TITLE)


def _ok_finding(summary: str, detail: str, fix: str, data: dict[str, Any]) -> Finding:
    """The verdict of a valid signature, built without Finding's scrub pass.

    Safe because every string here is one of this module's constants plus a
    scheme name, and ``data`` holds only numbers and those names; skipping the
    scrub keeps verify() within a small factor of a bare HMAC (DESIGN §6).
    """
    finding = object.__new__(Finding)
    finding.__dict__.update(
        check=CHECK, status=Status.OK, summary=summary, detail=detail, fix=fix,
        data=MappingProxyType(data),
    )
    return finding


def _no_scheme(h: Mapping[str, str]) -> Finding:
    if "x-webhook-signature" in h:
        return _guide_header_finding(primary=True)
    names = ", ".join(sorted(h)) or "none"
    return Finding(
        CHECK, Status.FAIL, "no signature header found",
        f"Headers present: {names}. Looked for X-Signature (svc-infra), webhook-signature "
        "(Standard Webhooks), Stripe-Signature, X-Hub-Signature-256 (GitHub).",
        "Pass all request headers, e.g. verify(body, dict(request.headers), secret), or name the "
        "scheme: verify(..., scheme='svc-infra').",
        {"cause": "missing_header", "headers": sorted(h)},
    )


def _guide_header_finding(*, primary: bool = False) -> Finding:
    return Finding(
        CHECK if primary else "webhooks.guide_header",
        Status.FAIL if primary else Status.WARN,
        "X-Webhook-Signature is the guide's header name; svc-infra never sends it",
        "svc-infra sends the signature in X-Signature (HMAC-SHA256, lowercase hex, over the "
        "canonical JSON of the event); the guide's X-Webhook-Signature and WEBHOOK_SECRET do not "
        "exist in svc-infra.",
        "Read request.headers['X-Signature'] and use the subscription's secret; "
        "svc_nb.webhooks.verify(body, headers, secret) does both.",
        {"cause": "guide_header"},
    )


# --------------------------------------------------------------------------- mismatch causes

_Transform = tuple[str, str, Callable[[bytes], bytes | None]]


def _json_variant(**kwargs: Any) -> Callable[[bytes], bytes | None]:
    def _apply(raw: bytes) -> bytes | None:
        try:
            obj = json.loads(raw.decode("utf-8-sig"))
        except (ValueError, RecursionError):
            return None
        try:
            return json.dumps(obj, **kwargs).encode()
        except (ValueError, RecursionError):
            return None
    return _apply


def _keep_order_sorted(raw: bytes) -> bytes | None:
    return _json_variant(sort_keys=True)(raw)


# (code, how the body changed after signing, transformation back to what was signed)
_TRANSFORMS: tuple[_Transform, ...] = (
    ("trailing_newline", "a trailing newline was added after signing",
     lambda b: b.rstrip(b"\r\n") if b.endswith((b"\n", b"\r")) else None),
    ("missing_newline", "the trailing newline that was signed was removed",
     lambda b: b + b"\n" if not b.endswith(b"\n") else None),
    ("bom", "a UTF-8 byte-order mark (BOM) was added in front",
     lambda b: b[3:] if b.startswith(b"\xef\xbb\xbf") else None),
    ("crlf", "line endings were converted from \\n to \\r\\n",
     lambda b: b.replace(b"\r\n", b"\n") if b"\r\n" in b else None),
    ("lf", "line endings were converted from \\r\\n to \\n",
     lambda b: b.replace(b"\n", b"\r\n") if b"\n" in b and b"\r\n" not in b else None),
    ("whitespace", "surrounding whitespace was added",
     lambda b: b.strip() if b.strip() != b else None),
    ("compact_json", "the JSON was re-serialised with spaces or indentation (it was signed compact)",
     _json_variant(separators=(",", ":"), ensure_ascii=False)),
    ("compact_json_ascii", "the JSON was re-serialised (it was signed compact with \\u escapes)",
     _json_variant(separators=(",", ":"))),
    ("spaced_json", "the JSON was re-serialised compact (it was signed as json.dumps's default ', ' / ': ')",
     _json_variant()),
    ("pretty_json", "the JSON was compacted (it was signed pretty-printed, indent=2)",
     _json_variant(indent=2)),
    ("pretty_json4", "the JSON was compacted (it was signed pretty-printed, indent=4)",
     _json_variant(indent=4)),
    ("key_order", "the JSON keys were reordered (it was signed with sorted keys)",
     _keep_order_sorted),
    ("key_order_compact", "the JSON was re-serialised with another key order (signed sorted and compact)",
     _json_variant(sort_keys=True, separators=(",", ":"))),
)


def _alt_keys(scheme: str, secret: str | bytes) -> list[tuple[str, str, bytes]]:
    """Other readings of a secret: (cause, explanation, key)."""
    out: list[tuple[str, str, bytes]] = []
    if isinstance(secret, bytes):
        return out
    has_prefix = secret.startswith(_STANDARD_PREFIX)
    bare = secret[len(_STANDARD_PREFIX):] if has_prefix else secret
    if scheme == "standard":
        out.append(("secret_raw", "the sender used the secret string's raw bytes as the key, "
                    "not its base64-decoded value", _utf8(secret)))
        if has_prefix:
            out.append(("secret_raw", "the sender used the raw bytes of the part after whsec_ as the key",
                        _utf8(bare)))
        else:
            out.append(("secret_prefix", "the sender used the whsec_ string itself as a raw key",
                        _utf8(_STANDARD_PREFIX + secret)))
        return out
    if has_prefix:
        out.append(("secret_prefix", f"the sender signed without the whsec_ prefix ({scheme} "
                    "uses the secret string exactly as given)", _utf8(bare)))
        try:
            decoded = base64.b64decode(bare + "==", validate=False)
            if decoded:
                out.append(("secret_base64", "the sender base64-decoded the secret after whsec_ "
                            "(Standard Webhooks style)", decoded))
        except (binascii.Error, ValueError):
            pass
    else:
        out.append(("secret_prefix", "the sender signed with the whsec_ prefix included",
                    _utf8(_STANDARD_PREFIX + secret)))
        if re.fullmatch(r"[A-Za-z0-9+/]{8,}={0,2}", secret):
            try:
                decoded = base64.b64decode(secret + "==", validate=False)
                if decoded:
                    out.append(("secret_base64", "the sender base64-decoded the secret before "
                                "using it as the key", decoded))
            except (binascii.Error, ValueError):
                pass
    stripped = secret.strip()
    if stripped != secret:
        out.append(("secret_whitespace", "the sender's secret has no surrounding whitespace "
                    "(yours has: a newline from a file or env?)", _utf8(stripped)))
    return out


def _encoding_confusion(digest: bytes, parsed: _Parsed) -> str | None:
    """Why an offered signature is the right MAC in the wrong spelling, if it is."""
    for sig in parsed.sigs:
        s = sig.strip()
        if parsed.encoding == "hex":
            if s.lower() == digest.hex() and s != digest.hex():
                return "the signature is uppercase hex; the scheme sends lowercase and compares exactly"
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    if decode(s + "=" * (-len(s) % 4)) == digest:
                        return "the signature is base64 but the scheme wants hex"
                except (binascii.Error, ValueError):
                    continue
            for prefix in ("sha256=", "v1=", "v1,"):
                if s.lower().startswith(prefix) and s[len(prefix):] == digest.hex():
                    return f"the signature carries a {prefix!r} prefix the scheme does not use"
        else:
            if s.lower() == digest.hex():
                return "the signature is hex but Standard Webhooks wants base64"
            try:
                if base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)) == digest:
                    return "the signature is URL-safe base64 (- and _) but the scheme wants standard base64"
            except (binascii.Error, ValueError):
                pass
            if s.rstrip("=") == base64.b64encode(digest).decode().rstrip("="):
                return "the base64 signature lost its = padding"
    return None


def _explain(
    scheme: str,
    parsed: _Parsed,
    raw: bytes,
    canonical: bytes | None,
    secrets: Sequence[str | bytes],
    keys: Sequence[bytes | None],
    h: Mapping[str, str],
    now_s: float,
    tolerance: float,
) -> Report:
    """After a mismatch: try the usual mistakes and name the one that reproduces the signature."""
    extra: list[Finding] = []
    if "x-webhook-signature" in h:
        extra.append(_guide_header_finding())
    fps = [fingerprint(s) for s in secrets]
    base = {"scheme": scheme, "candidates": fps}

    def found(cause: str, summary: str, detail: str, fix: str, **data: Any) -> Report:
        finding = Finding(CHECK, Status.FAIL, summary, detail, fix, {**base, "cause": cause, **data})
        return Report([finding, *extra, *_timestamp_findings(parsed, now_s, tolerance, scheme)],
                      title=_TITLE)

    valid_keys = [(i, k) for i, k in enumerate(keys) if k is not None]
    bodies = [("raw", raw)] + ([("canonical", canonical)] if canonical is not None else [])

    # 1. the right MAC, spelt wrongly (hex vs base64, case, prefix)
    for i, key in valid_keys:
        for _, b in bodies:
            why = _encoding_confusion(_mac(key, parsed.prefix + b, parsed.algo), parsed)
            if why:
                return found(
                    "signature_encoding", f"signature encoding mismatch: {why}",
                    f"The MAC itself is right (secret #{i + 1}, {fps[i]}); only its text form differs.",
                    _encoding_fix(scheme), matched_secret=i,
                )

    # 2. timestamp: the sender signed seconds but sent milliseconds (or the reverse)
    if parsed.timestamp is not None:
        ts = parsed.timestamp
        alt = [str(int(ts // 1000))] if _is_ms(ts) else [str(int(ts) * 1000)]
        for text in alt:
            prefix = parsed.prefix.replace(parsed.ts_text.encode(), text.encode(), 1)
            for i, key in valid_keys:
                if _matches(_mac(key, prefix + raw, parsed.algo), parsed):
                    return found(
                        "timestamp_units",
                        "signed over a timestamp in other units than the header carries "
                        f"({text} vs {parsed.ts_text})",
                        "The signature covers the timestamp in "
                        f"{'seconds' if len(text) < len(parsed.ts_text) else 'milliseconds'}, "
                        "the header sends the other; the scheme wants seconds in both.",
                        "Use one value, int(time.time()), for the header and the signed string.",
                        matched_secret=i,
                    )

    # 3. the secret read another way (whsec_ prefix, base64 vs raw, whitespace)
    for i, s in enumerate(secrets):
        for cause, why, key in _alt_keys(scheme, s):
            for _, b in bodies:
                if _matches(_mac(key, parsed.prefix + b, parsed.algo), parsed):
                    return found(
                        cause, f"secret encoding mismatch: {why}",
                        f"Secret #{i + 1} ({fps[i]}) reproduces the signature once read this way. "
                        + _secret_rule(scheme),
                        _secret_fix(scheme, cause), matched_secret=i,
                    )
    # a Standard Webhooks secret that is not base64 at all
    bad_std = [i for i, k in enumerate(keys) if k is None]
    # 4. the body changed after signing
    for code, why, transform in _TRANSFORMS:
        candidate = transform(raw)
        if candidate is None or candidate == raw:
            continue
        for i, key in valid_keys:
            if _matches(_mac(key, parsed.prefix + candidate, parsed.algo), parsed):
                return found(
                    "body_altered", f"body changed after signing: {why}",
                    f"HMAC over the body transformed back ({code}) matches secret #{i + 1} "
                    f"({fps[i]}); the bytes you verified are not the bytes that were signed.",
                    "Verify the raw request body exactly as received (await request.body()), before any "
                    "JSON parsing, re-serialising, decoding or logging middleware touches it.",
                    transformation=code, matched_secret=i,
                )
    if scheme == "svc-infra" and canonical is None:
        return found(
            "body_not_json", "svc-infra signature does not match and the body is not JSON",
            "svc-infra signs the canonical JSON of the event; this body does not parse as JSON, so it "
            "is not what svc-infra sent (truncated, re-encoded, or another sender).",
            "Pass the raw request body as received: await request.body().",
        )
    # 5. another scheme's signature in these headers
    if bad_std:
        return found(
            "secret_not_base64",
            f"secret #{bad_std[0] + 1} ({fps[bad_std[0]]}) is not a Standard Webhooks secret",
            "Standard Webhooks secrets are 'whsec_' + base64; this one does not decode, and none of "
            "the other readings reproduced the signature.",
            "Copy the secret exactly as the sender shows it (whsec_…).",
        )
    detail = (
        f"None of the {len(secrets)} secret(s) you passed ({', '.join(fps)}) reproduces the "
        "signature, with or without the usual encoding mistakes and body changes. Either the "
        "sender signs with another secret, or the body was changed in a way svc_nb does not recognise."
    )
    if scheme == "svc-infra":
        detail += " svc-infra signs the canonical JSON of {topic, payload, version, created_at}; both "\
                  "the raw body and its canonical form were tried."
    return found(
        "wrong_secret", f"{scheme} signature does not match any of {len(secrets)} secret(s)",
        detail,
        "Compare fingerprints: svc_nb.tokens.fingerprint() of the sender's secret must equal one "
        "of the candidates; for svc-infra the secret is the subscription's own (stored encrypted "
        "as enc:v1:… under WEBHOOK_ENCRYPTION_KEY).",
    )


def _encoding_fix(scheme: str) -> str:
    return {
        "svc-infra": "Send hmac.new(secret, canonical_json(event), sha256).hexdigest() (lowercase hex, no prefix) in X-Signature.",
        "github": "Send 'sha256=' + hmac.new(secret, body, sha256).hexdigest() in X-Hub-Signature-256.",
        "stripe": "Send t=<ts>,v1=<lowercase hex HMAC of '<ts>.<body>'> in Stripe-Signature.",
        "standard": "Send 'v1,' + base64.b64encode(hmac digest) (standard alphabet, padded) in webhook-signature.",
    }[scheme]


def _secret_rule(scheme: str) -> str:
    if scheme == "standard":
        return "Standard Webhooks keys are the base64-decoded bytes after whsec_."
    if scheme == "stripe":
        return "Stripe uses the whole whsec_… string as the key, prefix included."
    return f"{scheme} uses the secret string's UTF-8 bytes as the key, exactly as stored."


def _secret_fix(scheme: str, cause: str) -> str:
    if cause == "secret_whitespace":
        return "Strip the secret when you read it: secret = open(path).read().strip()."
    if scheme == "standard":
        return "Use the Standard Webhooks library (standardwebhooks.Webhook(secret)) on both sides, or decode base64 after whsec_."
    return "Use the same secret string on both sides, byte for byte (prefix included or not, on both)."
