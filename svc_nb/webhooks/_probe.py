"""Endpoint probe: can svc-infra deliver to this URL? TCP, TLS, then a signed test POST.

Each stage is timed and classified the way a webhook sender experiences it:
refused vs. silent ports, certificate problems (see :mod:`._tls`), redirects
(svc-infra's httpx client does not follow them, so a 3xx is a failed
delivery), status classes and slow answers close to svc-infra's delivery
timeout (``WEBHOOK_DELIVERY_TIMEOUT_SECONDS``, else
``HTTP_CLIENT_TIMEOUT_SECONDS``, else 10 s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any

from svc_nb._clock import Now, unix_seconds
from svc_nb._diagnose import register_check
from svc_nb._exceptions import ArgumentTypeError
from svc_nb._explain import explain
from svc_nb._http import tls_context
from svc_nb._redact import scrub
from svc_nb._report import Finding, Report, Status
from svc_nb._runtime import Deadline
from svc_nb._validate import DEFAULT_HTTP_TIMEOUT_S, check_timeout
from svc_nb.webhooks._causes import WebhooksCause as C
from svc_nb.webhooks._errors import SigningError
from svc_nb.webhooks._policy import SVC_INFRA_DELIVERY_TIMEOUT_S
from svc_nb.webhooks._probe_findings import EXPLAIN, http_finding, latency_finding
from svc_nb.webhooks._schemes import canonical_json, check_scheme, remember, sign
from svc_nb.webhooks._tls import close_writer, elapsed_ms, tls_stage
from svc_nb.webhooks._url import Target, UrlProblem, split_url

__all__ = ["delivery_timeout", "probe"]

_TITLE = "webhook endpoint probe"
_GUARD_S = 0.15  # the whole probe is cancelled this long after its own deadline
_EXCERPT = 160


def delivery_timeout(environ: Mapping[str, str] | None = None) -> float:
    """svc-infra's per-delivery HTTP timeout, read the way svc-infra reads it."""
    env = os.environ if environ is None else environ
    for name in ("WEBHOOK_DELIVERY_TIMEOUT_SECONDS", "HTTP_CLIENT_TIMEOUT_SECONDS"):
        try:
            parsed = float(env.get(name) or "nan")
        except ValueError:
            continue
        if math.isfinite(parsed) and parsed > 0:
            return parsed
    return SVC_INFRA_DELIVERY_TIMEOUT_S


# --------------------------------------------------------------------------- TCP


def _connect_failure(exc: OSError, target: Target, base: dict[str, Any]) -> Finding:
    where = f"{target.host}:{target.port}"
    error = scrub(exc.strerror or str(exc) or type(exc).__name__)
    if isinstance(exc, socket.gaierror):
        cause = C.DNS
    elif isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
        cause = C.REFUSED
    else:
        cause = C.UNREACHABLE
    return explain(
        "webhooks.tcp",
        cause,
        EXPLAIN,
        data=base,
        where=where,
        host=target.host,
        port=target.port,
        error=error,
    )


async def _tcp(target: Target, clock: Deadline) -> Finding:
    started = time.perf_counter()
    writer = None
    base: dict[str, Any] = {"host": target.host, "port": target.port}
    try:
        async with asyncio.timeout(clock.left()):
            _, writer = await asyncio.open_connection(target.host, target.port)
    except TimeoutError:
        return explain(
            "webhooks.tcp",
            C.TCP_TIMEOUT,
            EXPLAIN,
            data={**base, "elapsed_ms": elapsed_ms(started)},
            where=f"{target.host}:{target.port}",
            timeout=clock.timeout,
            host=target.host,
            port=target.port,
        )
    except OSError as exc:
        return _connect_failure(exc, target, {**base, "elapsed_ms": elapsed_ms(started)})
    finally:
        await close_writer(writer)
    took = elapsed_ms(started)
    return Finding(
        "webhooks.tcp",
        Status.OK,
        f"TCP connect to {target.host}:{target.port} in {took:g} ms",
        data={**base, "connect_ms": took},
    )


# --------------------------------------------------------------------------- HTTP


def _test_event() -> dict[str, Any]:
    return {
        "topic": "svc_nb.probe",
        "payload": {"probe": True, "note": "svc_nb endpoint probe; safe to ignore"},
        "version": 1,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
    }


def _excerpt(text: str) -> str:
    flat = scrub(" ".join(text[: _EXCERPT * 8].split()))  # split(): linear whitespace folding
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"


def _request(secret: str | bytes | None, scheme: str) -> tuple[bytes, dict[str, str]]:
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
    return body, headers


def _http_timeout(clock: Deadline, limit: float, started: float) -> Finding:
    hint = (
        f"svc-infra itself waits {limit:g} s per delivery."
        if clock.timeout < limit
        else f"svc-infra gives up after {limit:g} s too, so every delivery times out."
    )
    data = {"elapsed_ms": elapsed_ms(started), "delivery_timeout_s": limit}
    return explain(
        "webhooks.http", C.HTTP_TIMEOUT, EXPLAIN, data=data, timeout=clock.timeout, hint=hint
    )


