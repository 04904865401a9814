"""Tokens shaped like svc-infra's, for demos, tests and round-trip checks."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._redact import register_secret
from svc_nb._validate import check_finite
from svc_nb.tokens._errors import TokensTypeError, TokensValueError, UnsignedTokenError
from svc_nb.tokens._keys import HMAC_ALGS, SUPPORTED_ALGS
from svc_nb.tokens._lints import ACCESS_AUDIENCE
from svc_nb.tokens._options import names, unix_now

__all__ = ["DEFAULT_LIFETIME", "make"]

DEFAULT_LIFETIME = 604800  # svc-infra's AUTH_JWT__LIFETIME_SECONDS default (7 days)
_DEMO_SUBJECT = "00000000-0000-0000-0000-000000000001"


def make(
    claims: Mapping[str, Any] | None = None,
    *,
    secret: Any,
    lifetime: float = DEFAULT_LIFETIME,
    audience: str | Iterable[str] | None = (ACCESS_AUDIENCE,),
    now: datetime | float | None = None,
    algorithm: str = "HS256",
    headers: Mapping[str, Any] | None = None,
) -> str:
    """A token shaped like svc-infra's: ``sub``, ``aud`` list, ``exp`` (no ``iat``/``iss``).

    ``secret`` is the HMAC secret (HS*) or the private key (RS/PS/ES/EdDSA).
    A negative ``lifetime`` makes an already expired token.
    """
    import jwt

    _check_algorithm(algorithm)
    try:
        seconds = check_finite(lifetime, name="lifetime")
    except ArgumentTypeError as exc:
        raise TokensTypeError(str(exc)) from None
    except ArgumentValueError as exc:
        raise TokensValueError(str(exc)) from None
    payload: dict[str, Any] = {"sub": _DEMO_SUBJECT}
    aud = names(audience, "audience", example="'fastapi-users:auth'")
    if aud:
        payload["aud"] = list(aud)
    payload["exp"] = int(unix_now(now) + seconds)
    payload.update(claims or {})
    if isinstance(secret, str | bytes) and algorithm in HMAC_ALGS:
        register_secret(secret)
    with warnings.catch_warnings():
        # PyJWT warns on short HMAC keys; inspect() reports that as a finding instead.
        warnings.simplefilter("ignore")
        return jwt.encode(payload, secret, algorithm=algorithm, headers=dict(headers or {}) or None)


def _check_algorithm(algorithm: Any) -> None:
    if not isinstance(algorithm, str):
        raise TokensTypeError(
            f"algorithm= takes a name such as 'HS256', not {type(algorithm).__name__}"
        )
    if algorithm.lower() == "none":
        raise UnsignedTokenError(
            "make() does not craft unsigned (alg: none) tokens: pick a signing algorithm, "
            "e.g. algorithm='HS256' (svc-infra's)"
        )
    if algorithm not in SUPPORTED_ALGS:
        raise TokensValueError(
            f"make() signs with one of {', '.join(SUPPORTED_ALGS)}; got algorithm={algorithm!r:.40}"
        )
