"""The arguments of ``inspect``, checked once at the door into one frozen value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from svc_nb._clock import Now, unix_seconds
from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._validate import check_duration, check_timeout
from svc_nb.tokens._errors import TokensTypeError, TokensValueError

__all__ = ["InspectOptions", "as_text", "inspect_options", "names", "unix_now"]


@dataclass(frozen=True, slots=True)
class InspectOptions:
    """What to verify a token against, and when 'now' is."""

    key: Any
    jwks_url: str | None
    algorithms: tuple[str, ...] | None
    audience: tuple[str, ...] | None
    issuer: tuple[str, ...] | None
    leeway: float
    now: float
    timeout: float

    @property
    def verifies(self) -> bool:
        return self.key is not None or self.jwks_url is not None


def inspect_options(
    *,
    key: Any,
    algorithms: Any,
    audience: Any,
    issuer: Any,
    leeway: Any,
    now: Now,
    jwks_url: Any,
    timeout: Any,
) -> InspectOptions:
    if jwks_url is not None and not isinstance(jwks_url, str):
        raise TokensTypeError(f"jwks_url= takes the JWKS URL as str, not {type(jwks_url).__name__}")
    if isinstance(leeway, timedelta):
        leeway = leeway.total_seconds()
    try:
        leeway_s = check_duration(leeway, name="leeway")
        timeout_s = check_timeout(timeout)
        now_s = unix_seconds(now)
    except ArgumentTypeError as exc:
        raise TokensTypeError(str(exc)) from None
    except ArgumentValueError as exc:
        raise TokensValueError(str(exc)) from None
    return InspectOptions(
        key=key,
        jwks_url=jwks_url,
        algorithms=names(algorithms, "algorithms", example="['HS256']", allow_str=False),
        audience=names(audience, "audience", example="'fastapi-users:auth'"),
        issuer=names(issuer, "issuer", example="'https://auth.example.com'"),
        leeway=leeway_s,
        now=now_s,
        timeout=timeout_s,
    )


def as_text(token: Any) -> str:
    """The token as str (bytes are decoded); anything else is misuse."""
    if isinstance(token, bytes | bytearray):
        return bytes(token).decode("utf-8", "replace")
    if not isinstance(token, str):
        raise TokensTypeError(
            f"inspect() takes the token as str, not {type(token).__name__}: "
            "pass the compact JWT text (eyJ...)"
        )
    return token


def names(
    value: Any, argument: str, *, example: str, allow_str: bool = True
) -> tuple[str, ...] | None:
    """A str or an iterable of str as a tuple (None stays None); anything else is misuse."""
    if value is None:
        return None
    if isinstance(value, str) and allow_str:
        return (value,)
    if not isinstance(value, str | bytes | Mapping) and isinstance(value, Iterable):
        items = tuple(value)
        if all(isinstance(item, str) for item in items):
            return items
    what = "a string or a list of strings" if allow_str else "a list of names"
    raise TokensTypeError(
        f"{argument}= takes {what}, e.g. {argument}={example}; got {type(value).__name__}"
    )


def unix_now(now: Now) -> float:
    """``now`` as Unix seconds (svc_nb's one reading of now=), refusals as tokens errors."""
    try:
        return unix_seconds(now)
    except ArgumentTypeError as exc:
        raise TokensTypeError(str(exc)) from None
    except ArgumentValueError as exc:
        raise TokensValueError(str(exc)) from None
