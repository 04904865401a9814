"""redis-py asyncio clients whose every call is bounded and whose connect is lean.

No retries, no CLIENT SETINFO and no maintenance notifications; the probe's
connections also skip a bare HELLO: each is a round trip per new connection that
a probe does not need.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout
from svc_nb.cache._common import POOL_OPTIONS, CacheError, Target

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["client", "lean_protocol", "open_client"]

# How long closing the client may take after the probe's own deadline.
_CLOSE_GRACE_S = 0.1


@functools.cache
def _no_client_setinfo(connection_class: type) -> dict[str, None]:
    """Keyword arguments that skip CLIENT SETINFO on connect.

    redis-py sends it on every new connection and reads its own package metadata
    to do so: a round trip and milliseconds of CPU a probe does not need.
    Newer redis-py spells it ``driver_info=None``, older ``lib_name=None``.
    """
    params = inspect.signature(connection_class).parameters
    if "driver_info" in params:
        return {"driver_info": None}
    if "lib_name" in params:
        return {"lib_name": None, "lib_version": None}
    return {}


@functools.cache
def _no_maint_notifications(pool_class: type) -> dict[str, Any]:
    """Pool keyword arguments that skip ``CLIENT MAINT_NOTIFICATIONS ON`` (redis-py 7+).

    With RESP3, redis-py 8 asks for maintenance notifications on every new
    connection: one more round trip that a short-lived probe never uses.
    """
    if "maint_notifications_config" not in inspect.signature(pool_class).parameters:
        return {}
    from redis.maint_notifications import MaintNotificationsConfig

    return {"maint_notifications_config": MaintNotificationsConfig(enabled=False)}


def lean_protocol(kwargs: dict[str, Any]) -> int:
    """The RESP version a probe speaks when the URL names none.

    With a password, RESP3 as redis-py's default does: ``HELLO 3 AUTH`` is the
    same one round trip as ``AUTH``, and it succeeds or fails exactly as
    svc-infra's client does (Redis accepts any password in HELLO for a user
    without one, but refuses a bare AUTH). Without one, RESP2: a bare ``HELLO 3``
    would be a round trip the probe reads nothing from; the probe instead reads the
    server version and names a server too old for RESP3 (see ``_probe``).
    """
    return 3 if kwargs.get("password") else 2


def client(
    url: str, *, timeout: float = DEFAULT_TIMEOUT_S, decode_responses: bool = False
) -> Redis:
    """A redis-py asyncio client for ``url`` whose every call is bounded by ``timeout``.

    No retries (one try keeps a probe's budget honest) and no CLIENT SETINFO.
    The caller closes it with ``await client.aclose()``. Raises
    :class:`CacheError` (a ``ValueError``) for a URL redis-py cannot read:
    :func:`svc_nb.cache.parse_url` says what is wrong with it.
    """
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    if not isinstance(url, str):
        raise ArgumentTypeError(f"client() takes the URL as a str, got {type(url).__name__}")
    timeout = check_timeout(timeout)
    try:
        return aioredis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            decode_responses=decode_responses,
            **_no_client_setinfo(aioredis.connection.AbstractConnection),
            **_no_maint_notifications(aioredis.ConnectionPool),
        )
    except ValueError as exc:
        # redis-py's message may quote the URL, password included: name the class only.
        raise CacheError(
            f"redis-py cannot read this URL ({type(exc).__name__}); "
            "svc_nb.cache.parse_url(url) says what is wrong with it"
        ) from None


@contextlib.asynccontextmanager
async def open_client(
    target: Target, timeout: float, *, anonymous: bool = False
) -> AsyncIterator[Redis]:
    """A client for a parsed target, closed on exit within a short grace period."""
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    kwargs = dict(target.kwargs)
    if anonymous:
        kwargs.pop("username", None)
        kwargs.pop("password", None)
    pool_kwargs = {k: kwargs.pop(k) for k in POOL_OPTIONS if k in kwargs}
    pool_kwargs.pop("timeout", None)  # the probe's own timeout bounds everything
    kwargs.setdefault("protocol", lean_protocol(kwargs))
    kwargs.update(
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        # redis-py retries connection errors three times by default; one try keeps the budget honest.
        retry=Retry(NoBackoff(), 0),
        **_no_client_setinfo(aioredis.connection.AbstractConnection),
    )
    connection_class = {
        "redis": aioredis.Connection,
        "rediss": aioredis.SSLConnection,
        "unix": aioredis.UnixDomainSocketConnection,
    }[target.scheme]
    pool = aioredis.ConnectionPool(
        connection_class=connection_class,
        **pool_kwargs,
        **_no_maint_notifications(aioredis.ConnectionPool),
        **kwargs,
    )
    redis_client = aioredis.Redis.from_pool(pool)  # type: ignore[attr-defined]  # stubs predate from_pool
    try:
        yield redis_client
    finally:
        # Bounded: a hung peer must not hold the caller past its deadline.
        with contextlib.suppress(Exception, TimeoutError):
            async with asyncio.timeout(_CLOSE_GRACE_S):
                await redis_client.aclose()  # from_pool: closing the client closes its pool too
