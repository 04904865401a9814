"""Where jobs queue, how long deliveries may take, and which origins CORS lets in."""

from __future__ import annotations

import math
import re
import urllib.parse
from typing import Any

from svc_nb._fmt import format_duration
from svc_nb._report import Finding
from svc_nb.env._causes import EnvCause
from svc_nb.env._cors_rules import CORS_ENTRY_POINTS, bool_word, cors_settings, origin_words
from svc_nb.env._explanations import clip, combine, finding, ok, shown_url
from svc_nb.env._read import JOB_QUEUE_REDIS_VARS, resolve_job_queue

__all__ = ["SERVICE_CHECKS", "delivery_timeout"]

C = EnvCause
# Starlette compiles the regex at start-up; a real one is a line. Compiling a
# megabyte of pattern takes seconds, so longer ones are reported, not compiled.
_MAX_REGEX_CHARS = 10_000
_MAX_LISTED = 10
_DEFAULT_HTTP_TIMEOUT_S = 10.0  # svc_infra.http.get_default_timeout_seconds()
_COORDINATION = frozenset({"auto", "off", "none", "redis"})


# -- job queue ----------------------------------------------------------------------


def _jobs_settings(env: dict[str, str]) -> list[Finding]:
    """JOBS_SCHEDULER_* values svc-infra's JobsConfig/easy_jobs() refuse (int(), a fixed set)."""
    problems: list[Finding] = []
    lease = env.get("JOBS_SCHEDULER_LEASE_SECONDS")
    if lease is not None:
        try:
            int(lease)  # svc-infra calls int() on it: Python's rule, not pydantic's
        except ValueError:
            problems.append(
                finding(
                    "env.job_queue",
                    C.JOBS_SETTING_INVALID,
                    name="JOBS_SCHEDULER_LEASE_SECONDS",
                    value=clip(lease, 40),
                    why="JobsConfig reads it with int(): invalid literal for int().",
                    fix="export JOBS_SCHEDULER_LEASE_SECONDS=180  # seconds, svc-infra's default",
                )
            )
    mode = env.get("JOBS_SCHEDULER_COORDINATION")
    if mode is not None and mode.lower() not in _COORDINATION:
        problems.append(
            finding(
                "env.job_queue",
                C.JOBS_SETTING_INVALID,
                name="JOBS_SCHEDULER_COORDINATION",
                value=clip(mode, 40),
                why="easy_jobs(): 'scheduler_coordination must be one of: auto, redis, off, none'.",
                fix="export JOBS_SCHEDULER_COORDINATION=auto",
            )
        )
    return problems


def _check_job_queue(env: dict[str, str], prod_like: bool) -> Finding:
    """Where svc-infra's job queue (webhook deliveries) lives: the resolver the webhooks section uses."""
    resolved = resolve_job_queue(env)
    driver = env.get("JOBS_DRIVER", "")
    problems = _jobs_settings(env)
    if resolved is None:
        if driver and driver.lower() != "memory":
            problems.insert(
                0, finding("env.job_queue", C.JOBS_DRIVER_UNKNOWN, value=clip(driver, 40))
            )
        elif prod_like:
            problems.insert(0, finding("env.job_queue", C.JOB_QUEUE_IN_MEMORY))
        summary = "job queue in process memory (JOBS_DRIVER is not redis)"
        if not problems:
            return ok(
                "env.job_queue",
                summary,
                "Webhook deliveries and their retries live in this process: lost on restart, "
                "not shared between workers.",
                driver="memory",
                url=None,
            )
        return combine("env.job_queue", summary, problems, driver="memory", url=None)
    url = shown_url(resolved.value)
    data = {"driver": "redis", "source": resolved.source, "url": url}
    if resolved.source == "(default)":
        names = ", ".join(JOB_QUEUE_REDIS_VARS)
        problems.insert(0, finding("env.job_queue", C.JOB_QUEUE_URL_DEFAULT, url=url, names=names))
    elif not resolved.value.startswith(("redis://", "rediss://", "unix://")):
        problems.insert(
            0, finding("env.job_queue", C.JOB_QUEUE_URL_INVALID, source=resolved.source, url=url)
        )
    summary = f"job queue in Redis from {resolved.source}: {url}"
    if not problems:
        detail = "Webhook deliveries wait in jobs:ready / jobs:delayed there; svc_nb.webhooks.queue_snapshot() reads them."
        return ok("env.job_queue", summary, detail, **data)
    return combine("env.job_queue", summary, problems, **data)


