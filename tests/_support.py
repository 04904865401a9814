"""Real local servers and helpers for the tests (loopback only).

- ``free_port()``, ``closed_port()``: ports for refused-connection cases;
- ``SilentServer``: a TCP server that accepts and never answers;
- ``RedisServer``: an extra redis-server with any config on a free port;
- ``PostgresCluster``: an extra PostgreSQL cluster (initdb as the postgres user)
  with custom pg_hba.conf, TLS and settings on a free port;
- ``execute_notebook()``: run a notebook in a real kernel with given env vars.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from svc_nb import Status

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


@functools.cache
def pg_bin() -> Path:
    """The newest installed PostgreSQL's bin directory, looked up on first use.

    Not at import: collecting the tests must work on a machine without PostgreSQL.
    """
    root = Path("/usr/lib/postgresql")
    versions = sorted(os.listdir(root)) if root.is_dir() else []
    if not versions:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    return root / versions[-1] / "bin"


def __getattr__(name: str) -> Path:
    if name == "PG_BIN":
        return pg_bin()
    raise AttributeError(name)


LOCAL_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    return free_port()


def wait_for_port(port: int, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")


class SilentServer:
    """Accepts TCP connections and never sends a byte (a hung peer)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = int(self._sock.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self._conns.append(conn)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._conns:
            conn.close()
        self._sock.close()

    @property
    def accepted(self) -> int:
        return len(self._conns)


class RedisServer:
    """An extra redis-server on a free loopback port, with extra config lines."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.args = list(args)
        self.dir = tempfile.mkdtemp(prefix="svcnb-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        cmd = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self.dir,
            "--daemonize",
            "no",
            "--logfile",
            "",
            *self.args,
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _as_postgres(cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL server binary as the postgres user (initdb refuses root)."""
    pw = pwd.getpwnam("postgres")

    def _demote() -> None:
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)

    return subprocess.run(
        list(cmd),
        preexec_fn=_demote if os.geteuid() == 0 else None,
        capture_output=True,
        text=True,
        check=True,
        **kw,
    )


