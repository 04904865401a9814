"""``check`` and ``pool_headroom``: the staged connection diagnosis, bounded by one budget."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._explain import explain
from svc_nb._redact import scrub
from svc_nb._report import Finding, Report
from svc_nb._runtime import Deadline
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout
from svc_nb.db._causes import DbCause
from svc_nb.db._model import SVC_INFRA_MAX_OVERFLOW, SVC_INFRA_POOL_SIZE, Host, Parsed, clip
from svc_nb.db._probe import close, connect, stage_tcp, tcp_targets
from svc_nb.db._server import (
    SERVER_EXPLAIN,
    capacity,
    headroom_finding,
    read_server,
    server_findings,
)
from svc_nb.db._url import parse_safely, url_findings
from svc_nb.db._url_explain import URL_EXPLAIN
from svc_nb.env import resolve_database_url

__all__ = ["check", "connected", "diagnose_db", "no_url_finding", "pool_headroom"]

C = DbCause
_TITLE = "svc_nb db check"
# The stages after the URL, in order; a failed stage skips the ones after it.
_LATER = ("db.tcp", "db.auth", "db.server", "db.ssl", "db.capacity")


def _resolve(url: str | None, environ: Mapping[str, str] | None) -> tuple[str | None, str]:
    """The URL to check and where it came from ("argument", an env var name, or "")."""
    if url is not None:
        if not isinstance(url, str):
            raise ArgumentTypeError(
                f"url must be a str or None, not {type(url).__name__}; "
                "e.g. await svc_nb.db.check('postgresql+asyncpg://user@host:5432/db')"
            )
        return url, "argument"
    resolved = resolve_database_url(environ)
    if resolved is None:
        return None, ""
    # Only the password is secret (parse_url registers it); masking the whole URL
    # would hide host and database names in every later output.
    return resolved.value, resolved.source


def no_url_finding() -> Finding:
    return explain("db.url", C.NO_URL, URL_EXPLAIN)


def _skipped(checks: tuple[str, ...], cause: DbCause) -> list[Finding]:
    return [explain(check, cause, URL_EXPLAIN) for check in checks]


def _with_source(findings: list[Finding], source: str) -> list[Finding]:
    """Name the variable the URL came from in the ``db.url`` roll-up."""
    if not source or source == "argument":
        return findings
    head = findings[0]
    findings[0] = dataclasses.replace(
        head, summary=head.summary + f" (from {source})", data={**head.data, "source": source}
    )
    return findings


async def check(
    url: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """Diagnose a PostgreSQL connection in stages; returns within ``timeout`` + 0.3 s.

    ``url=None`` uses the URL svc-infra would (``SQL_URL`` first, see
    :func:`svc_nb.env.resolve_database_url`) from ``environ`` (default
    ``os.environ``). Stages: URL, TCP per host, start-up/auth, server
    version/latency/TLS, capacity. Every non-ok finding carries a
    :class:`~svc_nb.db.DbCause` code.
    """
    seconds = check_timeout(timeout)
    budget = Deadline(seconds)
    raw, source = _resolve(url, environ)
    if raw is None:
        return Report([no_url_finding()], title=_TITLE)
    p = parse_safely(raw)
    findings = _with_source(url_findings(p), source)
    if p.fatal:
        return Report([*findings, *_skipped(_LATER, C.URL_INVALID)], title=_TITLE)
    (tcp, open_hosts), (conn, auth) = await _reach(p, budget)
    findings.append(tcp)
    if not open_hosts:
        return Report([*findings, *_skipped(_LATER[1:], C.NOT_REACHED)], title=_TITLE)
    findings.append(auth)
    if conn is None:
        return Report([*findings, *_skipped(_LATER[2:], C.NOT_CONNECTED)], title=_TITLE)
    findings.extend(await _after_login(conn, p, budget))
    return Report(findings, title=_TITLE)


async def _reach(
    p: Parsed, budget: Deadline
) -> tuple[tuple[Finding, list[Host]], tuple[Any, Finding]]:
    """``db.tcp`` and the login; for one host at the same time, so the TCP probe costs no wait.

    With several hosts the login waits for the probe and tries only the hosts that
    answered: the driver would otherwise spend the budget on a dead one first.
    """
    targets = tcp_targets(p)
    if len(targets) > 1:
        tcp, open_hosts = await stage_tcp(targets, budget)
        login = await connect(p, open_hosts, budget) if open_hosts else (None, tcp)
        return (tcp, open_hosts), login
    (tcp, open_hosts), login = await asyncio.gather(
        stage_tcp(targets, budget), connect(p, targets, budget)
    )
    if not open_hosts:
        await close(login[0], budget)
    return (tcp, open_hosts), login


async def _after_login(conn: Any, p: Parsed, budget: Deadline) -> list[Finding]:
    """Server, TLS and capacity over the open connection, which is closed on the way out."""
    findings: list[Finding] = []
    try:
        async with asyncio.timeout(budget.left()):
            facts = await read_server(conn)
        findings.extend(server_findings(facts, p))
        findings.append(
            headroom_finding(
                facts.capacity, SVC_INFRA_POOL_SIZE, SVC_INFRA_MAX_OVERFLOW, 1, "db.capacity"
            )
        )
    except TimeoutError:
        findings.extend(_unfinished(findings, C.QUERY_TIMEOUT, timeout=budget.timeout))
    except Exception as exc:  # a query failing after login is a finding, not a crash
        message = clip(scrub(str(exc)), 300)
        exception_type = type(exc).__name__
        findings.extend(
            _unfinished(findings, C.QUERY_FAILED, message=message, exception_type=exception_type)
        )
    finally:
        await close(conn, budget)
    return findings


def _unfinished(done: list[Finding], cause: DbCause, **fields: Any) -> list[Finding]:
    """The same failure for every stage after login that has no finding yet."""
    seen = {f.check for f in done}
    return [
        explain(check, cause, SERVER_EXPLAIN, **fields) for check in _LATER[2:] if check not in seen
    ]


async def connected(
    url: str | None, timeout: float, environ: Mapping[str, str] | None
) -> tuple[Any, list[Finding], Deadline]:
    """Parse and connect for the helpers; on failure, no connection and the findings why."""
    budget = Deadline(check_timeout(timeout))
    raw, _ = _resolve(url, environ)
    if raw is None:
        return None, [no_url_finding()], budget
    p = parse_safely(raw)
    if p.fatal:
        return None, url_findings(p), budget
    conn, auth = await connect(p, None, budget)
    return conn, ([] if conn is not None else [auth]), budget


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ArgumentValueError(f"{name} must be zero or more, got {value!r}")
    return value


async def pool_headroom(
    url: str | None = None,
    *,
    pool_size: int = SVC_INFRA_POOL_SIZE,
    max_overflow: int = SVC_INFRA_MAX_OVERFLOW,
    processes: int = 1,
    timeout: float = DEFAULT_TIMEOUT_S,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """How many worker processes with this pool fit before the server refuses connections.

    Returns a report whose ``db.pool`` finding carries ``processes_fit``,
    ``available``, ``needed`` and the server's limits in ``data``.
    """
    pool_size = _count(pool_size, "pool_size")
    max_overflow = _count(max_overflow, "max_overflow")
    processes = _count(processes, "processes")
    if pool_size + max_overflow == 0:
        raise ArgumentValueError("pool_size + max_overflow must be at least 1")
    title = "svc_nb db pool headroom"
    conn, failed, budget = await connected(url, timeout, environ)
    if conn is None:
        return Report(failed, title=title)
    try:
        async with asyncio.timeout(budget.left()):
            cap = await capacity(conn)
    except TimeoutError:
        timed_out = explain("db.pool", C.QUERY_TIMEOUT, SERVER_EXPLAIN, timeout=budget.timeout)
        return Report([timed_out], title=title)
    finally:
        await close(conn, budget)
    return Report(
        [headroom_finding(cap, pool_size, max_overflow, processes, "db.pool")], title=title
    )


async def diagnose_db(environ: Mapping[str, str], timeout: float) -> Report:
    """The ``db`` check of :func:`svc_nb.diagnose`: a skip when no URL is configured."""
    if resolve_database_url(environ) is None:
        return Report([no_url_finding()])
    return await check(None, timeout=timeout, environ=environ)
