"""A TCP proxy on loopback that delays every byte by a fixed time in each direction.

It stands in for a service a few milliseconds away: each chunk read from one
side is written to the other ``delay`` seconds later, in order, so a request
and its answer cost ``2 × delay`` (one round trip) on top of the real work.
The TCP handshake with the proxy itself is not delayed (the kernel answers
it), so a fresh connection costs its protocol round trips, not the SYN.

    with LatencyProxy(6379, delay=0.010) as proxy:
        url = f"redis://127.0.0.1:{proxy.port}/0"
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from types import TracebackType

__all__ = ["LatencyProxy"]

_CHUNK = 256 * 1024


class LatencyProxy:
    """Forward 127.0.0.1:<port> to 127.0.0.1:``upstream_port``, ``delay`` s each way."""

    def __init__(self, upstream_port: int, *, delay: float = 0.010) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def __enter__(self) -> LatencyProxy:
        self._thread = threading.Thread(target=self._serve, name="latency-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("latency proxy did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(
                self._pipe(client_r, up_w), self._pipe(up_r, client_w), return_exceptions=True
            )
        except asyncio.CancelledError:
            # The proxy is stopping: close quietly (asyncio logs a handler that ends cancelled).
            client_w.close()
            up_w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy reader to writer, each chunk ``delay`` after it arrived, keeping the order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    with contextlib.suppress(OSError):
                        writer.close()
                    return
                writer.write(data)
                with contextlib.suppress(OSError):
                    await writer.drain()

        sender = asyncio.create_task(deliver())
        try:
            while True:
                try:
                    data = await reader.read(_CHUNK)
                except OSError:
                    data = b""
                queue.put_nowait((time.perf_counter() + self.delay, data))
                if not data:
                    break
            await sender
        finally:
            sender.cancel()
