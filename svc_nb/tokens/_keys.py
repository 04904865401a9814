"""Verification keys: what ``key=`` holds (secret, PEM, JWK, JWKS, key object, URL).

A key is only ever shown by its label and, for secrets, its fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from svc_nb._exceptions import SvcNbError
from svc_nb._fmt import b64decode_lenient
from svc_nb._redact import register_secret
from svc_nb._report import Finding
from svc_nb.tokens._causes import TokensCause
from svc_nb.tokens._errors import KeyTypeError
from svc_nb.tokens._explanations import Spec, spec

__all__ = [
    "HMAC_ALGS",
    "HMAC_MIN_KEY_BYTES",
    "SUPPORTED_ALGS",
    "Key",
    "KeyProblem",
    "classify_key",
    "family_of",
    "jwk_key",
    "min_key_bytes",
    "prepare",
    "prepared",
]

# RFC 7518 §3.2: an HMAC key at least as long as the hash output; HS256 (svc-infra's) needs 32.
HMAC_MIN_KEY_BYTES = 32
_MIN_KEY_BYTES = {"HS256": HMAC_MIN_KEY_BYTES, "HS384": 48, "HS512": 64}

HMAC_ALGS = ("HS256", "HS384", "HS512")
RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGS = ("ES256", "ES384", "ES512")
OKP_ALGS = ("EdDSA",)
SUPPORTED_ALGS = HMAC_ALGS + RSA_ALGS + EC_ALGS + OKP_ALGS
_FAMILY_OF_KTY = {"oct": HMAC_ALGS, "RSA": RSA_ALGS, "EC": EC_ALGS, "OKP": OKP_ALGS}


def family_of(kty: str) -> tuple[str, ...]:
    """The algorithms a key type verifies (empty for an unknown kty)."""
    return _FAMILY_OF_KTY.get(kty, ())


def min_key_bytes(alg: str) -> int | None:
    """The shortest HMAC secret RFC 7518 allows for ``alg`` (None for non-HMAC algorithms)."""
    return _MIN_KEY_BYTES.get(alg)


class Key(NamedTuple):
    """A verification key, classified: kind is 'hmac', 'public' (PEM/object) or 'jwk'."""

    kind: str
    material: Any
    kty: str
    kid: str | None
    label: str

    @property
    def asymmetric(self) -> bool:
        return self.kty != "oct"

    def __repr__(self) -> str:  # the material may be a secret: never shown
        return f"Key(kind={self.kind!r}, kty={self.kty!r}, kid={self.kid!r}, label={self.label!r})"


class KeyProblem(SvcNbError):
    """A key that cannot be used: carries the finding to report (never the key)."""

    def __init__(self, finding: Spec | Finding) -> None:
        super().__init__(finding.check)
        self.finding = finding


def _unusable(problem: str, fix: str, detail: str = "") -> KeyProblem:
    return KeyProblem(
        spec("tokens.key", TokensCause.KEY_UNUSABLE, problem=problem, detail=detail, fix=fix)
    )


def jwk_key(jwk: Mapping[str, Any], label: str) -> Key:
    kty = str(jwk.get("kty", ""))
    kid = jwk.get("kid")
    return Key("jwk", dict(jwk), kty, str(kid) if kid is not None else None, label)


def classify_key(key: Any) -> tuple[list[Key], str | None]:
    """The candidate keys behind ``key`` and a JWKS URL when the key is one."""
    if isinstance(key, bytes | bytearray):
        return _bytes_key(bytes(key)), None
    if isinstance(key, str):
        return _text_key(key)
    if isinstance(key, Mapping):
        return _mapping_key(key), None
    kty = _kty_of_object(key)
    if kty is not None:
        if not hasattr(key, "verify") and hasattr(key, "public_key"):
            key = key.public_key()  # a private key object: verify with its public half
        return [Key("public", key, kty, None, f"{kty} key object")], None
    raise KeyTypeError(
        "key= takes an HMAC secret (str/bytes), a PEM public key, a JWK/JWKS dict, "
        f"a JWKS URL or a cryptography key object, not {type(key).__name__}"
    )


def _bytes_key(raw: bytes) -> list[Key]:
    if raw.lstrip().startswith(b"-----BEGIN"):
        try:
            pem, kty = _public_pem(raw.strip())
        except (ValueError, TypeError):
            raise _unusable(
                "the PEM key could not be loaded (not a public key, certificate or "
                "unencrypted private key)",
                "pass the issuer's PUBLIC key PEM (-----BEGIN PUBLIC KEY-----) or its JWKS URL",
            ) from None
        return [Key("public", pem, kty, None, f"{kty} PEM public key")]
    register_secret(raw)
    return [Key("hmac", raw, "oct", None, "HMAC secret")]


def _text_key(key: str) -> tuple[list[Key], str | None]:
    text = key.strip()
    if text.startswith(("https://", "http://")):
        return [], text
    if text.startswith("-----BEGIN"):
        return _bytes_key(text.encode()), None
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict) and ("kty" in parsed or "keys" in parsed):
            return _mapping_key(parsed), None
    register_secret(key)
    return [Key("hmac", key.encode("utf-8", "surrogatepass"), "oct", None, "HMAC secret")], None


def _mapping_key(key: Mapping[str, Any]) -> list[Key]:
    if "keys" in key:
        keys = key["keys"]
        if not isinstance(keys, list):
            raise _unusable("the JWKS 'keys' member is not a list", "pass {'keys': [jwk, ...]}")
        return [
            jwk_key(k, f"JWKS key {k.get('kid', i)}")
            for i, k in enumerate(keys)
            if isinstance(k, Mapping)
        ]
    if "kty" in key:
        secret = key.get("k")
        if key.get("kty") == "oct" and isinstance(secret, str):
            # Mask the JWK's k and the secret it encodes.
            register_secret(secret, b64decode_lenient(secret, urlsafe=True))
        return [jwk_key(key, "JWK")]
    raise _unusable(
        "the key dict is neither a JWK (kty) nor a JWKS (keys)",
        "pass a JWK {'kty': ...}, a JWKS {'keys': [...]}, a PEM or a secret",
    )


def _public_pem(pem: bytes) -> tuple[bytes, str]:
    """The public-key PEM behind a public key, certificate or private key PEM, and its kty."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_private_key,
        load_pem_public_key,
    )

    obj: Any
    if b"PRIVATE KEY" in pem[:40]:
        try:
            obj = load_pem_private_key(pem, password=None).public_key()
        except TypeError:  # encrypted private key
            raise ValueError("encrypted private key") from None
        pem = obj.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    elif b"CERTIFICATE" in pem[:40]:
        from cryptography.x509 import load_pem_x509_certificate

        obj = load_pem_x509_certificate(pem).public_key()
        pem = obj.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    else:
        obj = load_pem_public_key(pem)
    return pem, _kty_of_object(obj) or "unknown"


def _kty_of_object(obj: Any) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if isinstance(obj, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(obj, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return "EC"
    okp = (
        ed25519.Ed25519PublicKey,
        ed25519.Ed25519PrivateKey,
        ed448.Ed448PublicKey,
        ed448.Ed448PrivateKey,
    )
    return "OKP" if isinstance(obj, okp) else None


@lru_cache(maxsize=128)
def prepared(alg: str, material: Any) -> Any:
    # Loading a PEM / checking an HMAC secret is most of PyJWT's per-call cost: do it once.
    import jwt

    return jwt.get_algorithm_by_name(alg).prepare_key(material)


def prepare(alg: str, key: Key) -> Any:
    """The key in the form PyJWT's algorithm verifies with."""
    import jwt

    if key.kind == "jwk":
        from jwt.api_jwk import PyJWK

        return PyJWK(key.material, algorithm=alg).key
    try:
        return prepared(alg, key.material)
    except TypeError:  # unhashable key object: prepare every time
        return jwt.get_algorithm_by_name(alg).prepare_key(key.material)
