"""Notebook parameters read from the environment, checked once."""

from __future__ import annotations

from typing import Any

from svc_nb._exceptions import ArgumentValueError
from svc_nb._validate import check_timeout

__all__ = ["timeout_parameter"]


def timeout_parameter(value: Any, *, name: str = "SVC_NB_TIMEOUT") -> float:
    """A timeout parameter (a string from the environment, or a number) as positive, finite seconds.

    ``"nan"``, ``"inf"``, ``"0"``, negatives and non-numbers are refused at once
    with a message naming the parameter: a NaN timeout never fires.
    """
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ArgumentValueError(
                f"{name} must be a number of seconds such as 3, got {value[:40]!r}"
            ) from None
    return check_timeout(value, name=name)
