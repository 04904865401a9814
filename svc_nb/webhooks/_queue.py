"""svc-infra's webhook delivery jobs in Redis, read as a DataFrame plus findings.

svc-infra keeps each job as a hash ``jobs:job:{id}`` and its id in one of
``jobs:ready`` (list), ``jobs:delayed`` (zset, score = when it is due),
``jobs:processing`` (list, with ``jobs:processing_vt`` holding the visibility
deadline) or ``jobs:dlq`` (list) — DESIGN §1. Per-attempt status codes are not
stored: only ``attempts`` and ``last_error`` such as ``webhook delivery failed: 503``.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from svc_nb._clock import utc_datetime
from svc_nb._redact import mask_secret, mask_url, register_secret, scrub
from svc_nb._report import Finding, Report, ReprMixin, Status
from svc_nb.cache import client as redis_client

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QueueSnapshot", "clear_demo_queue", "queue_snapshot", "seed_demo_queue"]

STATES = ("ready", "delayed", "processing", "dlq")
JOB_COLUMNS = (
    "job_id", "state", "topic", "url", "subscription_id", "attempts", "max_attempts",
    "attempts_of_max", "last_error", "status_code", "next_attempt_at", "available_at",
    "visible_at", "outbox_id", "secret", "name",
)
_STATUS_IN_ERROR = re.compile(r"failed:\s*(\d{3})\b|\bHTTP\s*(\d{3})\b|\bstatus(?:_code)?[=: ]\s*(\d{3})\b")


def parse_status(last_error: str | None) -> int | None:
    """The HTTP status inside svc-infra's ``last_error`` (``webhook delivery failed: 503`` -> 503)."""
    if not last_error:
        return None
    m = _STATUS_IN_ERROR.search(last_error)
    if not m:
        return None
    return int(next(g for g in m.groups() if g))


def _when(value: Any) -> datetime | None:
    """An aware datetime from svc-infra's ISO strings or epoch scores."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = value.decode() if isinstance(value, bytes) else str(value)
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_now = utc_datetime


class QueueSnapshot(ReprMixin):
    """svc-infra's delivery jobs at one moment: ``.jobs`` (DataFrame), ``.outbox``, ``.report``."""

    def __init__(self, jobs: pd.DataFrame, outbox: pd.DataFrame, report: Report, *, url: str,
                 taken_at: datetime) -> None:
        self.jobs = jobs
        self.outbox = outbox
        self.report = report
        self.url = url
        self.taken_at = taken_at

    def counts(self) -> dict[str, int]:
        """Jobs per state."""
        if self.jobs.empty:
            return dict.fromkeys(STATES, 0)
        vc = self.jobs["state"].value_counts()
        return {s: int(vc.get(s, 0)) for s in STATES}

    def __str__(self) -> str:
        c = self.counts()
        head = f"svc-infra queue at {self.url}: " + ", ".join(f"{k} {v}" for k, v in c.items())
        cols = ["job_id", "state", "topic", "url", "attempts_of_max", "status_code", "next_attempt_at"]
        table = "" if self.jobs.empty else "\n" + self.jobs[cols].to_string(index=False)
        return f"{head}{table}\n\n{self.report}"

    def _repr_html_(self) -> str:
        c = self.counts()
        head = html.escape(f"svc-infra queue at {self.url}: " + ", ".join(f"{k} {v}" for k, v in c.items()))
        table = "" if self.jobs.empty else self.jobs.drop(columns=["name"]).to_html(index=False, na_rep="")
        return f"<div><b>{head}</b>{table}{self.report._repr_html_()}</div>"


def _default_url() -> str:
    from svc_nb.env import resolve_cache_url

    value = resolve_cache_url(os.environ).value
    if value and value.startswith(("redis://", "rediss://", "unix://")):
        return value
    return "redis://127.0.0.1:6379/0"


