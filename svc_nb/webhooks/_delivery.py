"""Real webhook deliveries with retries, recorded attempt by attempt in a :class:`DeliveryLog`.

Each attempt is a real HTTP POST (httpx, redirects *not* followed: svc-infra's
sender does not follow them either), bounded as a whole (connect, send,
answer and body) by ``timeout``. Waits follow a :class:`RetryPolicy`, whose
rules also say whether a 410 stops the retries and whether ``Retry-After`` is
honoured; ``time_scale`` shrinks the real waits while the log keeps the
nominal schedule, so a 10-minute svc-infra schedule plays out in a notebook
in well under a second.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from svc_nb._http import tls_context
from svc_nb._redact import mask_url, scrub
from svc_nb._runtime import in_kernel
from svc_nb._validate import check_finite, check_timeout
from svc_nb.webhooks._errors import WebhooksError
from svc_nb.webhooks._log import DeliveryLog
from svc_nb.webhooks._policy import SVC_INFRA_DELIVERY_TIMEOUT_S, RetryPolicy, as_policy
from svc_nb.webhooks._post import Answer, parse_retry_after, post
from svc_nb.webhooks._schemes import check_scheme, remember, sign
from svc_nb.webhooks._url import Target, split_url

if TYPE_CHECKING:
    import httpx

__all__ = ["DeliveryLog", "deliver", "deliver_many", "parse_retry_after"]

ProgressCallback = Callable[[int, int], None]


# -- one delivery ---------------------------------------------------------------------------


def _event_body(payload: Any, topic: str, created_at: datetime) -> tuple[dict[str, Any], bytes]:
    """svc-infra's event ``{topic, payload, version, created_at}`` and the JSON bytes POSTed."""
    event = {"topic": topic, "payload": payload, "version": 1, "created_at": created_at.isoformat()}
    try:
        body = json.dumps(
            event, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()
    except RecursionError:
        raise WebhooksError("the payload is nested too deeply to send as JSON") from None
    except (TypeError, ValueError) as exc:
        raise WebhooksError(
            f"payload must be JSON-serialisable (dicts, lists, str, finite numbers, bool, None): {exc}"
        ) from None
    return event, body


def _signed_request(
    payload: Any,
    secret: str | bytes,
    scheme: str,
    topic: str,
    delivery_id: str,
    created_at: datetime,
    attempt: int,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt, signed the way the scheme's sender signs.

    Like svc-infra, the body on the wire is httpx-style compact JSON (keys in
    insertion order) while the ``svc-infra`` signature covers the canonical form
    (sorted keys): a receiver that HMACs the raw body rejects it, as it would
    reject svc-infra's. Other schemes sign the bytes sent.
    """
    event, body = _event_body(payload, topic, created_at)
    signed: Any = event if scheme == "svc-infra" else body
    headers = dict(
        sign(signed, secret, scheme=scheme, timestamp=int(time.time()), msg_id=delivery_id)
    )
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": "svc_nb-webhooks",
            "X-Event-Id": delivery_id,
            "X-Topic": topic,
            "X-Attempt": str(attempt),
            "X-Payload-Version": "1",
        }
    )
    return body, headers


def _next_wait(policy: RetryPolicy, attempt: int, answer: Answer) -> float | None:
    """Seconds before the next attempt, or None when this delivery is over."""
    if answer.outcome == "delivered" or (answer.status_code == 410 and policy.stop_on_gone):
        return None
    wait = policy.delay_before(attempt + 1)
    if wait is None:
        return None  # out of attempts: svc-infra would dead-letter the job here
    if policy.honour_retry_after and answer.retry_after is not None:
        wait = max(wait, answer.retry_after)
    return wait


@dataclass
class _Delivery:
    """One delivery's fixed inputs, shared by all its attempts."""

    client: httpx.AsyncClient
    url: str
    secret: str | bytes
    policy: RetryPolicy
    scheme: str
    timeout: float
    time_scale: float
    topic: str
    log: DeliveryLog
    limiter: asyncio.Semaphore | None = None


def _record(
    delivery_id: str,
    attempt: int,
    scheduled: datetime,
    started: datetime,
    t0: float,
    answer: Answer,
) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "attempt": attempt,
        "scheduled_at": scheduled,
        "started_at": started,
        "duration_ms": round((time.perf_counter() - t0) * 1000, 3),
        "status_code": answer.status_code,
        "outcome": answer.outcome,
        "error": answer.error,
        "response_excerpt": answer.excerpt,
    }


async def _attempt(
    job: _Delivery,
    body: bytes,
    headers: Mapping[str, str],
    delivery_id: str,
    attempt: int,
    scheduled: datetime,
) -> Answer:
    if job.limiter is not None:
        await job.limiter.acquire()
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        answer = await post(job.client, job.url, body, headers, job.timeout)
    except asyncio.CancelledError:
        job.log.append(
            _record(
                delivery_id,
                attempt,
                scheduled,
                started,
                t0,
                Answer("cancelled", error="cancelled while in flight"),
            )
        )
        raise
    finally:
        if job.limiter is not None:
            job.limiter.release()
    job.log.append(_record(delivery_id, attempt, scheduled, started, t0, answer))
    return answer


async def _deliver_one(job: _Delivery, payload: Any, delivery_id: str) -> None:
    created = datetime.now(UTC)
    scheduled = created
    attempt = 1
    while True:
        body, headers = _signed_request(
            payload, job.secret, job.scheme, job.topic, delivery_id, created, attempt
        )
        answer = await _attempt(job, body, headers, delivery_id, attempt, scheduled)
        wait = _next_wait(job.policy, attempt, answer)
        if wait is None:
            return
        attempt += 1
        scheduled += timedelta(seconds=wait)
        if wait * job.time_scale > 0:
            await asyncio.sleep(wait * job.time_scale)


# -- the public calls -----------------------------------------------------------------------


def _check_url(url: Any) -> str:
    if not isinstance(url, str):
        raise WebhooksError(f"url must be an http(s):// URL string, not {type(url).__name__}")
    target = split_url(url)
    if not isinstance(target, Target):
        raise WebhooksError(f"{target.summary} ({target.shown!r:.120}). {target.fix}")
    import httpx

    try:
        httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise WebhooksError(
            f"the webhook URL is malformed ({mask_url(url)!r:.120}): {scrub(str(exc))}"
        ) from None
    return url.strip()


def _check_args(
    url: Any, secret: Any, scheme: Any, time_scale: Any, timeout: Any
) -> tuple[str, float, float]:
    checked = _check_url(url)
    if not isinstance(secret, str | bytes) or not secret:
        raise WebhooksError(
            "secret must be a non-empty str or bytes (the subscription's signing secret)"
        )
    check_scheme(scheme)
    scale = check_finite(time_scale, name="time_scale")
    if scale < 0:
        raise WebhooksError(
            "time_scale must be >= 0 (1.0 waits for real, 0.001 turns minutes into tens of ms)"
        )
    return checked, scale, check_timeout(timeout)


def _client(concurrency: int, timeout: float) -> httpx.AsyncClient:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        limits=limits, follow_redirects=False, timeout=timeout, verify=tls_context()
    )


