"""JWT validation errors: inspect, verify and explain a token; find which secret signed it.

``inspect()`` tolerates what people paste (``Bearer``, quotes, whitespace),
names the broken segment of a malformed token, verifies with pinned
algorithms (never ``none``, never an HMAC check keyed by a public key: the
RS→HS confusion attack), explains ``exp``/``nbf``/``iat`` relative to ``now``
(clock skew gets the leeway that would accept it) and knows svc-infra's
audiences. Tokens are shown shortened, keys only as fingerprints. Every
non-ok finding carries a :class:`TokensCause`.

``inspect_async()`` is the same for async code: a JWKS fetch is awaited
instead of blocking the running loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from svc_nb._diagnose import register_check
from svc_nb._lazy import lazy_package
from svc_nb._redact import fingerprint

if TYPE_CHECKING:
    from svc_nb._report import Finding
    from svc_nb.tokens._causes import TokensCause
    from svc_nb.tokens._errors import (
        KeyTypeError,
        TokensError,
        TokensTypeError,
        TokensValueError,
        UnsignedTokenError,
    )
    from svc_nb.tokens._find_key import candidates_from_env, find_key
    from svc_nb.tokens._inspect import inspect, inspect_async
    from svc_nb.tokens._jwks import clear_jwks_cache
    from svc_nb.tokens._keys import HMAC_ALGS, HMAC_MIN_KEY_BYTES, SUPPORTED_ALGS
    from svc_nb.tokens._lints import ACCESS_AUDIENCE, MFA_AUDIENCE
    from svc_nb.tokens._make import DEFAULT_LIFETIME, make
    from svc_nb.tokens._token_report import TokenReport

__all__ = [
    "ACCESS_AUDIENCE",
    "DEFAULT_LIFETIME",
    "HMAC_ALGS",
    "HMAC_MIN_KEY_BYTES",
    "MFA_AUDIENCE",
    "SUPPORTED_ALGS",
    "KeyTypeError",
    "TokenReport",
    "TokensCause",
    "TokensError",
    "TokensTypeError",
    "TokensValueError",
    "UnsignedTokenError",
    "candidates_from_env",
    "clear_jwks_cache",
    "find_key",
    "fingerprint",
    "inspect",
    "inspect_async",
    "make",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


def _diagnose(environ: Mapping[str, str], timeout: float) -> list[Finding]:
    """diagnose()'s ``tokens`` check: the configured secret signs and verifies a token."""
    from svc_nb.tokens._secret_check import secret_check

    return secret_check(environ, timeout)


register_check("tokens", _diagnose, order=50)
