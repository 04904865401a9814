"""Shared HTTP client settings for every probe that speaks HTTP."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from typing import Any

from svc_nb._explain import CauseEnum, Explanation, explain
from svc_nb._redact import mask_url
from svc_nb._report import Finding, Status

__all__ = ["TransportCause", "tls_context", "transport_cause", "transport_failure"]


@functools.lru_cache(maxsize=8)
def tls_context(cafile: str | None = None) -> ssl.SSLContext:
    """A verifying TLS context, built once per CA file.

    Loading a CA bundle costs tens of milliseconds of CPU; building it per
    client (httpx's default) would serialise otherwise concurrent probes.
    """
    if cafile is None:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:  # httpx depends on certifi, but the system store works too
            return ssl.create_default_context()
    return ssl.create_default_context(cafile=cafile)


class TransportCause(CauseEnum):
    """Why an HTTP request got no response at all."""

    TIMEOUT = "timeout", "no response within the timeout"
    CONNECT_FAILED = "connect_failed", "the connection was refused, or the host did not resolve"
    TLS_FAILED = "tls_failed", "the TLS handshake failed (certificate, hostname or protocol)"
    REQUEST_FAILED = "request_failed", "the request failed for another transport reason"


_TRANSPORT = {
    TransportCause.TIMEOUT: Explanation(
        Status.FAIL,
        "no answer from {url} within {timeout:g} s",
        "The server accepted (or the network dropped) the connection but did not answer in time.",
        "Check that {peer} is up and reachable from here, or raise timeout=.",
    ),
    TransportCause.CONNECT_FAILED: Explanation(
        Status.FAIL,
        "cannot connect to {url}",
        "{error}",
        "Start {peer}, or check the URL's host and port, DNS, and that outbound traffic is allowed.",
    ),
    TransportCause.TLS_FAILED: Explanation(
        Status.FAIL,
        "TLS handshake with {url} failed",
        "{error}",
        "Check the certificate chain and host name, or pass the CA bundle that signed it.",
    ),
    TransportCause.REQUEST_FAILED: Explanation(
        Status.FAIL,
        "request to {url} failed: {error_type}",
        "{error}",
        "Check the URL and that {peer} speaks HTTP on it.",
    ),
}


_TLS_MARKERS = ("CERTIFICATE_VERIFY_FAILED", "WRONG_VERSION_NUMBER", "SSL", "TLS")


def _is_tls_error(exc: BaseException) -> bool:
    """An ssl.SSLError anywhere in the chain (httpx wraps it in ConnectError), or its text."""
    seen: BaseException | None = exc
    for _ in range(8):  # a bounded walk: chains can be cyclic
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return any(marker in str(exc) for marker in _TLS_MARKERS)


def transport_cause(exc: BaseException) -> TransportCause:
    """The cause of an exception raised while sending a request (httpx or asyncio)."""
    import httpx

    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return TransportCause.TIMEOUT
    if _is_tls_error(exc):
        return TransportCause.TLS_FAILED
    if isinstance(exc, httpx.ConnectError | ConnectionError | OSError):
        return TransportCause.CONNECT_FAILED
    return TransportCause.REQUEST_FAILED


def transport_failure(
    check: str,
    exc: BaseException,
    url: str,
    timeout: float,
    *,
    peer: str = "the service",
    data: Mapping[str, Any] | None = None,
) -> Finding:
    """The one mapping from a failed HTTP request to a Finding (timeout / connect / TLS / other)."""
    cause = transport_cause(exc)
    message = str(exc)[:200] or type(exc).__name__
    return explain(
        check,
        cause,
        _TRANSPORT,
        data={"timeout_s": timeout, **(data or {})},
        url=mask_url(url),
        timeout=timeout,
        peer=peer,
        error=f"{type(exc).__name__}: {message}",
        error_type=type(exc).__name__,
    )
