"""What the queue checks tell the user: one table from cause to explanation, and the findings."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from svc_nb._explain import Explanation, explain
from svc_nb._redact import mask_url
from svc_nb._report import Finding, Report, Status
from svc_nb.webhooks._causes import WebhooksCause as C
from svc_nb.webhooks._jobs import MISSING_HASH, STATES
from svc_nb.webhooks._secrets_at_rest import SecretReader

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COUNTS_EXPLAIN",
    "EXPLAIN",
    "LAST_ERROR_NOTE",
    "TITLE",
    "location_finding",
    "redis_cli",
    "snapshot_findings",
]

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
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_SWITCH = "export JOBS_DRIVER=redis JOBS_REDIS_URL='redis://HOST:6379/0'"

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
    C.CONNECT_FAILED: Explanation(
        Status.FAIL,
        "svc-infra's job queue Redis at {url} does not answer: every enqueue fails",
        "{why}",
        "Start that Redis or point JOBS_REDIS_URL at one that runs; check it with "
        "`await svc_nb.cache.check(url)`.",
    ),
    C.IN_MEMORY_QUEUE: Explanation(
        Status.WARN,
        "svc-infra's job queue lives in process memory ({why}): nothing to read from outside",
        "easy_jobs() builds an InMemoryJobQueue unless JOBS_DRIVER is exactly 'redis' (lower-cased, "
        "not stripped). Webhook deliveries and their retries then live inside the worker process: "
        "lost on restart, not shared between workers, invisible to redis-cli and to svc_nb.",
        _SWITCH + "   # then restart the app and its worker",
    ),
    C.QUEUE_URL_INVALID: Explanation(
        Status.FAIL,
        "svc-infra's job queue URL from {source} is not a redis:// URL: easy_jobs() raises",
        "{url}: easy_jobs() raises ValueError ('Jobs Redis coordination requires a redis://, "
        "rediss://, or unix:// URL'), so the app does not start.",
        "Set JOBS_REDIS_URL to a redis:// (or rediss://) URL; a REST URL such as "
        "UPSTASH_REDIS_REST_URL cannot serve the queue.",
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
        "Fix the endpoint first, then requeue, e.g. for job {first}: {cli} LREM {prefix}:dlq 0 "
        "{first} && {cli} HSET {prefix}:job:{first} attempts 0 && {cli} RPUSH {prefix}:ready {first}",
    ),
    C.SECRET_ENCRYPTED: Explanation(
        Status.SKIP,
        "{count} subscription secret(s) stored encrypted (enc:v1:): not compared",
        "svc-infra encrypts each secret anew when it publishes, so the ciphertexts of one secret "
        "all differ; only the decrypted secret's fingerprint says which secret a job signs with.{why}",
        "Pass the app's key: await queue_snapshot(url, encryption_key=...) or set "
        "WEBHOOK_ENCRYPTION_KEY in this kernel's environment.",
    ),
    C.SECRET_KEY_MISMATCH: Explanation(
        Status.WARN,
        "the WEBHOOK_ENCRYPTION_KEY given does not decrypt {count} stored subscription secret(s)",
        "They were encrypted with another key. svc-infra's worker decrypts with its own "
        "WEBHOOK_ENCRYPTION_KEY; a worker whose key differs from the publisher's fails every "
        "delivery with cryptography's InvalidToken.",
        "Use the key of the process that published (compare svc_nb.tokens.fingerprint() of both); "
        "every publisher and worker needs the same WEBHOOK_ENCRYPTION_KEY.",
    ),
    C.BAD_ENCRYPTION_KEY: Explanation(
        Status.FAIL,
        "the WEBHOOK_ENCRYPTION_KEY given cannot be a key: svc-infra raises {error} with it",
        "svc-infra uses a 44-character value ending in '=' as a urlsafe-base64 Fernet key "
        "(32 bytes) and hashes any other text with SHA-256; this value has the first shape but does "
        "not decode to 32 bytes, so publishing and delivering raise {error}.",
        'Generate one: python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())" (or use a passphrase that is not 44 chars ending in =).',
    ),
    C.DEV_ENCRYPTION_KEY: Explanation(
        Status.WARN,
        "{count} subscription secret(s) encrypted with svc-infra's built-in development key",
        "WEBHOOK_ENCRYPTION_KEY was unset where the app published them, so svc-infra used "
        "'dev-only-webhook-encryption-key-not-for-production': anyone with svc-infra can decrypt them.",
        "Set WEBHOOK_ENCRYPTION_KEY (a Fernet key) for the app and its worker, then re-publish.",
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


def redis_cli(url: str) -> str:
    """``redis-cli`` pointed at ``url`` (its database included), the password masked."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        db = (parse_qs(parts.query).get("db") or ["0"])[0]
        return f"redis-cli -s {shlex.quote(parts.path)} -n {shlex.quote(db)}"
    tls = " --tls" if parts.scheme == "rediss" else ""
    if parts.password is not None and not parts.username:
        # redis-py reads ':password@' as no user; redis-cli sends AUTH "" password, which
        # Redis refuses: name the default user.
        netloc = "default" + parts.netloc[parts.netloc.index(":") :]
        url = parts._replace(netloc=netloc).geturl()
    return f"redis-cli -u {shlex.quote(mask_url(url))}{tls}"


