"""Real webhook deliveries with retries, and the attempt log they leave.

Each attempt is a real HTTP POST (httpx, redirects *not* followed: svc-infra's
sender does not follow them either). Waits follow a :class:`RetryPolicy`;
``time_scale`` shrinks the real waits while the log keeps the nominal
schedule, so a 10-minute svc-infra schedule plays out in a notebook in
well under a second.
"""

from __future__ import annotations

import asyncio
import email.utils
import html
import json
import ssl
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svc_nb._clock import utc_datetime
from svc_nb._http import tls_context
from svc_nb._redact import mask_url, register_secret, scrub
from svc_nb._report import Finding, Report, ReprMixin, Status
from svc_nb.webhooks._attempts import (
    ATTEMPT_COLUMNS,
    coerce_attempts,
    empty_attempts,
    read_attempts_file,
    write_attempts_file,
)
from svc_nb.webhooks._policy import RetryPolicy, WebhooksError, as_policy, format_seconds

if TYPE_CHECKING:
    import httpx
    import pandas as pd

__all__ = ["DeliveryLog", "deliver", "deliver_many", "parse_retry_after"]

_EXCERPT = 200
# Retry-After beyond a day is almost certainly a bug on the other side; cap it.
_MAX_RETRY_AFTER = 86400.0


# -- the log -----------------------------------------------------------------------------


