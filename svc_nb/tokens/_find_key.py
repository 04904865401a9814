"""Which secret signed a token: the current one, an old rotated one, the guide's, or none."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from svc_nb._explain import CauseEnum
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
_SECRET_VARIABLES = ("AUTH_JWT__SECRET", "AUTH_JWT_SECRET", "JWT_SECRET", "AUTH_JWT")


#: What svc-infra signs with when no JWT secret is set and APP_ENV is not production-like.
DEV_DEFAULTS = {
    "svc-infra dev default (access tokens)": "dev-only-jwt-secret-not-for-production",
    "svc-infra dev default (MFA pre-tokens)": "dev-only-mfa-jwt-secret-not-for-production",
}
_DEV_PREFIX = "svc-infra dev default"
_JWT_BLOCK = ("AUTH_JWT__SECRET", "AUTH_JWT")  # the settings block that may list old secrets


def candidates_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Named candidate secrets, as svc-infra reads them from ``environ``.

    The secret svc-infra uses first (``AUTH_JWT__SECRET`` → ``AUTH_JWT_SECRET`` →
    ``JWT_SECRET``), the other variables that are set (svc-infra ignores them), each
    old secret svc-infra verifies with (``AUTH_JWT__OLD_SECRETS[i]``: a JSON list,
    read only beside ``AUTH_JWT__SECRET``), the guide's ``JWT_SECRET_KEY``, and,
    when no secret is set outside production, svc-infra's development defaults.
    """
    from svc_nb.env import JWT_SECRET_VARS, app_environment, resolve_jwt_secret

    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    current = resolve_jwt_secret(env)
    if current is not None:
        out[current.source] = current.value
    for name in (*JWT_SECRET_VARS, _GUIDE_VARIABLE):
        if name not in out and env.get(name, "").strip():
            out[name] = env[name]
    if current is not None and current.source.upper() in _JWT_BLOCK:
        for i, value in enumerate(_old_secrets(env)):
            out[f"AUTH_JWT__OLD_SECRETS[{i}]"] = value
    if current is None and not app_environment(env)[2]:
        out.update(DEV_DEFAULTS)
    register_secret(*out.values())
    return out


def _nocase(env: Mapping[str, str], name: str) -> str | None:
    """An env value by name, case-insensitively, as pydantic-settings matches AUTH_* names."""
    if name in env:
        return env[name]
    wanted = name.casefold()
    return next((v for k, v in env.items() if isinstance(k, str) and k.casefold() == wanted), None)


def _string_list(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        return []  # svc-infra's settings refuse anything but a list of strings
    return [v for v in raw if v]


def _old_secrets(env: Mapping[str, str]) -> list[str]:
    """``AUTH_JWT__OLD_SECRETS`` (else ``AUTH_JWT``'s ``old_secrets``) as svc-infra parses it.

    Only a JSON list of strings counts: svc-infra cannot start with anything else
    (``a,b`` or a JSON string), so it verifies with no old secret then.
    """
    raw = _nocase(env, "AUTH_JWT__OLD_SECRETS")
    try:
        if raw is not None:
            return _string_list(json.loads(raw))
        block = json.loads(_nocase(env, "AUTH_JWT") or "null")
    except (ValueError, RecursionError):
        return []
    return _string_list(block.get("old_secrets")) if isinstance(block, dict) else []


def _role(name: str, current: str | None) -> str:
    upper = name.upper()
    if name.startswith(_DEV_PREFIX):
        return "dev_default"
    if upper.startswith("AUTH_JWT__OLD_SECRETS[") or any(
        word in upper for word in ("OLD", "PREVIOUS", "ROTATED")
    ):
        return "old"
    if upper == _GUIDE_VARIABLE:
        return "guide"
    if current is not None and upper in _SECRET_VARIABLES and upper != current.upper():
        return "shadowed"
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
    current = _current_name(candidates)
    per_candidate = [
        _try_candidate(name, secret, str(alg), signing_input.encode(), signature, current)
        for name, secret in candidates.items()
    ]
    matches = [f.data["name"] for f in per_candidate if f.data.get("match") is True]
    return Report([_verdict(matches, candidates, current), *per_candidate], title=_TITLE)


def _current_name(candidates: Mapping[str, Any]) -> str | None:
    """The variable svc-infra reads first among the candidates (candidates_from_env lists it first)."""
    return next((n for n in candidates if n.upper() in _SECRET_VARIABLES), None)


def _try_candidate(
    name: str,
    secret: str | bytes | None,
    alg: str,
    message: bytes,
    signature: bytes,
    current: str | None,
) -> Finding:
    import jwt

    check = f"tokens.candidate.{_slug(name)}"
    if not secret:
        return finding(check, C.EMPTY_SECRET, data={"name": name, "match": None}, name=name)
    register_secret(secret)
    raw = secret.encode("utf-8", "surrogatepass") if isinstance(secret, str) else secret
    data: dict[str, Any] = {
        "name": name,
        "fingerprint": fingerprint(raw),
        "role": _role(name, current),
    }
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


_VERDICTS: dict[str, CauseEnum] = {
    "current": Passed.CURRENT_SECRET,
    "old": C.ROTATED_SECRET,
    "guide": C.UNREAD_SECRET_VARIABLE,
    "shadowed": C.SHADOWED_SECRET_VARIABLE,
    "dev_default": C.DEV_DEFAULT_SECRET,
}


def _verdict(matches: list[str], candidates: Mapping[str, Any], current: str | None) -> Finding:
    if not matches:
        return finding(
            "tokens.find_key",
            C.UNKNOWN_SIGNER,
            data={"tried": list(candidates), "match": None},
            count=len(candidates),
            names=", ".join(candidates) or "none",
        )
    name = matches[0]
    role = _role(name, current)
    return finding(
        "tokens.find_key",
        _VERDICTS[role],
        data={"match": name, "role": role},
        name=name,
        current=current or "another variable",
    )


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-[]" else "_" for c in name[:64]) or "unnamed"
