"""Endpoint probe: can svc-infra deliver to this URL? TCP, TLS, then a signed test POST.

Each stage is timed and classified the way a webhook sender experiences it:
refused vs. silent ports, certificate problems (self-signed, expired, wrong
host name, days left), redirects (svc-infra's httpx client does not follow
them, so a 3xx is a failed delivery), status classes and slow answers close to
svc-infra's delivery timeout (``WEBHOOK_DELIVERY_TIMEOUT_SECONDS``, else
``HTTP_CLIENT_TIMEOUT_SECONDS``, else 10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import re
import socket
import ssl
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svc_nb._diagnose import register_check
from svc_nb._http import tls_context
from svc_nb._redact import mask_url, register_secret, scrub
from svc_nb._report import Finding, Report, Status
from svc_nb._runtime import Deadline
from svc_nb.webhooks._signing import SCHEMES, SigningError, canonical_json, sign

__all__ = ["delivery_timeout", "probe"]

_TITLE = "webhook endpoint probe"
_DEFAULT_DELIVERY_TIMEOUT = 10.0
_GUARD_S = 0.15  # the whole probe is cancelled this long after its own deadline
_EXPIRY_WARN_DAYS = 14
_EXCERPT = 160

# OpenSSL X509_V_ERR_* codes, as in ssl.SSLCertVerificationError.verify_code
_VERIFY_CODES = {
    9: "not_yet_valid",
    10: "expired",
    18: "self_signed",
    19: "self_signed",
    20: "unknown_issuer",
    21: "unknown_issuer",
    62: "hostname_mismatch",
    64: "hostname_mismatch",
}


def delivery_timeout(environ: Mapping[str, str] | None = None) -> float:
    """svc-infra's per-delivery HTTP timeout, read the way svc-infra reads it."""
    env = os.environ if environ is None else environ
    for name in ("WEBHOOK_DELIVERY_TIMEOUT_SECONDS", "HTTP_CLIENT_TIMEOUT_SECONDS"):
        value = env.get(name)
        if value:
            with contextlib.suppress(ValueError):
                parsed = float(value)
                if parsed > 0:
                    return parsed
    return _DEFAULT_DELIVERY_TIMEOUT


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    shown: str  # the URL with secrets masked


def _parse_url(url: str) -> _Target | Finding:
    """The URL's parts, or a fail finding saying what is wrong with it."""
    shown = mask_url(url.strip())

    def bad(summary: str, fix: str) -> Finding:
        return Finding("webhooks.url", Status.FAIL, summary, f"URL: {shown!r}", fix,
                       {"url": shown, "cause": "bad_url"})

    text = url.strip()
    if not text:
        return bad("the webhook URL is empty", "Pass the subscription URL, e.g. https://hooks.example.com/svc")
    if any(c.isspace() for c in text):
        return bad("the webhook URL contains whitespace", "Remove spaces/newlines from the URL (copy-paste?).")
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        return bad(f"the webhook URL is malformed: {scrub(str(exc))}",
                   "Write it as scheme://host[:port]/path with a port between 1 and 65535.")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return bad(
            f"the webhook URL's scheme is {parts.scheme or 'missing'!r}, not http or https",
            "Webhooks are HTTP POSTs: use https://host/path (http:// only for local tests).",
        )
    host = parts.hostname
    if not host:
        return bad("the webhook URL has no host", "Write it as https://host[:port]/path.")
    return _Target(scheme, host, port or (443 if scheme == "https" else 80), shown)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _oserror_text(exc: OSError) -> str:
    return scrub(exc.strerror or str(exc) or type(exc).__name__)




async def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        return
    writer.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(0.1):
            await writer.wait_closed()