async def queue_snapshot(
    redis_url: str | None = None,
    *,
    timeout: float = 3.0,
    prefix: str = "jobs",
    outbox_prefix: str = "webhooks:outbox",
    now: datetime | float | None = None,
) -> QueueSnapshot:
    """Read svc-infra's webhook jobs (ready, delayed, processing, dead-lettered) from Redis.

    Secrets inside the job payloads are masked. Findings: dead-lettered
    deliveries, jobs stuck in processing past their visibility deadline, and
    endpoints whose every job has failed. An unreachable Redis is a fail finding.
    """
    import pandas as pd

    url = redis_url or _default_url()
    taken = _now(now)
    try:
        async with asyncio.timeout(timeout):
            raw = await _read(url, prefix, outbox_prefix, timeout)
    except (TimeoutError, OSError, ConnectionError, ValueError) as exc:
        return _unreachable(url, taken, exc, timeout)
    except Exception as exc:  # redis-py errors (auth, protocol) are results, not crashes
        if type(exc).__module__.startswith("redis"):
            return _unreachable(url, taken, exc, timeout)
        raise
    rows = [_row(job_id, state, raw["hashes"].get(job_id), raw["scores"], taken)
            for state, ids in raw["states"].items() for job_id in ids]
    jobs = pd.DataFrame(rows, columns=list(JOB_COLUMNS))
    jobs["attempts"] = jobs["attempts"].astype("Int64")
    jobs["max_attempts"] = jobs["max_attempts"].astype("Int64")
    jobs["status_code"] = jobs["status_code"].astype("Int64")
    for col in ("next_attempt_at", "available_at", "visible_at"):
        jobs[col] = pd.to_datetime(jobs[col], utc=True)
    outbox = pd.DataFrame(raw["outbox"], columns=["key", "type", "size"])
    report = _findings(jobs, outbox, raw, url, prefix, taken)
    return QueueSnapshot(jobs, outbox, report, url=mask_url(url), taken_at=taken)


async def _read(url: str, prefix: str, outbox_prefix: str, timeout: float) -> dict[str, Any]:

    client = redis_client(url, timeout=timeout, decode_responses=True)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.lrange(f"{prefix}:ready", 0, -1)
        pipe.zrange(f"{prefix}:delayed", 0, -1, withscores=True)
        pipe.lrange(f"{prefix}:processing", 0, -1)
        pipe.zrange(f"{prefix}:processing_vt", 0, -1, withscores=True)
        pipe.lrange(f"{prefix}:dlq", 0, -1)
        ready, delayed, processing, vt, dlq = await pipe.execute()
        states = {
            "ready": list(ready),
            "delayed": [m for m, _ in delayed],
            "processing": list(processing),
            "dlq": list(dlq),
        }
        scores = {("delayed", m): s for m, s in delayed} | {("processing", m): s for m, s in vt}
        ids = [i for group in states.values() for i in group]
        pipe = client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(f"{prefix}:job:{job_id}")
        hashes = dict(zip(ids, await pipe.execute(), strict=True)) if ids else {}
        outbox: list[tuple[str, str, int]] = []
        async for key in client.scan_iter(match=f"{outbox_prefix}:*", count=500):
            if len(outbox) >= 1000:
                break
            kind = await client.type(key)
            size = {"hash": client.hlen, "list": client.llen, "zset": client.zcard,
                    "set": client.scard, "string": client.strlen, "stream": client.xlen}.get(kind)
            outbox.append((key, kind, int(await size(key)) if size else 0))
        return {"states": states, "scores": scores, "hashes": hashes, "outbox": outbox}
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose


def _row(job_id: str, state: str, h: Mapping[str, str] | None, scores: Mapping[Any, float],
         now: datetime) -> dict[str, Any]:
    h = h or {}
    try:
        payload = json.loads(h.get("payload") or "{}")
    except json.JSONDecodeError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    inner_raw = payload.get("payload")
    inner: dict[str, Any] = inner_raw if isinstance(inner_raw, dict) else {}
    sub_raw = inner.get("subscription")
    sub: dict[str, Any] = sub_raw if isinstance(sub_raw, dict) else {}
    secret = sub.get("secret")
    if isinstance(secret, str) and secret:
        register_secret(secret)  # so it stays masked wherever it turns up later
    name = h.get("name", "")
    topic = payload.get("topic") or (name[len("outbox."):] if name.startswith("outbox.") else name)
    attempts = _int(h.get("attempts"))
    max_attempts = _int(h.get("max_attempts"))
    available = _when(h.get("available_at"))
    visible = _when(h.get("visible_at"))
    if state == "delayed":
        nxt = _when(scores.get(("delayed", job_id))) or available
    elif state == "ready":
        nxt = available or now
    elif state == "processing":
        nxt = _when(scores.get(("processing", job_id))) or visible
        visible = nxt
    else:
        nxt = None
    last_error = scrub(h.get("last_error") or "")
    return {
        "job_id": job_id,
        "state": state,
        "topic": topic or "",
        "url": mask_url(str(sub.get("url") or "")),
        "subscription_id": str(sub.get("id") or ""),
        "attempts": attempts,
        "max_attempts": max_attempts,
        "attempts_of_max": f"{attempts if attempts is not None else '?'}/{max_attempts if max_attempts is not None else '?'}",
        "last_error": last_error,
        "status_code": parse_status(last_error),
        "next_attempt_at": nxt,
        "available_at": available,
        "visible_at": visible,
        "outbox_id": str(payload.get("outbox_id") or ""),
        "secret": mask_secret(secret) if secret else "",
        "name": name if h else "(hash missing)",
    }


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _unreachable(url: str, taken: datetime, exc: BaseException, timeout: float) -> QueueSnapshot:
    import pandas as pd

    why = f"{type(exc).__name__}: {scrub(str(exc))}" if str(exc) else type(exc).__name__
    if isinstance(exc, TimeoutError):
        why = f"no answer within {timeout:g} s"
    finding = Finding(
        "webhooks.queue.connect", Status.FAIL, f"cannot read svc-infra's job queue at {mask_url(url)}",
        detail=why,
        fix="Point redis_url (or REDIS_URL) at the Redis svc-infra's worker uses, and check it with "
            "`await svc_nb.cache.check(url)`.",
    )
    return QueueSnapshot(
        pd.DataFrame(columns=list(JOB_COLUMNS)), pd.DataFrame(columns=["key", "type", "size"]),
        Report([finding], title="svc-infra webhook queue"), url=mask_url(url), taken_at=taken,
    )


def _findings(jobs: pd.DataFrame, outbox: pd.DataFrame, raw: Mapping[str, Any], url: str,
              prefix: str, now: datetime) -> Report:
    counts = {s: int((jobs["state"] == s).sum()) for s in STATES}
    findings = [Finding(
        "webhooks.queue", Status.OK,
        f"{len(jobs)} delivery jobs: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f"; {len(outbox)} outbox keys",
        detail=f"Redis {mask_url(url)}, keys {prefix}:*",
        data={**counts, "outbox": len(outbox)},
    )]
    missing = jobs[jobs["name"] == "(hash missing)"]
    if len(missing):
        findings.append(Finding(
            "webhooks.queue.orphans", Status.WARN,
            f"{len(missing)} job ids listed without a {prefix}:job:<id> hash",
            detail="ids: " + ", ".join(missing["job_id"].head(10)),
            fix=f"Remove them from the lists, e.g. redis-cli LREM {prefix}:ready 0 <id>; they can never run.",
        ))
    dead = jobs[jobs["state"] == "dlq"]
    if len(dead):
        lines = [f"job {j}: {t} -> {u} after {a} attempts, last error {e or '(none)'}"
                 for j, t, u, a, e in dead[["job_id", "topic", "url", "attempts_of_max", "last_error"]]
                 .head(5).itertuples(index=False, name=None)]
        first = dead["job_id"].iloc[0]
        findings.append(Finding(
            "webhooks.queue.dlq", Status.FAIL, f"{len(dead)} deliveries dead-lettered in {prefix}:dlq",
            detail="; ".join(lines),
            fix=(f"Fix the endpoint first, then requeue, e.g. for job {first}: redis-cli LREM {prefix}:dlq 0 {first} && "
                 f"redis-cli HSET {prefix}:job:{first} attempts 0 && redis-cli RPUSH {prefix}:ready {first}"),
            data={"dead": len(dead), "status_codes": sorted({int(c) for c in dead["status_code"].dropna()})},
        ))
    proc = jobs[jobs["state"] == "processing"]
    if len(proc):
        deadline = proc["next_attempt_at"]
        stuck = proc[deadline.notna() & (deadline < now)]
        if len(stuck):
            overdue = [(now - d).total_seconds() for d in stuck["next_attempt_at"]]
            findings.append(Finding(
                "webhooks.queue.stuck", Status.WARN,
                f"{len(stuck)} jobs stuck in processing past their visibility timeout",
                detail="; ".join(f"job {j} overdue by {o:.0f} s" for j, o in list(zip(stuck["job_id"], overdue, strict=True))[:5]),
                fix="A worker took them and died (or is blocked). Restart the webhook worker; svc-infra "
                    f"re-queues expired jobs from {prefix}:processing_vt when a worker polls.",
                data={"stuck": len(stuck), "max_overdue_s": round(max(overdue), 1)},
            ))
    tried = jobs[jobs["url"] != ""]
    failing: list[str] = []
    for endpoint, group in tried.groupby("url"):
        if (group["attempts"].fillna(0) >= 1).all() and (group["last_error"] != "").all():
            codes = sorted({int(c) for c in group["status_code"].dropna()})
            failing.append(f"{endpoint} ({len(group)} jobs, last errors: "
                           f"{', '.join(map(str, codes)) or group['last_error'].iloc[0][:60]})")
    if failing:
        findings.append(Finding(
            "webhooks.queue.endpoints", Status.FAIL,
            f"{len(failing)} endpoint(s) failing every attempt",
            detail="; ".join(failing[:5]),
            fix="Reproduce with svc_nb.webhooks.probe(url) and deliver(url, ...); a 5xx is the receiver's bug, "
                "a 401/403 usually a signature/secret mismatch, a connect error a wrong URL.",
            data={"endpoints": len(failing)},
        ))
    return Report(findings, title="svc-infra webhook queue")


