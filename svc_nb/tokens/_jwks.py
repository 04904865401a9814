"""JWKS fetching: bounded, cached for five minutes; a kid not in the cached set refetches."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from svc_nb._http import tls_context, transport_failure
from svc_nb._redact import mask_url
from svc_nb.tokens._causes import TokensCause
from svc_nb.tokens._explanations import spec
from svc_nb.tokens._keys import KeyProblem

__all__ = ["cached_jwks", "clear_jwks_cache", "fetch_jwks"]

_JWKS_TTL_S = 300.0
_JWKS_MAX_BYTES = 1 << 20

_lock = threading.Lock()
_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}


def clear_jwks_cache() -> None:
    """Forget every fetched JWKS (the next inspect refetches)."""
    with _lock:
        _cache.clear()


def cached_jwks(url: str, kid: str | None) -> list[dict[str, Any]] | None:
    """The cached keys of ``url``, or None when stale, absent, or missing the token's kid."""
    with _lock:
        cached = _cache.get(url)
    if cached is None or time.monotonic() - cached[0] > _JWKS_TTL_S:
        return None
    keys = cached[1]
    if kid is not None and all(k.get("kid") != kid for k in keys):
        return None  # the issuer may have rotated: look again
    return keys


async def fetch_jwks(url: str, timeout: float) -> list[dict[str, Any]]:
    """Fetch and cache the keys at ``url``; raises KeyProblem (with its finding) on failure."""
    import httpx

    try:
        # One asyncio deadline bounds the whole fetch: httpx's own timeout bounds each
        # read, and a peer trickling bytes would never trip it.
        async with asyncio.timeout(timeout):
            content = await _download(url, timeout)
    except (TimeoutError, httpx.HTTPError) as exc:
        raise KeyProblem(
            transport_failure("tokens.key", exc, url, timeout, peer="the issuer's JWKS endpoint")
        ) from None
    keys = _keys_of(content, url)
    with _lock:
        _cache[url] = (time.monotonic(), keys)
    return keys


async def _download(url: str, timeout: float) -> bytes:
    import httpx

    client = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), follow_redirects=False, verify=tls_context()
    )
    headers = {"Accept": "application/json"}
    async with client, client.stream("GET", url, headers=headers) as response:
        if response.status_code != 200:
            raise _problem(TokensCause.JWKS_HTTP_STATUS, url, status_code=response.status_code)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > _JWKS_MAX_BYTES:
                raise _problem(TokensCause.JWKS_TOO_LARGE, url, limit="1 MiB")
            chunks.append(chunk)
        return b"".join(chunks)


def _keys_of(content: bytes, url: str) -> list[dict[str, Any]]:
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        raise _problem(TokensCause.JWKS_INVALID, url, problem="not JSON") from None
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list):
        raise _problem(TokensCause.JWKS_INVALID, url, problem="no 'keys' list")
    return [k for k in keys if isinstance(k, dict)]


def _problem(cause: TokensCause, url: str, **fields: Any) -> KeyProblem:
    data = {"status_code": fields["status_code"]} if "status_code" in fields else {}
    return KeyProblem(spec("tokens.key", cause, data=data, url=mask_url(url), **fields))
