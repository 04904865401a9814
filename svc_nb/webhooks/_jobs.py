"""One svc-infra job hash read into one row, whatever it holds.

Redis data can be anything: a hand-edited field, a half-written job, another
program's keys under the same prefix. Every field is read defensively; what
cannot be read becomes a *problem* naming the field, reported against the
job's id, never an exception.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from svc_nb._redact import mask_url, scrub
from svc_nb.webhooks._secrets_at_rest import SecretReader

__all__ = ["JOB_COLUMNS", "STATES", "job_row", "parse_status"]

STATES = ("ready", "delayed", "processing", "dlq")
JOB_COLUMNS = (
    "job_id",
    "state",
    "topic",
    "url",
    "subscription_id",
    "attempts",
    "max_attempts",
    "attempts_of_max",
    "last_error",
    "last_error_attempt",
    "status_code",
    "next_attempt_at",
    "available_at",
    "visible_at",
    "outbox_id",
    "secret",
    "name",
)
MISSING_HASH = "(hash missing)"

# Times a DataFrame can hold (pandas' nanosecond range, with a margin).
_EARLIEST = datetime(1678, 1, 1, tzinfo=UTC)
_LATEST = datetime(2262, 1, 1, tzinfo=UTC)
_MAX_COUNT = 2**62  # attempts beyond this are corrupt (and would overflow Int64)
_SHOWN = 40  # characters of an unreadable value quoted back

# Each alternative is anchored on a literal and bounded: linear on any error text.
_STATUS_IN_ERROR = re.compile(
    r"failed:\s{0,8}(\d{3})\b|\bHTTP\s{0,8}(\d{3})\b|\bstatus(?:_code)?[=: ]\s{0,8}(\d{3})\b"
)


def parse_status(last_error: str | None) -> int | None:
    """The HTTP status inside svc-infra's ``last_error`` (``webhook delivery failed: 503`` -> 503)."""
    if not last_error:
        return None
    m = _STATUS_IN_ERROR.search(last_error)
    if not m:
        return None
    return int(next(g for g in m.groups() if g))


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)[: _SHOWN * 2]
    text = scrub(text)
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…")


def _parse_time(value: Any) -> datetime | None:
    """An aware datetime from an ISO string or epoch seconds; None when it is no usable time."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            return parsed if _EARLIEST <= parsed <= _LATEST else None
    if not math.isfinite(seconds) or not _EARLIEST.timestamp() <= seconds <= _LATEST.timestamp():
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _time(value: Any, what: str, problems: list[str]) -> datetime | None:
    if value is None or value == "":
        return None
    moment = _parse_time(value)
    if moment is None:
        problems.append(f"{what} {_shown(value)} is not a time (years 1678-2261)")
    return moment


def _count(value: Any, what: str, problems: list[str]) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if not 0 <= number <= _MAX_COUNT:
        problems.append(f"{what} {_shown(value)} is not a whole number of attempts")
        return None
    return number


def _text(value: Any, what: str, problems: list[str]) -> str:
    """A short text field (topic, url, ids): numbers are fine, nested JSON is not."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    problems.append(f"{what} is a JSON {type(value).__name__}, not a string")
    return ""


def _payload(h: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    raw = h.get("payload")
    if not raw:
        return {}
    try:
        payload = json.loads(raw)
    except RecursionError:
        problems.append("payload JSON is nested too deeply to read")
        return {}
    except ValueError:
        problems.append(f"payload {_shown(raw)} is not JSON")
        return {}
    if not isinstance(payload, dict):
        problems.append(f"payload is a JSON {type(payload).__name__}, not an object")
        return {}
    return payload


def _mapping(value: Any, what: str, problems: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{what} is a JSON {type(value).__name__}, not an object")
        return {}
    return value


def _secret(sub: Mapping[str, Any], problems: list[str], secrets: SecretReader) -> str:
    """The subscription secret, masked by its fingerprint (decrypted first when stored enc:v1:)."""
    secret = sub.get("secret")
    if secret is None or secret == "":
        return ""
    if not isinstance(secret, str):
        # Not shown at all: a list or object may still hold the real secret.
        problems.append(f"subscription secret is a JSON {type(secret).__name__}, not a string")
        return "(unreadable)"
    return secrets.show(secret)


def _error_attempt(state: str, attempts: int | None, last_error: str) -> int | None:
    """Which attempt ``last_error`` comes from, by where svc-infra's RedisJobQueue left the job.

    ``fail()`` records the error and moves the job to ``delayed`` (it keeps the
    attempt count; moving to ``ready`` does too); ``reserve_next()`` counts the next
    attempt before it runs (``processing``); the final failure moves the job to
    ``dlq`` without recording its error.
    """
    if not last_error or attempts is None:
        return None
    recorded = attempts - 1 if state in ("processing", "dlq") else attempts
    return recorded if recorded >= 1 else None


def _schedule(
    state: str,
    job_id: str,
    h: Mapping[str, str],
    scores: Mapping[tuple[str, str], float],
    now: datetime,
    problems: list[str],
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(next attempt, available_at, visible_at) for a job in ``state``."""
    available = _time(h.get("available_at"), "available_at", problems)
    visible = _time(h.get("visible_at"), "visible_at", problems)
    if state == "delayed":
        return (
            _time(scores.get(("delayed", job_id)), "delayed score", problems) or available,
            available,
            visible,
        )
    if state == "ready":
        return available or now, available, visible
    if state == "processing":
        deadline = (
            _time(scores.get(("processing", job_id)), "visibility deadline", problems) or visible
        )
        return deadline, available, deadline
    return None, available, visible


def job_row(
    job_id: str,
    state: str,
    h: Mapping[str, str] | None,
    scores: Mapping[tuple[str, str], float],
    now: datetime,
    secrets: SecretReader | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """One job as a row over :data:`JOB_COLUMNS`, and the problems found reading it."""
    problems: list[str] = []
    h = h or {}
    payload = _payload(h, problems)
    inner = _mapping(payload.get("payload"), "payload.payload", problems)
    sub = _mapping(inner.get("subscription"), "subscription", problems)
    name = h.get("name", "")
    topic = _text(payload.get("topic"), "topic", problems) or name.removeprefix("outbox.")
    attempts = _count(h.get("attempts"), "attempts", problems)
    max_attempts = _count(h.get("max_attempts"), "max_attempts", problems)
    nxt, available, visible = _schedule(state, job_id, h, scores, now, problems)
    last_error = scrub(h.get("last_error") or "")
    secret = _secret(sub, problems, secrets or SecretReader(None))
    row = {
        "job_id": job_id,
        "state": state,
        "topic": topic,
        "url": mask_url(_text(sub.get("url"), "subscription url", problems)),
        "subscription_id": _text(sub.get("id"), "subscription id", problems),
        "attempts": attempts,
        "max_attempts": max_attempts,
        "attempts_of_max": f"{'?' if attempts is None else attempts}/{'?' if max_attempts is None else max_attempts}",
        "last_error": last_error,
        "last_error_attempt": _error_attempt(state, attempts, last_error),
        "status_code": parse_status(last_error),
        "next_attempt_at": nxt,
        "available_at": available,
        "visible_at": visible,
        "outbox_id": _text(payload.get("outbox_id"), "outbox_id", problems),
        "secret": secret,
        "name": name if h else MISSING_HASH,
    }
    return row, problems
