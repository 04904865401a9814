"""The parent side of the sections oracle: one long-lived svc-infra child, asked op by op.

Importing svc-infra costs seconds, so the webhook, token, OAuth and migration
oracles share one child process (``_sections_child.py``) started once per test
session with a clean environment; each request carries the environment it runs in.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("_sections_child.py")
MARK = "@@SECTIONS@@"
REDIS_DB14 = "redis://127.0.0.1:6379/14"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"
_KEPT = ("PATH", "HOME", "LANG")


class OracleError(AssertionError):
    """The child did not answer (crashed, timed out): the test cannot judge svc_nb."""


class SectionsOracle:
    def __init__(self, *, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self.workdir = tempfile.mkdtemp(prefix="svcnb-sections-oracle-")
        env = {k: os.environ[k] for k in _KEPT if k in os.environ}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=self.workdir,
        )
        threading.Thread(target=self._pump, daemon=True, name="oracle-stdout").start()
        threading.Thread(target=self._drain, daemon=True, name="oracle-stderr").start()
        self._lock = threading.Lock()
        self._ready = False

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARK):
                self._lines.put(line[len(MARK) :])
        self._lines.put(None)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            del self.stderr[:-200]

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise OracleError(f"svc-infra oracle gave no answer within {timeout:g} s") from None
        if line is None:
            raise OracleError("svc-infra oracle exited:\n" + "".join(self.stderr[-40:]))
        return json.loads(line)

    def call(self, op: str, env: dict[str, str] | None = None, **args: Any) -> Any:
        """Run ``op`` in the child with exactly ``env`` (plus PATH/HOME/LANG); its result."""
        with self._lock:
            if not self._ready:
                self._next(self.timeout)
                self._ready = True
            assert self.proc.stdin is not None
            request = {"op": op, "env": dict(env or {}), "args": args}
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            answer = self._next(self.timeout)
        if not answer["ok"]:
            raise OracleError(f"oracle op {op} crashed: {answer['error']}")
        return answer["result"]

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def clean_db14() -> None:
    """Delete the keys svc-infra's queue and outbox write in Redis db 14 (ours)."""
    import redis

    client = redis.Redis.from_url(REDIS_DB14)
    try:
        for pattern in ("jobs:*", "webhooks:*", "webhook:*"):
            keys = list(client.scan_iter(match=pattern, count=500))
            if keys:
                client.delete(*keys)
    finally:
        client.close()