async def _tcp(target: _Target, clock: Deadline) -> Finding:
    started = time.perf_counter()
    writer = None
    where = f"{target.host}:{target.port}"
    base: dict[str, Any] = {"host": target.host, "port": target.port}
    try:
        async with asyncio.timeout(clock.left()):
            _, writer = await asyncio.open_connection(target.host, target.port)
    except TimeoutError:
        return Finding(
            "webhooks.tcp", Status.FAIL, f"no answer to a TCP connect to {where} within {clock.timeout:g} s",
            "Packets are dropped (firewall, security group, wrong IP, host down); a closed port on a "
            "live host would refuse at once instead.",
            f"Check that {where} is reachable from where svc-infra runs (nc -vz {target.host} {target.port}) "
            "and that firewalls allow it.",
            {**base, "cause": "tcp_timeout", "elapsed_ms": _ms(time.perf_counter() - started)},
        )
    except socket.gaierror as exc:
        return Finding(
            "webhooks.tcp", Status.FAIL, f"host name {target.host!r} does not resolve",
            f"DNS lookup failed: {_oserror_text(exc)}.",
            "Fix the host name in the subscription URL, or its DNS record.",
            {**base, "cause": "dns", "elapsed_ms": _ms(time.perf_counter() - started)},
        )
    except OSError as exc:
        text = _oserror_text(exc)
        refused = isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower()
        return Finding(
            "webhooks.tcp", Status.FAIL,
            f"connection to {where} refused" if refused else f"cannot connect to {where}: {text}",
            "The host answered but nothing listens on that port." if refused else
            "The network stack reported an error before any HTTP was exchanged.",
            f"Start the receiver on port {target.port}, or fix the port in the subscription URL."
            if refused else f"Check routing to {where} from where svc-infra runs.",
            {**base, "cause": "refused" if refused else "unreachable",
             "elapsed_ms": _ms(time.perf_counter() - started)},
        )
    finally:
        await _close(writer)
    return Finding(
        "webhooks.tcp", Status.OK, f"TCP connect to {where} in {_ms(time.perf_counter() - started):g} ms",
        data={**base, "connect_ms": _ms(time.perf_counter() - started)},
    )


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


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
        names = [*san.get_values_for_type(x509.DNSName),
                 *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]
    ip = _ip(host)
    if ip is not None:
        matches = any(_ip(n) == ip for n in names)
    else:
        matches = any(_dns_match(n, host) for n in names)
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


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


async def _peer_cert(target: _Target, clock: Deadline) -> bytes | None:
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
        await _close(writer)