def location_finding(environ: Mapping[str, str]) -> Finding | None:
    """Why svc-infra's queue cannot be read in Redis (in memory, or a URL it refuses); None if it can."""
    from svc_nb.env import resolve_job_queue

    resolved = resolve_job_queue(environ)
    if resolved is None:
        driver = environ.get("JOBS_DRIVER")
        why = "JOBS_DRIVER is unset" if driver is None else f"JOBS_DRIVER={driver!r} is not 'redis'"
        return explain(
            "webhooks.queue", C.IN_MEMORY_QUEUE, EXPLAIN, data={"driver": "memory"}, why=why
        )
    if not resolved.value.startswith(_REDIS_SCHEMES):
        return explain(
            "webhooks.queue",
            C.QUEUE_URL_INVALID,
            EXPLAIN,
            data={"source": resolved.source},
            source=resolved.source,
            url=mask_url(resolved.value),
        )
    return None


def _attempt_note(attempt: Any, attempts: Any) -> str:
    try:
        recorded, made = int(attempt), int(attempts)
    except (TypeError, ValueError):  # None or pandas NA: unknown
        return ""
    return f" (attempt {recorded} of {made}: svc-infra does not record the last one)"


def _dead(jobs: pd.DataFrame, prefix: str, url: str) -> list[Finding]:
    dead = jobs[jobs["state"] == "dlq"]
    if not len(dead):
        return []
    columns = ["job_id", "topic", "url", "attempts_of_max", "last_error"]
    lines = [
        f"job {_short(j)}: {t} -> {u} after {a} attempts, last recorded error "
        f"{e or '(none)'}{_attempt_note(n, m) if e else ''}"
        for (j, t, u, a, e), n, m in zip(
            dead[columns].head(_SHOWN_JOBS).itertuples(index=False, name=None),
            dead["last_error_attempt"].head(_SHOWN_JOBS).astype(object),
            dead["attempts"].head(_SHOWN_JOBS).astype(object),
            strict=True,
        )
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
            cli=redis_cli(url),
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


def _secrets(secrets: SecretReader) -> list[Finding]:
    counts = secrets.counts
    if secrets.key_error is not None:
        return [
            explain(
                "webhooks.queue.secrets", C.BAD_ENCRYPTION_KEY, EXPLAIN, error=secrets.key_error
            )
        ]
    if counts["mismatch"]:
        return [
            explain(
                "webhooks.queue.secrets",
                C.SECRET_KEY_MISMATCH,
                EXPLAIN,
                data=dict(counts),
                count=counts["mismatch"],
            )
        ]
    if counts["no_key"]:
        why = " (install cryptography to decrypt them)" if secrets.unavailable else ""
        return [
            explain(
                "webhooks.queue.secrets",
                C.SECRET_ENCRYPTED,
                EXPLAIN,
                data=dict(counts),
                count=counts["no_key"],
                why=why,
            )
        ]
    if counts["dev_key"]:
        return [
            explain(
                "webhooks.queue.secrets",
                C.DEV_ENCRYPTION_KEY,
                EXPLAIN,
                data=dict(counts),
                count=counts["dev_key"],
            )
        ]
    return []


def snapshot_findings(
    jobs: pd.DataFrame,
    outbox: pd.DataFrame,
    problems: Mapping[str, list[str]],
    url: str,
    prefix: str,
    now: datetime,
    secrets: SecretReader | None = None,
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
            *_dead(jobs, prefix, url),
            *_stuck(jobs, prefix, now),
            *_failing_endpoints(jobs),
            *(_secrets(secrets) if secrets is not None else []),
        ],
        title=TITLE,
    )
