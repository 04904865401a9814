"""The four signing schemes: their keys, their MACs, and :func:`sign`.

- ``svc-infra``: HMAC-SHA256, lowercase hex, header ``X-Signature``, over the
  canonical JSON of the event (sorted keys, compact separators). The sender
  POSTs httpx's own serialisation, so the raw body usually differs from what
  was signed: receivers must verify the canonical form.
- ``standard`` (Standard Webhooks): ``webhook-signature: v1,<base64>`` over
  ``{id}.{timestamp}.{body}``, secret ``whsec_<base64>``.
- ``stripe``: ``Stripe-Signature: t=<ts>,v1=<hex>`` over ``{t}.{body}``; the
  whole ``whsec_…`` string is the HMAC key.
- ``github``: ``X-Hub-Signature-256: sha256=<hex>`` over the raw body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from binascii import b2a_base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from svc_nb._clock import Now, unix_seconds
from svc_nb._exceptions import ArgumentTypeError
from svc_nb._fmt import b64decode_lenient
from svc_nb._redact import fingerprint, register_secret
from svc_nb.webhooks._errors import SigningError

__all__ = ["SCHEMES", "canonical_json", "sign"]

SCHEMES: tuple[str, ...] = ("svc-infra", "standard", "stripe", "github")
STANDARD_PREFIX = "whsec_"

SecretInput = str | bytes | Sequence[str | bytes]
BodyInput = bytes | bytearray | str | Mapping[str, Any]
HeadersInput = Mapping[Any, Any] | Iterable[tuple[str | bytes, Any]] | str | bytes

# Caches bounded by size: verify() runs in receivers' hot loops with few distinct secrets.
_CACHE_LIMIT = 256


# --------------------------------------------------------------------------- inputs


def canonical_json(event: Any) -> bytes:
    """The bytes svc-infra signs: ``json.dumps(event, sort_keys=True, separators=(",", ":"))``.

    ``event`` may be a dict or JSON text/bytes (parsed first). Raises
    :class:`SigningError` for text that is not JSON or is nested too deeply to read.
    """
    try:
        if isinstance(event, bytes | bytearray | str):
            event = json.loads(event)
        return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    except RecursionError:
        raise SigningError("the event is nested too deeply to serialise as JSON") from None
    except (TypeError, ValueError) as exc:
        raise SigningError(f"the event is not JSON: {str(exc)[:120]}") from None


def body_bytes(body: BodyInput) -> bytes:
    """The exact bytes a scheme signs or verifies: raw bytes as given, text as UTF-8."""
    if type(body) is bytes:
        return body
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    if isinstance(body, Mapping):
        # A dict is sent as compact JSON; svc-infra signs its canonical form anyway.
        return canonical_json(dict(body))
    raise ArgumentTypeError(
        f"body must be the raw request body (bytes or str) or the event dict, not "
        f"{type(body).__name__}; pass what the request carried: await request.body()"
    )


def secret_list(secret: SecretInput) -> list[str | bytes]:
    """One secret or a rotation list, as a list; raises for anything else."""
    if type(secret) is str or type(secret) is bytes:
        return [secret]
    if isinstance(secret, str | bytes):
        return [secret]
    if not isinstance(secret, Sequence) or isinstance(secret, bytearray):
        raise ArgumentTypeError(
            f"secret must be a str, bytes, or a list of them (rotation), not {type(secret).__name__}"
        )
    items = [*secret]
    for item in items:
        if not isinstance(item, str | bytes):
            raise ArgumentTypeError(f"each secret must be str or bytes, not {type(item).__name__}")
    return items


# The forms of a secret that get registered, by secret: verify() registers the same few
# secrets on every request. Bounded; it holds secrets, so nothing ever shows it.
_forms_cache: dict[str, tuple[str, ...]] = {}


def _secret_forms(secret: str | bytes) -> tuple[str | bytes, ...]:
    if not isinstance(secret, str):
        return (secret,)
    forms: tuple[str, ...] = (secret,)
    if secret.startswith(STANDARD_PREFIX):
        forms = (secret, secret[len(STANDARD_PREFIX) :])
    if type(secret) is str:  # exact str only: hashable, and equal means the same text
        if len(_forms_cache) >= _CACHE_LIMIT:
            _forms_cache.clear()
        _forms_cache[secret] = forms
    return forms


def remember(secrets: Iterable[str | bytes]) -> None:
    """Register secrets (and a Standard Webhooks secret's base64 part) so output masks them.

    Registered on every call, never skipped: the registry may have evicted a secret
    since; registering one it holds costs register_secret a lookup.
    """
    for item in secrets:
        forms = _forms_cache.get(item) if type(item) is str else None
        register_secret(*(forms or _secret_forms(item)))


def remember_text(secret: str) -> None:
    """:func:`remember` of one ``str`` secret: a receiver's call on every request."""
    register_secret(*(_forms_cache.get(secret) or _secret_forms(secret)))


def check_scheme(scheme: Any) -> str:
    if scheme not in SCHEMES:
        raise SigningError(
            f"unknown signing scheme {scheme!r:.40}; use one of {', '.join(SCHEMES)}"
        )
    return str(scheme)


def utf8(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- keys and MACs


def standard_key(secret: str | bytes) -> bytes:
    """Standard Webhooks' key: ``whsec_`` stripped, base64-decoded (bytes are used as-is)."""
    if isinstance(secret, bytes):
        return secret
    raw = secret.removeprefix(STANDARD_PREFIX)
    # b64decode_lenient skips non-ASCII characters; such a secret is not base64 at all.
    key = b64decode_lenient(raw, urlsafe=False) if raw.isascii() else None
    if not key:
        raise SigningError(
            "a Standard Webhooks secret is 'whsec_' followed by base64 "
            f"(this one, {fingerprint(secret)}, is not base64); pass the secret exactly as "
            "the sender shows it, or pass bytes for a raw key"
        )
    return key


_key_cache: dict[tuple[str, str | bytes], bytes] = {}


def scheme_key(scheme: str, secret: str | bytes) -> bytes:
    """The HMAC key a scheme derives from a secret (raises SigningError when it cannot)."""
    cached = _key_cache.get((scheme, secret))
    if cached is None:
        cached = standard_key(secret) if scheme == "standard" else utf8(secret)
        if len(_key_cache) > _CACHE_LIMIT:
            _key_cache.clear()
        _key_cache[(scheme, secret)] = cached
    return cached


# Keyed HMAC states by key: copying one is cheaper than keying anew.
_hmac_cache: dict[tuple[bytes, str], Any] = {}


def keyed_hmac(key: bytes, algo: str = "sha256") -> Any:
    """A fresh HMAC state for ``key``, to ``update`` with the message (copied from a cached one)."""
    base = _hmac_cache.get((key, algo))
    if base is None:
        if len(_hmac_cache) > _CACHE_LIMIT:
            _hmac_cache.clear()
        keyed = hmac.new(key, digestmod=getattr(hashlib, algo))
        # The OpenSSL object inside hmac.HMAC copies without the Python wrapper's overhead.
        base = getattr(keyed, "_hmac", None) or keyed
        _hmac_cache[(key, algo)] = base
    return base.copy()


# HMAC-SHA256 (RFC 2104) is SHA-256 over the key padded with 0x36, then the message; then
# SHA-256 over the key padded with 0x5c, then that digest. Python's own hmac module
# computes it this way when OpenSSL's HMAC is unavailable. Copying the two SHA-256
# states after the padded key is cheaper than copying an OpenSSL HMAC context.
_SHA256_BLOCK = 64
_INNER_PAD = bytes(x ^ 0x36 for x in range(256))
_OUTER_PAD = bytes(x ^ 0x5C for x in range(256))
# The two states by (scheme, secret): the hot path's one lookup per request.
_pads_cache: dict[tuple[str, str | bytes], tuple[Any, Any]] = {}


def hmac_sha256_pads(key: bytes) -> tuple[Any, Any]:
    """The SHA-256 states after HMAC's inner and outer padded key blocks."""
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    block = key.ljust(_SHA256_BLOCK, b"\0")
    return hashlib.sha256(block.translate(_INNER_PAD)), hashlib.sha256(block.translate(_OUTER_PAD))


def scheme_pads(scheme: str, secret: str | bytes) -> tuple[Any, Any]:
    """:func:`hmac_sha256_pads` of the key ``scheme`` derives from ``secret`` (copy before use).

    Raises SigningError as :func:`scheme_key` does.
    """
    pads = _pads_cache.get((scheme, secret))
    if pads is None:
        pads = hmac_sha256_pads(scheme_key(scheme, secret))
        if len(_pads_cache) > _CACHE_LIMIT:
            _pads_cache.clear()
        _pads_cache[(scheme, secret)] = pads
    return pads


def mac(key: bytes, message: bytes, algo: str = "sha256") -> bytes:
    state = keyed_hmac(key, algo)
    state.update(message)
    return bytes(state.digest())


def encode(digest: bytes, encoding: str) -> str:
    # binascii directly: base64.b64encode is a Python wrapper around the same call.
    return digest.hex() if encoding == "hex" else b2a_base64(digest, newline=False).decode()


# --------------------------------------------------------------------------- sign


def _svc_infra_event(body: BodyInput) -> Any:
    if isinstance(body, bytes | bytearray | str):
        try:
            return json.loads(body)
        except RecursionError:
            raise SigningError("the event JSON is nested too deeply to sign") from None
        except ValueError:
            raise SigningError("svc-infra signs a JSON event; the body is not JSON") from None
    if isinstance(body, Mapping | list | int | float | bool) or body is None:
        return body
    raise ArgumentTypeError(f"body must be the event dict or JSON, not {type(body).__name__}")


def _sign_svc_infra(
    body: BodyInput, secret: str | bytes, msg_id: str | None, subscription_id: str | None
) -> dict[str, str]:
    event = _svc_infra_event(body)
    headers = {
        "X-Signature": mac(utf8(secret), canonical_json(event)).hex(),
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


def sign(
    body: BodyInput,
    secret: str | bytes,
    *,
    scheme: str = "svc-infra",
    timestamp: Now = None,
    msg_id: str | None = None,
    subscription_id: str | None = None,
) -> dict[str, str]:
    """The headers a sender of ``scheme`` would attach to ``body``.

    For ``svc-infra`` the body is the event (dict or JSON) and the signature
    covers its canonical JSON; for the others it covers the exact bytes sent.
    ``subscription_id`` fills svc-infra's ``X-Webhook-Subscription``.
    """
    check_scheme(scheme)
    if not isinstance(secret, str | bytes):
        raise ArgumentTypeError("sign() takes one secret (str or bytes); the sender signs with one")
    if not secret:
        raise SigningError("the secret is empty; pass the subscription's signing secret")
    remember([secret])
    ts = int(unix_seconds(timestamp))
    if scheme == "svc-infra":
        return _sign_svc_infra(body, secret, msg_id, subscription_id)
    data = body_bytes(body)
    if scheme == "standard":
        mid = msg_id or f"msg_{uuid.uuid4().hex}"
        digest = mac(standard_key(secret), f"{mid}.{ts}.".encode() + data)
        signature = base64.b64encode(digest).decode()
        return {
            "webhook-id": mid,
            "webhook-timestamp": str(ts),
            "webhook-signature": f"v1,{signature}",
        }
    if scheme == "stripe":
        return {
            "Stripe-Signature": f"t={ts},v1={mac(utf8(secret), f'{ts}.'.encode() + data).hex()}"
        }
    headers = {"X-Hub-Signature-256": f"sha256={mac(utf8(secret), data).hex()}"}
    if msg_id:
        headers["X-GitHub-Delivery"] = msg_id
    return headers
