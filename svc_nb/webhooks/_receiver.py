"""A local webhook endpoint on 127.0.0.1 with scripted behaviour per attempt.

stdlib ``ThreadingHTTPServer`` in a background thread (no extra dependency),
HTTP/1.1 keep-alive, a deep listen backlog so that many concurrent deliveries
are served, and a clean shutdown (every connection closed, every thread joined).
"""

from __future__ import annotations

import contextlib
import email.utils
import http.server
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from svc_nb._redact import register_secret
from svc_nb.webhooks._errors import WebhooksError

if TYPE_CHECKING:
    import pandas as pd

    from svc_nb._report import Report

__all__ = ["ReceivedRequest", "Receiver", "Respond"]

# Headers worth showing per request (the signing headers of every scheme).
_SHOWN_HEADERS = (
    "content-type",
    "x-event-id",
    "x-topic",
    "x-attempt",
    "x-signature",
    "x-signature-alg",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "stripe-signature",
    "x-hub-signature-256",
)
_ID_HEADERS = ("x-event-id", "webhook-id", "x-github-delivery")


@dataclass(frozen=True)
class Respond:
    """What the receiver does for one attempt."""

    status: int = 200
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = "ok"
    close: bool = False  # drop the connection without any response

    @classmethod
    def ok(cls) -> Respond:
        return cls(200)

    @classmethod
    def fail(cls, status: int = 500, body: str = "failing on purpose") -> Respond:
        return cls(status, body=body)

    @classmethod
    def gone(cls) -> Respond:
        """410 Gone: the endpoint asks the sender to stop for good."""
        return cls(410, body="subscription gone")

    @classmethod
    def redirect(cls, location: str = "/moved", status: int = 301) -> Respond:
        return cls(status, headers={"Location": location}, body="moved")

    @classmethod
    def retry_after(cls, seconds: float | datetime, status: int = 503) -> Respond:
        """A failure with ``Retry-After`` in seconds or as an HTTP date."""
        if isinstance(seconds, datetime):
            value = email.utils.format_datetime(seconds.astimezone(UTC), usegmt=True)
        else:
            value = str(int(seconds))
        return cls(status, headers={"Retry-After": value}, body="slow down")

    @classmethod
    def hang(cls, seconds: float) -> Respond:
        """Answer 200 only after ``seconds`` (longer than the sender's timeout: a timeout)."""
        return cls(200, delay=seconds)

    @classmethod
    def drop(cls) -> Respond:
        """Close the connection abruptly, without a response."""
        return cls(close=True)


Behaviour = (
    Sequence["Respond | int | str"] | Callable[[int, "ReceivedRequest"], "Respond | int | str"]
)


def _as_respond(value: Respond | int | str) -> Respond:
    if isinstance(value, Respond):
        return value
    if isinstance(value, int):
        return Respond(value)
    named = {
        "close": Respond.drop(),
        "drop": Respond.drop(),
        "gone": Respond.gone(),
        "redirect": Respond.redirect(),
        "ok": Respond.ok(),
    }
    if isinstance(value, str) and value in named:
        return named[value]
    raise WebhooksError(
        f"receiver behaviour items are Respond(...), a status code or one of {sorted(named)}; got {value!r}"
    )


@dataclass
class ReceivedRequest:
    """One request the receiver saw, with the signature check and what it answered."""

    time: datetime
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    attempt: int
    key: str
    signature_ok: bool | None = None
    verification: Report | None = None
    status: int | None = None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # deliver_many opens many connections at once
    owner: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a malformed request or a client hanging up is not worth a traceback in the notebook

    def process_request(self, request: Any, client_address: Any) -> None:
        # Our own named thread per connection, tracked so stop() can close and join it.
        thread = threading.Thread(
            target=self.owner._serve_connection,
            args=(self, request, client_address),
            name="svc_nb-rx-conn",
            daemon=True,
        )
        self.owner._track(request, thread)
        thread.start()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves many deliveries
    # Headers and body go out in two writes; with Nagle on, the client's delayed
    # ACK would add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the receiver's log is its DataFrame, not stderr

    def _handle(self) -> None:
        owner = self.server.owner
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        action, record = owner._on_request(self.command, self.path, headers, body)
        if action.delay:
            owner._stopping.wait(action.delay)
        if action.close or owner._stopping.is_set():
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = action.body.encode()
        self.send_response(action.status)
        for name, value in action.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        record.status = action.status

    do_POST = _handle
    do_PUT = _handle
    do_GET = _handle