def _problems(facts: Mapping[str, Any], host: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    days = facts["days_left"]
    if days < 0:
        out.append(("expired", f"expired {abs(days):g} days ago ({facts['not_after']})"))
    if facts["not_yet_valid"]:
        out.append(("not_yet_valid", f"not valid before {facts['not_before']}"))
    if not facts["hostname_matches"]:
        names = ", ".join(facts["names"]) or "no subjectAltName"
        out.append(("hostname_mismatch", f"issued for {names}, not {host}"))
    if facts["self_signed"]:
        out.append(("self_signed", "self-signed (no public CA vouches for it)"))
    return out


_CERT_FIX = {
    "expired": "Renew the certificate (certbot renew, or your CA's process) and reload the server.",
    "not_yet_valid": "Check the server's clock and the certificate's notBefore; reissue if it was dated ahead.",
    "hostname_mismatch": "Serve a certificate whose subjectAltName covers this host, or use the host the certificate names in the subscription URL.",
    "self_signed": "Use a certificate from a CA svc-infra trusts (e.g. Let's Encrypt); svc-infra's httpx client verifies certificates and cannot be told to skip that per subscription.",
    "unknown_issuer": "Serve the full chain (leaf + intermediates), or use a publicly trusted CA.",
}


async def _tls(target: _Target, clock: Deadline, cafile: str | None) -> Finding:
    started = time.perf_counter()
    try:
        ctx = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        return Finding("webhooks.tls", Status.FAIL, f"cannot load cafile: {scrub(str(exc))}",
                       fix="Pass cafile= as a readable PEM bundle.", data={"cause": "cafile"})
    writer = None
    verify_error: ssl.SSLCertVerificationError | None = None
    der: bytes | None = None
    version: str | None = None
    try:
        async with asyncio.timeout(clock.left()):
            _, writer = await asyncio.open_connection(
                target.host, target.port, ssl=ctx, server_hostname=target.host,
                ssl_handshake_timeout=clock.left(),
            )
        obj = writer.get_extra_info("ssl_object")
        der = obj.getpeercert(binary_form=True) if obj is not None else None
        version = obj.version() if obj is not None else None
    except ssl.SSLCertVerificationError as exc:
        verify_error = exc
    except TimeoutError:
        return Finding(
            "webhooks.tls", Status.FAIL,
            f"no TLS handshake answer within {clock.timeout:g} s",
            "TCP connected but the server never answered the TLS ClientHello: a plain-TCP service, "
            "a hung server, or a proxy that swallows TLS.",
            f"Check that {target.host}:{target.port} serves HTTPS.",
            {"cause": "tls_timeout", "elapsed_ms": _ms(time.perf_counter() - started)},
        )
    except ssl.SSLError as exc:
        reason = scrub(exc.reason or str(exc))
        plain = "WRONG_VERSION_NUMBER" in str(reason).upper() or "wrong version" in str(exc).lower()
        return Finding(
            "webhooks.tls", Status.FAIL, f"TLS handshake failed: {reason}",
            "The port answered something that is not TLS (probably plain HTTP)." if plain else
            "Client and server could not agree on a TLS session.",
            "Use http:// for a plain-HTTP port, or point https:// at the TLS port." if plain else
            "Check the server's TLS configuration (protocol versions, ciphers, certificate/key pair).",
            {"cause": "plain_http" if plain else "handshake", "elapsed_ms": _ms(time.perf_counter() - started)},
        )
    except OSError as exc:
        return Finding(
            "webhooks.tls", Status.FAIL, f"TLS connection failed: {_oserror_text(exc)}",
            "The connection dropped during the TLS handshake.",
            "Check the server's TLS listener and its logs.",
            {"cause": "handshake", "elapsed_ms": _ms(time.perf_counter() - started)},
        )
    finally:
        await _close(writer)
    handshake_ms = _ms(time.perf_counter() - started)
    now = time.time()
    if verify_error is None:
        facts = _cert_facts(der, target.host, now) if der else {}
        days = facts.get("days_left")
        data = {"handshake_ms": handshake_ms, "tls_version": version, **facts}
        if days is not None and days < _EXPIRY_WARN_DAYS:
            return Finding(
                "webhooks.tls", Status.WARN, f"certificate valid, but expires in {days:g} days",
                f"Valid until {facts['not_after']}; deliveries fail the moment it expires.",
                _CERT_FIX["expired"], {**data, "cause": "expires_soon"},
            )
        return Finding(
            "webhooks.tls", Status.OK,
            f"TLS ok ({version}), certificate valid for {days:g} more days" if days is not None
            else f"TLS ok ({version})",
            data=data,
        )
    code = int(getattr(verify_error, "verify_code", 0) or 0)
    message = scrub(str(getattr(verify_error, "verify_message", "") or verify_error))
    primary = _VERIFY_CODES.get(code, "verify_failed")
    der = await _peer_cert(target, clock)
    facts = _cert_facts(der, target.host, now) if der else {}
    problems = _problems(facts, target.host) if facts else []
    # OpenSSL stops at the first error; the certificate itself tells the rest.
    causes = [primary] + [c for c, _ in problems if c != primary]
    texts = dict(problems)
    summary = "certificate rejected: " + "; ".join(
        texts.get(c, message) for c in causes
    )
    fixes = [_CERT_FIX[c] for c in causes if c in _CERT_FIX]
    return Finding(
        "webhooks.tls", Status.FAIL, summary,
        f"OpenSSL: {message} (verify code {code}). svc-infra verifies certificates, so every delivery "
        "to this URL fails before any HTTP is sent.",
        "\n".join(fixes) or "Fix the server certificate.",
        {"cause": primary, "causes": causes, "verify_code": code, "handshake_ms": handshake_ms, **facts},
    )


def _test_event() -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).isoformat()
    return {
        "topic": "svc_nb.probe",
        "payload": {"probe": True, "note": "svc_nb endpoint probe; safe to ignore"},
        "version": 1,
        "created_at": now,
    }


