"""The one place that masks secrets.

Everything svc_nb prints, renders or returns passes through here: URL passwords,
JWT signatures, env values with secret-looking names, and any value registered
with :func:`register_secret` (so a secret read once is masked everywhere after).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "MASK",
    "fingerprint",
    "is_secret_name",
    "mask_env",
    "mask_secret",
    "mask_url",
    "register_secret",
    "scrub",
    "scrub_data",
    "shorten_token",
]

MASK = "****"

# Names whose values are secrets (or may embed one, like *_URL with a password).
_SECRET_NAME = re.compile(
    r"(SECRET|PASSW|PWD|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|SIGNING|ENCRYPTION|"
    r"(^|_)KEY($|_)|SESSION_KEY|COOKIE|AUTH_JWT)",
    re.IGNORECASE,
)
_NOT_SECRET_NAME = re.compile(
    r"(^(OLD)?PWD$|_FILE$|LIFETIME|_ALG(ORITHM)?S?$|_TTL$|_SECONDS$|_TIMEOUT|_URL$|_URI$|KEY_ID$|_KID$)",
    re.IGNORECASE,
)

# scheme://user:password@host — the password part, tolerant of garbage around it.
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/?#@\s]*:)(?P<pw>[^@\s]*)@")
# A JWT: three base64url segments, the first starting with '{"' encoded (eyJ).
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+")
_BEARER = re.compile(r"(?i)\b(bearer[ \t]+)(?!eyJ)([A-Za-z0-9._~+/\-]{8,}=*)")
_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:password|passwd|pwd|secret|token|access_token|client_secret|key|api_key)=)([^&#\s]+)"
)

_registry_lock = threading.Lock()
_registered: set[str] = set()
# Longest first, so a secret is masked whole before any shorter form inside it.
_registered_ordered: tuple[str, ...] = ()


def _variants(secret: str) -> set[str]:
    """The forms a secret can take in output: raw, URL-encoded, base64."""
    raw = secret.encode("utf-8", "surrogatepass")
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    return {f for f in forms if len(f) >= 4}


def register_secret(*secrets: str | bytes | None) -> None:
    """Remember secrets so that :func:`scrub` masks them wherever they appear later."""
    global _registered_ordered
    added = False
    with _registry_lock:
        for secret in secrets:
            if secret is None:
                continue
            if isinstance(secret, bytes):
                secret = secret.decode("utf-8", "replace")
            # Very short values would mask ordinary words; they are too weak to matter anyway.
            if len(secret) < 6:
                continue
            for form in _variants(secret):
                if form not in _registered:
                    _registered.add(form)
                    added = True
        if added:
            _registered_ordered = tuple(sorted(_registered, key=len, reverse=True))


def scrub(text: str) -> str:
    """Mask every secret svc_nb can recognise in free text."""
    if not text:
        return text
    # A substring test per form is C-speed and beats one huge alternation regex.
    for form in _registered_ordered:
        if form in text:
            text = text.replace(form, MASK)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)
    if "eyJ" in text:
        text = _JWT.sub(lambda m: shorten_token(m.group(0)), text)
    if "=" in text:
        text = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
    if "earer" in text:
        text = _BEARER.sub(lambda m: m.group(1) + mask_secret(m.group(2)), text)
    return text


def scrub_data(value: Any) -> Any:
    """Apply :func:`scrub` to every string inside nested dicts, lists and tuples."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: scrub_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_data(v) for v in value)
    return value


def mask_secret(secret: str | bytes | None) -> str:
    """A masked stand-in for a secret: its length and fingerprint, never its content."""
    if secret is None or secret == "" or secret == b"":
        return "(empty)"
    length = len(secret)
    return f"{MASK} ({length} chars, {fingerprint(secret)})"


def mask_url(url: str) -> str:
    """The URL with its password (and secret-looking query values) replaced by ``****``."""
    if not isinstance(url, str):
        return MASK
    masked = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", url)
    masked = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, masked)
    return scrub(masked)


def shorten_token(token: str) -> str:
    """A JWT with header and claims kept and the signature hidden; opaque tokens shortened."""
    token = token.strip()
    parts = token.split(".")
    if len(parts) == 3 and parts[0].startswith("eyJ"):
        return f"{parts[0]}.{parts[1]}.<signature hidden>"
    if len(token) <= 8:
        return MASK
    return f"{token[:4]}…({len(token)} chars)"


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def mask_env(name: str, value: str) -> str:
    """An env value safe to show: secrets masked, URLs with their password masked."""
    if is_secret_name(name):
        register_secret(value)
        return mask_secret(value)
    if "://" in value:
        return mask_url(value)
    return scrub(value)


def fingerprint(secret: str | bytes) -> str:
    """A short, stable digest of a secret, equal across processes and machines.

    Python's ``hash()`` is salted per process, so comparing it between services
    never works; a SHA-256 prefix does, and reveals nothing of a strong secret.
    """
    if isinstance(secret, str):
        data = secret.encode("utf-8", "surrogatepass")
    elif isinstance(secret, bytes | bytearray):
        data = bytes(secret)
    else:
        raise TypeError(
            f"fingerprint() takes the secret as str or bytes, not {type(secret).__name__}"
        )
    return "sha256:" + hashlib.sha256(data).hexdigest()[:12]


@contextlib.contextmanager
def isolated_registry() -> Iterator[None]:
    """Forget the secrets registered inside the block (for tests that fuzz parsers)."""
    global _registered_ordered
    with _registry_lock:
        saved, ordered = set(_registered), _registered_ordered
    try:
        yield
    finally:
        with _registry_lock:
            _registered.clear()
            _registered.update(saved)
            _registered_ordered = ordered


def registered_count() -> int:
    """How many secret forms are registered (for tests and debugging)."""
    return len(_registered)


def _iter_registered() -> Iterable[str]:
    return tuple(_registered)
