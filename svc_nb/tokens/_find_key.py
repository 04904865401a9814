"""Which secret signed a token: the current one, an old rotated one, the guide's, or none."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from svc_nb._redact import fingerprint, register_secret
from svc_nb._report import Finding, Report, Status
from svc_nb.tokens._causes import TokensCause
from svc_nb.tokens._errors import KeyTypeError, TokensTypeError
from svc_nb.tokens._explanations import Passed, finding
from svc_nb.tokens._inspect import inspect
from svc_nb.tokens._keys import HMAC_ALGS, prepared
from svc_nb.tokens._parse import b64url, clean, shown

__all__ = ["candidates_from_env", "find_key"]

C = TokensCause
_TITLE = "JWT signing key"
_GUIDE_VARIABLE = "JWT_SECRET_KEY"  # the guide's name; svc-infra never reads it


def candidates_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Named candidate secrets: the one svc-infra uses, the others set, each old one, the guide's."""
    from svc_nb.env import JWT_SECRET_VARS, resolve_jwt_secret

    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    current = resolve_jwt_secret(env)
    if current is not None:
        out[current.source] = current.value
    for name in (*JWT_SECRET_VARS, _GUIDE_VARIABLE):
        if name not in out and env.get(name, "").strip():
            out[name] = env[name]
    for i, value in enumerate(_old_secrets(env.get("AUTH_JWT__OLD_SECRETS", ""))):
        out[f"AUTH_JWT__OLD_SECRETS[{i}]"] = value
    register_secret(*out.values())
    return out


def _old_secrets(raw: str) -> list[str]:
    if not raw.strip():
        return []
    try:
        values = json.loads(raw)
    except ValueError:  # svc-infra itself wants JSON (env.jwt_old_secrets says so)
        values = raw.split(",")
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        return []
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _role(name: str) -> str:
    upper = name.upper()
    if "OLD" in upper or "PREVIOUS" in upper or "ROTATED" in upper:
        return "old"
    if upper == _GUIDE_VARIABLE:
        return "guide"
    return "current"


def _checked_candidates(candidates: Any) -> Mapping[str, str | bytes | None]:
    if not isinstance(candidates, Mapping):
        raise TokensTypeError(
            "find_key() takes candidates as a mapping {name: secret}, e.g. "
            "tokens.candidates_from_env(), not " + type(candidates).__name__
        )
    for name, secret in candidates.items():
        if not isinstance(name, str):
            raise TokensTypeError(
                f"find_key() candidate names must be str (a label such as 'AUTH_JWT__SECRET'), "
                f"got {type(name).__name__} {shown(name)}"
            )
        if secret is not None and not isinstance(secret, str | bytes):
            raise KeyTypeError(
                f"find_key() candidate {name!r:.80} is not a key (its value is of type "
                f"{type(secret).__name__}): pass each HMAC secret as str or bytes, "
                "None for an unset one"
            )
    return candidates


def find_key(token: str, candidates: Mapping[str, str | bytes | None]) -> Report:
    """Which of the named HMAC secrets signed ``token`` (current, an old rotated one, none)."""
    candidates = _checked_candidates(candidates)
    text, _ = clean(token if isinstance(token, str) else "")
    structure = inspect(text)
    malformed = structure.get("tokens.format")
    if malformed is not None:
        return Report([malformed], title=_TITLE)
    alg = structure.header.get("alg")
    if alg not in HMAC_ALGS:
        skipped = finding("tokens.find_key", C.NOT_HMAC, data={"alg": shown(alg)}, alg=shown(alg))
        return Report([skipped], title=_TITLE)
    signing_input, signature_segment = text.rsplit(".", 1)
    signature = b64url(signature_segment) or b""  # inspect() has checked every segment decodes
    per_candidate = [
        _try_candidate(name, secret, str(alg), signing_input.encode(), signature)
        for name, secret in candidates.items()
    ]
    matches = [f.data["name"] for f in per_candidate if f.data.get("match") is True]
    return Report([_verdict(matches, candidates), *per_candidate], title=_TITLE)


def _try_candidate(
    name: str, secret: str | bytes | None, alg: str, message: bytes, signature: bytes
) -> Finding:
    import jwt

    check = f"tokens.candidate.{_slug(name)}"
    if not secret:
        return finding(check, C.EMPTY_SECRET, data={"name": name, "match": None}, name=name)
    register_secret(secret)
    raw = secret.encode("utf-8", "surrogatepass") if isinstance(secret, str) else secret
    data: dict[str, Any] = {"name": name, "fingerprint": fingerprint(raw), "role": _role(name)}
    try:
        ok = jwt.get_algorithm_by_name(alg).verify(message, prepared(alg, raw), signature)
    except Exception as exc:  # e.g. a PEM passed as a secret: PyJWT refuses it
        return finding(
            check,
            C.KEY_UNUSABLE,
            status=Status.SKIP,
            data={**data, "match": None, "exception_type": type(exc).__name__},
            problem=f"{name} is not usable as an HMAC secret ({type(exc).__name__})",
            detail="",
            fix="pass the HMAC secret itself (a PEM or JWK is not an HS256 secret)",
        )
    key = Passed.CANDIDATE_SIGNED if ok else C.NOT_THE_SIGNER
    return finding(
        check, key, data={**data, "match": ok}, name=name, fingerprint=data["fingerprint"]
    )


def _verdict(matches: list[str], candidates: Mapping[str, Any]) -> Finding:
    if not matches:
        return finding(
            "tokens.find_key",
            C.UNKNOWN_SIGNER,
            data={"tried": list(candidates), "match": None},
            count=len(candidates),
            names=", ".join(candidates) or "none",
        )
    name = matches[0]
    role = _role(name)
    key = {"current": Passed.CURRENT_SECRET, "old": C.ROTATED_SECRET}.get(
        role, C.UNREAD_SECRET_VARIABLE
    )
    return finding("tokens.find_key", key, data={"match": name, "role": role}, name=name)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-[]" else "_" for c in name[:64]) or "unnamed"
