"""Misuse of svc_nb.tokens: one root, a subclass per reason.

A bad *token* is never an exception (it is a finding); these are for arguments
svc_nb cannot use. Wrong types stay ``TypeError`` and unusable values
``ValueError``, so callers' ``except TypeError`` / ``except ValueError`` keep working.
"""

from __future__ import annotations

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError, SvcNbError

__all__ = [
    "KeyTypeError",
    "TokensError",
    "TokensTypeError",
    "TokensValueError",
    "UnsignedTokenError",
]


class TokensError(SvcNbError):
    """Root of every misuse error of svc_nb.tokens; the message says what to pass."""


class TokensTypeError(TokensError, ArgumentTypeError):
    """An argument of the wrong type (token, audience=, issuer=, algorithms=, now=...)."""


class KeyTypeError(TokensTypeError):
    """key= (or a find_key candidate) is not something that can verify a JWT."""


class TokensValueError(TokensError, ArgumentValueError):
    """An argument of the right type with an unusable value (a NaN leeway, an unknown algorithm)."""


class UnsignedTokenError(TokensValueError):
    """make() was asked for an unsigned (alg: none) token, which it never crafts."""
