"""``check()``: connect the way svc-infra would, in stages, within one deadline.

Stages: connect (first PING), ping (latency samples), then one pipelined batch
for auth (who am I), info and one real write, while a second connection asks
whether an anonymous client gets in too. Each records what it saw in an
:class:`Outcome`; the stage that breaks is named by ``Outcome.stage`` and
classified in ``_classify``. Round trips are what a remote user waits for:
the connect itself is one (no HELLO, no CLIENT SETINFO, see ``_client``), the
latency samples :data:`PING_SAMPLES`, and the batch one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout
from svc_nb.cache._causes import CacheCause
from svc_nb.cache._classify import failure_findings, resp3_findings
from svc_nb.cache._client import open_client
from svc_nb.cache._common import FALLBACK_EXPLANATION, PING_SAMPLES, PROBE_KEY, Target
from svc_nb.cache._findings import success_findings
from svc_nb.cache._parse import parse
from svc_nb.cache._probe_state import Outcome
from svc_nb.env import resolve_cache_url

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["check", "check_args", "default_prefix", "run_check"]

_TITLE = "svc_nb cache check"
# A throwaway key expires by itself even if its delete never runs.
_PROBE_TTL_MS = 30_000

_NOT_ATTEMPTED = {
    CacheCause.URL_INVALID: Explanation(
        Status.SKIP,
        "not attempted: fix the URL first",
        "redis-py would fail before connecting (see cache.url).",
    ),
    CacheCause.MEMORY_BACKEND: Explanation(
        Status.SKIP,
        "nothing to connect to: mem:// lives inside the app process",
        FALLBACK_EXPLANATION,
    ),
}


async def _connect_stage(client: Redis, out: Outcome) -> None:
    started = time.perf_counter()
    await client.ping()
    out.connect_ms = round((time.perf_counter() - started) * 1000, 2)


async def _ping_stage(client: Redis, out: Outcome) -> None:
    for _ in range(PING_SAMPLES):
        started = time.perf_counter()
        await client.ping()
        out.pings_ms.append((time.perf_counter() - started) * 1000)


async def _anonymous_stage(target: Target, out: Outcome, timeout: float) -> None:
    """Whether a client without the password gets in too (only asked when one is set).

    Redis 6+ accepts any password for a user without one, so "password sent but
    none configured" only shows when an anonymous connection gets in too.
    """
    from redis import exceptions as rexc

    try:
        async with open_client(target, timeout, anonymous=True) as anonymous:
            await anonymous.ping()
        out.anonymous_ok = True
    except rexc.AuthenticationError:
        out.anonymous_ok = False
    except rexc.RedisError:
        out.anonymous_ok = None


async def _batch_stage(client: Redis, out: Outcome, key_prefix: str) -> None:
    """Who am I, the INFO sections the findings read, and one real write: one round trip.

    The commands go out as one pipeline; each answer (or error) is read on its own,
    so a NOPERM on one does not hide the others.
    """
    out.probe_key = f"{key_prefix}{PROBE_KEY}:{secrets.token_hex(6)}"
    pipe = client.pipeline(transaction=False)
    pipe.execute_command("ACL", "WHOAMI")
    # Only the sections the findings read: the default INFO is several times larger to parse.
    pipe.info("server", "clients", "memory", "replication")
    # A real, tiny write: the only way to see OOM / NOPERM / READONLY for sure. The DEL of a
    # key the SET could not write is harmless, and the TTL clears it if the DEL is refused.
    pipe.set(out.probe_key, "svc_nb", px=_PROBE_TTL_MS)
    pipe.delete(out.probe_key)
    who, info, written, _ = await pipe.execute(raise_on_error=False)
    if not isinstance(who, BaseException):
        out.whoami = who.decode() if isinstance(who, bytes) else str(who)
    out.stage = "info"
    await _read_info(client, out, info)
    out.stage = "write"
    if isinstance(written, BaseException):
        out.write_error = written
    else:
        out.write_ok = True


async def _read_info(client: Redis, out: Outcome, info: object) -> None:
    from redis import exceptions as rexc

    if isinstance(info, rexc.ResponseError):
        try:  # Redis < 7 takes one section at a time
            info = await client.info()
        except rexc.ResponseError as exc:
            out.info_error = exc
            return
    elif isinstance(info, BaseException):
        raise info
    out.info = dict(info) if isinstance(info, Mapping) else {}
    maxclients = out.info.get("maxclients")
    if maxclients is None:
        with contextlib.suppress(rexc.ResponseError):
            got = await client.config_get("maxclients")
            maxclients = got.get("maxclients") if isinstance(got, Mapping) else None
    with contextlib.suppress(TypeError, ValueError):
        out.maxclients = int(maxclients or 0) or None


async def _stages(
    client: Redis, target: Target, out: Outcome, timeout: float, key_prefix: str
) -> None:
    await _connect_stage(client, out)
    out.stage = "ping"
    await _ping_stage(client, out)
    out.stage = "auth"
    if target.password:
        # A second connection, at the same time as the batch: no round trip added.
        await asyncio.gather(
            _batch_stage(client, out, key_prefix), _anonymous_stage(target, out, timeout)
        )
    else:
        await _batch_stage(client, out, key_prefix)
    out.stage = "done"


async def _probe(target: Target, timeout: float, key_prefix: str) -> Outcome:
    out = Outcome()
    try:
        async with open_client(target, timeout) as client:
            try:
                async with asyncio.timeout(timeout):
                    await _stages(client, target, out, timeout, key_prefix)
            except TimeoutError:
                out.timed_out = True
    except Exception as exc:  # every redis-py/OS error is a diagnosis, classified after
        out.error = exc
    return out


def _reorder(findings: list[Finding]) -> list[Finding]:
    """One finding per check id (the worst), in first-seen order."""
    chosen: dict[str, Finding] = {}
    for finding in findings:
        prior = chosen.get(finding.check)
        if prior is None or finding.status.rank > prior.status.rank:
            chosen[finding.check] = finding
    return [chosen[check] for check in dict.fromkeys(f.check for f in findings)]


def default_prefix(environ: Mapping[str, str] | None = None) -> str:
    """svc-infra's key prefix: ``CACHE_PREFIX:CACHE_VERSION:`` (``svc:v1:``)."""
    env = os.environ if environ is None else environ
    return f"{env.get('CACHE_PREFIX') or 'svc'}:{env.get('CACHE_VERSION') or 'v1'}:"


