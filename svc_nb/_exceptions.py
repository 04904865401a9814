"""One exception tree: every error svc_nb raises derives from :class:`SvcNbError`.

A diagnosable failure (a refused port, a wrong password, an expired token) is
a returned Finding, never an exception. Exceptions are for misuse: a wrong
argument type or value. Each says what to do instead. Section errors subclass
:class:`SvcNbError` and, where callers expect it, ``ValueError`` or ``TypeError``
as well, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = ["ArgumentTypeError", "ArgumentValueError", "SvcNbError"]


class SvcNbError(Exception):
    """Root of every exception svc_nb raises."""


class ArgumentValueError(SvcNbError, ValueError):
    """An argument has the right type but a value svc_nb cannot use (NaN, a negative timeout...)."""


class ArgumentTypeError(SvcNbError, TypeError):
    """An argument has a type svc_nb cannot use (a string timeout, a naive datetime...)."""