# -- webhook delivery timeout -------------------------------------------------------


def _float_env(env: dict[str, str], name: str) -> tuple[str | None, float | None]:
    """(raw, float) as svc-infra reads it: unset or empty -> (raw, None); ValueError -> (raw, None)."""
    raw = env.get(name)
    if not raw:
        return raw, None
    try:
        return raw, float(raw)
    except ValueError:
        return raw, None


def delivery_timeout(env: dict[str, str]) -> tuple[float, str]:
    """(seconds, source) svc-infra's webhook delivery job passes to httpx, as it computes them."""
    _, own = _float_env(env, "WEBHOOK_DELIVERY_TIMEOUT_SECONDS")
    if own is not None:
        return own, "WEBHOOK_DELIVERY_TIMEOUT_SECONDS"
    _, http = _float_env(env, "HTTP_CLIENT_TIMEOUT_SECONDS")
    if http is not None:
        return http, "HTTP_CLIENT_TIMEOUT_SECONDS"
    return _DEFAULT_HTTP_TIMEOUT_S, "(default)"


def _timeout_problem(seconds: float, source: str, value: str) -> Finding | None:
    """A timeout with which svc-infra cannot deliver (0, negative, NaN) or never gives up (inf)."""
    check = "env.webhook_timeout"
    if math.isnan(seconds):
        how = "httpx refuses NaN: ValueError"
        return finding(check, C.WEBHOOK_TIMEOUT_UNUSABLE, source=source, value=value, how=how)
    if seconds <= 0:
        how = "each one times out before it connects: httpx ConnectTimeout"
        return finding(check, C.WEBHOOK_TIMEOUT_UNUSABLE, source=source, value=value, how=how)
    if math.isinf(seconds):
        return finding(check, C.WEBHOOK_TIMEOUT_UNBOUNDED, source=source, value=value)
    return None


def _check_webhook_timeout(env: dict[str, str], prod_like: bool) -> Finding | None:
    names = ("WEBHOOK_DELIVERY_TIMEOUT_SECONDS", "HTTP_CLIENT_TIMEOUT_SECONDS")
    if not any(env.get(n) for n in names):
        return None
    seconds, source = delivery_timeout(env)
    shown = "svc-infra's 10 s default" if source == "(default)" else f"{source}={env[source]!r}"
    problems: list[Finding] = []
    unusable = _timeout_problem(seconds, source, clip(env.get(source, ""), 40))
    if unusable is not None:
        problems.append(unusable)
    for name in names:
        raw, number = _float_env(env, name)
        if raw and number is None:
            problems.append(
                finding(
                    "env.webhook_timeout",
                    C.WEBHOOK_TIMEOUT_IGNORED,
                    name=name,
                    value=clip(raw, 40),
                    effective=f"deliveries use {shown}" if name != source else "",
                )
            )
    data: dict[str, Any] = {
        "timeout_s": seconds if math.isfinite(seconds) else None,
        "source": source,
    }
    if not problems:
        summary = f"webhook deliveries time out after {format_duration(seconds)} ({source})"
        return ok("env.webhook_timeout", summary, **data)
    return combine("env.webhook_timeout", "webhook delivery timeout", problems, **data)


# -- CORS ---------------------------------------------------------------------------


_ORIGIN_FORM = "Write each origin as scheme://host[:port], e.g. http://localhost:3000"