def _new_id() -> str:
    return "evt_" + uuid.uuid4().hex[:16]


def _prepare(
    url: Any,
    secret: Any,
    scheme: Any,
    time_scale: Any,
    timeout: Any,
    policy: RetryPolicy | Sequence[float] | str | None,
    topic: str,
    payloads: Sequence[Any],
    log: DeliveryLog | None,
) -> tuple[str, float, float, RetryPolicy, DeliveryLog]:
    """Every check before any I/O: arguments, policy, and that each payload can be sent."""
    url, scale, seconds = _check_args(url, secret, scheme, time_scale, timeout)
    if not isinstance(topic, str) or not topic:
        raise WebhooksError(
            f"topic must be a non-empty str such as 'order.paid', got {topic!r:.40}"
        )
    remember([secret])
    pol = as_policy(policy)
    now = datetime.now(UTC)
    for payload in payloads:
        _event_body(payload, topic, now)
    log = log if log is not None else DeliveryLog(url=url, policy=pol)
    log.url, log.policy, log.expected = mask_url(url), pol, len(payloads)
    return url, scale, seconds, pol, log


async def deliver(
    url: str,
    payload: Any,
    secret: str | bytes,
    *,
    policy: RetryPolicy | Sequence[float] | str | None = None,
    scheme: str = "svc-infra",
    timeout: float = SVC_INFRA_DELIVERY_TIMEOUT_S,
    time_scale: float = 1.0,
    topic: str = "test.event",
    client: httpx.AsyncClient | None = None,
    delivery_id: str | None = None,
    log: DeliveryLog | None = None,
) -> DeliveryLog:
    """Deliver one signed event to ``url``, retrying per ``policy`` (default svc-infra's).

    Each attempt, answer and body included, takes at most ``timeout`` seconds.
    Pass ``log=DeliveryLog()`` to keep the attempts even if the call is cancelled.
    """
    url, scale, seconds, pol, log = _prepare(
        url, secret, scheme, time_scale, timeout, policy, topic, [payload], log
    )
    http = client or _client(1, seconds)
    job = _Delivery(http, url, secret, pol, scheme, seconds, scale, topic, log)
    try:
        await _deliver_one(job, payload, delivery_id or _new_id())
    except asyncio.CancelledError:
        log.cancelled = True
        raise
    finally:
        if client is None:
            await http.aclose()
    return log


