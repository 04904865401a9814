"""The probe's TLS stage: handshake as svc-infra's client does it, and why a certificate fails.

OpenSSL stops at the first verification error; the certificate itself (fetched
again without verification) tells the rest: expired, not yet valid, wrong host
name, self-signed. The first error is the finding's ``cause``; every problem
found is listed in ``data["problems"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
import time
from collections.abc import Mapping
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import scrub
from svc_nb._report import Finding, Status
from svc_nb._runtime import Deadline
from svc_nb.webhooks._causes import WebhooksCause as C
from svc_nb.webhooks._url import Target

__all__ = ["close_writer", "elapsed_ms", "tls_stage"]

CHECK = "webhooks.tls"
_EXPIRY_WARN_DAYS = 14

# OpenSSL X509_V_ERR_* codes, as in ssl.SSLCertVerificationError.verify_code
_VERIFY_CODES = {
    9: C.NOT_YET_VALID,
    10: C.EXPIRED,
    18: C.SELF_SIGNED,
    19: C.SELF_SIGNED,
    20: C.UNKNOWN_ISSUER,
    21: C.UNKNOWN_ISSUER,
    62: C.HOSTNAME_MISMATCH,
    64: C.HOSTNAME_MISMATCH,
}

_CERT_FIX = {
    C.EXPIRED: "Renew the certificate (certbot renew, or your CA's process) and reload the server.",
    C.NOT_YET_VALID: "Check the server's clock and the certificate's notBefore; reissue if it was dated ahead.",
    C.HOSTNAME_MISMATCH: "Serve a certificate whose subjectAltName covers this host, or use the host the "
    "certificate names in the subscription URL.",
    C.SELF_SIGNED: "Use a certificate from a CA svc-infra trusts (e.g. Let's Encrypt); svc-infra's httpx "
    "client verifies certificates and cannot be told to skip that per subscription.",
    C.UNKNOWN_ISSUER: "Serve the full chain (leaf + intermediates), or use a publicly trusted CA.",
}

_REJECTED = Explanation(
    Status.FAIL,
    "certificate rejected: {problems}",
    "OpenSSL: {message} (verify code {code}). svc-infra verifies certificates, so every delivery "
    "to this URL fails before any HTTP is sent.",
    "{fixes}",
)
_HANDSHAKE_FIX = "Check the server's TLS configuration (protocol versions, ciphers, certificate/key pair) and its logs."

_EXPLAIN: dict[C, Explanation] = {
    C.CAFILE: Explanation(
        Status.FAIL, "cannot load cafile: {error}", "", "Pass cafile= as a readable PEM bundle."
    ),
    C.TLS_TIMEOUT: Explanation(
        Status.FAIL,
        "no TLS handshake answer within {timeout:g} s",
        "TCP connected but the server never answered the TLS ClientHello: a plain-TCP service, "
        "a hung server, or a proxy that swallows TLS.",
        "Check that {where} serves HTTPS.",
    ),
    C.PLAIN_HTTP: Explanation(
        Status.FAIL,
        "TLS handshake failed: {error}",
        "The port answered something that is not TLS (probably plain HTTP).",
        "Use http:// for a plain-HTTP port, or point https:// at the TLS port.",
    ),
    C.HANDSHAKE: Explanation(Status.FAIL, "TLS handshake failed: {error}", "{why}", _HANDSHAKE_FIX),
    C.EXPIRES_SOON: Explanation(
        Status.WARN,
        "certificate valid, but expires in {days:g} days",
        "Valid until {not_after}; deliveries fail the moment it expires.",
        _CERT_FIX[C.EXPIRED],
    ),
    **dict.fromkeys((*_CERT_FIX, C.VERIFY_FAILED), _REJECTED),
}


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


async def close_writer(writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        return
    writer.close()
    with contextlib.suppress(Exception):  # the peer may be gone already; closing is best effort
        async with asyncio.timeout(0.1):
            await writer.wait_closed()


# --------------------------------------------------------------------------- the certificate's own facts


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def _cert_facts(der: bytes, host: str, now: float) -> dict[str, Any]:
    """What a certificate says, read without trusting it: validity, names, issuer."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return {}
    not_after = cert.not_valid_after_utc.timestamp()
    not_before = cert.not_valid_before_utc.timestamp()
    names: list[str] = []
    with contextlib.suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [
            *san.get_values_for_type(x509.DNSName),
            *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
        ]
    ip = _ip(host)
    matches = (
        any(_ip(n) == ip for n in names)
        if ip is not None
        else any(_dns_match(n, host) for n in names)
    )
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "self_signed": cert.issuer == cert.subject,
        "not_before": dt.datetime.fromtimestamp(not_before, dt.UTC).isoformat(),
        "not_after": dt.datetime.fromtimestamp(not_after, dt.UTC).isoformat(),
        "days_left": round((not_after - now) / 86400, 1),
        "not_yet_valid": not_before > now,
        "names": names,
        "hostname_matches": matches,
    }


