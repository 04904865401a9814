"""svc-infra's webhook delivery jobs in Redis, read as a DataFrame plus findings.

svc-infra keeps each job as a hash ``jobs:job:{id}`` and its id in one of
``jobs:ready`` (list), ``jobs:delayed`` (zset, score = when it is due),
``jobs:processing`` (list, with ``jobs:processing_vt`` holding the visibility
deadline) or ``jobs:dlq`` (list). Per-attempt status codes are not stored:
only ``attempts`` and ``last_error`` such as ``webhook delivery failed: 503``.
A dead letter's ``last_error`` is the *second-to-last* attempt's: svc-infra
moves a job to ``jobs:dlq`` on its final failure without recording it
(``last_error_attempt`` says which attempt each error is from).

Where the queue lives follows ``svc_infra.jobs.easy_jobs()``: process memory
unless ``JOBS_DRIVER=redis``, then ``JOBS_REDIS_URL`` → ``REDIS_URL_PRIVATE`` →
``REDIS_PRIVATE_URL`` → ``REDIS_URL`` → ``CACHE_URL`` (``svc_nb.env.job_queue_redis_url``).
"""

from __future__ import annotations

import asyncio
import html
import os
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from svc_nb._clock import Now, utc_datetime
from svc_nb._explain import explain
from svc_nb._redact import mask_url, scrub
from svc_nb._report import Finding, Report, ReprMixin, Status
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout
from svc_nb.cache import client as redis_client
from svc_nb.webhooks._causes import WebhooksCause as C
from svc_nb.webhooks._jobs import JOB_COLUMNS, STATES, job_row, parse_status
from svc_nb.webhooks._queue_findings import (
    COUNTS_EXPLAIN,
    EXPLAIN,
    LAST_ERROR_NOTE,
    TITLE,
    location_finding,
    snapshot_findings,
)
from svc_nb.webhooks._secrets_at_rest import SecretReader

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QueueSnapshot", "parse_status", "queue_snapshot"]

_OUTBOX_LIMIT = 1000


class QueueSnapshot(ReprMixin):
    """svc-infra's delivery jobs at one moment: ``.jobs`` (DataFrame), ``.outbox``, ``.report``.

    In ``.jobs``, a dead-lettered job's ``last_error`` is from the attempt
    before its last: svc-infra does not record the final failure.
    """

    def __init__(
        self,
        jobs: pd.DataFrame,
        outbox: pd.DataFrame,
        report: Report,
        *,
        url: str,
        taken_at: datetime,
    ) -> None:
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

    def _head(self) -> str:
        return f"svc-infra queue at {self.url}: " + ", ".join(
            f"{k} {v}" for k, v in self.counts().items()
        )

    def _note(self) -> str:
        return LAST_ERROR_NOTE if self.counts()["dlq"] else ""

    def __str__(self) -> str:
        cols = [
            "job_id",
            "state",
            "topic",
            "url",
            "attempts_of_max",
            "status_code",
            "next_attempt_at",
        ]
        table = "" if self.jobs.empty else "\n" + self.jobs[cols].to_string(index=False)
        note = f"\n{self._note()}" if self._note() else ""
        return f"{self._head()}{table}{note}\n\n{self.report}"

    def _repr_html_(self) -> str:
        table = (
            ""
            if self.jobs.empty
            else self.jobs.drop(columns=["name"]).to_html(index=False, na_rep="")
        )
        note = f"<div><i>{html.escape(self._note())}</i></div>" if self._note() else ""
        return (
            f"<div><b>{html.escape(self._head())}</b>{table}{note}{self.report._repr_html_()}</div>"
        )


