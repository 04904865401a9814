"""One delivery attempt over HTTP: the POST, bounded as a whole, and what its answer means.

``timeout`` bounds the whole attempt (connect, send, answer and body), so a
peer trickling its answer byte by byte cannot stretch it. Only the first
64 KiB of an answer are read: enough for the excerpt in the log.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

from svc_nb._clock import Now, utc_datetime
from svc_nb._redact import mask_url, scrub

if TYPE_CHECKING:
    import httpx

__all__ = ["Answer", "parse_retry_after", "post"]

_EXCERPT = 200
_READ_LIMIT = 65536  # bytes of an answer read; the rest is not needed for the excerpt
# Retry-After beyond a day is almost certainly a bug on the other side; cap it.
_MAX_RETRY_AFTER = 86400.0


def parse_retry_after(value: str | None, *, now: Now = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    # isdigit() alone accepts '¹' and other Unicode digits that float() rejects.
    if value.isascii() and value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - utc_datetime(now)).total_seconds()), _MAX_RETRY_AFTER)


@dataclass
class Answer:
    """One attempt's result; ``status_code`` None when no response came back."""

    outcome: str
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    retry_after: float | None = None


def _is_tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError | ssl.CertificateError):
            return True
        cur = cur.__cause__ or cur.__context__
    text = str(exc).upper()
    return "SSL" in text or "CERTIFICATE" in text or "TLS" in text


def _failure(exc: Exception, timeout: float) -> Answer:
    import httpx

    message = scrub(str(exc))[:200]
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Answer("timeout", error=f"no response within {timeout:g} s ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError | ssl.SSLError) and _is_tls(exc):
        return Answer("tls_error", error=f"TLS handshake failed: {message}")
    if isinstance(exc, httpx.ConnectError | OSError):
        return Answer("connect_error", error=f"cannot connect: {message}")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return Answer(
            "connect_error",
            error=f"connection closed before a response ({type(exc).__name__}: {message[:160]})",
        )
    return Answer("connect_error", error=f"{type(exc).__name__}: {message}")


async def _read_prefix(response: httpx.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _READ_LIMIT:
            break
    try:
        return b"".join(chunks).decode(response.charset_encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return b"".join(chunks).decode("utf-8", "replace")


def _answer(code: int, location: str, retry_after: str | None, text: str) -> Answer:
    excerpt = scrub(text[:_EXCERPT])
    if 200 <= code < 300:
        return Answer("delivered", code, excerpt=excerpt)
    if 300 <= code < 400:
        error = f"HTTP {code} redirect to {mask_url(location) or '?'} (redirects are not followed)"
    elif code == 410:
        error = "HTTP 410 Gone: the endpoint asks to stop"
    else:
        error = f"webhook delivery failed: {code}"
    return Answer("http_error", code, error, excerpt, parse_retry_after(retry_after))


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> Answer:
    """One POST, bounded as a whole by ``timeout`` (a peer trickling its answer cannot stretch it)."""
    import httpx

    try:
        async with asyncio.timeout(timeout):
            async with client.stream(
                "POST", url, content=body, headers=headers, timeout=timeout, follow_redirects=False
            ) as response:
                text = await _read_prefix(response)
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        return _failure(exc, timeout)
    return _answer(
        response.status_code,
        response.headers.get("location", ""),
        response.headers.get("retry-after"),
        text,
    )