def _default_progress(total: int, progress: bool | None) -> ProgressCallback | None:
    """The notebook's progress bar, only inside a kernel (the view lives in svc_nb.widgets)."""
    if progress is False or total == 0 or not in_kernel():
        return None
    try:
        from svc_nb.widgets import progress_bar

        bar: ProgressCallback = progress_bar(total, description="deliveries")
    except ImportError:  # ipywidgets missing: deliveries go on without a bar
        return None
    return bar


async def _run_all(job: _Delivery, items: Sequence[Any], report: ProgressCallback | None) -> bool:
    """Run every delivery; False when Ctrl-C stopped the run (the log keeps what was done)."""
    done = 0

    async def one(payload: Any) -> None:
        nonlocal done
        await _deliver_one(job, payload, _new_id())
        done += 1
        if report is not None:
            report(done, len(items))

    if report is not None:
        report(0, len(items))
    tasks = [asyncio.ensure_future(one(p)) for p in items]
    try:
        await asyncio.gather(*tasks)
    except BaseException as exc:  # cancellation, Ctrl-C, or a failing progress callback
        job.log.cancelled = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if isinstance(exc, KeyboardInterrupt):
            return False
        raise
    return True


async def deliver_many(
    url: str,
    payloads: Iterable[Any],
    secret: str | bytes,
    *,
    concurrency: int = 50,
    policy: RetryPolicy | Sequence[float] | str | None = None,
    scheme: str = "svc-infra",
    timeout: float = SVC_INFRA_DELIVERY_TIMEOUT_S,
    time_scale: float = 1.0,
    topic: str = "test.event",
    client: httpx.AsyncClient | None = None,
    on_progress: ProgressCallback | None = None,
    progress: bool | None = None,
    log: DeliveryLog | None = None,
) -> DeliveryLog:
    """Deliver many events concurrently over one connection pool (at most ``concurrency`` in flight).

    ``on_progress(done, total)`` is called with ``(0, total)`` first, then as
    each delivery finishes; by default, in a notebook kernel, a progress bar
    shows (``progress=False`` hides it). If the run is cancelled or
    interrupted, the log still holds every attempt made; on KeyboardInterrupt
    it is returned with ``cancelled=True``.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise WebhooksError(f"concurrency must be a whole number >= 1, got {concurrency!r:.40}")
    items = list(payloads)
    url, scale, seconds, pol, log = _prepare(
        url, secret, scheme, time_scale, timeout, policy, topic, items, log
    )
    report = on_progress or _default_progress(len(items), progress)
    http = client or _client(concurrency, seconds)
    limiter = asyncio.Semaphore(concurrency)
    job = _Delivery(http, url, secret, pol, scheme, seconds, scale, topic, log, limiter)
    try:
        await _run_all(job, items, report)
    finally:
        if client is None:
            await http.aclose()
    return log