def _text(value: Any) -> str:
    """Redis bytes as text: job data is svc-infra's JSON and ISO strings, but may hold anything."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else str(value)


async def _outbox_keys(client: Any, outbox_prefix: str) -> list[tuple[str, str, int]]:
    outbox: list[tuple[str, str, int]] = []
    async for key in client.scan_iter(match=f"{outbox_prefix}:*", count=500):
        if len(outbox) >= _OUTBOX_LIMIT:
            break
        kind = _text(await client.type(key))
        size = {
            "hash": client.hlen,
            "list": client.llen,
            "zset": client.zcard,
            "set": client.scard,
            "string": client.strlen,
            "stream": client.xlen,
        }.get(kind)
        outbox.append((_text(key), kind, int(await size(key)) if size else 0))
    return outbox


async def _read(url: str, prefix: str, outbox_prefix: str, timeout: float) -> dict[str, Any]:
    # Bytes, decoded here: one value that is not UTF-8 must not fail the whole read.
    client = redis_client(url, timeout=timeout, decode_responses=False)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.lrange(f"{prefix}:ready", 0, -1)
        pipe.zrange(f"{prefix}:delayed", 0, -1, withscores=True)
        pipe.lrange(f"{prefix}:processing", 0, -1)
        pipe.zrange(f"{prefix}:processing_vt", 0, -1, withscores=True)
        pipe.lrange(f"{prefix}:dlq", 0, -1)
        ready, delayed, processing, vt, dlq = await pipe.execute()
        states = {
            "ready": [_text(m) for m in ready],
            "delayed": [_text(m) for m, _ in delayed],
            "processing": [_text(m) for m in processing],
            "dlq": [_text(m) for m in dlq],
        }
        scores = {("delayed", _text(m)): s for m, s in delayed} | {
            ("processing", _text(m)): s for m, s in vt
        }
        ids = [i for group in states.values() for i in group]
        pipe = client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(f"{prefix}:job:{job_id}")
        raw_hashes = await pipe.execute() if ids else []
        hashes = {
            i: {_text(k): _text(v) for k, v in h.items()}
            for i, h in zip(ids, raw_hashes, strict=True)
        }
        return {
            "states": states,
            "scores": scores,
            "hashes": hashes,
            "outbox": await _outbox_keys(client, outbox_prefix),
        }
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose


def _jobs_frame(
    raw: Mapping[str, Any], taken: datetime, secrets: SecretReader
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    import pandas as pd

    rows = []
    problems: dict[str, list[str]] = {}
    for state, ids in raw["states"].items():
        for job_id in ids:
            row, found = job_row(
                job_id, state, raw["hashes"].get(job_id), raw["scores"], taken, secrets
            )
            rows.append(row)
            if found:
                problems.setdefault(job_id, []).extend(found)
    jobs = pd.DataFrame(rows, columns=list(JOB_COLUMNS))
    for col in ("attempts", "max_attempts", "last_error_attempt", "status_code"):
        jobs[col] = jobs[col].astype("Int64")
    for col in ("next_attempt_at", "available_at", "visible_at"):
        jobs[col] = pd.to_datetime(jobs[col], utc=True)
    return jobs, problems


async def queue_snapshot(
    redis_url: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    prefix: str = "jobs",
    outbox_prefix: str = "webhooks:outbox",
    now: Now = None,
    encryption_key: str | None = None,
) -> QueueSnapshot:
    """Read svc-infra's webhook jobs (ready, delayed, processing, dead-lettered) from Redis.

    Without ``redis_url`` it reads the Redis svc-infra's queue uses by this
    process's environment (``JOBS_DRIVER``, ``JOBS_REDIS_URL``, ...); when that
    queue lives in process memory there is nothing to read, and the report says so.

    Subscription secrets are shown by their fingerprint; secrets stored
    encrypted (``enc:v1:``) are decrypted first with ``encryption_key`` (default:
    ``WEBHOOK_ENCRYPTION_KEY`` from the environment) or svc-infra's development
    key, else shown as "encrypted". Findings: dead-lettered deliveries (with
    which attempt their recorded error is from), jobs stuck in processing past
    their visibility deadline, endpoints whose every job has failed, jobs whose
    fields cannot be read (each named by id), and secrets that cannot be read.
    An unreachable Redis is a fail finding, returned within ``timeout`` (finite seconds).
    """
    import pandas as pd

    seconds = check_timeout(timeout)
    taken = utc_datetime(now)
    url = redis_url
    if url is None:
        where = location_finding(os.environ)
        if where is not None:
            in_memory = where.cause == C.IN_MEMORY_QUEUE
            return _empty(where, "(process memory)" if in_memory else "(no redis:// URL)", taken)
        url = _job_queue_url(os.environ) or ""
    key = encryption_key if encryption_key is not None else os.environ.get("WEBHOOK_ENCRYPTION_KEY")
    try:
        async with asyncio.timeout(seconds):
            raw = await _read(url, prefix, outbox_prefix, seconds)
    except (TimeoutError, OSError, ConnectionError, ValueError) as exc:
        return _unreachable(url, taken, exc, seconds)
    except Exception as exc:  # redis-py errors (auth, protocol) are results, not crashes
        if type(exc).__module__.startswith("redis"):
            return _unreachable(url, taken, exc, seconds)
        raise
    secrets = SecretReader(key)
    jobs, problems = _jobs_frame(raw, taken, secrets)
    outbox = pd.DataFrame(raw["outbox"], columns=["key", "type", "size"])
    report = snapshot_findings(jobs, outbox, problems, url, prefix, taken, secrets)
    return QueueSnapshot(jobs, outbox, report, url=mask_url(url), taken_at=taken)


def _job_queue_url(environ: Mapping[str, str]) -> str | None:
    from svc_nb.env import job_queue_redis_url

    return job_queue_redis_url(environ)


def _empty(finding: Finding, where: str, taken: datetime) -> QueueSnapshot:
    import pandas as pd

    return QueueSnapshot(
        pd.DataFrame(columns=list(JOB_COLUMNS)),
        pd.DataFrame(columns=["key", "type", "size"]),
        Report([finding], title=TITLE),
        url=where,
        taken_at=taken,
    )


def _unreachable(url: str, taken: datetime, exc: BaseException, timeout: float) -> QueueSnapshot:
    text = str(exc)
    if isinstance(exc, TimeoutError):
        cause, why = C.TIMEOUT, f"no answer within {timeout:g} s"
    else:
        auth = "Authentication" in type(exc).__name__ or "NOAUTH" in text or "WRONGPASS" in text
        cause = C.AUTH_FAILED if auth else C.CONNECT_FAILED
        why = f"{type(exc).__name__}: {scrub(text)}" if text else type(exc).__name__
    finding = explain(
        "webhooks.queue.connect",
        cause,
        EXPLAIN,
        data={"timeout_s": timeout},
        url=mask_url(url),
        why=why,
    )
    return _empty(finding, mask_url(url), taken)


# -- diagnose(): a light queue health check (counts only, no pandas) ------------------------


async def _queue_counts(
    url: str, timeout: float, prefix: str = "jobs", *, own_redis: bool = False
) -> list[Finding]:
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
        why = f"{type(exc).__name__}: {scrub(str(exc))}" if str(exc) else type(exc).__name__
        # Skip when the cache.* checks already diagnose this Redis; the queue's own Redis
        # (JOBS_REDIS_URL...) is checked by nobody else: every enqueue would fail.
        cause = C.CONNECT_FAILED if own_redis else C.QUEUE_NOT_READ
        check = "webhooks.queue"
        return [explain(check, cause, EXPLAIN, url=mask_url(url), why=why)]
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose
    counts = {"ready": ready, "delayed": delayed, "processing": processing, "dlq": dlq}
    findings = [
        Finding(
            "webhooks.queue",
            Status.OK,
            "svc-infra delivery jobs: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
            detail=f"keys {prefix}:* in {mask_url(url)} (svc-infra's job queue: JOBS_DRIVER=redis)",
            data={**counts, "overdue": overdue, "url": mask_url(url)},
        )
    ]
    if dlq:
        findings.append(
            explain(
                "webhooks.queue.dlq",
                C.DEAD_LETTERED,
                COUNTS_EXPLAIN,
                data={"dead": dlq},
                count=dlq,
                prefix=prefix,
            )
        )
    if overdue:
        findings.append(
            explain(
                "webhooks.queue.stuck",
                C.STUCK_PROCESSING,
                COUNTS_EXPLAIN,
                data={"stuck": overdue},
                count=overdue,
            )
        )
    return findings


def _queue_check(environ: Mapping[str, str], timeout: float) -> Any:
    """The queue svc-infra's ``easy_jobs()`` builds from ``environ``: in memory, or its Redis."""
    from svc_nb.env import resolve_cache_url

    where = location_finding(environ)
    if where is not None:
        return where
    url = _job_queue_url(environ) or ""
    own_redis = url != resolve_cache_url(environ).value
    return _queue_counts(url, timeout, own_redis=own_redis)


def _register() -> None:
    from svc_nb._diagnose import register_check

    register_check("webhooks.queue", _queue_check, order=72, waits=True)


_register()
