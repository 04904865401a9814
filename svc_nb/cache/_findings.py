"""Findings from what a probe saw once Redis answered: latency, auth, server, clients, the write.

Memory is judged in ``_memory_judge``, shared with :func:`svc_nb.cache.memory`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from svc_nb._explain import Explanation, explain
from svc_nb._redact import scrub
from svc_nb._report import Finding, Status
from svc_nb.cache._causes import CacheCause
from svc_nb.cache._classify import acl_fix, write_cause
from svc_nb.cache._common import Target, clip, figure, ok
from svc_nb.cache._memory_judge import memory_findings
from svc_nb.cache._probe_state import Outcome

__all__ = ["success_findings"]

C = CacheCause

# -- the test write ------------------------------------------------------------------------

_WRITE: Mapping[CacheCause, Explanation] = {
    C.OOM: Explanation(
        Status.FAIL,
        "Redis refused a write: out of memory (OOM)",
        "SET {key} answered: {message}",
        "See cache.memory for the fix.",
    ),
    C.NO_PERMISSION: Explanation(
        Status.FAIL,
        "write refused by ACL (NOPERM)",
        "SET {key} answered: {message}",
        "See cache.auth.",
    ),
    C.READ_ONLY_REPLICA: Explanation(
        Status.FAIL,
        "the server is a read-only replica",
        "SET {key} answered: {message}",
        "Point CACHE_URL at the primary.",
    ),
    C.RDB_SAVE_FAILED: Explanation(
        Status.FAIL,
        "Redis refuses writes because its last RDB save failed",
        "SET {key} answered: {message}",
        "Fix the disk/permissions of Redis' dir (CONFIG GET dir) or the save settings; check the "
        "server log.",
    ),
    C.WRITE_FAILED: Explanation(
        Status.FAIL, "the test write failed: {message}", "", "Check the server log."
    ),
}
_WRITE_AUTH = {
    C.NO_PERMISSION: Explanation(
        Status.FAIL,
        "the ACL user may not write svc-infra's keys",
        "SET {key} answered: {message}",
        "{acl_fix}",
    )
}


def _write_findings(target: Target, out: Outcome, key_prefix: str) -> list[Finding]:
    key = clip(out.probe_key, 120)
    cause = write_cause(out.write_error)
    if cause is None:
        return [
            ok(
                "cache.write",
                f"a test write under {clip(key_prefix, 80)}* succeeded (key deleted)",
                f"SET {key} … PX 30000, then DEL.",
                key_name=key,
            )
        ]
    fields: dict[str, Any] = {
        "key": key,
        "message": scrub(clip(str(out.write_error), 300)),
        "acl_fix": acl_fix(target, key_prefix),
    }
    findings = [explain("cache.write", cause, _WRITE, data={"key_name": key}, **fields)]
    if cause in _WRITE_AUTH:
        findings.insert(
            0, explain("cache.auth", cause, _WRITE_AUTH, data={"key_name": key}, **fields)
        )
    return findings


# -- connection and authentication ----------------------------------------------------------

_PASSWORD_NOT_CONFIGURED = Explanation(
    Status.WARN,
    "a password is sent but the server has none configured",
    "Redis 6+ lets any password through for a user without one, so this works today, but the "
    "password protects nothing: an anonymous connection gets in too. The day someone sets "
    "requirepass to a different value the app breaks.",
    "Configure the password on the server (requirepass PASSWORD or ACL SETUSER default on "
    ">PASSWORD), or drop it from the URL if the server is meant to be open.",
)


def _connect_finding(target: Target, out: Outcome) -> Finding:
    median = round(statistics.median(out.pings_ms), 3) if out.pings_ms else None
    summary = f"{target.where} answers PING"
    if median is not None:
        summary += f": median {median:.2f} ms over {len(out.pings_ms)} pings"
    return ok(
        "cache.connect",
        summary,
        f"First PING including connect{' + TLS' if target.tls else ''} + auth: {out.connect_ms} ms.",
        latency_ms=median,
        connect_ms=out.connect_ms,
        samples_ms=[round(p, 3) for p in out.pings_ms],
        target=target.where,
    )


def _auth_finding(target: Target, out: Outcome) -> Finding:
    user = clip(out.whoami or target.shown_user or "default", 40)
    if (
        target.password
        and out.anonymous_ok
        and (not target.username or target.username == "default")
    ):
        return explain(
            "cache.auth",
            C.PASSWORD_NOT_CONFIGURED,
            {C.PASSWORD_NOT_CONFIGURED: _PASSWORD_NOT_CONFIGURED},
            data={"user": user},
        )
    if target.password:
        extra = (
            "The default user is open without a password: anyone who reaches the port gets in."
            if out.anonymous_ok
            else ""
        )
        return ok(
            "cache.auth",
            f"authenticated as {user!r}",
            extra,
            user=user,
            anonymous_allowed=out.anonymous_ok,
        )
    return ok(
        "cache.auth",
        "no password required",
        "The server accepts unauthenticated clients; fine on a private network or localhost, "
        "risky anywhere reachable.",
        "For a shared or exposed server set requirepass (or ACL users) and put the password in "
        "CACHE_URL.",
        user=user,
        anonymous_allowed=True,
    )


# -- server and clients ----------------------------------------------------------------------

# In order of precedence: the first that applies names the finding's cause and fix.
_SERVER_ISSUES: Mapping[CacheCause, Explanation] = {
    C.SENTINEL_PORT: Explanation(
        Status.FAIL,
        "",
        "This port is a Sentinel, not a data node: it does not store keys.",
        "Use the master's address (SENTINEL get-master-addr-by-name NAME), not the Sentinel's.",
    ),
    C.CLUSTER_MODE: Explanation(
        Status.WARN,
        "",
        "Cluster mode: svc-infra's cache uses a plain (non-cluster) client, so keys on other "
        "shards answer MOVED.",
        "Point CACHE_URL at a standalone/primary endpoint or a cluster proxy.",
    ),
    C.READ_ONLY_REPLICA: Explanation(
        Status.WARN,
        "",
        "This server is a read-only replica: cache writes answer READONLY.",
        "Point CACHE_URL at the primary.",
    ),
}


def _server_issues(mode: str, role: str) -> list[CacheCause]:
    applies = {
        C.SENTINEL_PORT: mode == "sentinel",
        C.CLUSTER_MODE: mode == "cluster",
        C.READ_ONLY_REPLICA: role in ("slave", "replica"),
    }
    return [cause for cause in _SERVER_ISSUES if applies[cause]]


def _server_finding(info: Mapping[str, Any]) -> Finding:
    version = clip(str(info.get("redis_version", "?")), 40)
    mode = clip(str(info.get("redis_mode", "standalone")), 40)
    role = clip(str(info.get("role", "master")), 40)
    uptime = figure(info, "uptime_in_seconds")
    server = clip(
        str(info.get("server_name") or ("valkey" if "valkey_version" in info else "redis")), 40
    )
    issues = _server_issues(mode, role)
    notes = [_SERVER_ISSUES[cause].detail for cause in issues]
    major = version.split(".")[0]
    if major.isdigit() and 0 < int(major) < 6:
        notes.append("Redis < 6 has no ACL users (only requirepass) and no RESP3.")
    notes.append(
        f"Up {uptime} s" + (" — restarted moments ago: the cache is cold." if uptime < 60 else ".")
    )
    status = max(
        (_SERVER_ISSUES[c].status for c in issues), key=lambda s: s.rank, default=Status.OK
    )
    return Finding(
        check="cache.server",
        status=status,
        summary=f"{server} {version}, {mode}, role {role}",
        detail=" ".join(notes),
        fix=_SERVER_ISSUES[issues[0]].fix if issues else "",
        data={"version": version, "mode": mode, "role": role, "uptime_s": uptime},
        cause=issues[0] if issues else None,
    )


_CLIENTS_DETAIL = (
    "At maxclients Redis refuses new connections with 'ERR max number of clients reached'."
)
_CLIENTS_FIX = (
    "Find who holds connections (CLIENT LIST), cap pools with ?max_connections=N, or raise "
    "maxclients (and the OS file-descriptor limit)."
)
_CLIENTS_SUMMARY = "{connected} of {maxclients} client connections in use ({share:.0%})"
_CLIENTS: Mapping[CacheCause, Explanation] = {
    C.TOO_MANY_CONNECTIONS: Explanation(
        Status.FAIL, _CLIENTS_SUMMARY, _CLIENTS_DETAIL, _CLIENTS_FIX
    ),
    C.CLIENTS_NEAR_LIMIT: Explanation(Status.WARN, _CLIENTS_SUMMARY, _CLIENTS_DETAIL, _CLIENTS_FIX),
}


def _clients_finding(info: Mapping[str, Any], maxclients: int | None) -> Finding:
    connected = figure(info, "connected_clients")
    if not maxclients:
        return ok(
            "cache.clients",
            f"{connected} client connections (maxclients unknown)",
            connected_clients=connected,
        )
    share = connected / maxclients
    data: dict[str, Any] = {
        "connected_clients": connected,
        "maxclients": maxclients,
        "blocked_clients": figure(info, "blocked_clients"),
    }
    cause = (
        C.TOO_MANY_CONNECTIONS if share >= 1 else (C.CLIENTS_NEAR_LIMIT if share >= 0.8 else None)
    )
    if cause is None:
        return ok(
            "cache.clients",
            _CLIENTS_SUMMARY.format(connected=connected, maxclients=maxclients, share=share),
            **data,
        )
    return explain(
        "cache.clients",
        cause,
        _CLIENTS,
        data=data,
        connected=connected,
        maxclients=maxclients,
        share=share,
    )


def _info_missing(out: Outcome, user: str) -> Finding:
    refused = write_cause(out.info_error) is C.NO_PERMISSION
    if refused:
        return explain(
            "cache.server",
            C.INFO_REFUSED,
            {
                C.INFO_REFUSED: Explanation(
                    Status.WARN,
                    "INFO was refused: {message}",
                    "Without INFO svc_nb cannot read the version, clients and memory figures.",
                    "Allow INFO for this user (ACL SETUSER {user} +info) or run the check with an admin URL.",
                )
            },
            message=scrub(clip(str(out.info_error), 300)),
            user=user,
        )
    return explain(
        "cache.server",
        C.NO_INFO,
        {
            C.NO_INFO: Explanation(
                Status.SKIP,
                "no server information",
                "Without INFO svc_nb cannot read the version, clients and memory figures.",
            )
        },
    )


def success_findings(target: Target, out: Outcome, key_prefix: str) -> list[Finding]:
    """What the stages that completed show; the caller adds why a later stage broke."""
    findings = [_connect_finding(target, out), _auth_finding(target, out)]
    info = out.info
    if info is None and out.info_error is None:
        return findings  # the probe stopped before INFO
    if info is None:
        findings.append(_info_missing(out, clip(out.whoami or target.shown_user or "USER", 40)))
    else:
        findings += [
            _server_finding(info),
            _clients_finding(info, out.maxclients),
            *memory_findings(info, out.write_error),
        ]
    if out.write_ok or out.write_error is not None:
        findings.extend(_write_findings(target, out, key_prefix))
    return findings