class DeliveryLog(ReprMixin):
    """Every attempt of one or many deliveries; ``.attempts`` is the DataFrame.

    Rows are appended as attempts finish, so a run that is cancelled still
    leaves a complete log of the attempts it made (``cancelled`` is then True).
    """

    def __init__(
        self,
        records: Iterable[Mapping[str, Any]] = (),
        *,
        url: str = "",
        policy: RetryPolicy | None = None,
        frame: pd.DataFrame | None = None,
    ) -> None:
        self._records: list[dict[str, Any]] = [dict(r) for r in records]
        self._frame = frame
        self.url = mask_url(url) if url else ""
        self.policy = policy
        self.cancelled = False
        self.expected = 0

    def _append(self, record: dict[str, Any]) -> None:
        self._records.append(record)
        self._frame = None

    @property
    def attempts(self) -> pd.DataFrame:
        """One row per attempt, columns exactly :data:`ATTEMPT_COLUMNS`."""
        import pandas as pd

        if self._frame is None:
            if not self._records:
                self._frame = empty_attempts()
            else:
                cols = {c: [r.get(c) for r in self._records] for c in ATTEMPT_COLUMNS}
                self._frame = coerce_attempts(pd.DataFrame(cols))
        return self._frame.copy()

    def __len__(self) -> int:
        return len(self._records) if self._records else len(self.attempts)

    @property
    def deliveries(self) -> pd.DataFrame:
        """One row per delivery: attempts made, final outcome and status, delivered, time to finish."""
        import pandas as pd

        df = self.attempts
        if df.empty:
            return pd.DataFrame(
                columns=["delivery_id", "attempts", "outcome", "status_code", "delivered", "elapsed_s"]
            )
        df = df.sort_values(["delivery_id", "attempt"], kind="stable")
        g = df.groupby("delivery_id", sort=False)
        last = g.tail(1).set_index("delivery_id")
        first = g["scheduled_at"].min()
        out = pd.DataFrame(
            {
                "attempts": g["attempt"].max(),
                "outcome": last["outcome"],
                "status_code": last["status_code"],
                "delivered": last["outcome"] == "delivered",
                "elapsed_s": (last["scheduled_at"] - first).dt.total_seconds(),
            }
        )
        return out.reset_index()

    @property
    def delivered(self) -> bool:
        """True when every delivery in the log ended delivered (False for an empty log)."""
        d = self.deliveries
        return bool(len(d)) and bool(d["delivered"].all()) and not self.cancelled

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the attempts as .csv or .jsonl; :meth:`load` reads them back unchanged."""
        return write_attempts_file(self.attempts, path)

    @classmethod
    def load(cls, path: str | Path) -> DeliveryLog:
        """Read a log written by :meth:`save`."""
        frame = coerce_attempts(read_attempts_file(path))
        return cls(frame=frame)

    # -- findings -------------------------------------------------------------------------
    def report(self) -> Report:
        """What went wrong (or right) across the attempts, with the fix for each cause."""
        df = self.attempts
        if self.cancelled:
            findings = [Finding(
                "webhooks.delivery.cancelled", Status.WARN,
                f"run cancelled after {len(df)} attempts",
                detail="The log holds every attempt made before the cancellation; in-flight ones have outcome 'cancelled'.",
                fix="Re-run the deliveries that did not finish (see .deliveries).",
            )]
        else:
            findings = []
        if df.empty:
            findings.append(Finding("webhooks.delivery", Status.SKIP, "no attempts in this log"))
            return Report(findings, title="webhook deliveries")
        d = self.deliveries
        n, ok = len(d), int(d["delivered"].sum())
        retried = int((d["attempts"] > 1).sum())
        status = Status.OK if ok == n else (Status.FAIL if ok == 0 else Status.WARN)
        lat = df["duration_ms"].dropna()
        findings.append(Finding(
            "webhooks.delivery", status,
            f"{ok}/{n} deliveries delivered in {len(df)} attempts ({retried} needed retries)",
            detail=f"to {self.url}" if self.url else "",
            fix="" if ok == n else "See the findings below for each failure cause.",
            data={"deliveries": n, "delivered": ok, "attempts": len(df), "retried": retried,
                  "p50_ms": round(float(lat.median()), 1) if len(lat) else None,
                  "p95_ms": round(float(lat.quantile(0.95)), 1) if len(lat) else None},
        ))
        codes = df["status_code"]
        failed_for_good = d[~d["delivered"]]
        eventually = "and every one was delivered in the end" if failed_for_good.empty else (
            f"and {len(failed_for_good)} deliveries never succeeded")

        def count(mask: Any) -> int:
            return int(mask.fillna(False).sum())

        gone = count(codes == 410)
        if gone:
            findings.append(Finding(
                "webhooks.delivery.gone", Status.FAIL, f"the endpoint answered 410 Gone ({gone}x); retries stopped",
                detail="410 means the receiver wants no more events on this URL.",
                fix="Disable or delete the webhook subscription for this URL (or fix the route if 410 was unintended).",
            ))
        redirects = df[(codes >= 300) & (codes < 400)]
        if len(redirects):
            findings.append(Finding(
                "webhooks.delivery.redirect", Status.FAIL, f"{len(redirects)} attempts were answered with a redirect",
                detail="Redirects are not followed (svc-infra's httpx client does not follow them); each counts as a failed attempt. "
                + "; ".join(sorted(set(redirects["error"].head(3)))),
                fix="Register the final URL (usually https:// and/or the trailing slash) as the subscription URL.",
            ))
        auth = count((codes == 401) | (codes == 403))
        if auth:
            findings.append(Finding(
                "webhooks.delivery.rejected", Status.FAIL, f"the endpoint rejected {auth} attempts with 401/403",
                detail="Usually a signature mismatch: a different secret, or the receiver hashing the raw body instead of svc-infra's canonical JSON.",
                fix="Compare secrets with svc_nb.tokens.fingerprint(secret) on both sides; verify with svc_nb.webhooks.verify(body, headers, secret).",
            ))
        server = count(codes >= 500)
        if server:
            findings.append(Finding(
                "webhooks.delivery.server_error", Status.WARN if failed_for_good.empty else Status.FAIL,
                f"{server} attempts got a 5xx {eventually}",
                fix="Check the receiver's logs; answer 2xx quickly and process the event in the background.",
            ))
        other4 = count((codes >= 400) & (codes < 500) & ~codes.isin([401, 403, 410]))
        if other4:
            findings.append(Finding(
                "webhooks.delivery.client_error", Status.FAIL, f"{other4} attempts got a 4xx {eventually}",
                detail="svc-infra retries every non-2xx, but a 4xx rarely fixes itself.",
                fix="Check the route and method (POST) and the payload the receiver expects.",
            ))
        for outcome, check, why, fix in (
            ("timeout", "webhooks.delivery.timeout", "the endpoint did not answer in time",
             "Acknowledge within the timeout (svc-infra: WEBHOOK_DELIVERY_TIMEOUT_SECONDS, default 10 s) and do the work asynchronously."),
            ("connect_error", "webhooks.delivery.connect", "no connection (refused, reset or closed before a response)",
             "Check the URL, that the endpoint is listening, and that nothing between drops the connection (run svc_nb.webhooks.probe(url))."),
            ("tls_error", "webhooks.delivery.tls", "the TLS handshake failed",
             "Serve a certificate valid for the host name with the full chain; do not turn verification off."),
        ):
            n_out = int((df["outcome"] == outcome).sum())
            if n_out:
                sample = "; ".join(sorted(set(df.loc[df["outcome"] == outcome, "error"].head(3))))
                findings.append(Finding(
                    check, Status.WARN if failed_for_good.empty else Status.FAIL,
                    f"{n_out} attempts: {why}", detail=sample, fix=fix,
                ))
        return Report(findings, title="webhook deliveries")

    # -- views ------------------------------------------------------------------------------
    def _summary(self) -> str:
        df = self.attempts
        if df.empty:
            return "DeliveryLog: no attempts"
        d = self.deliveries
        counts = df["outcome"].value_counts().to_dict()
        outcomes = ", ".join(f"{k} {v}" for k, v in counts.items())
        head = (f"DeliveryLog: {int(d['delivered'].sum())}/{len(d)} delivered, {len(df)} attempts "
                f"({outcomes})" + (" [cancelled]" if self.cancelled else ""))
        if self.policy is not None:
            head += f"\npolicy {self.policy.name}: waits {', '.join(format_seconds(w) for w in self.policy.waits)}"
        return head

    def __str__(self) -> str:
        df = self.attempts
        body = "" if df.empty else "\n" + df.head(20).to_string(index=False)
        return self._summary() + body

    def __repr__(self) -> str:
        return f"<{self._summary().splitlines()[0]}>"

    def _repr_html_(self) -> str:
        df = self.attempts
        table = "" if df.empty else df.head(20).to_html(index=False, na_rep="")
        more = f"<div>… {len(df) - 20} more attempts in .attempts</div>" if len(df) > 20 else ""
        lines = "<br>".join(html.escape(x) for x in self._summary().splitlines())
        return f'<div class="svcnb-delivery"><b>{lines}</b>{table}{more}</div>'


# -- one attempt ----------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
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


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> dict[str, Any]:
    """One POST, classified: status_code, outcome, error, response_excerpt, retry_after, stop."""
    import httpx

    out: dict[str, Any] = {"status_code": None, "error": "", "response_excerpt": "",
                           "retry_after": None, "stop": False}
    try:
        async with asyncio.timeout(timeout + 0.2):
            resp = await client.post(url, content=body, headers=headers, timeout=timeout,
                                     follow_redirects=False)
    except (TimeoutError, httpx.TimeoutException) as exc:
        out.update(outcome="timeout", error=f"no response within {timeout:g} s ({type(exc).__name__})")
        return out
    except httpx.ConnectError as exc:
        if _is_tls(exc):
            out.update(outcome="tls_error", error=f"TLS handshake failed: {scrub(str(exc))[:200]}")
        else:
            out.update(outcome="connect_error", error=f"cannot connect: {scrub(str(exc))[:200]}")
        return out
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        out.update(outcome="connect_error",
                   error=f"connection closed before a response ({type(exc).__name__}: {scrub(str(exc))[:160]})")
        return out
    except httpx.HTTPError as exc:
        out.update(outcome="connect_error", error=f"{type(exc).__name__}: {scrub(str(exc))[:200]}")
        return out
    code = resp.status_code
    out["status_code"] = code
    out["response_excerpt"] = scrub(resp.text[:_EXCERPT])
    if 200 <= code < 300:
        out["outcome"] = "delivered"
        return out
    out["outcome"] = "http_error"
    if 300 <= code < 400:
        location = resp.headers.get("location", "")
        out["error"] = f"HTTP {code} redirect to {mask_url(location) or '?'} (redirects are not followed)"
    elif code == 410:
        out["error"] = "HTTP 410 Gone: the endpoint asks to stop; no more retries"
        out["stop"] = True
    else:
        out["error"] = f"webhook delivery failed: {code}"
    out["retry_after"] = parse_retry_after(resp.headers.get("retry-after"))
    return out


def _signed_request(
    payload: Any, secret: str | bytes, scheme: str, topic: str, delivery_id: str,
    created_at: datetime, attempt: int,
) -> tuple[bytes, dict[str, str]]:
    """svc-infra's event ``{topic, payload, version, created_at}``, signed the way svc-infra signs it.

    Like svc-infra, the body on the wire is httpx's own JSON (compact, keys in
    insertion order) while the ``svc-infra`` signature covers the canonical form
    (sorted keys): a receiver that HMACs the raw body rejects it, as it would
    reject svc-infra's. Other schemes sign the bytes sent.
    """
    from svc_nb.webhooks._signing import canonical_json, sign

    event = {"topic": topic, "payload": payload, "version": 1,
             "created_at": created_at.isoformat()}
    try:
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise WebhooksError(
            f"payload must be JSON-serialisable (dicts, lists, str, numbers, bool, None): {exc}"
        ) from None
    signed = canonical_json(event) if scheme == "svc-infra" else body
    headers = dict(sign(signed, secret, scheme=scheme, timestamp=int(time.time()), msg_id=delivery_id))
    headers.update({
        "Content-Type": "application/json",
        "User-Agent": "svc_nb-webhooks",
        "X-Event-Id": delivery_id,
        "X-Topic": topic,
        "X-Attempt": str(attempt),
        "X-Payload-Version": "1",
    })
    return body, headers


async def _deliver_one(
    client: httpx.AsyncClient,
    url: str,
    payload: Any,
    secret: str | bytes,
    *,
    policy: RetryPolicy,
    scheme: str,
    timeout: float,
    time_scale: float,
    topic: str,
    delivery_id: str,
    log: DeliveryLog,
    limiter: asyncio.Semaphore | None = None,
) -> None:
    created = datetime.now(UTC)
    scheduled = created
    attempt = 1
    while True:
        body, headers = _signed_request(payload, secret, scheme, topic, delivery_id, created, attempt)
        if limiter is not None:
            await limiter.acquire()
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        try:
            result = await _post(client, url, body, headers, timeout)
        except asyncio.CancelledError:
            log._append({
                "delivery_id": delivery_id, "attempt": attempt, "scheduled_at": scheduled,
                "started_at": started, "duration_ms": round((time.perf_counter() - t0) * 1000, 3),
                "status_code": None, "outcome": "cancelled", "error": "cancelled while in flight",
                "response_excerpt": "",
            })
            raise
        finally:
            if limiter is not None:
                limiter.release()
        log._append({
            "delivery_id": delivery_id, "attempt": attempt, "scheduled_at": scheduled,
            "started_at": started, "duration_ms": round((time.perf_counter() - t0) * 1000, 3),
            "status_code": result["status_code"], "outcome": result["outcome"],
            "error": result["error"], "response_excerpt": result["response_excerpt"],
        })
        if result["outcome"] == "delivered" or result["stop"]:
            return
        wait = policy.delay_before(attempt + 1)
        if wait is None:
            return  # out of attempts: svc-infra would dead-letter the job here
        if result["retry_after"] is not None:
            wait = max(wait, result["retry_after"])
        attempt += 1
        scheduled = scheduled + timedelta(seconds=wait)
        if wait * time_scale > 0:
            await asyncio.sleep(wait * time_scale)


def _check_args(url: str, secret: Any, time_scale: float, timeout: float) -> None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise WebhooksError(f"url must be an http(s):// URL, got {scrub(repr(url))[:80]}")
    if not isinstance(secret, str | bytes) or not secret:
        raise WebhooksError("secret must be a non-empty str or bytes (the subscription's signing secret)")
    if time_scale < 0:
        raise WebhooksError("time_scale must be >= 0 (1.0 waits for real, 0.001 turns minutes into tens of ms)")
    if timeout <= 0:
        raise WebhooksError("timeout must be > 0 seconds")


def _client(concurrency: int, timeout: float) -> httpx.AsyncClient:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        limits=limits, follow_redirects=False, timeout=timeout, verify=tls_context()
    )


async def deliver(
    url: str,
    payload: Any,
    secret: str | bytes,
    *,
    policy: RetryPolicy | Sequence[float] | str | None = None,
    scheme: str = "svc-infra",
    timeout: float = 10.0,
    time_scale: float = 1.0,
    topic: str = "test.event",
    client: httpx.AsyncClient | None = None,
    delivery_id: str | None = None,
    log: DeliveryLog | None = None,
) -> DeliveryLog:
    """Deliver one signed event to ``url``, retrying per ``policy`` (default svc-infra's).

    Pass ``log=DeliveryLog()`` to keep the attempts even if the call is cancelled.
    """
    _check_args(url, secret, time_scale, timeout)
    register_secret(secret)
    pol = as_policy(policy)
    log = log if log is not None else DeliveryLog(url=url, policy=pol)
    log.url, log.policy, log.expected = mask_url(url), pol, 1
    own = client is None
    http = client or _client(1, timeout)
    try:
        await _deliver_one(
            http, url, payload, secret, policy=pol, scheme=scheme, timeout=timeout,
            time_scale=time_scale, topic=topic, delivery_id=delivery_id or _new_id(), log=log,
        )
    except asyncio.CancelledError:
        log.cancelled = True
        raise
    finally:
        if own:
            await http.aclose()
    return log


def _new_id() -> str:
    return "evt_" + uuid.uuid4().hex[:16]


class _Progress:
    """An IntProgress bar when running in a kernel; silent elsewhere; throttled updates."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.bar: Any = None
        self.done = 0
        self._last = 0.0
        if enabled is False or total == 0:
            return
        if "IPython" not in sys.modules:
            return
        try:
            from IPython import get_ipython

            ip = get_ipython()
            if ip is None or not hasattr(ip, "kernel"):
                return
            import ipywidgets
            from IPython.display import display

            self.bar = ipywidgets.IntProgress(value=0, min=0, max=total, description="deliveries")
            display(self.bar)
        except Exception:  # a missing frontend must never break deliveries
            self.bar = None

    def step(self) -> None:
        self.done += 1
        if self.bar is not None and time.monotonic() - self._last > 0.1:
            self._last = time.monotonic()
            self.bar.value = self.done

    def close(self, style: str) -> None:
        if self.bar is not None:
            self.bar.value = self.done
            self.bar.bar_style = style


async def deliver_many(
    url: str,
    payloads: Iterable[Any],
    secret: str | bytes,
    *,
    concurrency: int = 50,
    policy: RetryPolicy | Sequence[float] | str | None = None,
    scheme: str = "svc-infra",
    timeout: float = 10.0,
    time_scale: float = 1.0,
    topic: str = "test.event",
    client: httpx.AsyncClient | None = None,
    progress: bool | None = None,
    log: DeliveryLog | None = None,
) -> DeliveryLog:
    """Deliver many events concurrently over one connection pool (at most ``concurrency`` in flight).

    A progress bar shows in notebooks (``progress=False`` hides it). If the run is
    cancelled or interrupted, the log still holds every attempt made; on
    KeyboardInterrupt it is returned with ``cancelled=True``.
    """
    _check_args(url, secret, time_scale, timeout)
    if concurrency < 1:
        raise WebhooksError("concurrency must be >= 1")
    register_secret(secret)
    pol = as_policy(policy)
    items = list(payloads)
    log = log if log is not None else DeliveryLog(url=url, policy=pol)
    log.url, log.policy, log.expected = mask_url(url), pol, len(items)
    bar = _Progress(len(items), progress)
    own = client is None
    http = client or _client(concurrency, timeout)
    limiter = asyncio.Semaphore(concurrency)

    async def one(payload: Any) -> None:
        await _deliver_one(
            http, url, payload, secret, policy=pol, scheme=scheme, timeout=timeout,
            time_scale=time_scale, topic=topic, delivery_id=_new_id(), log=log, limiter=limiter,
        )
        bar.step()

    tasks = [asyncio.ensure_future(one(p)) for p in items]
    try:
        await asyncio.gather(*tasks)
    except (asyncio.CancelledError, KeyboardInterrupt) as exc:
        log.cancelled = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        bar.close("warning")
        if isinstance(exc, asyncio.CancelledError):
            raise
        return log
    finally:
        if own:
            await http.aclose()
    bar.close("success" if log.delivered else "danger")
    return log
