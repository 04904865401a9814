"""Reaching the server: TCP to each host, then start-up and login through asyncpg."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb._runtime import Deadline
from svc_nb.db._causes import DbCause
from svc_nb.db._classify import classify
from svc_nb.db._model import (
    APP_NAME,
    DEFAULT_PORT,
    DEFAULT_SOCKET_DIRS,
    SERVER_SETTING_PARAMS,
    SSL_FILE_PARAMS,
    Host,
    Parsed,
)

__all__ = ["close", "connect", "elapsed_ms", "stage_tcp", "tcp_targets"]

C = DbCause
# Per-host outcome of the TCP probe -> the cause it stands for.
_OUTCOME_CAUSE = {
    "refused": C.REFUSED,
    "no_socket": C.REFUSED,
    "no_answer": C.TIMEOUT,
    "dns": C.DNS,
    "unreachable": C.UNREACHABLE,
}
_TCP_WORDS = {
    "open": "accepts TCP connections",
    "refused": "connection refused (nothing listens there)",
    "no_answer": "no answer (packets dropped or host down)",
    "no_socket": "no socket file (no local server on that port)",
    "dns": "host name does not resolve",
    "unreachable": "network unreachable",
}
# When several hosts fail differently, the summary names the most telling cause.
_TCP_PRECEDENCE = (C.TIMEOUT, C.DNS, C.UNREACHABLE, C.REFUSED)

TCP_EXPLAIN: Mapping[DbCause, Explanation] = {
    C.SOME_HOSTS_DOWN: Explanation(
        Status.WARN,
        "{up} of {total} hosts accept connections",
        "{lines}",
        "The driver fails over to the next host, slowly: fix or remove the dead ones.",
    ),
    C.REFUSED: Explanation(
        Status.FAIL,
        "connection refused: nothing listens on {targets}",
        "{lines}",
        "Start PostgreSQL (pg_isready -h {host} -p {port}; systemctl start postgresql, or docker "
        "compose up db) or fix the host/port in SQL_URL.",
    ),
    C.TIMEOUT: Explanation(
        Status.FAIL,
        "no answer from {targets} within {timeout:g} s",
        "{lines}",
        "A firewall or security group drops the packets, or the host is down: check the address, "
        "the server's listen_addresses, and the network path (nc -vz host port).",
    ),
    C.DNS: Explanation(
        Status.FAIL,
        "host name {host!r} does not resolve",
        "{lines}",
        "Check the host name; inside Docker Compose use the service name, from the host use "
        "localhost and the published port.",
    ),
    C.UNREACHABLE: Explanation(
        Status.FAIL,
        "cannot reach {label}",
        "{lines}",
        "Check routing/VPN to the database network.",
    ),
}


def elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def tcp_targets(p: Parsed) -> list[Host]:
    """The hosts the driver will try; no host means the local socket dirs, then localhost."""
    if p.hosts and any(h.host for h in p.hosts):
        return [h if h.host else Host("localhost", h.port) for h in p.hosts]
    port = p.hosts[0].port if p.hosts else DEFAULT_PORT
    dirs = [d for d in DEFAULT_SOCKET_DIRS if os.path.exists(f"{d}/.s.PGSQL.{port}")]
    return [Host(d, port) for d in dirs[:1]] + [Host("localhost", port)]


async def _probe_tcp(h: Host, timeout: float) -> dict[str, Any]:
    """Open and close one TCP (or Unix-socket) connection; name what happened."""
    start = time.perf_counter()
    result: dict[str, Any] = {"host": h.label}
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            if h.is_socket:
                _, writer = await asyncio.open_unix_connection(f"{h.host}/.s.PGSQL.{h.port}")
            else:
                _, writer = await asyncio.open_connection(h.host, h.port)
        result["outcome"] = "open"
    except TimeoutError:
        result["outcome"] = "no_answer"
    except ConnectionRefusedError:
        result["outcome"] = "refused"
    except FileNotFoundError:
        result["outcome"] = "no_socket"
    except socket.gaierror as exc:
        result["outcome"] = "dns"
        result["message"] = str(exc.strerror or exc)
    except OSError as exc:
        result["outcome"] = "unreachable"
        result["message"] = exc.strerror or type(exc).__name__
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(0.2):
                    await writer.wait_closed()
    result["ms"] = elapsed_ms(start)
    return result


async def stage_tcp(targets: list[Host], budget: Deadline) -> tuple[Finding, list[Host]]:
    """``db.tcp``: every host probed at once; returns the finding and the hosts that answer."""
    start = time.perf_counter()
    results = await asyncio.gather(*(_probe_tcp(h, budget.left()) for h in targets))
    open_hosts = [h for h, r in zip(targets, results, strict=True) if r["outcome"] == "open"]
    lines = "\n".join(
        f"{r['host']}: {_TCP_WORDS[r['outcome']]} in {r['ms']:g} ms"
        + (f" ({r['message']})" if r.get("message") else "")
        for r in results
    )
    data = {"hosts": results, "elapsed_ms": elapsed_ms(start)}
    first = targets[0]
    fields: dict[str, Any] = {
        "lines": lines,
        "targets": ", ".join(h.label for h in targets),
        "host": first.host,
        "port": first.port,
        "label": first.label,
        "timeout": budget.timeout,
        "up": len(open_hosts),
        "total": len(targets),
    }
    if len(open_hosts) == len(targets):
        if len(targets) == 1:
            summary = f"{first.label} accepts connections"
        else:
            summary = f"all {len(targets)} hosts accept connections"
        return Finding("db.tcp", Status.OK, summary, lines, data=data), open_hosts
    if open_hosts:
        return explain("db.tcp", C.SOME_HOSTS_DOWN, TCP_EXPLAIN, data=data, **fields), open_hosts
    causes = {_OUTCOME_CAUSE[r["outcome"]] for r in results}
    cause = next(c for c in _TCP_PRECEDENCE if c in causes)
    return explain("db.tcp", cause, TCP_EXPLAIN, data=data, **fields), []


def _connect_kwargs(p: Parsed, hosts: list[Host] | None, timeout: float) -> dict[str, Any]:
    """What asyncpg.connect() needs, built from the parsed URL (no +driver, ssl= not sslmode=)."""
    targets = hosts if hosts is not None else tcp_targets(p)
    settings = {k: v for k, v in p.params.items() if k in SERVER_SETTING_PARAMS}
    kwargs: dict[str, Any] = {
        "host": [h.host for h in targets],
        "port": [h.port for h in targets],
        "user": p.user or None,
        "password": p.password,
        "database": p.database or None,
        "timeout": max(timeout, 0.01),
        "server_settings": {"application_name": APP_NAME, **settings},
    }
    if p.sslmode:
        kwargs["ssl"] = p.sslmode
    if "target_session_attrs" in p.params:
        kwargs["target_session_attrs"] = p.params["target_session_attrs"]
    tls_files = {k: p.params[k] for k in SSL_FILE_PARAMS if k in p.params}
    if tls_files:
        # asyncpg reads TLS file options only from a DSN; explicit keywords win for the rest.
        kwargs["dsn"] = "postgresql://?" + urllib.parse.urlencode(tls_files)
    return kwargs


async def close(conn: Any, budget: Deadline) -> None:
    """Close gracefully while the budget allows, otherwise abort the socket."""
    if conn is None or conn.is_closed():
        return
    try:
        async with asyncio.timeout(max(min(budget.left(), 0.25), 0.05)):
            await conn.close()
    except BaseException:
        conn.terminate()
        raise


async def connect(p: Parsed, hosts: list[Host] | None, budget: Deadline) -> tuple[Any, Finding]:
    """asyncpg.connect() bounded by the budget; returns (connection or None, db.auth finding)."""
    import asyncpg

    start = time.perf_counter()
    timeout = budget.left()
    try:
        async with asyncio.timeout(timeout):
            conn = await asyncpg.connect(**_connect_kwargs(p, hosts, timeout))
    except (Exception, TimeoutError) as exc:
        finding = classify(exc, p, budget.timeout)
        data = {**finding.data, "elapsed_ms": elapsed_ms(start)}
        return None, Finding(
            finding.check,
            finding.status,
            finding.summary,
            finding.detail,
            finding.fix,
            data,
            cause=finding.cause,
        )
    elapsed = elapsed_ms(start)
    who, where = p.user or "(OS user)", p.database or "(default db)"
    return conn, Finding(
        "db.auth",
        Status.OK,
        f"connected and authenticated as {who} to {where}",
        f"Start-up and authentication took {elapsed:g} ms.",
        data={"elapsed_ms": elapsed},
    )
