"""check_env: what svc-infra will read, validated without network I/O.

Each stage is guarded on its own: a value that trips a bug in one check
becomes that check's finding, and every other check still reports.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._report import Finding, Report, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._db_settings import runtime_url_problem
from svc_nb.env._dotenv import EnvFileError, read_env_file
from svc_nb.env._explanations import clip, finding, ok, shown_url
from svc_nb.env._read import (
    DATABASE_URL_VARS,
    DEFAULT_SECRETS_FILE,
    ENV_SYNONYMS,
    Odd,
    app_environment,
    file_problem,
    register_env_secrets,
    resolve_cache_url,
    resolve_database_url,
    text_environ,
)
from svc_nb.env._services import SERVICE_CHECKS

__all__ = ["MAX_URL_CHARS", "check_env"]

C = EnvCause
# A database or Redis URL is a few hundred characters; past this it is not one.
MAX_URL_CHARS = 2048
_URL_EXAMPLES = {
    "db": ": postgresql+asyncpg://USER:PASSWORD@HOST:5432/DB",
    "cache": ": redis://HOST:6379/0",
}

Check = Callable[[dict[str, str], bool], Iterable[Finding] | Finding | None]


# -- values and the .env file -------------------------------------------------------


def _odd_findings(odd: list[Odd]) -> list[Finding]:
    findings: list[Finding] = []
    bare = [o.name for o in odd if o.kind == "none"]
    if bare:
        findings.append(
            finding("env.bare_keys", C.BARE_KEY, names=", ".join(bare[:5]), data={"names": bare})
        )
    other = [o for o in odd if o.kind != "none"]
    if other:
        dropped = [o.name for o in other if o.kind == "dropped"]
        findings.append(
            finding(
                "env.value_types",
                C.NOT_TEXT,
                names=", ".join(o.name for o in other[:5])
                + (f" (+{len(other) - 5} more)" if len(other) > 5 else ""),
                types=", ".join(sorted({o.type_name for o in other})),
                dropped=f": {', '.join(dropped[:5])}" if dropped else "",
                data={"names": [o.name for o in other], "dropped": dropped},
            )
        )
    return findings


_FILE_CAUSES = {
    "missing": C.ENV_FILE_MISSING,
    "unreadable": C.ENV_FILE_UNREADABLE,
    "not_utf8": C.ENV_FILE_NOT_UTF8,
}


def _merge_env_file(env: dict[str, str], path: str | os.PathLike[str]) -> Finding:
    """Fill ``env`` from a .env file where it has no value; the finding says what happened."""
    try:
        values = read_env_file(path)
    except EnvFileError as exc:
        return finding("env.env_file", _FILE_CAUSES[exc.reason], message=str(exc))
    added = [k for k in values if k not in env]
    for key in added:
        env[key] = values[key]
    overridden = len(values) - len(added)
    note = f" ({overridden} already set in the environment, which wins)" if overridden else ""
    return ok("env.env_file", f"read {len(values)} variable(s) from {path}{note}", path=str(path))


# -- environment name ---------------------------------------------------------------


def _check_app_env(env: dict[str, str], prod_like: bool) -> Finding:
    raw, normalised, _ = app_environment(env)
    source = "APP_ENV" if env.get("APP_ENV") else "RAILWAY_ENVIRONMENT_NAME" if raw else "(default)"
    data: dict[str, Any] = {"source": source, "environment": normalised, "prod_like": prod_like}
    if raw and raw.strip().casefold() not in ENV_SYNONYMS:
        return finding(
            "env.app_env", C.UNKNOWN_APP_ENV, source=source, raw=clip(raw, 40), data=data
        )
    kind = (
        "production-like: missing secrets stop start-up"
        if prod_like
        else "development: missing secrets fall back to public dev defaults"
    )
    return ok("env.app_env", f"environment {normalised!r} from {source} ({kind})", **data)


# -- URLs ---------------------------------------------------------------------------


def _too_long(check: str, name: str, value: str, kind: str) -> Finding | None:
    if len(value) <= MAX_URL_CHARS:
        return None
    return finding(
        check,
        C.VALUE_TOO_LONG,
        name=name,
        length=len(value),
        what="database URL" if kind == "db" else "Redis URL",
        example=_URL_EXAMPLES[kind],
        data={"source": name, "length": len(value)},
    )


def _url_validation(kind: str, url: str) -> Report | None:
    """db.parse_url / cache.parse_url (they do no I/O), when that section is installed."""
    try:
        module = importlib.import_module(f"svc_nb.{kind}")
    except ModuleNotFoundError as exc:
        if exc.name != f"svc_nb.{kind}":
            raise
        return None
    parse = getattr(module, "parse_url", None)
    result = parse(url) if callable(parse) else None
    return result if isinstance(result, Report) else None


def _merge_validation(found: Finding, report: Report | None) -> Finding:
    """Fold a URL parser's warnings/failures into the env finding (same check id, one row)."""
    bad = [f for f in report or () if f.status in (Status.WARN, Status.FAIL)]
    if not bad:
        return found
    worst = max([found.status, *(f.status for f in bad)], key=lambda s: s.rank)
    # The parser's roll-up row ("2 problems…", "see below") adds nothing here: keep the specifics.
    specific = [f for f in bad if f.check.count(".") >= 2] or bad
    first = next((f for f in specific if f.status is worst), specific[0])
    cause = (
        found.cause if found.status is worst and found.cause else first.cause or C.URL_INVALID.value
    )
    fixes = [f.fix for f in specific if f.fix and "below" not in f.fix]
    return Finding(
        check=found.check,
        status=worst,
        summary=f"{found.summary}; the URL has problems: {specific[0].summary}",
        detail="\n".join(
            filter(None, [found.detail, *(f"{f.check}: {f.summary}" for f in specific)])
        ),
        fix="\n".join(dict.fromkeys(filter(None, [*fixes, found.fix]))),
        data={**found.data, "url_checks": [f.check for f in bad]},
        cause=cause,
    )