def _excerpt(text: str) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    flat = scrub(flat)
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"


def _request(
    secret: str | bytes | None, scheme: str
) -> tuple[bytes, dict[str, str], dict[str, Any]]:
    event = _test_event()
    if scheme == "svc-infra":
        import httpx

        # svc-infra POSTs httpx's serialisation of the event (json=event).
        body = httpx.Request("POST", "http://x", json=event).content
    else:
        body = canonical_json(event)
    headers = {"Content-Type": "application/json", "User-Agent": "svc_nb-probe"}
    if secret:
        headers.update(sign(event if scheme == "svc-infra" else body, secret, scheme=scheme))
    elif scheme == "svc-infra":
        headers.update({"X-Event-Id": "0", "X-Topic": event["topic"], "X-Attempt": "1"})
    return body, headers, event


def _http_finding(
    status: int, location: str | None, elapsed: float, excerpt: str, signed: bool, target: _Target
) -> Finding:
    data: dict[str, Any] = {"status_code": status, "latency_ms": _ms(elapsed), "excerpt": excerpt,
                            "signed": signed}
    head = f"HTTP {status} in {_ms(elapsed):g} ms"
    said = f" The endpoint answered: {excerpt!r}." if excerpt else ""
    if 200 <= status < 300:
        return Finding("webhooks.http", Status.OK, f"{head}: test event accepted", data=data)
    if 300 <= status < 400:
        where = mask_url(location) if location else "(no Location header)"
        return Finding(
            "webhooks.http", Status.FAIL, f"{head}: redirects to {where}",
            "svc-infra's httpx client does not follow redirects: a 3xx counts as a failed delivery "
            "and is retried until the dead-letter queue. (Following it would also turn the POST into "
            "a GET for 301/302/303.)",
            f"Register the final URL {where} as the subscription URL (often http→https or a missing "
            "trailing slash).",
            {**data, "cause": "redirect", "location": where},
        )
    if status in (401, 403):
        detail = ("The test event was unsigned, so a verifying endpoint rightly rejects it." if not signed
                  else "The endpoint rejected the signed test event: its secret differs, or it "
                  "verifies the raw body instead of the canonical JSON svc-infra signs.")
        fix = ("Pass secret= (the subscription's secret) to probe() to send a signed event." if not signed
               else "Compare secret fingerprints, and verify X-Signature over canonical JSON "
               "(svc_nb.webhooks.verify explains mismatches).")
        return Finding("webhooks.http", Status.FAIL, f"{head}: rejected (authentication)",
                       detail + said, fix, {**data, "cause": "auth"})
    if status in (400, 422):
        return Finding(
            "webhooks.http", Status.WARN, f"{head}: reachable, but the test event was refused",
            "The endpoint answers, but rejects svc_nb's test event (topic svc_nb.probe) — fine if it "
            "validates topics; a real event may pass." + said,
            "Check the endpoint accepts svc-infra's event shape {topic, payload, version, created_at}.",
            {**data, "cause": "bad_request"},
        )
    if 400 <= status < 500:
        why = {404: "nothing is routed at this path", 405: "the route does not accept POST",
               413: "the body is too large for the server", 429: "the endpoint rate-limits"}.get(
            status, "the endpoint refused the request")
        fix = {404: f"Check the path in {target.shown}.", 405: "Accept POST on this route.",
               429: "Raise the receiver's rate limit for svc-infra's deliveries."}.get(
            status, "Read the endpoint's logs for this request.")
        return Finding("webhooks.http", Status.FAIL, f"{head}: client error, {why}",
                       "svc-infra retries every non-2xx answer, then dead-letters it." + said, fix,
                       {**data, "cause": "client_error"})
    if status >= 500:
        return Finding("webhooks.http", Status.FAIL, f"{head}: server error",
                       "The receiver failed while handling the event; svc-infra retries (60, 120, "
                       "180, 240 s) and then dead-letters it." + said,
                       "Read the receiver's logs/traceback for this request.",
                       {**data, "cause": "server_error"})
    return Finding("webhooks.http", Status.FAIL, f"{head}: unexpected status",
                   said.strip(), "Answer webhooks with a 2xx status.", {**data, "cause": "unexpected"})


