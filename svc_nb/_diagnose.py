"""``diagnose()``: every section's checks, run concurrently and bounded.

Sections register a check builder here when their module is imported; a
builder gets the environment and the timeout and returns the awaitable (or
findings) to run. ``diagnose`` imports the sections lazily so that
``import svc_nb`` stays light.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from svc_nb._report import Report
from svc_nb._runtime import CheckResult, gather_checks
from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout

__all__ = ["SECTIONS", "diagnose", "register_check", "registered_checks"]

# Modules that may register checks, in the order their findings are shown.
SECTIONS = ("env", "db", "migrations", "cache", "tokens", "oauth", "webhooks", "cors", "service")

CheckBuilder = Callable[[Mapping[str, str], float], Awaitable[CheckResult] | CheckResult]

_builders: dict[str, tuple[int, CheckBuilder]] = {}
# Checks that cannot answer within diagnose's timeout by their nature (a real
# svc-infra start-up takes seconds): they get at least this long.
_min_timeouts: dict[str, float] = {}
# Checks that wait (on a peer, or on I/O in a thread): started first, so their
# waiting overlaps the CPU-only checks instead of queueing behind them.
_waiting: set[str] = set()

# The outer guard sits just past each probe's own timeout: probes return their
# own, better-worded timeout finding first, the guard only catches a runaway.
_GUARD_MARGIN_S = 0.2


def register_check(
    name: str,
    builder: CheckBuilder,
    *,
    order: int = 100,
    waits: bool = False,
    min_timeout: float | None = None,
) -> None:
    """Add (or replace) a named check that ``diagnose`` runs.

    ``order`` places its findings in the report; ``waits=True`` says it waits on
    a peer or on I/O, so ``diagnose`` starts it before the checks that only compute;
    ``min_timeout`` is the least time the check gets, whatever ``diagnose``'s timeout.
    """
    _builders[name] = (order, builder)
    if min_timeout is None:
        _min_timeouts.pop(name, None)
    else:
        _min_timeouts[name] = check_timeout(min_timeout, name="min_timeout")
    if waits:
        _waiting.add(name)
    else:
        _waiting.discard(name)


def _import_sections() -> None:
    for section in SECTIONS:
        importlib.import_module(f"svc_nb.{section}")


def registered_checks() -> list[str]:
    """Names of the checks ``diagnose`` will run, in order."""
    _import_sections()
    return [name for name, _ in sorted(_builders.items(), key=lambda kv: kv[1][0])]


async def diagnose(
    environ: Mapping[str, str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    on_done: Callable[[str, list[Any]], None] | None = None,
) -> Report:
    """Quick diagnostics over every section, concurrently; returns one Report.

    ``environ`` defaults to ``os.environ``; ``timeout`` bounds each check, so the
    whole call returns within about ``timeout`` seconds whatever the peers do.
    """
    timeout = check_timeout(timeout)
    env = dict(os.environ if environ is None else environ)
    _import_sections()
    ordered = sorted(_builders.items(), key=lambda kv: kv[1][0])
    checks = {name: (lambda b=builder: b(env, timeout)) for name, (_, builder) in ordered}
    return await gather_checks(
        checks,
        timeout=timeout + _GUARD_MARGIN_S,
        title="svc_nb diagnose",
        on_done=on_done,
        start_first=[name for name in checks if name in _waiting],
    )