class PostgresCluster:
    """A throwaway PostgreSQL cluster on a free loopback port.

    ``hba`` replaces pg_hba.conf lines; ``settings`` go to postgresql.conf;
    ``ssl=True`` makes a self-signed certificate for 127.0.0.1/localhost;
    ``password`` sets the postgres role's password (scram-sha-256).
    """

    def __init__(
        self,
        *,
        hba: Sequence[str] = ("host all all 127.0.0.1/32 trust",),
        settings: Mapping[str, str] | None = None,
        ssl: bool = False,
        password: str | None = None,
    ) -> None:
        self.port = free_port()
        self.hba = list(hba)
        self.settings = dict(settings or {})
        self.ssl = ssl
        self.password = password
        self.base = Path(tempfile.mkdtemp(prefix="svcnb-pg-"))
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        pw = pwd.getpwnam("postgres")
        os.chown(self.base, pw.pw_uid, pw.pw_gid)
        self.base.chmod(0o755)

    def url(
        self,
        user: str = "postgres",
        password: str | None = None,
        db: str = "postgres",
        query: str = "",
    ) -> str:
        auth = f"{user}:{password}@" if password is not None else f"{user}@"
        return f"postgresql://{auth}127.0.0.1:{self.port}/{db}{query}"

    def start(self) -> PostgresCluster:
        pw = pwd.getpwnam("postgres")
        self.sock.mkdir()
        os.chown(self.sock, pw.pw_uid, pw.pw_gid)
        pwfile = self.base / "pw"
        init = [
            str(pg_bin() / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ]
        if self.password is not None:
            pwfile.write_text(self.password + "\n")
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
            init += [f"--pwfile={pwfile}"]
        _as_postgres(init)
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.sock}'",
            "fsync": "off",
            "shared_buffers": "16MB",
            "password_encryption": "'scram-sha-256'",
            **self.settings,
        }
        if self.ssl:
            self._make_cert()
            conf.update(
                {"ssl": "on", "ssl_cert_file": "'server.crt'", "ssl_key_file": "'server.key'"}
            )
        with (self.data / "postgresql.conf").open("a") as fh:
            for key, value in conf.items():
                fh.write(f"{key} = {value}\n")
        (self.data / "pg_hba.conf").write_text("local all all trust\n" + "\n".join(self.hba) + "\n")
        _as_postgres(
            [
                str(pg_bin() / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.base / "log"),
                "-w",
                "-t",
                "30",
                "start",
            ]
        )
        return self

    def _make_cert(self) -> None:
        from tests._certs import make_self_signed

        cert, key = make_self_signed(["localhost", "127.0.0.1"])
        (self.data / "server.crt").write_bytes(cert)
        (self.data / "server.key").write_bytes(key)
        pw = pwd.getpwnam("postgres")
        for name in ("server.crt", "server.key"):
            os.chown(self.data / name, pw.pw_uid, pw.pw_gid)
            (self.data / name).chmod(0o600)

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = _as_postgres(
            [
                str(pg_bin() / "psql"),
                "-h",
                str(self.sock),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-Atc",
                sql,
            ]
        )
        return out.stdout

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _as_postgres([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def execute_notebook(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    *,
    timeout: int = 240,
    cwd: str | os.PathLike[str] | None = None,
) -> Any:
    """Execute a notebook top to bottom in a real ipykernel; returns the executed nbformat node.

    ``env`` is added to this process's environment for the kernel. Raises
    nbclient's CellExecutionError naming the failing cell.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    kernel_env = {**os.environ, **(env or {})}
    kernel_env.setdefault("MPLBACKEND", "agg")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd or Path(path).parent)}},
    )
    client.execute(env=kernel_env)
    return nb


def execute_cells(
    sources: Sequence[str], env: Mapping[str, str] | None = None, *, timeout: int = 120
) -> Any:
    """Run code cells in a fresh real kernel; returns the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    kernel_env = {**os.environ, "MPLBACKEND": "agg", **(env or {})}
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True).execute(
        env=kernel_env
    )
    return nb


def cell_text(cell: Any) -> str:
    """The text one executed cell shows (stream and text/plain)."""
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append(str(out["text"]))
        if "text/plain" in out.get("data", {}):
            parts.append(str(out["data"]["text/plain"]))
        if out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    return "".join(parts)


def notebook_text_outputs(nb: Any) -> str:
    """Every text an executed notebook shows (streams, results, HTML, errors), joined."""
    chunks: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                chunks.append(str(out["text"]))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    chunks.append(value if isinstance(value, str) else str(value))
            if out.get("output_type") == "error":
                chunks.append("\n".join(out.get("traceback", [])))
    return "\n".join(chunks)


def assert_causes(report: Iterable[Any], causes: Iterable[str]) -> None:
    """Every non-ok finding names its cause from ``causes``, first-class (not in its data);
    ok findings name none."""
    allowed = set(causes)
    for finding in report:
        if finding.status is Status.OK:
            assert finding.cause is None, finding
        else:
            assert finding.cause in allowed, finding
            assert "cause" not in finding.data, finding


def changed_env(base: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """A copy of ``base`` with ``changes`` applied (None removes a variable)."""
    env = dict(base)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


# Children import svc_nb from this checkout, whatever svc_nb is installed (and whatever their cwd).
_CHECKOUT = str(ROOT)


def clean_child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without service settings, importing svc_nb from here."""
    prefixes = ("SQL_", "DB_", "DATABASE_", "CACHE_", "REDIS_", "AUTH_", "JWT_", "WEBHOOK")
    kept = {k: v for k, v in os.environ.items() if not k.startswith((*prefixes, "SVC_NB_"))}
    path = os.pathsep.join(p for p in (_CHECKOUT, os.environ.get("PYTHONPATH")) if p)
    return {**kept, "PYTHONPATH": path, **extra}


def run_child_python(
    code: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> str:
    """The last line ``python -c code`` prints (it must exit 0), in a clean child process."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_child_env({}) if env is None else dict(env),
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


# The benchmark's environment beyond the services: one JWT secret (40 characters), local.
BENCH_AUTH = {"AUTH_JWT__SECRET": "0123456789abcdef0123456789abcdef01234567", "APP_ENV": "local"}


class JwksServer:
    """A JWKS document served on loopback at /.well-known/jwks.json, counting its fetches."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps(outer.jwks).encode()
                status = 200 if self.path == "/.well-known/jwks.json" else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