async def _http(
    url: str,
    target: _Target,
    clock: Deadline,
    secret: str | bytes | None,
    scheme: str,
    cafile: str | None,
    limit: float,
) -> list[Finding]:
    import httpx

    body, headers, _ = _request(secret, scheme)
    verify = tls_context(cafile)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(clock.left()):
            async with httpx.AsyncClient(
                follow_redirects=False, verify=verify, trust_env=False,
                timeout=httpx.Timeout(clock.left() + 1),
            ) as client:
                response = await client.post(url, content=body, headers=headers)
                elapsed = time.perf_counter() - started
                text = response.text
    except TimeoutError:
        elapsed = time.perf_counter() - started
        hint = (f" svc-infra itself waits {limit:g} s per delivery." if clock.timeout < limit
                else f" svc-infra gives up after {limit:g} s too, so every delivery times out.")
        return [Finding(
            "webhooks.http", Status.FAIL,
            f"no HTTP answer within {clock.timeout:g} s",
            "The server accepted the connection but did not answer the POST." + hint,
            "Answer webhooks quickly (2xx first, then process the event in the background).",
            {"cause": "http_timeout", "elapsed_ms": _ms(elapsed), "delivery_timeout_s": limit},
        )]
    except httpx.HTTPError as exc:
        return [Finding(
            "webhooks.http", Status.FAIL,
            f"HTTP exchange failed: {type(exc).__name__}: {scrub(str(exc)) or 'no detail'}",
            "The connection closed or broke before a complete HTTP answer.",
            "Read the receiver's logs; check it speaks HTTP/1.1 on this port.",
            {"cause": "protocol", "elapsed_ms": _ms(time.perf_counter() - started)},
        )]
    except (OSError, ssl.SSLError) as exc:
        return [Finding(
            "webhooks.http", Status.FAIL, f"HTTP exchange failed: {_oserror_text(exc)}",
            "The connection broke during the request.", "Read the receiver's logs.",
            {"cause": "protocol", "elapsed_ms": _ms(time.perf_counter() - started)},
        )]
    finding = _http_finding(
        response.status_code, response.headers.get("location"), elapsed, _excerpt(text),
        bool(secret), target,
    )
    findings = [finding]
    share = elapsed / limit
    latency = {"latency_ms": _ms(elapsed), "delivery_timeout_s": limit, "share": round(share, 3)}
    if share >= 0.5:
        findings.append(Finding(
            "webhooks.latency", Status.WARN,
            f"slow answer: {elapsed:.2f} s, {share:.0%} of svc-infra's {limit:g} s delivery timeout",
            "Under load it will cross the timeout; a timed-out delivery is retried even if the "
            "receiver processed it, so events arrive twice.",
            "Acknowledge with 2xx at once and process in the background; dedupe on X-Event-Id. "
            "Raising WEBHOOK_DELIVERY_TIMEOUT_SECONDS only hides it.",
            {**latency, "cause": "slow"},
        ))
    else:
        findings.append(Finding(
            "webhooks.latency", Status.OK,
            f"answered in {_ms(elapsed):g} ms ({share:.0%} of the {limit:g} s delivery timeout)",
            data=latency,
        ))
    return findings


