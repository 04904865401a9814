"""Subscription secrets as svc-infra stores them in job payloads: clear, or Fernet ``enc:v1:``.

svc-infra encrypts each subscription secret when it publishes (a fresh Fernet
token every time, so one secret has many ciphertexts) with the key from
``WEBHOOK_ENCRYPTION_KEY``: a 44-character value ending in ``=`` is used as the
Fernet key's base64, any other text is hashed with SHA-256 into one; without the
variable (outside production) it falls back to a built-in development key.
Fingerprinting a ciphertext would show one secret as many, so this module
decrypts by svc-infra's rule and fingerprints the secret itself, or says
"encrypted" when it cannot.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from typing import Any

from svc_nb._redact import mask_secret, register_secret

__all__ = ["ENCRYPTED_PREFIX", "SVC_INFRA_DEV_KEY", "SecretReader"]

ENCRYPTED_PREFIX = "enc:v1:"
#: svc-infra's fallback when WEBHOOK_ENCRYPTION_KEY is unset outside production.
SVC_INFRA_DEV_KEY = "dev-only-webhook-encryption-key-not-for-production"

NO_KEY_TEXT = "encrypted (enc:v1:; give WEBHOOK_ENCRYPTION_KEY to see its fingerprint)"
MISMATCH_TEXT = "encrypted (enc:v1:; the WEBHOOK_ENCRYPTION_KEY given does not decrypt it)"


def fernet_for(key: str) -> Any:
    """The Fernet cipher svc-infra builds from ``key``; ValueError when svc-infra's would fail."""
    from cryptography.fernet import Fernet

    if len(key) == 44 and key.endswith("="):
        raw = base64.urlsafe_b64decode(key)  # binascii.Error is a ValueError, as in svc-infra
    else:
        raw = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return Fernet(base64.urlsafe_b64encode(raw))  # ValueError unless 32 bytes


class SecretReader:
    """Shows each stored secret masked by its plaintext fingerprint, and counts what it saw.

    ``counts`` keys: ``clear``, ``decrypted`` (with the given key), ``dev_key``
    (with svc-infra's development key), ``no_key``, ``mismatch``.
    """

    def __init__(self, key: str | None) -> None:
        self.key_given = bool(key)
        self.key_error: str | None = None
        self.counts: Counter[str] = Counter()
        self._shown: dict[str, str] = {}
        self._ciphers: list[tuple[str, Any]] = []
        self.unavailable = False
        if key:
            register_secret(key)
            try:
                self._ciphers.append(("decrypted", fernet_for(key)))
            except ValueError as exc:
                self.key_error = type(exc).__name__
            except ImportError:
                self.unavailable = True
        if not self.unavailable:
            try:
                self._ciphers.append(("dev_key", fernet_for(SVC_INFRA_DEV_KEY)))
            except ImportError:
                self.unavailable = True

    def _masked(self, plain: str) -> str:
        shown = self._shown.get(plain)
        if shown is None:  # the fingerprint is a slow KDF: once per distinct secret
            register_secret(plain)
            shown = self._shown[plain] = mask_secret(plain)
        return shown

    def show(self, stored: str) -> str:
        """The secret column's text for one stored value."""
        if not stored.startswith(ENCRYPTED_PREFIX):
            self.counts["clear"] += 1
            return self._masked(stored)
        token = stored[len(ENCRYPTED_PREFIX) :].encode("ascii", "replace")
        for outcome, cipher in self._ciphers:
            try:
                plain = cipher.decrypt(token).decode("utf-8", "surrogatepass")
            except Exception:  # InvalidToken, or bytes that are not text
                continue
            self.counts[outcome] += 1
            return self._masked(plain)
        if self.key_given and self.key_error is None:
            self.counts["mismatch"] += 1
            return MISMATCH_TEXT
        self.counts["no_key"] += 1
        return NO_KEY_TEXT
