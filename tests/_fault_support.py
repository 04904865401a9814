"""Misbehaving loopback peers for the reliability suites, each in its own process.

The peers run out of process on purpose: the fault matrix counts this process's
open file descriptors before and after a check, and a server thread holding
its side of every accepted connection would blur that count.

Run as ``python -m tests._fault_support KIND PORT [CERT KEY | DELAY]``; from the tests
use :class:`Peer`. Kinds:

- ``silent``: accepts and never sends a byte;
- ``trickle``: reads the request, then answers ``200`` with a small JSON body,
  one byte every ``delay`` seconds (default ``TRICKLE_DELAY_S``; about 100
  bytes in all): a slow, byte-by-byte peer;
- ``halfclose``: reads the request, sends the status line, headers and part
  of the announced body, then closes (closing mid-response);
- ``tls``: serves HTTPS with the given certificate and key, answering ``200``.

Only stdlib, only 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRICKLE_DELAY_S = 0.05
TRICKLE_BODY = b'{"keys": [], "note": "slow"}'
KINDS = ("silent", "trickle", "halfclose", "tls")


def _read_request(conn: socket.socket) -> None:
    """Read until the end of the request headers (or EOF / 5 s)."""
    conn.settimeout(5)
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk


def _handle(kind: str, conn: socket.socket, held: list[socket.socket], delay: float) -> None:
    try:
        if kind == "silent":
            held.append(conn)  # keep it open, say nothing
            return
        _read_request(conn)
        if kind == "trickle":
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(TRICKLE_BODY)).encode() + b"\r\n\r\n"
            )
            for byte in head + TRICKLE_BODY:
                conn.sendall(bytes([byte]))
                time.sleep(delay)
        elif kind == "halfclose":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"partial": '
            )
            time.sleep(0.05)
        elif kind == "tls":
            body = b'{"ok": true}'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
    except OSError:
        pass
    finally:
        if kind != "silent":
            with contextlib.suppress(OSError):
                conn.close()


def serve(
    kind: str,
    port: int,
    cert: str | None = None,
    key: str | None = None,
    delay: float = TRICKLE_DELAY_S,
) -> None:
    """Serve one kind of misbehaviour on 127.0.0.1:port until killed."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    ctx: ssl.SSLContext | None = None
    if kind == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
    held: list[socket.socket] = []
    while True:
        conn, _ = sock.accept()
        if ctx is not None:
            try:
                conn.settimeout(5)
                conn = ctx.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                # The client rejected our certificate (the fault under test) or just probed the port.
                with contextlib.suppress(OSError):
                    conn.close()
                continue
        threading.Thread(target=_handle, args=(kind, conn, held, delay), daemon=True).start()


class Peer:
    """A misbehaving peer process on a free loopback port (context manager)."""

    def __init__(
        self,
        kind: str,
        *,
        cert: str | os.PathLike[str] | None = None,
        key: str | os.PathLike[str] | None = None,
        delay: float = TRICKLE_DELAY_S,
    ) -> None:
        from tests._support import free_port

        if kind not in KINDS:
            raise ValueError(f"unknown peer kind {kind!r}; one of {KINDS}")
        self.kind = kind
        self.port = free_port()
        self.args = [str(a) for a in (cert, key) if a is not None] or [str(delay)]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.kind == "tls" else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Peer:
        from tests._support import wait_for_port

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests._fault_support", self.kind, str(self.port), *self.args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)


if __name__ == "__main__":
    if sys.argv[1] == "tls":
        serve("tls", int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        serve(
            sys.argv[1],
            int(sys.argv[2]),
            delay=float(sys.argv[3]) if len(sys.argv) > 3 else TRICKLE_DELAY_S,
        )