def _problems(facts: Mapping[str, Any], host: str) -> list[tuple[C, str]]:
    out: list[tuple[C, str]] = []
    days = facts["days_left"]
    if days < 0:
        out.append((C.EXPIRED, f"expired {abs(days):g} days ago ({facts['not_after']})"))
    if facts["not_yet_valid"]:
        out.append((C.NOT_YET_VALID, f"not valid before {facts['not_before']}"))
    if not facts["hostname_matches"]:
        names = ", ".join(facts["names"]) or "no subjectAltName"
        out.append((C.HOSTNAME_MISMATCH, f"issued for {names}, not {host}"))
    if facts["self_signed"]:
        out.append((C.SELF_SIGNED, "self-signed (no public CA vouches for it)"))
    return out


async def _peer_cert(target: Target, clock: Deadline) -> bytes | None:
    """The server's certificate fetched without verification (to explain a failed one)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    writer = None
    try:
        async with asyncio.timeout(clock.left()):
            _, writer = await asyncio.open_connection(
                target.host, target.port, ssl=ctx, server_hostname=target.host
            )
        obj = writer.get_extra_info("ssl_object")
        return obj.getpeercert(binary_form=True) if obj is not None else None
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    finally:
        await close_writer(writer)


# --------------------------------------------------------------------------- the stage


def _trusted(
    der: bytes | None, version: str | None, target: Target, handshake_ms: float, now_s: float
) -> Finding:
    facts = _cert_facts(der, target.host, now_s) if der else {}
    days = facts.get("days_left")
    data = {"handshake_ms": handshake_ms, "tls_version": version, **facts}
    if days is not None and days < _EXPIRY_WARN_DAYS:
        return explain(
            CHECK, C.EXPIRES_SOON, _EXPLAIN, data=data, days=days, not_after=facts["not_after"]
        )
    summary = f"TLS ok ({version})" + (
        f", certificate valid for {days:g} more days" if days is not None else ""
    )
    return Finding(CHECK, Status.OK, summary, data=data)


async def _rejected(
    error: ssl.SSLCertVerificationError,
    target: Target,
    clock: Deadline,
    handshake_ms: float,
    now_s: float,
) -> Finding:
    code = int(getattr(error, "verify_code", 0) or 0)
    message = scrub(str(getattr(error, "verify_message", "") or error))
    primary = _VERIFY_CODES.get(code, C.VERIFY_FAILED)
    der = await _peer_cert(target, clock)
    facts = _cert_facts(der, target.host, now_s) if der else {}
    found = _problems(facts, target.host) if facts else []
    causes = [primary] + [c for c, _ in found if c != primary]
    texts = dict(found)
    fixes = [_CERT_FIX[c] for c in causes if c in _CERT_FIX]
    return explain(
        CHECK,
        primary,
        _EXPLAIN,
        data={
            "problems": [c.value for c in causes],
            "verify_code": code,
            "handshake_ms": handshake_ms,
            **facts,
        },
        problems="; ".join(texts.get(c, message) for c in causes),
        message=message,
        code=code,
        fixes="\n".join(fixes) or "Fix the server certificate.",
    )


def _handshake_failed(exc: ssl.SSLError, started: float) -> Finding:
    reason = scrub(str(exc.reason or exc))
    plain = "WRONG_VERSION_NUMBER" in reason.upper() or "wrong version" in str(exc).lower()
    return explain(
        CHECK,
        C.PLAIN_HTTP if plain else C.HANDSHAKE,
        _EXPLAIN,
        data={"elapsed_ms": elapsed_ms(started)},
        error=reason,
        why="Client and server could not agree on a TLS session.",
    )


async def tls_stage(
    target: Target, clock: Deadline, cafile: str | None, *, now_s: float
) -> Finding:
    """Handshake with verification, as svc-infra's client does; explain a rejection."""
    started = time.perf_counter()
    try:
        ctx = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        return explain(CHECK, C.CAFILE, _EXPLAIN, error=scrub(str(exc)))
    writer = None
    try:
        async with asyncio.timeout(clock.left()):
            _, writer = await asyncio.open_connection(
                target.host,
                target.port,
                ssl=ctx,
                server_hostname=target.host,
                ssl_handshake_timeout=clock.left(),
            )
        obj = writer.get_extra_info("ssl_object")
        der = obj.getpeercert(binary_form=True) if obj is not None else None
        version = obj.version() if obj is not None else None
    except ssl.SSLCertVerificationError as exc:
        return await _rejected(exc, target, clock, elapsed_ms(started), now_s)
    except TimeoutError:
        return explain(
            CHECK,
            C.TLS_TIMEOUT,
            _EXPLAIN,
            data={"elapsed_ms": elapsed_ms(started)},
            timeout=clock.timeout,
            where=f"{target.host}:{target.port}",
        )
    except ssl.SSLError as exc:
        return _handshake_failed(exc, started)
    except OSError as exc:
        return explain(
            CHECK,
            C.HANDSHAKE,
            _EXPLAIN,
            data={"elapsed_ms": elapsed_ms(started)},
            error=scrub(exc.strerror or str(exc) or type(exc).__name__),
            why="The connection dropped during the TLS handshake.",
        )
    finally:
        await close_writer(writer)
    return _trusted(der, version, target, elapsed_ms(started), now_s)