def _origin_problem(origin: str, credentials: bool) -> tuple[EnvCause, dict[str, Any]] | None:
    """What is wrong with one origin (cheap: findings are built only for the ones shown)."""
    shown = clip(origin, 60)
    if origin == "*":
        return (C.CORS_WILDCARD_CREDENTIALS, {}) if credentials else None
    if not origin.startswith(("http://", "https://")):  # cheap before urlsplit
        return C.CORS_ORIGIN_INVALID, {
            "problem": f"{shown!r} is not an origin (scheme://host[:port])",
            "fix": _ORIGIN_FORM,
        }
    try:
        parts = urllib.parse.urlsplit(origin)
        netloc = parts.netloc
    except ValueError as exc:
        return C.CORS_ORIGIN_INVALID, {
            "problem": f"{shown!r} is not a valid origin ({clip(str(exc), 60)})",
            "fix": _ORIGIN_FORM,
        }
    if parts.scheme not in ("http", "https") or not netloc:
        return C.CORS_ORIGIN_INVALID, {
            "problem": f"{shown!r} is not an origin (scheme://host[:port])",
            "fix": _ORIGIN_FORM,
        }
    if parts.path or parts.query or parts.fragment:
        problem = f"{shown!r} has a path or trailing slash; a browser's Origin header never does, so it never matches"
        return C.CORS_ORIGIN_INVALID, {
            "problem": problem,
            "fix": f"Use {clip(parts.scheme + '://' + netloc, 60)}",
        }
    return None


def _bad_origins(origins: list[str], credentials: bool) -> list[tuple[EnvCause, dict[str, Any]]]:
    """The first few problem origins (a pasted megabyte of them is not listed in full)."""
    bad: list[tuple[EnvCause, dict[str, Any]]] = []
    seen: set[EnvCause] = set()
    for origin in origins:
        problem = _origin_problem(origin, credentials)
        if problem is None or (problem[0] is C.CORS_WILDCARD_CREDENTIALS and problem[0] in seen):
            continue
        seen.add(problem[0])
        bad.append(problem)
        if len(bad) >= _MAX_LISTED:
            break
    return bad


def _regex_problem(regex: str) -> Finding | None:
    if len(regex) > _MAX_REGEX_CHARS:
        return finding(
            "env.cors",
            C.VALUE_TOO_LONG,
            name="CORS_ALLOW_ORIGIN_REGEX",
            length=len(regex),
            what="origin regex",
            example=", e.g. https://.*\\.example\\.com",
        )
    try:
        re.compile(regex)
    except (re.error, OverflowError, RecursionError, ValueError, MemoryError) as exc:
        error = clip(f"{type(exc).__name__}: {exc}", 80)
        return finding("env.cors", C.CORS_REGEX_INVALID, error=error)
    return None


# Knobs add_security reads and easy_service_app ignores.
_ADD_SECURITY_ONLY = (
    "CORS_ALLOW_CREDENTIALS",
    "CORS_ALLOW_ORIGIN_REGEX",
    "CORS_ALLOW_METHODS",
    "CORS_ALLOW_HEADERS",
)


def _cors_without_origins(env: dict[str, str]) -> Finding:
    if env.get("CORS_ORIGINS", "").strip():
        return finding(
            "env.cors",
            C.GUIDE_NAME_IGNORED,
            summary="CORS_ORIGINS is set but svc-infra's CORS reads CORS_ALLOW_ORIGINS",
            why="Only the OAuth redirect allow-list falls back to CORS_ORIGINS; without "
            "CORS_ALLOW_ORIGINS (or cors_origins= in code) neither add_security nor "
            "easy_service_app installs a CORS middleware and browsers block cross-origin calls.",
            fix='export CORS_ALLOW_ORIGINS="$CORS_ORIGINS"',
        )
    if env.get("CORS_ALLOW_ORIGIN_REGEX"):
        return finding("env.cors", C.CORS_REGEX_IGNORED)
    return finding("env.cors", C.CORS_NOT_CONFIGURED)