async def probe(
    url: str,
    *,
    timeout: float = 5.0,
    secret: str | bytes | None = None,
    scheme: str = "svc-infra",
    delivery_timeout_s: float | None = None,
    cafile: str | None = None,
) -> Report:
    """Probe a webhook endpoint the way svc-infra delivers: TCP, TLS, a signed test POST.

    Returns a Report with ``webhooks.tcp``, ``webhooks.tls`` (https only),
    ``webhooks.http`` and ``webhooks.latency`` findings, within ``timeout`` +
    0.3 s whatever the peer does. ``secret`` signs the test event with
    ``scheme``; ``cafile`` trusts a private CA; ``delivery_timeout_s`` defaults
    to svc-infra's (env ``WEBHOOK_DELIVERY_TIMEOUT_SECONDS``, else 10 s).
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a str such as 'https://host/hook', not {type(url).__name__}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if scheme not in SCHEMES:
        raise SigningError(f"unknown signing scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    if secret is not None:
        if not isinstance(secret, str | bytes):
            raise TypeError("secret must be str or bytes (the subscription's signing secret)")
        register_secret(secret)
    limit = delivery_timeout_s if delivery_timeout_s else delivery_timeout()
    target = _parse_url(url)
    if isinstance(target, Finding):
        return Report([target], title=_TITLE)
    if secret and scheme == "standard":
        try:
            sign(b"", secret, scheme="standard")
        except SigningError as exc:
            return Report([Finding("webhooks.http", Status.FAIL, "cannot sign the test event",
                                   str(exc), "Pass the secret as whsec_<base64>.",
                                   {"cause": "bad_secret"})], title=_TITLE)
    clock = Deadline(float(timeout), floor=0.001)
    findings: list[Finding] = []
    stage = "tcp"
    try:
        async with asyncio.timeout(timeout + _GUARD_S):
            tcp = await _tcp(target, clock)
            findings.append(tcp)
            if tcp.status is Status.FAIL:
                findings.append(_skipped("webhooks.http", "TCP connect failed"))
                return Report(findings, title=_TITLE)
            if target.scheme == "https":
                stage = "tls"
                tls = await _tls(target, clock, cafile)
                findings.append(tls)
                if tls.status is Status.FAIL:
                    findings.append(_skipped("webhooks.http", "TLS failed; svc-infra would fail there too"))
                    return Report(findings, title=_TITLE)
            stage = "http"
            findings.extend(await _http(url.strip(), target, clock, secret, scheme, cafile, limit))
    except TimeoutError:
        findings.append(Finding(
            f"webhooks.{stage}", Status.FAIL, f"probe stopped at its {timeout:g} s timeout during {stage}",
            "The peer kept the connection open without finishing this stage.",
            f"Check {target.shown} answers; raise timeout= to wait longer.",
            {"cause": "timeout", "stage": stage},
        ))
    return Report(findings, title=_TITLE)


def _skipped(check: str, why: str) -> Finding:
    return Finding(check, Status.SKIP, f"not tried: {why}")


# --------------------------------------------------------------------------- diagnose


def _endpoint_check(environ: Mapping[str, str], timeout: float) -> Any:
    url = environ.get("SVC_NB_WEBHOOK_URL", "").strip()
    if not url:
        return Finding(
            "webhooks.endpoint", Status.SKIP, "no webhook endpoint configured to probe",
            "diagnose() probes a receiver only when told which one.",
            "Set SVC_NB_WEBHOOK_URL=https://your-receiver/path (and SVC_NB_WEBHOOK_SECRET to sign the "
            "test event), or call await svc_nb.webhooks.probe(url).",
        )
    secret = environ.get("SVC_NB_WEBHOOK_SECRET") or None
    return probe(url, timeout=timeout, secret=secret, delivery_timeout_s=delivery_timeout(environ))


register_check("webhooks.endpoint", _endpoint_check, order=70, waits=True)
