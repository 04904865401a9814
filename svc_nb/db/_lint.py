"""Lints over a parsed URL: what libpq, asyncpg, SQLAlchemy and svc-infra will make of it."""

from __future__ import annotations

import urllib.parse
from typing import Any

from svc_nb._explain import explain
from svc_nb._report import Finding, Status
from svc_nb.db._causes import DbCause
from svc_nb.db._model import (
    ASYNCPG_CONNECT_KWARGS,
    COERCED_DRIVERS,
    KNOWN_DRIVERS,
    LIBPQ_PARAMS,
    SSL_MODES,
    Parsed,
    clip,
)
from svc_nb.db._text import BREAKING, bad_percent, shape, suggest
from svc_nb.db._url_explain import URL_EXPLAIN

__all__ = ["check_userinfo", "lint", "note"]

C = DbCause
# How many offending names a summary lists before "and N more".
_LISTED = 10
_BOOLEAN_WORDS = frozenset({"true", "false", "1", "0", "on", "off", "yes", "no"})
# libpq parameters asyncpg takes in another form, so they are not "libpq-only" for it.
_ASYNCPG_TRANSLATES = frozenset({"sslmode", "dbname", "application_name", "options"})


def note(
    p: Parsed,
    cause: DbCause,
    check: str,
    *,
    data: dict[str, Any] | None = None,
    status: Status | None = None,
    **fields: Any,
) -> None:
    """Add the finding for a URL problem, its text from :data:`URL_EXPLAIN`."""
    p.findings.append(explain(check, cause, URL_EXPLAIN, data=data, status=status, **fields))


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def lint(p: Parsed, *, named_host: bool) -> None:
    """Every lint after the URL is taken apart, in the order a reader fixes them."""
    check_target(p, named_host=named_host)
    check_driver(p)
    check_ssl(p)
    check_params(p)


def check_userinfo(p: Parsed, user_raw: str, pw_raw: str | None) -> None:
    """Characters in the user name or password that must be percent-encoded."""
    for cause, raw in ((C.USER_NOT_ENCODED, user_raw), (C.PASSWORD_NOT_ENCODED, pw_raw)):
        if raw is None:
            continue
        breaking = sorted(set(raw) & BREAKING.keys())
        stray_percent = bad_percent(raw)
        if not breaking and not stray_percent:
            continue
        chars = [f"'{c}' → {BREAKING[c]}" for c in breaking]
        if stray_percent:
            chars.append("'%' → %25")
        # Shown without a scheme:// head so it reads as a shape, not as a URL to mask.
        if cause is C.PASSWORD_NOT_ENCODED:
            shown = clip(shape(raw), 200)
        else:
            shown = clip(urllib.parse.quote(p.user or "", safe=""), 200)
        check = "db.url.password" if cause is C.PASSWORD_NOT_ENCODED else "db.url.user"
        data = {"characters": breaking + (["%"] if stray_percent else [])}
        note(p, cause, check, chars=", ".join(chars), shape=shown, data=data)


def check_target(p: Parsed, *, named_host: bool) -> None:
    """No host, libpq comma hosts under SQLAlchemy, no database."""
    if not p.hosts and not named_host:
        note(p, C.NO_HOST, "db.url.host")
    elif len(p.hosts) > 1 and p.driver is not None and "host" not in p.params:
        note(p, C.COMMA_HOSTS, "db.url.host", count=len(p.hosts))
    if not p.database:
        note(p, C.NO_DATABASE, "db.url.database", who=clip(p.user or "the operating-system user"))


