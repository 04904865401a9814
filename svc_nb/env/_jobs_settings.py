"""Webhook stores and job timeouts: WEBHOOKS_OUTBOX/INBOX, JOB_DEFAULT_TIMEOUT_SECONDS.

``add_webhooks`` keeps its outbox and inbox in process memory unless
``WEBHOOKS_OUTBOX``/``WEBHOOKS_INBOX`` is ``redis`` (then at ``REDIS_URL``, default
localhost; ``sql`` is a placeholder that falls back to memory). The job worker bounds
each job by ``JOB_DEFAULT_TIMEOUT_SECONDS`` when it is a positive number, and
``RedisJobQueue`` hands a reserved job to another worker after a fixed 60 s
visibility timeout: a delivery that can run longer is delivered twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from svc_nb._explain import Explanation, explain
from svc_nb._fmt import format_duration
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._effective import JOB_VISIBILITY_TIMEOUT_S, outbox_store
from svc_nb.env._explanations import clip, combine, ok, shown_url
from svc_nb.env._read import resolve_job_queue
from svc_nb.env._services import delivery_timeout

__all__ = ["JOB_SETTING_CHECKS", "job_time_bound"]

C = EnvCause
WARN = Status.WARN
_STORES = ("WEBHOOKS_OUTBOX", "WEBHOOKS_INBOX")

EXPLAIN: dict[EnvCause, Explanation] = {
    C.STORE_BACKEND_UNKNOWN: Explanation(
        WARN,
        "{name}={value!r}: svc-infra keeps the {what} in process memory",
        "add_webhooks() uses Redis only for 'redis' (any case); 'sql' is a placeholder that "
        "logs a warning and falls back to memory, anything else silently does.",
        "export {name}=redis   # and REDIS_URL=redis://HOST:6379/0",
    ),
    C.STORE_IN_MEMORY: Explanation(
        WARN,
        "the webhook {what} is in process memory: pending events are lost on restart",
        "{name} is not redis, so each worker has its own {what}; events published by one "
        "process are never delivered by another.",
        "export {name}=redis   # and REDIS_URL=redis://HOST:6379/0",
    ),
    C.JOB_TIMEOUT_INVALID: Explanation(
        WARN,
        "JOB_DEFAULT_TIMEOUT_SECONDS={value!r} is not a positive number: jobs run without a bound",
        "The job worker reads it with float() and ignores a value that fails or is not above 0.",
        "export JOB_DEFAULT_TIMEOUT_SECONDS=50   # below the queue's 60 s visibility timeout",
    ),
    C.DUPLICATE_DELIVERIES: Explanation(
        WARN,
        "a webhook delivery may run {bound}, longer than the job queue's fixed 60 s visibility "
        "timeout: slow receivers get the event twice",
        "RedisJobQueue makes a reserved job visible again after 60 s; a delivery still waiting "
        "on its receiver ({source}) is then reserved and sent by another worker as well.",
        "export WEBHOOK_DELIVERY_TIMEOUT_SECONDS=30   # or JOB_DEFAULT_TIMEOUT_SECONDS=50; "
        "receivers should also de-duplicate on X-Event-Id",
    ),
}


def _float(value: str | None) -> float | None:
    """``float(value)`` as svc-infra's worker reads it; None when unset, empty or invalid."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def job_time_bound(env: Mapping[str, str]) -> tuple[float, str]:
    """(seconds, what sets it): how long one delivery job can run before something stops it."""
    delivery, source = delivery_timeout(dict(env))
    job = _float(env.get("JOB_DEFAULT_TIMEOUT_SECONDS"))
    if job is not None and job > 0 and not (delivery <= job):
        return job, "JOB_DEFAULT_TIMEOUT_SECONDS"
    label = "svc-infra's 10 s default" if source == "(default)" else source
    return delivery, label


def _store_problems(env: Mapping[str, str], prod_like: bool) -> list[Finding]:
    problems = []
    for name in _STORES:
        what = "outbox" if name.endswith("OUTBOX") else "inbox"
        raw = env.get(name)
        backend, _url = outbox_store(env, name)
        if raw and backend == "memory" and raw.lower() != "memory":
            problems.append(
                explain(
                    "env.webhook_stores",
                    C.STORE_BACKEND_UNKNOWN,
                    EXPLAIN,
                    name=name,
                    value=clip(raw, 40),
                    what=what,
                )
            )
        elif backend == "memory" and prod_like and what == "outbox":
            problems.append(
                explain("env.webhook_stores", C.STORE_IN_MEMORY, EXPLAIN, name=name, what=what)
            )
    return problems


def _check_webhook_stores(env: dict[str, str], prod_like: bool) -> Finding | None:
    if not any(env.get(n) for n in _STORES) and not prod_like:
        return None
    stores = {name: outbox_store(env, name) for name in _STORES}
    lines = [
        f"{name}: {backend}" + (f" at {shown_url(url)}" if url else "")
        for name, (backend, url) in stores.items()
    ]
    summary = "webhook outbox " + stores["WEBHOOKS_OUTBOX"][0]
    data = {n.lower(): backend for n, (backend, _) in stores.items()}
    problems = _store_problems(env, prod_like)
    if not problems:
        return ok("env.webhook_stores", summary, "\n".join(lines), **data)
    return combine("env.webhook_stores", summary, problems, **data)


def _check_job_timeouts(env: dict[str, str], prod_like: bool) -> Finding | None:
    raw = env.get("JOB_DEFAULT_TIMEOUT_SECONDS")
    problems = []
    if raw:
        job = _float(raw)
        if job is None or not job > 0:
            problems.append(
                explain("env.job_timeouts", C.JOB_TIMEOUT_INVALID, EXPLAIN, value=clip(raw, 40))
            )
    bound, source = job_time_bound(env)
    redis_queue = resolve_job_queue(env) is not None
    if redis_queue and not bound <= JOB_VISIBILITY_TIMEOUT_S:
        shown = (
            "without limit"
            if math.isinf(bound) or math.isnan(bound)
            else f"up to {format_duration(bound)}"
        )
        problems.append(
            explain("env.job_timeouts", C.DUPLICATE_DELIVERIES, EXPLAIN, bound=shown, source=source)
        )
    if not raw and not problems:
        return None
    data = {"bound_s": bound if math.isfinite(bound) else None, "bound_source": source}
    summary = (
        f"a delivery job runs at most {format_duration(bound)} ({source})"
        if math.isfinite(bound)
        else "delivery jobs are not bounded"
    )
    if not problems:
        return ok("env.job_timeouts", summary, "", **data)
    return combine("env.job_timeouts", summary, problems, **data)


JOB_SETTING_CHECKS = [
    ("env.webhook_stores", _check_webhook_stores),
    ("env.job_timeouts", _check_job_timeouts),
]