def _check_database_url(env: dict[str, str], prod_like: bool) -> Finding:
    runtime = resolve_database_url(env, runtime_only=True)
    helper = resolve_database_url(env)
    if helper is None:
        return finding("env.database_url", C.NO_DATABASE_URL, secrets_file=DEFAULT_SECRETS_FILE)
    too_long = _too_long("env.database_url", helper.source, helper.value, "db")
    if too_long is not None:
        return too_long
    masked = shown_url(helper.value)
    data = {"source": helper.source, "url": masked}
    if runtime is None:
        found = finding(
            "env.database_url",
            C.SQL_URL_MISSING,
            source=helper.source,
            url=masked,
            variable=helper.source.removesuffix("_FILE"),
            data={**data, "runtime_source": None},
        )
    else:
        notes = [f"SQL_URL = {masked} (the runtime and the CLI both use it)"]
        others = [n for n in DATABASE_URL_VARS[1:] if env.get(n, "").strip()]
        if others:
            notes.append(f"Also set but not used: {', '.join(others)}.")
        if env.get("SQL_URL", "").strip().startswith("postgres://"):
            notes.append(
                "postgres:// is rewritten to postgresql:// by svc-infra (runtime and CLI): it works."
            )
        found = ok(
            "env.database_url",
            f"database URL from SQL_URL: {masked}",
            "\n".join(notes),
            **data,
            runtime_source="SQL_URL",
        )
    merged = _merge_validation(found, _url_validation("db", helper.value))
    rejected = runtime_url_problem(env)
    if rejected is None:
        return merged
    # What the running app does with the URL outranks what a parser thinks of it.
    return Finding(
        check="env.database_url",
        status=rejected.status,
        summary=rejected.summary,
        detail="\n".join(filter(None, [rejected.detail, merged.summary, merged.detail])),
        fix=rejected.fix,
        data={**merged.data, **rejected.data},
        cause=rejected.cause,
    )


_FILE_PROBLEM_CAUSES = {"does not exist": C.SECRET_FILE_MISSING, "is empty": C.SECRET_FILE_EMPTY}


def _check_files(env: dict[str, str], prod_like: bool) -> Finding | None:
    """``*_FILE`` variables of the database-URL chain that point nowhere."""
    resolved = resolve_database_url(env)
    order = [x for name in DATABASE_URL_VARS for x in (name, f"{name}_FILE")]
    used_at = order.index(resolved.source) if resolved and resolved.source in order else len(order)
    broken: list[tuple[str, str, bool]] = []  # (name, problem, does it matter?)
    for position, name in enumerate(order):
        path = env.get(name, "").strip() if name.endswith("_FILE") else ""
        problem = file_problem(path)[0] if path else ""
        if problem:
            # It matters when the chain fell past it (to a later source, or to nothing).
            broken.append((name, problem, position < used_at))
    if not broken:
        return None
    matters = any(m for *_, m in broken)
    lines = [f"{name}={shown_url(env[name].strip(), 100)} {problem}" for name, problem, _ in broken]
    fell = f"svc-infra fell through to {resolved.source}" if resolved else "no database URL is left"
    after = (
        f"svc-infra skips such a file silently: {fell}."
        if matters
        else "A variable earlier in the chain is set, so this file is not used today."
    )
    name, problem, _ = broken[0]
    return finding(
        "env.files",
        _FILE_PROBLEM_CAUSES.get(problem, C.SECRET_FILE_UNREADABLE),
        status=None if matters else Status.WARN,
        name=name,
        problem=problem,
        more=f" (+{len(broken) - 1} more)" if len(broken) > 1 else "",
        lines="\n".join(lines),
        after=after,
        names=", ".join(n for n, *_ in broken),
        data={"files": [n for n, *_ in broken]},
    )


