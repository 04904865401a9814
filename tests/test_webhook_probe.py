"""probe(): real loopback servers — statuses, redirect, slow, silent, refused, TLS faults."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from svc_nb._diagnose import registered_checks
from svc_nb._report import Finding, Status
from svc_nb.webhooks import delivery_timeout, probe, verify
from tests._certs import make_self_signed
from tests._support import SilentServer, closed_port

SECRET = "probe-secret-4f1c2a"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HookServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.received.append((self.path, {k: v for k, v in self.headers.items()}, body))
        path = self.path
        if path.startswith("/slow"):
            time.sleep(0.6)
        if path.startswith("/redirect"):
            self._answer(302, b"", {"Location": "https://hooks.invalid/final"})
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._answer(code, b'{"error": "nope", "detail": "line one\\nline two"}')
        elif path.startswith("/verify"):
            report = verify(body, dict(self.headers.items()), SECRET)
            self._answer(204 if report.ok else 401, b"" if report.ok else b"bad signature")
        else:
            self._answer(204, b"")

    def _answer(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ctx: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        if ctx is not None:
            self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the probe aborting a handshake on a bad certificate is expected here


@contextlib.contextmanager
def _serve(ctx: ssl.SSLContext | None = None) -> Iterator[_HookServer]:
    server = _HookServer(ctx)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


@pytest.fixture(scope="module")
def http_server() -> Iterator[_HookServer]:
    with _serve() as server:
        yield server


def _tls_files(**kwargs: Any) -> tuple[str, str, str]:
    cert, key = make_self_signed(**kwargs)
    folder = tempfile.mkdtemp(prefix="svcnb-probe-")
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert)
    with open(key_path, "wb") as f:
        f.write(key)
    return folder, cert_path, key_path


@contextlib.contextmanager
def _tls_server(**kwargs: Any) -> Iterator[tuple[_HookServer, str]]:
    folder, cert_path, key_path = _tls_files(**kwargs)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    try:
        with _serve(ctx) as server:
            yield server, cert_path
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


# --------------------------------------------------------------------------- HTTP


async def test_2xx_signed_event_verifies_at_the_receiver(http_server: _HookServer) -> None:
    report = await probe(f"http://127.0.0.1:{http_server.port}/verify", secret=SECRET, timeout=3)
    assert report.ok, str(report)
    assert report["webhooks.tcp"].status is Status.OK
    assert report["webhooks.tcp"].data["connect_ms"] >= 0
    http = report["webhooks.http"]
    assert http.status is Status.OK and http.data["status_code"] == 204 and http.data["signed"]
    assert report["webhooks.latency"].status is Status.OK
    assert report.get("webhooks.tls") is None  # plain http has no TLS stage
    # the receiver got svc-infra's headers, and the event as svc-infra sends it
    path, headers, body = http_server.received[-1]
    assert path == "/verify"
    assert headers["X-Signature-Alg"] == "hmac-sha256" and headers["X-Topic"] == "svc_nb.probe"
    assert json.loads(body)["topic"] == "svc_nb.probe"
    assert SECRET not in str(report) and SECRET not in report.to_json()


async def test_unsigned_probe_rejected_says_to_pass_the_secret(http_server: _HookServer) -> None:
    report = await probe(f"http://127.0.0.1:{http_server.port}/verify", timeout=3)
    http = report["webhooks.http"]
    assert http.status is Status.FAIL and http.cause == "auth"
    assert "secret=" in http.fix
    assert "bad signature" in http.data["excerpt"]


@pytest.mark.parametrize(
    ("code", "status", "cause"),
    [
        (404, Status.FAIL, "client_error"),
        (405, Status.FAIL, "client_error"),
        (422, Status.WARN, "bad_request"),
        (500, Status.FAIL, "server_error"),
        (503, Status.FAIL, "server_error"),
    ],
)
async def test_status_classes(
    http_server: _HookServer, code: int, status: Status, cause: str
) -> None:
    report = await probe(f"http://127.0.0.1:{http_server.port}/status/{code}", timeout=3)
    http = report["webhooks.http"]
    assert http.status is status and http.cause == cause
    assert http.data["status_code"] == code
    # body excerpt: short, one line
    assert http.data["excerpt"].startswith('{"error": "nope"') and "\n" not in http.data["excerpt"]


async def test_redirect_is_a_failure_naming_the_target(http_server: _HookServer) -> None:
    report = await probe(f"http://127.0.0.1:{http_server.port}/redirect", timeout=3)
    http = report["webhooks.http"]
    assert http.status is Status.FAIL and http.cause == "redirect"
    assert http.data["location"] == "https://hooks.invalid/final"
    assert (
        "https://hooks.invalid/final" in http.summary and "https://hooks.invalid/final" in http.fix
    )
    # the probe did not follow it: exactly one request reached the server for this path
    assert [p for p, _, _ in http_server.received].count("/redirect") == 1


async def test_slow_answer_near_delivery_timeout_is_warned(
    http_server: _HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_DELIVERY_TIMEOUT_SECONDS", "1")
    assert delivery_timeout() == 1.0
    report = await probe(f"http://127.0.0.1:{http_server.port}/slow", timeout=3)
    assert report["webhooks.http"].status is Status.OK
    latency = report["webhooks.latency"]
    assert latency.status is Status.WARN and latency.cause == "slow"
    assert latency.data["latency_ms"] >= 550 and latency.data["delivery_timeout_s"] == 1.0


def test_delivery_timeout_precedence() -> None:
    assert delivery_timeout({}) == 10.0
    assert delivery_timeout({"HTTP_CLIENT_TIMEOUT_SECONDS": "7"}) == 7.0
    assert (
        delivery_timeout(
            {"HTTP_CLIENT_TIMEOUT_SECONDS": "7", "WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "3"}
        )
        == 3.0
    )
    assert delivery_timeout({"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "soon"}) == 10.0


async def test_slow_answer_beyond_probe_timeout(http_server: _HookServer) -> None:
    started = time.monotonic()
    report = await probe(f"http://127.0.0.1:{http_server.port}/slow", timeout=0.3)
    elapsed = time.monotonic() - started
    assert elapsed < 0.3 + 0.3
    http = report["webhooks.http"]
    assert http.status is Status.FAIL and http.cause == "http_timeout"
    assert "10 s" in http.detail  # svc-infra's own delivery timeout is named


async def test_silent_server_returns_within_timeout(silent_server: SilentServer) -> None:
    started = time.monotonic()
    report = await probe(f"http://127.0.0.1:{silent_server.port}/hook", timeout=0.5)
    assert time.monotonic() - started < 0.5 + 0.3
    assert report["webhooks.tcp"].status is Status.OK
    assert report["webhooks.http"].cause == "http_timeout"


async def test_silent_server_over_https_times_out_in_tls(silent_server: SilentServer) -> None:
    started = time.monotonic()
    report = await probe(f"https://127.0.0.1:{silent_server.port}/hook", timeout=0.5)
    assert time.monotonic() - started < 0.5 + 0.3
    assert report["webhooks.tls"].cause == "tls_timeout"
    assert report["webhooks.http"].status is Status.SKIP


async def test_refused_port() -> None:
    port = closed_port()
    report = await probe(f"http://127.0.0.1:{port}/hook", timeout=2)
    tcp = report["webhooks.tcp"]
    assert tcp.status is Status.FAIL and tcp.cause == "refused"
    assert str(port) in tcp.fix
    assert report["webhooks.http"].status is Status.SKIP


async def test_dns_failure_is_injected_not_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()

    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(loop, "getaddrinfo", fail)
    report = await probe("http://hooks.invalid/x", timeout=1)
    assert report["webhooks.tcp"].cause == "dns"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://127.0.0.1/x",
        "http://",
        "http://127.0.0.1:99999/x",
        "127.0.0.1:8080/hook",
        "http://[::1/x",
    ],
)
async def test_malformed_url_is_a_finding(url: str) -> None:
    report = await probe(url, timeout=1)
    finding = report["webhooks.url"]
    assert finding.status is Status.FAIL and finding.cause == "bad_url" and finding.fix


async def test_url_password_is_masked(http_server: _HookServer) -> None:
    report = await probe(
        f"http://user:hunter2pw@127.0.0.1:{http_server.port}/status/500", timeout=2
    )
    assert "hunter2pw" not in str(report) and "hunter2pw" not in report.to_json()


async def test_misuse_raises() -> None:
    with pytest.raises(ValueError, match="timeout"):
        await probe("http://127.0.0.1:1/", timeout=0)
    with pytest.raises(ValueError, match="scheme"):
        await probe("http://127.0.0.1:1/", scheme="nope")
    with pytest.raises(TypeError, match="url"):
        await probe(b"http://127.0.0.1/")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- TLS


async def test_tls_self_signed() -> None:
    with _tls_server() as (server, _):
        report = await probe(f"https://127.0.0.1:{server.port}/hook", timeout=3)
    tls = report["webhooks.tls"]
    assert tls.status is Status.FAIL and tls.cause == "self_signed"
    assert tls.data["verify_code"] == 18 and tls.data["self_signed"] is True
    assert "self-signed" in tls.summary
    assert report["webhooks.http"].status is Status.SKIP


async def test_tls_expired_is_named_even_behind_self_signed() -> None:
    now = dt.datetime.now(dt.UTC)
    with _tls_server(
        not_before=now - dt.timedelta(days=40), not_after=now - dt.timedelta(days=3)
    ) as (server, _):
        report = await probe(f"https://127.0.0.1:{server.port}/hook", timeout=3)
    tls = report["webhooks.tls"]
    assert "expired" in tls.data["problems"] and tls.data["days_left"] < -2.5
    assert "expired" in tls.summary


async def test_tls_expired_with_trusted_ca_is_the_primary_cause() -> None:
    now = dt.datetime.now(dt.UTC)
    with _tls_server(
        not_before=now - dt.timedelta(days=40), not_after=now - dt.timedelta(days=3)
    ) as (server, ca):
        report = await probe(f"https://127.0.0.1:{server.port}/hook", timeout=3, cafile=ca)
    tls = report["webhooks.tls"]
    assert tls.data["verify_code"] == 10 and tls.cause == "expired"


async def test_tls_not_yet_valid() -> None:
    now = dt.datetime.now(dt.UTC)
    with _tls_server(
        not_before=now + dt.timedelta(days=2), not_after=now + dt.timedelta(days=90)
    ) as (server, ca):
        report = await probe(f"https://127.0.0.1:{server.port}/hook", timeout=3, cafile=ca)
    assert report["webhooks.tls"].cause == "not_yet_valid"


async def test_tls_wrong_host_name() -> None:
    with _tls_server(names=("other.example",)) as (server, ca):
        report = await probe(f"https://127.0.0.1:{server.port}/hook", timeout=3, cafile=ca)
    tls = report["webhooks.tls"]
    assert tls.cause == "hostname_mismatch" and tls.data["verify_code"] in (62, 64)
    assert "other.example" in tls.summary and "127.0.0.1" in tls.summary
    # untrusted too: both problems are named
    with _tls_server(names=("other.example",)) as (server, _):
        report = await probe(f"https://127.0.0.1:{server.port}/hook", timeout=3)
    assert {"self_signed", "hostname_mismatch"} <= set(report["webhooks.tls"].data["problems"])


async def test_tls_valid_with_days_left_then_http() -> None:
    with _tls_server() as (server, ca):
        report = await probe(f"https://127.0.0.1:{server.port}/hook", timeout=3, cafile=ca)
    tls = report["webhooks.tls"]
    assert tls.status is Status.OK, str(report)
    assert 29 <= tls.data["days_left"] <= 30 and tls.data["handshake_ms"] >= 0
    assert report["webhooks.http"].data["status_code"] == 204


async def test_tls_expiring_soon_warns() -> None:
    now = dt.datetime.now(dt.UTC)
    with _tls_server(not_after=now + dt.timedelta(days=5)) as (server, ca):
        report = await probe(f"https://127.0.0.1:{server.port}/hook", timeout=3, cafile=ca)
    tls = report["webhooks.tls"]
    assert tls.status is Status.WARN and tls.cause == "expires_soon"
    assert 4 <= tls.data["days_left"] <= 5


async def test_https_against_plain_http_port(http_server: _HookServer) -> None:
    report = await probe(f"https://127.0.0.1:{http_server.port}/hook", timeout=2)
    tls = report["webhooks.tls"]
    assert tls.status is Status.FAIL and tls.cause in ("plain_http", "handshake")


# --------------------------------------------------------------------------- diagnose


def test_diagnose_registers_the_endpoint_check() -> None:
    assert "webhooks.endpoint" in registered_checks()


async def test_diagnose_check_skips_without_url() -> None:
    from svc_nb._diagnose import _builders

    _, builder = _builders["webhooks.endpoint"]
    finding = builder({}, 1.0)
    assert isinstance(finding, Finding)
    assert finding.status is Status.SKIP and "SVC_NB_WEBHOOK_URL" in finding.fix


async def test_diagnose_check_probes_configured_url(http_server: _HookServer) -> None:
    env = {
        "SVC_NB_WEBHOOK_URL": f"http://127.0.0.1:{http_server.port}/verify",
        "SVC_NB_WEBHOOK_SECRET": SECRET,
    }
    from svc_nb._diagnose import _builders

    _, builder = _builders["webhooks.endpoint"]
    result = await builder(env, 2.0)  # type: ignore[misc]
    assert result["webhooks.http"].status is Status.OK


# --------------------------------------------------------------------------- trust


async def test_non_finite_timeouts_are_refused_at_once() -> None:
    for timeout in (float("nan"), float("inf"), -1):
        with pytest.raises(ValueError, match="timeout"):
            await probe("http://127.0.0.1:1/", timeout=timeout)
    with pytest.raises(TypeError, match="timeout"):
        await probe("http://127.0.0.1:1/", timeout=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delivery_timeout_s"):
        await probe("http://127.0.0.1:1/", delivery_timeout_s=float("nan"))
    # svc-infra's own setting: a non-finite value is not a timeout svc_nb can compare with
    assert delivery_timeout({"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "inf"}) == 10.0
    assert (
        delivery_timeout(
            {"WEBHOOK_DELIVERY_TIMEOUT_SECONDS": "nan", "HTTP_CLIENT_TIMEOUT_SECONDS": "4"}
        )
        == 4.0
    )


async def test_skipped_and_failed_stages_carry_causes(refused_port: int) -> None:
    report = await probe(f"http://127.0.0.1:{refused_port}/hook", timeout=1)
    for finding in report:
        assert (finding.cause is None) == (finding.status is Status.OK), finding
    assert report["webhooks.http"].cause == "not_tried"
    from svc_nb._diagnose import _builders

    _, builder = _builders["webhooks.endpoint"]
    assert builder({}, 1.0).cause == "not_configured"  # type: ignore[union-attr]


async def test_tls_problems_list_is_not_a_cause_field() -> None:
    with _tls_server(names=("other.example",)) as (server, _):
        report = await probe(f"https://127.0.0.1:{server.port}/hook", timeout=3)
    tls = report["webhooks.tls"]
    assert tls.cause == tls.data["problems"][0]
    assert "cause" not in tls.data and "causes" not in tls.data
