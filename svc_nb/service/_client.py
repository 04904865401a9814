"""Requests to the service under check: in process through httpx's ASGI transport, or over HTTP.

In process, requests reach the app as uvicorn would hand them over: from
127.0.0.1, on ``http://127.0.0.1:8000`` (uvicorn's default address), with the
lifespan's state in the scope. ``trusted_proxy=True`` passes them through
uvicorn's ``ProxyHeadersMiddleware`` first, as ``--proxy-headers
--forwarded-allow-ips='*'`` would. Redirects are never followed and no cookie
is kept between requests. Every request is bounded by the check's deadline.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from svc_nb._http import tls_context
from svc_nb._runtime import Deadline
from svc_nb.service._target import Target

__all__ = ["IN_PROCESS_BASE", "ServiceClient"]

IN_PROCESS_BASE = "http://127.0.0.1:8000"
_CLIENT_ADDRESS = ("127.0.0.1", 50123)


def _transport_errors() -> tuple[type[BaseException], ...]:
    import httpx

    return (httpx.HTTPError, httpx.InvalidURL, OSError, TimeoutError, ValueError)


class _WithState:
    """Hands the lifespan's state to each request, as uvicorn does (``request.state``)."""

    def __init__(self, app: Any, state: Mapping[str, Any]) -> None:
        self.app = app
        self._state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket") and self._state:
            scope = {**scope, "state": dict(self._state)}
        await self.app(scope, receive, send)


def _no_cookies() -> http.cookiejar.CookieJar:
    # Each check reads Set-Cookie itself; a jar would leak one check's session into another.
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class ServiceClient:
    """``await client.request("GET", "/ping")``: one service, one deadline, no redirects, no cookies."""

    def __init__(
        self, target: Target, deadline: Deadline, state: Mapping[str, Any] | None = None
    ) -> None:
        import httpx

        self.target = target
        self.deadline = deadline
        self.in_process = target.in_process
        self.base_url = IN_PROCESS_BASE if target.in_process else str(target.base_url)
        self.errors = _transport_errors()
        options: dict[str, Any] = {
            "base_url": self.base_url,
            "follow_redirects": False,
            "cookies": _no_cookies(),
            "timeout": deadline.timeout,
        }
        self._proxied: httpx.AsyncClient | None = None
        if target.in_process:
            app = _WithState(target.app, state or {})
            self._client = httpx.AsyncClient(transport=self._transport(app), **options)
            proxied = _proxy_headers(app)
            if proxied is not None:
                self._proxied = httpx.AsyncClient(transport=self._transport(proxied), **options)
        else:
            self._client = httpx.AsyncClient(trust_env=False, verify=tls_context(), **options)

    @staticmethod
    def _transport(app: Any) -> Any:
        import httpx

        return httpx.ASGITransport(app=app, raise_app_exceptions=False, client=_CLIENT_ADDRESS)

    @property
    def can_trust_proxy(self) -> bool:
        return self._proxied is not None

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        trusted_proxy: bool = False,
    ) -> Any:
        """The response; raises one of ``self.errors`` when there is none within the deadline."""
        client = self._proxied if trusted_proxy and self._proxied is not None else self._client
        left = self.deadline.left()
        if left <= 0:
            raise TimeoutError("the check's time budget is spent")
        async with asyncio.timeout(left):
            return await client.request(
                method,
                path,
                headers=dict(headers or {}),
                content=content,
                data=data,
                json=json,
                timeout=left,
            )

    def url(self, path: str) -> str:
        return self.base_url + path

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._proxied is not None:
            await self._proxied.aclose()

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _proxy_headers(app: Any) -> Any:
    try:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
    except ImportError:  # without uvicorn, only what the app itself does with the headers is seen
        return None
    return ProxyHeadersMiddleware(app, trusted_hosts="*")
