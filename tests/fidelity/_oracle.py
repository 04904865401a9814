"""svc-infra as the oracle: build a real svc-infra app in a child process per environment.

``run_oracle(env)`` runs ``_oracle_child.py`` in a CLEAN environment (PATH, HOME, LANG
and the row's variables only) and a scratch working directory (svc-infra reads ``.env``
files from the working directory and its parents), and returns what svc-infra did: the
phase it reached, the exception it raised (scrubbed of secrets) and the values it
really uses, read from the objects it built.

Speed: importing svc-infra's dependencies costs seconds per process. A few "zygote"
processes (started with ``sys.executable`` and the clean base environment) import
those third-party packages once — never svc-infra itself, whose settings load at
import — and fork one child per environment; the child replaces its environment
before it imports svc-infra. ``run_many`` keeps :data:`WORKERS` zygotes busy (CI has
2 cores). Results are cached per environment for the session.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("_oracle_child.py")
ZYGOTE = Path(__file__).with_name("_oracle_zygote.py")
MARK = "@@ORACLE@@"
BASE_VARS = ("PATH", "HOME", "LANG")
# A child that neither finishes nor fails within this is killed and reported as hung.
CHILD_TIMEOUT_S = 90.0
WORKERS = 2

# Phases in the order the child walks them; "done" means every step succeeded.
PHASES = ("import", "build", "startup", "request", "deliver", "oauth", "done")
START_PHASES = ("import", "build", "startup")


@dataclass(frozen=True)
class OracleResult:
    """What svc-infra did with one environment."""

    phase: str
    error: dict[str, Any] | None
    effective: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @property
    def started(self) -> bool:
        """svc-infra imported, built the app and ran its lifespan start-up."""
        return self.phase not in START_PHASES

    @property
    def works(self) -> bool:
        """Started, answered the database request, delivered a webhook, redirects after OAuth."""
        return self.phase == "done"

    @property
    def io_failure(self) -> bool:
        """A peer could not be reached (raised, or logged and swallowed by svc-infra's stack)."""
        return bool(self.error and self.error.get("io"))

    @property
    def config_start_failure(self) -> bool:
        """svc-infra refused to import, build or start because of its configuration."""
        return not self.started and not self.io_failure

    def describe(self) -> str:
        if self.error is None:
            return f"phase={self.phase}"
        return (
            f"phase={self.phase} {self.error['type']}: {self.error['message'][:400]} "
            f"(chain {self.error['chain']}, logged {self.error.get('logged')}, "
            f"at {self.error['where']})"
        )


def clean_env(row_env: Mapping[str, str] = {}) -> dict[str, str]:
    env = {name: os.environ[name] for name in BASE_VARS if name in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env.update(row_env)
    return env


class _Zygote:
    """One ``_oracle_zygote.py`` process; one request at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ZYGOTE)],
            env=clean_env(),
            cwd=tempfile.gettempdir(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().strip()
        if ready != "ready":
            raise AssertionError(f"the oracle zygote did not start: {ready!r}")

    def run(self, row_env: Mapping[str, str], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with tempfile.TemporaryDirectory(prefix="svc-oracle-") as scratch:
            work = Path(scratch, "cwd")
            work.mkdir()
            result, log = Path(scratch, "result.json"), Path(scratch, "child.log")
            request = {
                "env": clean_env(row_env),
                "cwd": str(work),
                "result": str(result),
                "log": str(log),
                "timeout": timeout,
            }
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            reply = json.loads(self.proc.stdout.readline() or '{"ok": false, "reason": "died"}')
            log_tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            if not reply.get("ok"):
                raise AssertionError(f"the oracle child {reply.get('reason')}: {log_tail}")
            if not result.exists():
                raise AssertionError(f"the oracle child wrote no result: {log_tail}")
            return dict(json.loads(result.read_text()))

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _Pool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: queue.Queue[_Zygote] = queue.Queue()
        self._all: list[_Zygote] = []

    def acquire(self) -> _Zygote:
        with self._lock:
            if self._idle.empty() and len(self._all) < WORKERS:
                zygote = _Zygote()
                self._all.append(zygote)
                return zygote
        return self._idle.get()

    def release(self, zygote: _Zygote) -> None:
        self._idle.put(zygote)

    def close(self) -> None:
        for zygote in self._all:
            zygote.close()


_POOL = _Pool()
atexit.register(_POOL.close)
_CACHE: dict[tuple[tuple[str, str], ...], OracleResult] = {}
# Developers iterating on svc_nb may keep svc-infra's verdicts between runs (svc-infra
# does not change between them): SVC_NB_ORACLE_CACHE=/tmp/oracle.json. CI never sets it.
_DISK_CACHE = os.environ.get("SVC_NB_ORACLE_CACHE")
_disk_lock = threading.Lock()


def _disk_key(row_env: Mapping[str, str]) -> str:
    return json.dumps(sorted(row_env.items()))


def _disk_load(row_env: Mapping[str, str]) -> dict[str, Any] | None:
    if not _DISK_CACHE or not os.path.exists(_DISK_CACHE):
        return None
    with _disk_lock, open(_DISK_CACHE, encoding="utf-8") as handle:
        found = json.load(handle).get(_disk_key(row_env))
    return dict(found) if isinstance(found, dict) else None


def _disk_store(row_env: Mapping[str, str], raw: dict[str, Any]) -> None:
    if not _DISK_CACHE:
        return
    with _disk_lock:
        stored: dict[str, Any] = {}
        if os.path.exists(_DISK_CACHE):
            with open(_DISK_CACHE, encoding="utf-8") as handle:
                stored = json.load(handle)
        stored[_disk_key(row_env)] = raw
        with open(_DISK_CACHE, "w", encoding="utf-8") as handle:
            json.dump(stored, handle)


def run_oracle(row_env: Mapping[str, str], *, timeout: float = CHILD_TIMEOUT_S) -> OracleResult:
    """Build svc-infra's app with exactly ``row_env`` (plus PATH/HOME/LANG) in a child process."""
    key = tuple(sorted(row_env.items()))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    raw = _disk_load(row_env)
    if raw is not None:
        raw["from_disk_cache"] = True
    else:
        zygote = _POOL.acquire()
        try:
            raw = zygote.run(row_env, timeout)
        finally:
            _POOL.release(zygote)
        _disk_store(row_env, raw)
    result = OracleResult(raw["phase"], raw["error"], raw["effective"], raw)
    _CACHE[key] = result
    return result


def run_single(row_env: Mapping[str, str], *, timeout: float = CHILD_TIMEOUT_S) -> OracleResult:
    """The same, in a fresh interpreter (no zygote): to prove the zygote changes nothing."""
    with tempfile.TemporaryDirectory(prefix="svc-oracle-") as scratch:
        proc = subprocess.run(
            [sys.executable, str(CHILD), "{}"],
            env=clean_env(row_env),
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith(MARK)), None)
    if line is None:
        raise AssertionError(f"the oracle child printed no result: {proc.stderr[-3000:]}")
    raw = json.loads(line[len(MARK) :])
    return OracleResult(raw["phase"], raw["error"], raw["effective"], raw)


def run_many(envs: Iterable[Mapping[str, str]]) -> list[OracleResult]:
    """Run the oracle for several environments, :data:`WORKERS` at a time."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(run_oracle, list(envs)))