def check_driver(p: Parsed) -> None:
    """postgres://, and the +driver compared with what svc-infra's runtime runs."""
    if p.scheme == "postgres":
        note(p, C.POSTGRES_SCHEME, "db.url.scheme")
    driver = p.driver
    if driver == "asyncpg":
        return
    if driver is None:
        p.findings.append(
            Finding(
                "db.url.driver",
                Status.OK,
                "no +driver: svc-infra's runtime uses postgresql+asyncpg anyway",
                "add_sql_db coerces postgresql:// (and +psycopg/+psycopg2) to +asyncpg. Your own "
                "create_async_engine with this URL fails: 'The asyncio extension requires an "
                "async driver to be used. The loaded 'psycopg2' is not async.'",
                "For your own async engines write postgresql+asyncpg://…",
            )
        )
    elif driver in COERCED_DRIVERS:
        p.findings.append(
            Finding(
                "db.url.driver",
                Status.OK,
                f"+{driver} is a sync driver; svc-infra's runtime rewrites it to +asyncpg",
                "add_sql_db coerces +psycopg/+psycopg2 to +asyncpg, so query parameters must suit "
                "asyncpg.",
                "Write postgresql+asyncpg://… so the URL says what runs.",
            )
        )
    elif driver in KNOWN_DRIVERS:
        note(p, C.DRIVER_NOT_ASYNCPG, "db.url.driver", driver=driver)
    else:
        close = suggest(driver, KNOWN_DRIVERS)
        hint = f" (did you mean +{close}?)" if close else ""
        note(p, C.UNKNOWN_DRIVER, "db.url.driver", driver=clip(driver), hint=hint)


def check_ssl(p: Parsed) -> None:
    """ssl=/sslmode= values, and which spelling reaches which driver."""
    sslmode, ssl_value = p.params.get("sslmode"), p.params.get("ssl")
    for key, value in (("sslmode", sslmode), ("ssl", ssl_value)):
        if value is not None and value.lower() not in SSL_MODES:
            p.fatal = True
            word = value.lower()
            extra = (
                " asyncpg's ssl= takes an sslmode word, not true/false."
                if word in _BOOLEAN_WORDS
                else ""
            )
            note(
                p,
                C.BAD_SSL_MODE,
                "db.url.ssl",
                key=key,
                value=clip(value),
                modes=", ".join(SSL_MODES),
                extra=extra,
                suggestion=suggest(word, SSL_MODES) or "require",
            )
    if sslmode is not None and p.asyncpg_reads_query:
        runtime = ""
        if p.driver != "asyncpg":
            runtime = (
                " svc-infra's runtime coerces this URL to +asyncpg, so the same happens there."
            )
        mode = sslmode.lower() if sslmode.lower() in SSL_MODES else "require"
        status = Status.FAIL if p.driver == "asyncpg" else Status.WARN
        note(
            p,
            C.SSLMODE_FOR_ASYNCPG,
            "db.url.ssl",
            status=status,
            runtime=runtime,
            sslmode=clip(sslmode),
            mode=mode,
        )
    if ssl_value is not None and p.driver not in (None, "asyncpg"):
        note(p, C.SSL_FOR_LIBPQ, "db.url.ssl", driver=p.driver, value=clip(ssl_value))
    remote = p.hosts and not all(h.is_local for h in p.hosts)
    if p.sslmode in ("disable", "allow", "prefer") and remote:
        note(p, C.PLAINTEXT_TO_REMOTE, "db.url.ssl", mode=p.sslmode)


def check_params(p: Parsed) -> None:
    """Parameters nobody knows, and libpq ones asyncpg rejects under SQLAlchemy."""
    known = LIBPQ_PARAMS | ASYNCPG_CONNECT_KWARGS | {"database"}
    unknown = [key for key in p.params if key not in known]
    if unknown:
        hints = []
        for key in unknown[:_LISTED]:
            close = suggest(key, LIBPQ_PARAMS | {"ssl"})
            hints.append(f"{clip(key, 40)} (did you mean {close}?)" if close else clip(key, 40))
        if len(unknown) > _LISTED:
            hints.append(f"and {len(unknown) - _LISTED} more")
        data = {"unknown": [clip(key, 40) for key in unknown[:20]], "unknown_count": len(unknown)}
        note(p, C.UNKNOWN_PARAMETER, "db.url.params", names=", ".join(hints), data=data)
    if p.asyncpg_reads_query:
        libpq_only = [
            key
            for key in p.params
            if key in LIBPQ_PARAMS
            and key not in ASYNCPG_CONNECT_KWARGS
            and key not in _ASYNCPG_TRANSLATES
        ]
        if libpq_only:
            note(
                p,
                C.LIBPQ_ONLY_PARAMETER,
                "db.url.params",
                names=_listed(libpq_only),
                data={"parameters": libpq_only},
            )
