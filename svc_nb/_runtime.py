"""Running async probes from anywhere: scripts, notebook cells, widget callbacks.

Jupyter cells run inside ipykernel's event loop, where ``asyncio.run`` raises
"cannot be called from a running event loop" (the guide's section 7). svc_nb
patches that loop once with ``nest_asyncio2`` (the maintained fork that
ipykernel itself uses) and falls back to a worker thread where a loop cannot be
patched (uvloop and other non-asyncio loops).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from svc_nb._explain import CauseEnum
from svc_nb._report import Finding, Report, Status

__all__ = [
    "Deadline",
    "gather_checks",
    "in_kernel",
    "is_patched",
    "patch_running_loop",
    "run",
    "start_background",
]

T = TypeVar("T")

CheckResult = Report | Finding | Iterable[Finding]
CheckFactory = Callable[[], Awaitable[CheckResult] | CheckResult]

_patch_lock = threading.Lock()


class Deadline:
    """One time budget shared by the stages of a probe: each stage gets what is left."""

    def __init__(self, timeout: float, *, floor: float = 0.0) -> None:
        self.timeout = timeout
        self.end = time.monotonic() + timeout
        # A floor keeps a late stage's own timeout positive (some clients reject 0).
        self.floor = floor

    def left(self) -> float:
        return max(self.end - time.monotonic(), self.floor)


def in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (ipykernel's shell), without importing IPython."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None) if ipython else None
    shell = get() if callable(get) else None
    return shell is not None and "ipykernel" in type(shell).__module__


def _running_loop() -> asyncio.AbstractEventLoop | None:
    return asyncio._get_running_loop()


def is_patched(loop: asyncio.AbstractEventLoop | None = None) -> bool:
    """Whether ``loop`` (default: this thread's running loop) accepts nested runs."""
    loop = loop or _running_loop()
    return loop is not None and bool(getattr(loop, "_nest_patched", False))


def patchable(loop: asyncio.AbstractEventLoop) -> bool:
    """Only the stdlib's own loop classes can be made reentrant."""
    return isinstance(loop, asyncio.BaseEventLoop)


def patch_running_loop() -> bool:
    """Make this thread's running loop reentrant, once. Returns whether it is patched.

    Only inside a Jupyter kernel: the patch replaces ``asyncio.run`` process-wide,
    which a script or server must not have done to it behind its back (it would
    ignore uvloop's ``loop_factory`` and hang on futures of other loops).
    Elsewhere :func:`run` uses a worker thread instead.
    """
    loop = _running_loop()
    if loop is None:
        return False
    if is_patched(loop):
        return True
    if not patchable(loop) or not in_kernel():
        return False
    with _patch_lock:
        import nest_asyncio2

        nest_asyncio2.apply(loop)
    return is_patched(loop)


def _run_in_thread(awaitable: Awaitable[T]) -> T:
    """Run a coroutine on a fresh loop in a worker thread and wait for it."""
    context = contextvars.copy_context()

    async def _main() -> T:
        return await awaitable

    def _target() -> T:
        return context.run(asyncio.run, _main())

    with concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="svc_nb-run"
    ) as pool:
        return pool.submit(_target).result()


def run(awaitable: Awaitable[T]) -> T:
    """Run an awaitable to completion and return its result, in any context.

    - no loop running in this thread: ``asyncio.run``;
    - a patchable running loop (Jupyter): run it nested on that loop;
    - an unpatchable loop (uvloop, ...): run it on a worker thread's own loop.
    """
    if not isinstance(awaitable, Awaitable):
        raise TypeError(
            f"svc_nb.run() takes a coroutine or other awaitable, got {type(awaitable).__name__}; "
            "call the async function first: svc_nb.run(svc_nb.db.check(url))"
        )
    loop = _running_loop()
    if loop is None:

        async def _main() -> T:
            return await awaitable

        return asyncio.run(_main())
    if patch_running_loop():
        future = asyncio.ensure_future(awaitable, loop=loop)
        return loop.run_until_complete(future)
    return _run_in_thread(awaitable)


class RunCause(CauseEnum):
    """Why a check run by ``diagnose``/``gather_checks`` gave no diagnosis of its own."""

    TIMEOUT = "timeout", "the check did not finish within its timeout and was cancelled"
    CHECK_CRASHED = "check_crashed", "the check raised before it could diagnose anything"
    BAD_RESULT = "bad_result", "the check returned something other than findings (a bug)"