# -- demo data for notebooks and tests -------------------------------------------------


async def seed_demo_queue(
    redis_url: str,
    *,
    prefix: str = "jobs",
    outbox_prefix: str = "webhooks:outbox",
    endpoint: str = "http://127.0.0.1:9/webhooks/orders",
    now: datetime | None = None,
    timeout: float = 3.0,
) -> list[str]:
    """Write svc-infra-shaped jobs (ready, delayed, stuck, dead-lettered) and return the keys written.

    For notebooks and tests: use a spare database (``/15``) or a unique ``prefix``,
    and remove the keys with :func:`clear_demo_queue`.
    """

    t = _now(now)
    broken = endpoint.rsplit("/", 1)[0] + "/broken"
    specs: list[tuple[str, dict[str, Any], str | None]] = [
        ("ready", {"topic": "order.created", "url": endpoint, "attempts": 0, "last_error": ""}, None),
        ("delayed", {"topic": "order.paid", "url": endpoint, "attempts": 2,
                     "last_error": "webhook delivery failed: 503"}, "delayed"),
        ("processing", {"topic": "order.shipped", "url": endpoint, "attempts": 1, "last_error": ""}, "stuck"),
        ("dlq", {"topic": "invoice.failed", "url": broken, "attempts": 5,
                 "last_error": "webhook delivery failed: 500"}, None),
        ("dlq", {"topic": "invoice.paid", "url": broken, "attempts": 5,
                 "last_error": "webhook delivery failed: 503"}, None),
    ]
    client = redis_client(redis_url, timeout=timeout, decode_responses=True)
    keys: list[str] = [f"{prefix}:seq"]
    try:
        async with asyncio.timeout(timeout):
            for n, (state, spec, mode) in enumerate(specs, 1):
                job_id = str(await client.incr(f"{prefix}:seq"))
                outbox_key = f"{outbox_prefix}:{job_id}"
                payload = {"outbox_id": n, "topic": spec["topic"], "payload": {
                    "event": {"topic": spec["topic"], "payload": {"order_id": 1000 + n}, "version": 1,
                              "created_at": (t - timedelta(minutes=10)).isoformat()},
                    "subscription": {"url": spec["url"], "secret": f"demo-subscription-secret-{n:02d}",
                                     "id": f"sub_{n}"}}}
                available = t + timedelta(seconds=120) if mode == "delayed" else t - timedelta(minutes=5)
                visible = t - timedelta(seconds=300) if mode == "stuck" else None
                await client.hset(f"{prefix}:job:{job_id}", mapping={
                    "id": job_id, "name": f"outbox.{spec['topic']}", "payload": json.dumps(payload),
                    "available_at": available.isoformat(), "attempts": str(spec["attempts"]),
                    "max_attempts": "5", "backoff_seconds": "60", "last_error": spec["last_error"],
                    "visible_at": visible.isoformat() if visible else "",
                })
                keys.append(f"{prefix}:job:{job_id}")
                if state == "delayed":
                    await client.zadd(f"{prefix}:delayed", {job_id: available.timestamp()})
                elif state == "processing":
                    await client.rpush(f"{prefix}:processing", job_id)
                    assert visible is not None
                    await client.zadd(f"{prefix}:processing_vt", {job_id: visible.timestamp()})
                else:
                    await client.rpush(f"{prefix}:{state}", job_id)
                await client.hset(outbox_key, mapping={"topic": spec["topic"], "outbox_id": str(n)})
                keys.append(outbox_key)
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose
    keys += [f"{prefix}:{s}" for s in ("ready", "delayed", "processing", "processing_vt", "dlq")]
    return keys