def _entry_point_lines(env: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    """One line per entry point: what its CORSMiddleware allows with this environment."""
    lines: list[str] = []
    settings = {entry: cors_settings(env, entry) for entry in CORS_ENTRY_POINTS}
    for entry, kwargs in settings.items():
        if kwargs is None:
            continue
        allowed = kwargs["allow_origins"] or []
        regex = kwargs["allow_origin_regex"]
        parts = [f"origins {', '.join(clip(o, 60) for o in allowed[:5])}" if allowed else ""]
        parts.append(f"regex {clip(regex, 80)}" if regex else "")
        parts.append(f"credentials {'on' if kwargs['allow_credentials'] else 'off'}")
        lines.append(f"{entry}: " + "; ".join(p for p in parts if p))
    ignored = [n for n in _ADD_SECURITY_ONLY if env.get(n) is not None]
    if ignored:
        lines.append(
            f"easy_service_app ignores {', '.join(ignored)} (it reads only CORS_ALLOW_ORIGINS "
            "and always allows credentials)."
        )
    return lines, settings


def _wildcard_patterns(origins: list[str]) -> Finding | None:
    patterns = [o for o in origins if "*" in o and o != "*"]
    if not patterns:
        return None
    return finding(
        "env.cors",
        C.CORS_WILDCARD_PATTERN,
        origin=clip(patterns[0], 60),
        more=f" (+{len(patterns) - 1} more)" if len(patterns) > 1 else "",
        data={"patterns": [clip(p, 200) for p in patterns[:_MAX_LISTED]]},
    )


def _check_cors(env: dict[str, str], prod_like: bool) -> Finding:
    """CORS per entry point: add_security and easy_service_app read the same variables differently."""
    origins = origin_words(env.get("CORS_ALLOW_ORIGINS"))
    if not origins:
        return _cors_without_origins(env)
    problems: list[Finding] = []
    raw_cred = env.get("CORS_ALLOW_CREDENTIALS")
    if raw_cred is not None and bool_word(raw_cred) is None:
        problems.append(finding("env.cors", C.CORS_CREDENTIALS_NOT_BOOL, value=clip(raw_cred, 40)))
    # easy_service_app always allows credentials: judge origins as the laxer entry point does.
    problems.extend(
        finding("env.cors", cause, **fields) for cause, fields in _bad_origins(origins, True)
    )
    wildcard = _wildcard_patterns(origins)
    if wildcard is not None:
        problems.append(wildcard)
    regex = env.get("CORS_ALLOW_ORIGIN_REGEX")
    if regex:
        regex_problem = _regex_problem(regex)
        if regex_problem is not None:
            problems.append(regex_problem)
    lines, settings = _entry_point_lines(env)
    listed = ", ".join(clip(o, 60) for o in origins[:_MAX_LISTED]) + (
        f" (+{len(origins) - _MAX_LISTED} more)" if len(origins) > _MAX_LISTED else ""
    )
    credentials = bool(settings["add_security"] and settings["add_security"]["allow_credentials"])
    summary = (
        f"CORS origins: {listed} (credentials {'on' if credentials else 'off'} with add_security, "
        "always on with easy_service_app)"
    )
    data: dict[str, Any] = {
        "origins": [clip(o, 200) for o in origins[:100]],
        "credentials": credentials,
        "entry_points": settings,
    }
    if not problems:
        return ok("env.cors", summary, "\n".join(lines), **data)
    found = combine("env.cors", summary, problems, **data)
    return Finding(
        check=found.check,
        status=found.status,
        summary=found.summary,
        detail="\n".join([found.detail, *lines]),
        fix=found.fix,
        data=found.data,
        cause=found.cause,
    )


SERVICE_CHECKS = [
    ("env.job_queue", _check_job_queue),
    ("env.webhook_timeout", _check_webhook_timeout),
    ("env.cors", _check_cors),
]