async def _http(
    url: str,
    target: Target,
    clock: Deadline,
    secret: str | bytes | None,
    scheme: str,
    cafile: str | None,
    limit: float,
) -> list[Finding]:
    import httpx

    body, headers = _request(secret, scheme)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(clock.left()):
            async with httpx.AsyncClient(
                follow_redirects=False,
                # Plain http:// needs no CA bundle (loading one costs milliseconds).
                verify=tls_context(cafile) if url.lower().startswith("https:") else False,
                trust_env=False,
                timeout=httpx.Timeout(clock.left() + 1),
            ) as client:
                response = await client.post(url, content=body, headers=headers)
                elapsed = time.perf_counter() - started
                text = response.text
    except TimeoutError:
        return [_http_timeout(clock, limit, started)]
    except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
        error = f"{type(exc).__name__}: {scrub(str(exc)) or 'no detail'}"
        return [
            explain(
                "webhooks.http",
                C.PROTOCOL,
                EXPLAIN,
                data={"elapsed_ms": elapsed_ms(started)},
                error=error,
            )
        ]
    finding = http_finding(
        response.status_code,
        response.headers.get("location"),
        elapsed,
        _excerpt(text),
        bool(secret),
        target,
    )
    return [finding, latency_finding(elapsed, limit)]


# --------------------------------------------------------------------------- the probe


def _skipped(why: str) -> Finding:
    return explain("webhooks.http", C.NOT_TRIED, EXPLAIN, why=why)


def _check_probe_args(
    url: Any, timeout: Any, scheme: Any, secret: Any, limit: Any
) -> tuple[float, float]:
    if not isinstance(url, str):
        raise ArgumentTypeError(
            f"url must be a str such as 'https://host/hook', not {type(url).__name__}"
        )
    seconds = check_timeout(timeout)
    check_scheme(scheme)
    if secret is not None:
        if not isinstance(secret, str | bytes):
            raise ArgumentTypeError(
                "secret must be str or bytes (the subscription's signing secret)"
            )
        remember([secret])
    limit_s = (
        delivery_timeout() if limit is None else check_timeout(limit, name="delivery_timeout_s")
    )
    return seconds, limit_s


async def _stages(
    url: str,
    target: Target,
    clock: Deadline,
    secret: str | bytes | None,
    scheme: str,
    cafile: str | None,
    limit: float,
    findings: list[Finding],
    stage: list[str],
    *,
    now_s: float,
) -> None:
    tcp = await _tcp(target, clock)
    findings.append(tcp)
    if tcp.status is Status.FAIL:
        findings.append(_skipped("TCP connect failed"))
        return
    if target.scheme == "https":
        stage[0] = "tls"
        tls = await tls_stage(target, clock, cafile, now_s=now_s)
        findings.append(tls)
        if tls.status is Status.FAIL:
            findings.append(_skipped("TLS failed; svc-infra would fail there too"))
            return
    stage[0] = "http"
    findings.extend(await _http(url, target, clock, secret, scheme, cafile, limit))


def _unusable(
    target: Target | UrlProblem, secret: str | bytes | None, scheme: str
) -> Finding | None:
    """The finding that stops the probe before any I/O: a bad URL, a secret that cannot sign."""
    if not isinstance(target, Target):
        return explain(
            "webhooks.url",
            C.BAD_URL,
            EXPLAIN,
            data={"url": target.shown},
            summary=target.summary,
            shown=target.shown,
            fix=target.fix,
        )
    if secret and scheme == "standard":
        try:
            sign(b"", secret, scheme="standard")
        except SigningError as exc:
            return explain("webhooks.http", C.BAD_SECRET, EXPLAIN, error=str(exc))
    return None


async def probe(
    url: str,
    *,
    timeout: float = DEFAULT_HTTP_TIMEOUT_S,
    secret: str | bytes | None = None,
    scheme: str = "svc-infra",
    delivery_timeout_s: float | None = None,
    cafile: str | None = None,
    now: Now = None,
) -> Report:
    """Probe a webhook endpoint the way svc-infra delivers: TCP, TLS, a signed test POST.

    Returns a Report with ``webhooks.tcp``, ``webhooks.tls`` (https only),
    ``webhooks.http`` and ``webhooks.latency`` findings, within ``timeout`` +
    0.3 s whatever the peer does. ``secret`` signs the test event with
    ``scheme``; ``cafile`` trusts a private CA; ``delivery_timeout_s`` defaults
    to svc-infra's (env ``WEBHOOK_DELIVERY_TIMEOUT_SECONDS``, else 10 s); ``now``
    pins the clock the certificate's expiry is judged against.
    """
    seconds, limit = _check_probe_args(url, timeout, scheme, secret, delivery_timeout_s)
    now_s = unix_seconds(now)
    target = split_url(url)
    unusable = _unusable(target, secret, scheme)
    if unusable is not None or not isinstance(target, Target):
        return Report([unusable] if unusable else [], title=_TITLE)
    clock = Deadline(seconds, floor=0.001)
    findings: list[Finding] = []
    stage = ["tcp"]
    try:
        async with asyncio.timeout(seconds + _GUARD_S):
            await _stages(
                url.strip(),
                target,
                clock,
                secret,
                scheme,
                cafile,
                limit,
                findings,
                stage,
                now_s=now_s,
            )
    except TimeoutError:
        findings.append(
            explain(
                f"webhooks.{stage[0]}",
                C.TIMEOUT,
                EXPLAIN,
                data={"stage": stage[0]},
                timeout=seconds,
                stage=stage[0],
                url=target.shown,
            )
        )
    return Report(findings, title=_TITLE)


# --------------------------------------------------------------------------- diagnose


def _endpoint_check(environ: Mapping[str, str], timeout: float) -> Any:
    url = environ.get("SVC_NB_WEBHOOK_URL", "").strip()
    if not url:
        return explain("webhooks.endpoint", C.NOT_CONFIGURED, EXPLAIN)
    secret = environ.get("SVC_NB_WEBHOOK_SECRET") or None
    return probe(url, timeout=timeout, secret=secret, delivery_timeout_s=delivery_timeout(environ))


register_check("webhooks.endpoint", _endpoint_check, order=70, waits=True)
