"""Signature verification with pinned algorithms, in stages.

Never ``none``, never an HMAC check keyed by a public key (the RS→HS confusion
attack), a kid looked up in the key set, and each key that fails named.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from svc_nb._redact import fingerprint
from svc_nb._runtime import run
from svc_nb.tokens._causes import TokensCause
from svc_nb.tokens._explanations import Deferred, Notes, Passed
from svc_nb.tokens._jwks import cached_jwks, fetch_jwks
from svc_nb.tokens._keys import (
    HMAC_ALGS,
    SUPPORTED_ALGS,
    Key,
    classify_key,
    family_of,
    jwk_key,
    min_key_bytes,
    prepare,
)
from svc_nb.tokens._options import InspectOptions
from svc_nb.tokens._parse import Parsed, clip

__all__ = ["KeySet", "resolve_keys", "resolve_keys_async", "verify"]

C = TokensCause


class KeySet(NamedTuple):
    """The keys to try, and the JWKS URL they came from (if any)."""

    keys: list[Key]
    url: str | None


def _static_keys(options: InspectOptions) -> tuple[list[Key], str | None]:
    keys: list[Key] = []
    url = options.jwks_url
    if options.key is not None:
        keys, key_url = classify_key(options.key)
        url = url or key_url
    return keys, url


def _jwks_keys(jwks: list[dict[str, Any]]) -> list[Key]:
    return [jwk_key(k, f"JWKS key {k.get('kid', i)}") for i, k in enumerate(jwks)]


def resolve_keys(options: InspectOptions, kid: str | None) -> KeySet:
    """The keys behind key=/jwks_url=, fetching a JWKS not cached (blocking, via svc_nb.run)."""
    keys, url = _static_keys(options)
    if url is not None:
        jwks = cached_jwks(url, kid)
        if jwks is None:
            jwks = run(fetch_jwks(url, options.timeout))
        keys = keys + _jwks_keys(jwks)
    return KeySet(keys, url)


async def resolve_keys_async(options: InspectOptions, kid: str | None) -> KeySet:
    """As :func:`resolve_keys`, awaiting the JWKS fetch on the running loop."""
    keys, url = _static_keys(options)
    if url is not None:
        jwks = cached_jwks(url, kid)
        if jwks is None:
            jwks = await fetch_jwks(url, options.timeout)
        keys = keys + _jwks_keys(jwks)
    return KeySet(keys, url)


def verify(parsed: Parsed, keyset: KeySet, options: InspectOptions, notes: Notes) -> bool:
    """Check the signature; notes what it finds; True when it verifies."""
    alg = parsed.alg
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGS:
        return False  # check_alg has said why
    if not keyset.keys:
        notes.add("tokens.key", C.EMPTY_KEY_SET)
        return False
    if not _algorithm_allowed(alg, keyset.keys, options.algorithms, notes):
        return False
    usable = _usable_keys(alg, parsed.kid, keyset, notes)
    if not usable:
        return False
    return _try_keys(parsed, alg, usable, notes)


def _algorithm_allowed(
    alg: str, keys: list[Key], algorithms: tuple[str, ...] | None, notes: Notes
) -> bool:
    # Pinned algorithms: the caller's list, else the families of the keys themselves.
    allowed = [a for a in algorithms or () if a.lower() != "none"]
    if not allowed:
        allowed = [a for k in keys for a in family_of(k.kty)]
    asymmetric = [k for k in keys if k.asymmetric]
    if alg in HMAC_ALGS and asymmetric and not any(k.kty == "oct" for k in keys):
        kty = asymmetric[0].kty
        notes.add(
            "tokens.signature",
            C.ALG_CONFUSION,
            data={"alg": alg, "key_type": kty},
            alg=alg,
            kty=kty,
        )
        return False
    if alg in allowed:
        return True
    if alg not in HMAC_ALGS and all(k.kty == "oct" for k in keys):
        notes.add("tokens.signature", C.KEY_TYPE_MISMATCH, data={"alg": alg}, alg=alg)
    else:
        data = {"alg": alg, "allowed": allowed}
        notes.add("tokens.alg", C.ALG_NOT_ALLOWED, data=data, alg=alg, allowed=allowed)
    return False


def _usable_keys(alg: str, kid: str | None, keyset: KeySet, notes: Notes) -> list[Key]:
    """The keys of ``alg``'s family, narrowed to the token's kid where the set has kids."""
    usable = [k for k in keyset.keys if alg in family_of(k.kty)]
    jwks = [k for k in usable if k.kind == "jwk"]
    if kid is not None and jwks:
        by_kid = [k for k in usable if k.kid == kid]
        if not by_kid:
            kids = sorted({k.kid for k in usable if k.kid})
            refetched = " (the JWKS was refetched: the issuer does not publish it)"
            notes.add(
                "tokens.key",
                C.UNKNOWN_KID,
                data={"kid": clip(kid), "kids": kids},
                kid=repr(clip(kid)),
                kids=", ".join(kids) or "none",
                refetched=refetched if keyset.url else "",
            )
            return []
        usable = by_kid
    elif kid is None and len(jwks) > 1:
        notes.add(
            "tokens.kid", C.MISSING_KID, data={"keys": len(usable)}, count=len(usable), alg=alg
        )
    if not usable:
        types = sorted({k.kty for k in keyset.keys})
        notes.add("tokens.signature", C.NO_KEY_FOR_ALG, data={"alg": alg}, alg=alg, types=types)
    return usable


def _try_keys(parsed: Parsed, alg: str, usable: list[Key], notes: Notes) -> bool:
    import jwt

    algorithm = jwt.get_algorithm_by_name(alg)
    message = parsed.signing_input
    for candidate in usable:
        _lint_secret_length(alg, candidate, notes)
        try:
            ok = algorithm.verify(message, prepare(alg, candidate), parsed.signature)
        except Exception as exc:  # a key PyJWT refuses is a finding, not a crash
            notes.add(
                "tokens.key",
                C.KEY_UNUSABLE,
                data={"alg": alg, "exception_type": type(exc).__name__},
                problem=f"the {candidate.label} cannot verify {alg}: {type(exc).__name__}",
                detail=str(exc)[:200],
                fix=f"pass a key of the {alg[:2]} family",
            )
            return False
        if ok:
            data: dict[str, Any] = {"alg": alg, "verified_with": candidate.label}
            if candidate.kind == "hmac":
                data["key_fingerprint"] = Deferred(fingerprint, candidate.material)
            if candidate.kid:
                data["kid"] = candidate.kid
            notes.add(
                "tokens.signature",
                Passed.SIGNATURE_VERIFIED,
                data=data,
                alg=alg,
                key=candidate.label,
            )
            return True
    _mismatch(alg, usable, notes)
    return False


def _lint_secret_length(alg: str, key: Key, notes: Notes) -> None:
    required = min_key_bytes(alg)
    if key.kind == "hmac" and required is not None and len(key.material) < required:
        # The length of a weak secret narrows a brute-force search: never shown.
        data = {"alg": alg, "required": required}
        notes.add("tokens.secret", C.WEAK_KEY, data=data, alg=alg, required=required)


def _mismatch(alg: str, usable: list[Key], notes: Notes) -> None:
    data = {"alg": alg, "keys_tried": len(usable)}
    notes.add("tokens.signature", C.BAD_SIGNATURE, data=data, tried=Deferred(_tried, usable))


def _tried(usable: list[Key]) -> str:
    if len(usable) > 1:
        tried = f"Tried {len(usable)} key(s) of the key set."
    else:
        tried = f"The {usable[0].label} does not match."
    if usable[0].kind == "hmac":
        tried += f" Secret fingerprint: {fingerprint(usable[0].material)}."
    return tried