class Receiver:
    """A local webhook endpoint: ``with Receiver(fail_first=2) as rx: await deliver(rx.url, ...)``.

    Attempts are counted per delivery (by ``X-Event-Id`` / ``webhook-id``), so
    ``fail_first=2`` makes every delivery fail twice and then succeed.
    ``behaviour`` overrides that: a list of ``Respond``/status/"close"/"gone"/
    "redirect" per attempt (the last repeats), or ``f(attempt, request)``.
    """

    def __init__(
        self,
        *,
        fail_first: int = 0,
        status: int = 500,
        delay: float = 0.0,
        secret: str | bytes | None = None,
        behaviour: Behaviour | None = None,
        path: str = "/webhook",
    ) -> None:
        if fail_first < 0:
            raise WebhooksError("fail_first must be >= 0")
        self.fail_first = fail_first
        self.status = status
        self.delay = delay
        self.secret = secret
        if secret:
            register_secret(secret)
        self.behaviour = behaviour
        self.path = path
        self.requests: list[ReceivedRequest] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self.connections = 0  # TCP connections accepted (keep-alive reuse keeps this low)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> Receiver:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler, bind_and_activate=True)
        server.owner = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="svc_nb-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections and join every thread."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            conns = dict(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2.0
        for thread in conns.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(2.0)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, thread: threading.Thread) -> None:
        with self._lock:
            self._conns[conn] = thread
            self.connections += 1

    def _serve_connection(self, server: _Server, conn: socket.socket, address: Any) -> None:
        try:
            server.process_request_thread(conn, address)
        finally:
            with self._lock:
                self._conns.pop(conn, None)

    # -- behaviour -------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise WebhooksError("the receiver is not running; use it as `with Receiver() as rx:`")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{self.path}"

    def _decide(self, attempt: int, request: ReceivedRequest) -> Respond:
        if self.behaviour is not None:
            if callable(self.behaviour):
                return _as_respond(self.behaviour(attempt, request))
            items = list(self.behaviour)
            if not items:
                return Respond.ok()
            return _as_respond(items[min(attempt, len(items)) - 1])
        if attempt <= self.fail_first:
            return Respond(
                self.status, delay=self.delay, body=f"failing attempt {attempt} on purpose"
            )
        return Respond(200, delay=self.delay)

    def _on_request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[Respond, ReceivedRequest]:
        key = next((headers[h] for h in _ID_HEADERS if h in headers), "")
        with self._lock:
            attempt = self._counts.get(key, 0) + 1
            self._counts[key] = attempt
        record = ReceivedRequest(
            time=datetime.now(UTC),
            method=method,
            path=path,
            headers=headers,
            body=body,
            attempt=attempt,
            key=key,
        )
        if self.secret:
            from svc_nb.webhooks._signing import verify

            report = verify(body, headers, self.secret)
            record.verification = report
            record.signature_ok = report.ok
        action = self._decide(attempt, record)
        with self._lock:
            self.requests.append(record)
        return action, record

    # -- views ---------------------------------------------------------------------------
    @property
    def received(self) -> pd.DataFrame:
        """One row per request: time, path, attempt, event id, topic, headers, body size, signature_ok, status."""
        import pandas as pd

        with self._lock:
            reqs = list(self.requests)
        return pd.DataFrame(
            {
                "time": pd.to_datetime([r.time for r in reqs], utc=True),
                "method": [r.method for r in reqs],
                "path": [r.path for r in reqs],
                "delivery_id": [r.key for r in reqs],
                "attempt": pd.Series([r.attempt for r in reqs], dtype="int64"),
                "topic": [r.headers.get("x-topic", "") for r in reqs],
                "headers": [
                    {h: r.headers[h] for h in _SHOWN_HEADERS if h in r.headers} for r in reqs
                ],
                "body_size": pd.Series([len(r.body) for r in reqs], dtype="int64"),
                "signature_ok": pd.Series([r.signature_ok for r in reqs], dtype="boolean"),
                "status": pd.Series([r.status for r in reqs], dtype="Int64"),
            }
        )

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"<Receiver {where}: {len(self.requests)} requests>"
