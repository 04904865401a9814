"""Shared HTTP client settings for every probe that speaks HTTP."""

from __future__ import annotations

import functools
import ssl

__all__ = ["tls_context"]


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