async def clear_demo_queue(redis_url: str, keys: Sequence[str], *, timeout: float = 3.0) -> int:
    """Delete exactly the keys :func:`seed_demo_queue` wrote; returns how many existed."""

    if not keys:
        return 0
    client = redis_client(redis_url, timeout=timeout)
    try:
        async with asyncio.timeout(timeout):
            return int(await client.delete(*keys))
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose


# -- diagnose(): a light queue health check (counts only, no pandas) ------------------------


async def _queue_counts(url: str, timeout: float, prefix: str = "jobs") -> list[Finding]:
    import time


    client = redis_client(url, timeout=timeout)
    try:
        async with asyncio.timeout(timeout):
            pipe = client.pipeline(transaction=False)
            pipe.llen(f"{prefix}:ready")
            pipe.zcard(f"{prefix}:delayed")
            pipe.llen(f"{prefix}:processing")
            pipe.llen(f"{prefix}:dlq")
            pipe.zcount(f"{prefix}:processing_vt", "-inf", time.time())
            ready, delayed, processing, dlq, overdue = await pipe.execute()
    except Exception as exc:  # unreachable/auth errors: a finding, never a crash
        # Skip, not fail: the cache.* checks already diagnose an unreachable Redis.
        return [Finding(
            "webhooks.queue", Status.SKIP,
            f"svc-infra's job queue not read: Redis at {mask_url(url)} did not answer",
            detail=f"{type(exc).__name__}: {scrub(str(exc))}" if str(exc) else type(exc).__name__,
            fix="See the cache.* findings; check the Redis URL with `await svc_nb.cache.check()`.",
        )]
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose
    counts = {"ready": ready, "delayed": delayed, "processing": processing, "dlq": dlq}
    findings = [Finding(
        "webhooks.queue", Status.OK,
        "svc-infra delivery jobs: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
        detail=f"keys {prefix}:* in {mask_url(url)}", data={**counts, "overdue": overdue},
    )]
    if dlq:
        findings.append(Finding(
            "webhooks.queue.dlq", Status.FAIL, f"{dlq} deliveries dead-lettered in {prefix}:dlq",
            fix="See which endpoints and errors: await svc_nb.webhooks.queue_snapshot(url).",
            data={"dead": dlq},
        ))
    if overdue:
        findings.append(Finding(
            "webhooks.queue.stuck", Status.WARN,
            f"{overdue} jobs stuck in processing past their visibility timeout",
            fix="Restart the webhook worker; inspect with await svc_nb.webhooks.queue_snapshot(url).",
            data={"stuck": overdue},
        ))
    return findings


def _queue_check(environ: Mapping[str, str], timeout: float) -> Any:
    from svc_nb.env import resolve_cache_url

    url = resolve_cache_url(environ).value or ""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return Finding(
            "webhooks.queue", Status.SKIP, "no Redis configured, so no svc-infra job queue to read",
            fix="Set REDIS_URL (or CACHE_URL) to the Redis svc-infra's webhook worker uses.",
        )
    return _queue_counts(url, timeout)


def _register() -> None:
    from svc_nb._diagnose import register_check

    register_check("webhooks.queue", _queue_check, order=72, waits=True)


_register()
