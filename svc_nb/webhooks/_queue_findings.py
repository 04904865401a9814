"""What the queue checks tell the user: one table from cause to explanation, and the findings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from svc_nb._explain import Explanation, explain
from svc_nb._redact import mask_url
from svc_nb._report import Finding, Report, Status
from svc_nb.webhooks._causes import WebhooksCause as C
from svc_nb.webhooks._jobs import MISSING_HASH, STATES

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COUNTS_EXPLAIN", "EXPLAIN", "LAST_ERROR_NOTE", "TITLE", "snapshot_findings"]

_SHOWN_JOBS = 5
_SHOWN_ID = 64  # characters of a job id quoted in a finding
_DETAILED_JOBS = 20  # corrupt jobs described field by field; the next ones only by id
_LISTED_JOBS = 100

TITLE = "svc-infra webhook queue"

LAST_ERROR_NOTE = (
    "A dead letter's last_error is from the attempt before its last (attempt 4 of 5 with "
    "svc-infra's defaults): svc-infra moves the job to the dead-letter list on its final failure "
    "without recording that failure's error."
)

_CONNECT_FIX = (
    "Point redis_url (or REDIS_URL) at the Redis svc-infra's worker uses, and check it with "
    "`await svc_nb.cache.check(url)`."
)

EXPLAIN: dict[C, Explanation] = {
    C.TIMEOUT: Explanation(
        Status.FAIL, "cannot read svc-infra's job queue at {url}", "{why}", _CONNECT_FIX
    ),
    C.CONNECT_FAILED: Explanation(
        Status.FAIL, "cannot read svc-infra's job queue at {url}", "{why}", _CONNECT_FIX
    ),
    C.AUTH_FAILED: Explanation(
        Status.FAIL,
        "cannot read svc-infra's job queue at {url}: Redis refused the credentials",
        "{why}",
        "Use the password (and ACL user) svc-infra's worker uses, in the URL: redis://user:password@host:6379/0.",
    ),
    C.QUEUE_NOT_READ: Explanation(
        Status.SKIP,
        "svc-infra's job queue not read: Redis at {url} did not answer",
        "{why}",
        "See the cache.* findings; check the Redis URL with `await svc_nb.cache.check()`.",
    ),
    C.NOT_CONFIGURED: Explanation(
        Status.SKIP,
        "no Redis configured, so no svc-infra job queue to read",
        "",
        "Set REDIS_URL (or CACHE_URL) to the Redis svc-infra's webhook worker uses.",
    ),
    C.CORRUPT_JOB: Explanation(
        Status.WARN,
        "{count} job(s) with fields that cannot be read",
        "{lines}",
        "svc-infra's worker cannot process such a job either. Inspect it with redis-cli HGETALL "
        "{prefix}:job:{first}; repair the field, or remove the job (LREM/ZREM its id from the "
        "list it sits in, then DEL the hash).",
    ),
    C.ORPHAN_JOB: Explanation(
        Status.WARN,
        "{count} job ids listed without a {prefix}:job:<id> hash",
        "ids: {ids}",
        "Remove them from the lists, e.g. redis-cli LREM {prefix}:ready 0 <id>; they can never run.",
    ),
    C.DEAD_LETTERED: Explanation(
        Status.FAIL,
        "{count} deliveries dead-lettered in {prefix}:dlq",
        "{lines}. {note}",
        "Fix the endpoint first, then requeue, e.g. for job {first}: redis-cli LREM {prefix}:dlq 0 "
        "{first} && redis-cli HSET {prefix}:job:{first} attempts 0 && redis-cli RPUSH {prefix}:ready {first}",
    ),
    C.STUCK_PROCESSING: Explanation(
        Status.WARN,
        "{count} jobs stuck in processing past their visibility timeout",
        "{lines}",
        "A worker took them and died (or is blocked). Restart the webhook worker; svc-infra "
        "re-queues expired jobs from {prefix}:processing_vt when a worker polls.",
    ),
    C.ENDPOINT_FAILING: Explanation(
        Status.FAIL,
        "{count} endpoint(s) failing every attempt",
        "{lines}",
        "Reproduce with svc_nb.webhooks.probe(url) and deliver(url, ...); a 5xx is the receiver's "
        "bug, a 401/403 usually a signature/secret mismatch, a connect error a wrong URL.",
    ),
}

# diagnose()'s light check reads counts only; it points at the snapshot for the rest.
COUNTS_EXPLAIN: dict[C, Explanation] = {
    C.DEAD_LETTERED: Explanation(
        Status.FAIL,
        "{count} deliveries dead-lettered in {prefix}:dlq",
        "",
        "See which endpoints and errors: await svc_nb.webhooks.queue_snapshot(url).",
    ),
    C.STUCK_PROCESSING: Explanation(
        Status.WARN,
        "{count} jobs stuck in processing past their visibility timeout",
        "",
        "Restart the webhook worker; inspect with await svc_nb.webhooks.queue_snapshot(url).",
    ),
}


def _short(job_id: str) -> str:
    return job_id if len(job_id) <= _SHOWN_ID else job_id[: _SHOWN_ID - 1] + "…"


def _corrupt(problems: Mapping[str, list[str]], prefix: str) -> list[Finding]:
    if not problems:
        return []
    ids = [*problems]
    lines = [f"job {_short(j)}: {'; '.join(problems[j])}" for j in ids[:_DETAILED_JOBS]]
    if len(ids) > _DETAILED_JOBS:
        rest = ids[_DETAILED_JOBS : _DETAILED_JOBS + _LISTED_JOBS]
        more = len(ids) - _DETAILED_JOBS - len(rest)
        lines.append(
            f"also jobs {', '.join(map(_short, rest))}" + (f" and {more} more" if more else "")
        )
    return [
        explain(
            "webhooks.queue.corrupt",
            C.CORRUPT_JOB,
            EXPLAIN,
            data={"jobs": ids[:1000]},
            count=len(problems),
            lines=" | ".join(lines),
            prefix=prefix,
            first=_short(next(iter(problems))),
        )
    ]


def _orphans(jobs: pd.DataFrame, prefix: str) -> list[Finding]:
    missing = jobs[jobs["name"] == MISSING_HASH]
    if not len(missing):
        return []
    return [
        explain(
            "webhooks.queue.orphans",
            C.ORPHAN_JOB,
            EXPLAIN,
            data={"orphans": len(missing)},
            count=len(missing),
            prefix=prefix,
            ids=", ".join(map(_short, missing["job_id"].head(10))),
        )
    ]


def _dead(jobs: pd.DataFrame, prefix: str) -> list[Finding]:
    dead = jobs[jobs["state"] == "dlq"]
    if not len(dead):
        return []
    lines = [
        f"job {_short(j)}: {t} -> {u} after {a} attempts, last recorded error {e or '(none)'}"
        for j, t, u, a, e in dead[["job_id", "topic", "url", "attempts_of_max", "last_error"]]
        .head(_SHOWN_JOBS)
        .itertuples(index=False, name=None)
    ]
    codes = sorted({int(c) for c in dead["status_code"].dropna()})
    return [
        explain(
            "webhooks.queue.dlq",
            C.DEAD_LETTERED,
            EXPLAIN,
            data={"dead": len(dead), "status_codes": codes},
            count=len(dead),
            prefix=prefix,
            lines="; ".join(lines),
            note=LAST_ERROR_NOTE,
            first=_short(dead["job_id"].iloc[0]),
        )
    ]


def _stuck(jobs: pd.DataFrame, prefix: str, now: datetime) -> list[Finding]:
    proc = jobs[jobs["state"] == "processing"]
    deadline = proc["next_attempt_at"]
    stuck = proc[deadline.notna() & (deadline < now)]
    if not len(stuck):
        return []
    overdue = [(now - d).total_seconds() for d in stuck["next_attempt_at"]]
    lines = [
        f"job {_short(j)} overdue by {o:.0f} s"
        for j, o in zip(stuck["job_id"], overdue, strict=True)
    ]
    return [
        explain(
            "webhooks.queue.stuck",
            C.STUCK_PROCESSING,
            EXPLAIN,
            data={"stuck": len(stuck), "max_overdue_s": round(max(overdue), 1)},
            count=len(stuck),
            prefix=prefix,
            lines="; ".join(lines[:_SHOWN_JOBS]),
        )
    ]


def _failing_endpoints(jobs: pd.DataFrame) -> list[Finding]:
    failing: list[str] = []
    for endpoint, group in jobs[jobs["url"] != ""].groupby("url"):
        if (group["attempts"].fillna(0) >= 1).all() and (group["last_error"] != "").all():
            codes = sorted({int(c) for c in group["status_code"].dropna()})
            errors = ", ".join(map(str, codes)) or group["last_error"].iloc[0][:60]
            failing.append(f"{endpoint} ({len(group)} jobs, last errors: {errors})")
    if not failing:
        return []
    return [
        explain(
            "webhooks.queue.endpoints",
            C.ENDPOINT_FAILING,
            EXPLAIN,
            data={"endpoints": len(failing)},
            count=len(failing),
            lines="; ".join(failing[:_SHOWN_JOBS]),
        )
    ]


def snapshot_findings(
    jobs: pd.DataFrame,
    outbox: pd.DataFrame,
    problems: Mapping[str, list[str]],
    url: str,
    prefix: str,
    now: datetime,
) -> Report:
    counts = {s: int((jobs["state"] == s).sum()) for s in STATES}
    summary = Finding(
        "webhooks.queue",
        Status.OK,
        f"{len(jobs)} delivery jobs: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f"; {len(outbox)} outbox keys",
        detail=f"Redis {mask_url(url)}, keys {prefix}:*",
        data={**counts, "outbox": len(outbox)},
    )
    return Report(
        [
            summary,
            *_corrupt(problems, prefix),
            *_orphans(jobs, prefix),
            *_dead(jobs, prefix),
            *_stuck(jobs, prefix, now),
            *_failing_endpoints(jobs),
        ],
        title=TITLE,
    )