def _check_cache_url(env: dict[str, str], prod_like: bool) -> Finding:
    resolved = resolve_cache_url(env)
    if resolved.value == "mem://":
        data = {"source": "(default)", "url": "mem://"}
        if prod_like:
            return finding("env.cache_url", C.CACHE_IN_MEMORY, data=data)
        return ok(
            "env.cache_url",
            "no CACHE_URL or REDIS_URL: svc-infra's cache is in-process memory (mem://)",
            **data,
        )
    too_long = _too_long("env.cache_url", resolved.source, resolved.value, "cache")
    if too_long is not None:
        return too_long
    masked = shown_url(resolved.value)
    detail = [f"{resolved.source} = {masked}"]
    redis_url = env.get("REDIS_URL", "").strip()
    if resolved.source == "CACHE_URL" and redis_url and redis_url != resolved.value:
        detail.append(
            f"REDIS_URL = {shown_url(redis_url)} differs: the cache uses CACHE_URL; the job queue "
            "(webhook deliveries) does not (see env.job_queue)."
        )
    found = ok(
        "env.cache_url",
        f"cache URL from {resolved.source}: {masked}",
        "\n".join(detail),
        source=resolved.source,
        url=masked,
    )
    return _merge_validation(found, _url_validation("cache", resolved.value))


# -- orchestration ------------------------------------------------------------------


def _checks() -> list[tuple[str, Check]]:
    # Imported on first use: the secret checks need svc_nb.tokens (PyJWT), and the
    # sections that import svc_nb.env for its resolvers should not pay for that.
    from svc_nb.env._app_settings import APP_SETTING_CHECKS
    from svc_nb.env._db_settings import DB_SETTING_CHECKS
    from svc_nb.env._dev_secrets import DEV_SECRET_CHECKS
    from svc_nb.env._jobs_settings import JOB_SETTING_CHECKS
    from svc_nb.env._oauth_settings import OAUTH_SETTING_CHECKS
    from svc_nb.env._secrets import SECRET_CHECKS

    return [
        ("env.app_env", _check_app_env),
        ("env.database_url", _check_database_url),
        ("env.files", _check_files),
        *DB_SETTING_CHECKS,
        ("env.cache_url", _check_cache_url),
        *SECRET_CHECKS,
        *SERVICE_CHECKS,
        *JOB_SETTING_CHECKS,
        *OAUTH_SETTING_CHECKS,
        *DEV_SECRET_CHECKS,
        *APP_SETTING_CHECKS,
    ]


def _guarded(check_id: str, check: Check, env: dict[str, str], prod_like: bool) -> list[Finding]:
    try:
        result = check(env, prod_like)
    except Exception as exc:  # one check's bug must not hide the others
        return [
            finding(
                check_id,
                C.CHECK_CRASHED,
                check_id=check_id,
                exception_type=type(exc).__name__,
                data={"exception_type": type(exc).__name__},
            )
        ]
    if result is None:
        return []
    return [result] if isinstance(result, Finding) else list(result)


def check_env(
    environ: Mapping[str, Any] | None = None, *, env_file: str | os.PathLike[str] | None = None
) -> Report:
    """Which variables svc-infra will actually use, masked and validated (no network I/O).

    ``environ`` defaults to ``os.environ``; it may come straight from
    ``dotenv_values()`` (``None`` for a bare name) and may hold numbers or bytes:
    each oddity is a finding, never an exception. ``env_file`` adds a ``.env``
    file's values for names the environment does not set (as svc-infra's dotenv
    loading does), without changing ``os.environ``.
    """
    if environ is not None and not isinstance(environ, Mapping):
        raise ArgumentTypeError(
            f"check_env() takes a mapping of variables (like os.environ or dotenv_values('.env')), "
            f"got {type(environ).__name__}"
        )
    env, odd = text_environ(environ)
    findings: list[Finding] = []
    if env_file is not None:
        findings.append(_merge_env_file(env, env_file))
    findings.extend(_odd_findings(odd))
    register_env_secrets(env)
    _, _, prod_like = app_environment(env)
    for check_id, check in _checks():
        findings.extend(_guarded(check_id, check, env, prod_like))
    return Report(findings, title="svc-infra environment")