def _as_findings(name: str, result: Any) -> list[Finding]:
    if isinstance(result, Finding):
        return [result]
    if isinstance(result, Report):
        return list(result)
    if isinstance(result, Iterable):
        items = list(result)
        if all(isinstance(i, Finding) for i in items):
            return items
    return [
        Finding(
            check=name,
            status=Status.FAIL,
            summary=f"check {name} returned {type(result).__name__}, not findings",
            detail="This is a bug in svc_nb.",
            fix="Report it with svc_nb.support.bug_report().",
            cause=RunCause.BAD_RESULT,
        )
    ]


async def _run_one(name: str, factory: CheckFactory, timeout: float) -> list[Finding]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            result = factory()
            if isinstance(result, Awaitable):
                result = await result
    except TimeoutError:
        return [
            Finding(
                check=name,
                status=Status.FAIL,
                summary=f"{name} did not finish within {timeout:g} s",
                detail="The check was cancelled at its timeout; the peer accepted but did not answer in time, or the host is unreachable.",
                fix=f"Check that the service behind {name} is up and reachable, or raise the timeout (timeout={timeout * 2:g}).",
                data={
                    "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
                    "timeout_s": timeout,
                },
                cause=RunCause.TIMEOUT,
            )
        ]
    except Exception as exc:  # a crashing check must not hide the others
        return [
            Finding(
                check=name,
                status=Status.FAIL,
                summary=f"{name} raised {type(exc).__name__}: {exc}",
                detail="The check itself failed before it could diagnose anything.",
                fix="Run this check alone to see the traceback, and report it with svc_nb.support.bug_report(exc).",
                data={"exception_type": type(exc).__name__},
                cause=RunCause.CHECK_CRASHED,
            )
        ]
    return _as_findings(name, result)


async def gather_checks(
    checks: Mapping[str, CheckFactory],
    *,
    timeout: float = 3.0,
    title: str = "svc_nb report",
    on_done: Callable[[str, list[Finding]], None] | None = None,
    start_first: Iterable[str] = (),
    timeouts: Mapping[str, float] | None = None,
) -> Report:
    """Run named checks concurrently, each bounded by ``timeout`` seconds.

    A check that times out or raises becomes a ``fail`` finding naming it; the
    others still report. Results keep the order of ``checks``; the names in
    ``start_first`` are started before the rest (those that wait on a network);
    ``timeouts`` gives some checks a bound of their own.
    """
    bounds = dict(timeouts or {})

    async def _tracked(name: str, factory: CheckFactory) -> list[Finding]:
        findings = await _run_one(name, factory, bounds.get(name, timeout))
        if on_done is not None:
            on_done(name, findings)
        return findings

    first = [name for name in start_first if name in checks]
    launch = first + [name for name in checks if name not in set(first)]
    # Tasks run their first step in creation order: the network checks' sends go
    # out before the CPU-only checks take the loop.
    tasks = {name: asyncio.ensure_future(_tracked(name, checks[name])) for name in launch}
    try:
        results = await asyncio.gather(*tasks.values())
    finally:
        for task in tasks.values():
            task.cancel()
    by_name = dict(zip(tasks, results, strict=True))
    return Report([f for name in checks for f in by_name[name]], title=title)


def start_background(
    awaitable: Coroutine[Any, Any, T],
    on_done: Callable[[T | None, BaseException | None], None],
) -> concurrent.futures.Future[T] | asyncio.Task[T]:
    """Start a probe without blocking, and call ``on_done(result, error)`` when it ends.

    In a kernel the probe runs as a task on the kernel's loop (so widget
    callbacks return at once and outputs update later); elsewhere on a thread.
    """

    def _finish(result: T | None, error: BaseException | None) -> None:
        on_done(result, error)

    loop = _running_loop()
    if loop is None:
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            loop = None
    if loop is not None and loop.is_running() and patchable(loop):
        task = loop.create_task(awaitable)

        def _cb(t: asyncio.Task[T]) -> None:
            if t.cancelled():
                _finish(None, asyncio.CancelledError())
            elif t.exception() is not None:
                _finish(None, t.exception())
            else:
                _finish(t.result(), None)

        task.add_done_callback(_cb)
        return task

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="svc_nb-bg")
    future: concurrent.futures.Future[T] = pool.submit(asyncio.run, awaitable)

    def _fcb(f: concurrent.futures.Future[T]) -> None:
        pool.shutdown(wait=False)
        if f.cancelled():
            _finish(None, concurrent.futures.CancelledError())
        elif f.exception() is not None:
            _finish(None, f.exception())
        else:
            _finish(f.result(), None)

    future.add_done_callback(_fcb)
    return future