async def run_check(url: str, *, source: str | None, timeout: float, key_prefix: str) -> Report:
    """Parse, probe and classify; ``source`` names where the URL came from."""
    findings, target = parse(url)
    if source:
        first = findings[0]
        findings[0] = dataclasses.replace(
            first,
            detail=f"From {source}. {first.detail}".strip(),
            data={**first.data, "source": source},
        )
    if target is None or target.memory_backend:
        cause = CacheCause.MEMORY_BACKEND if target is not None else CacheCause.URL_INVALID
        findings.append(explain("cache.connect", cause, _NOT_ATTEMPTED))
        return Report(findings, title=_TITLE)
    out = await _probe(target, timeout, key_prefix)
    if not (out.failed and out.stage == "connect"):
        # What completed still counts; the stage that broke adds its own failure.
        findings.extend(success_findings(target, out, key_prefix))
        findings.extend(resp3_findings(target, out))
    if out.failed:
        findings.extend(failure_findings(target, out, timeout))
    return Report(_reorder(findings), title=_TITLE)


def check_args(
    url: str | None, timeout: float, environ: Mapping[str, str] | None, caller: str
) -> tuple[str, str | None, float]:
    """Validated arguments: the URL (resolved like svc-infra when None), its source, the timeout."""
    if url is not None and not isinstance(url, str):
        raise ArgumentTypeError(
            f"{caller}() takes the URL as a str or None (None reads CACHE_URL / REDIS_URL), "
            f"got {type(url).__name__}"
        )
    if environ is not None and not isinstance(environ, Mapping):
        raise ArgumentTypeError(f"{caller}() takes environ as a mapping such as os.environ")
    seconds = check_timeout(timeout)
    if url is not None:
        return url, None, seconds
    resolved = resolve_cache_url(environ)
    return resolved.value, resolved.source, seconds


async def check(
    url: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    key_prefix: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """Connect to the cache the way svc-infra would and diagnose it.

    ``url=None`` resolves ``CACHE_URL``, then ``REDIS_URL``, else ``mem://``,
    from ``environ`` (default ``os.environ``). Returns within about ``timeout``
    seconds whatever the server does. ``key_prefix`` (default
    ``CACHE_PREFIX:CACHE_VERSION:`` from ``environ``, i.e. ``svc:v1:``) names
    the throwaway key of the test write.
    """
    url, source, seconds = check_args(url, timeout, environ, "check")
    if key_prefix is not None and not isinstance(key_prefix, str):
        raise ArgumentTypeError(
            f"key_prefix must be a str such as 'svc:v1:', got {type(key_prefix).__name__}"
        )
    prefix = key_prefix or default_prefix(environ)
    return await run_check(url, source=source, timeout=seconds, key_prefix=prefix)
