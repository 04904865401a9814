"""Run an ASGI app's lifespan in process, as uvicorn does, bounded by a timeout.

``httpx.ASGITransport`` sends requests only; an svc-infra app opens its
database engine, cache and queue in its lifespan start-up, so that runs first
here. A start-up that raises is captured with its exception (Starlette sends
``lifespan.startup.failed`` and then re-raises); one that never finishes is
cancelled at the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Lifespan", "Outcome", "StartupResult"]

# How long a failed start-up may take to re-raise its exception after reporting it.
_RAISE_GRACE_S = 0.5
# How long a cancelled start-up may take to unwind.
_CANCEL_GRACE_S = 0.5
_DONE = {"type": "svc_nb.lifespan.done"}


class Outcome(enum.StrEnum):
    STARTED = "started"
    FAILED = "failed"
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"  # the app does not speak the lifespan protocol (uvicorn: "auto")


@dataclass
class StartupResult:
    outcome: Outcome
    elapsed_s: float
    error: BaseException | None = None
    message: str = ""


@dataclass
class Lifespan:
    """One app's lifespan: ``await start(timeout)``, requests, then ``await stop(timeout)``."""

    app: Any
    #: The lifespan state (Starlette's ``yield {...}``), copied into each request scope.
    state: dict[str, Any] = field(default_factory=dict)
    _to_app: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _from_app: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None
    _error: BaseException | None = None
    started: bool = False

    async def _run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._to_app.get, self._from_app.put)
        except (Exception, SystemExit) as exc:  # the app's own failure: the start-up's cause
            self._error = exc
        finally:
            self._from_app.put_nowait(_DONE)

    async def _next_message(self) -> dict[str, Any]:
        return await self._from_app.get()

    async def start(self, timeout: float) -> StartupResult:
        began = time.perf_counter()
        self._task = asyncio.ensure_future(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        try:
            async with asyncio.timeout(timeout):
                message = await self._next_message()
        except TimeoutError:
            await self._cancel()
            return StartupResult(Outcome.TIMEOUT, time.perf_counter() - began)
        elapsed = time.perf_counter() - began
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self.started = True
            return StartupResult(Outcome.STARTED, elapsed)
        if kind == "lifespan.startup.failed":
            await self._settle(_RAISE_GRACE_S)
            return StartupResult(
                Outcome.FAILED, elapsed, self._error, str(message.get("message", ""))
            )
        # The app returned or raised without answering: it does not support lifespan.
        return StartupResult(Outcome.UNSUPPORTED, elapsed, self._error)

    async def _settle(self, grace: float) -> None:
        if self._task is not None and not self._task.done():
            await asyncio.wait([self._task], timeout=grace)

    async def _cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task], timeout=_CANCEL_GRACE_S)

    async def stop(self, timeout: float) -> None:
        """Send the shutdown and wait for it within ``timeout``; cancel the app's task past it."""
        if self._task is None or self._task.done():
            return
        if self.started:
            await self._to_app.put({"type": "lifespan.shutdown"})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while (await self._next_message()).get("type") not in (
                        "lifespan.shutdown.complete",
                        "lifespan.shutdown.failed",
                        _DONE["type"],
                    ):
                        pass
            await self._settle(min(timeout, _RAISE_GRACE_S))
        await self._cancel()
