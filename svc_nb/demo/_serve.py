"""An ASGI app served by uvicorn on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

from svc_nb._validate import check_timeout
from svc_nb.demo._errors import DemoError, require

__all__ = ["Served", "StopsOnExit", "serve"]


class StopsOnExit:
    """A running thing that ``with`` stops at the end of the block (``stop()`` does the work)."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Served(StopsOnExit):
    """A running server: ``.url`` to call it, ``.stop()`` (or ``with``) to end it.

    Started on creation, so it can live across notebook cells; also a context
    manager for code that wants it stopped at the end of a block.
    """

    def __init__(self, app: Any, *, startup_timeout: float = 10.0, lifespan: str = "auto") -> None:
        uvicorn = require("uvicorn", "uvicorn")
        timeout = check_timeout(startup_timeout, name="startup_timeout")
        # Bound here and handed to uvicorn: no window in which another process takes the port.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan=lifespan)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"svc_nb.demo server :{self.port}",
        )
        self._thread.start()
        self._wait_started(timeout)

    def _wait_started(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._socket.close()
                raise DemoError(
                    f"the demo server on {self.url} stopped while starting (see the log above)"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise DemoError(f"the demo server on {self.url} did not start within {timeout:g} s")
            time.sleep(0.01)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._server.should_exit

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the server to exit and wait for its thread (idempotent)."""
        self._server.should_exit = True
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(check_timeout(timeout))
        self._socket.close()

    def __repr__(self) -> str:
        return f"<Served {self.url} {'running' if self.running else 'stopped'}>"


def serve(app: Any, *, startup_timeout: float = 10.0, lifespan: str = "auto") -> Served:
    """Serve ``app`` (any ASGI app) on ``http://127.0.0.1:<free port>`` in a background thread.

    Returns once the server accepts connections::

        with demo.serve(app) as server:
            httpx.get(server.url + "/items")

    or, across notebook cells, ``server = demo.serve(app)`` … ``server.stop()``.
    """
    return Served(app, startup_timeout=startup_timeout, lifespan=lifespan)
