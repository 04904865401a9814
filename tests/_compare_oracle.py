"""svc-infra as the oracle for a group of services: one child process per service.

``run_group({"api": env, "worker": env})`` starts ``_compare_oracle_child.py`` for
every service at once, each in a CLEAN environment (PATH, HOME, LANG and the
service's variables only — svc-infra's settings load at import) and a scratch
working directory (svc-infra reads ``.env`` files from there). Phase 1 gives what
each service's svc-infra resolved, a token it issued and a subscription secret it
encrypted; phase 2 hands every service the others' tokens and ciphertexts and
records which ones its svc-infra accepts and decrypts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.fidelity._oracle import clean_env

CHILD = Path(__file__).with_name("_compare_oracle_child.py")
MARK = "@@COMPARE@@"
TIMEOUT_S = 180.0


def _read_marked(proc: subprocess.Popen[str], name: str) -> dict[str, Any]:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(MARK):
            return dict(json.loads(line[len(MARK) :]))
    raise AssertionError(
        f"the oracle child for {name!r} ended without a result (exit {proc.poll()})"
    )


def _with_deadline(procs: Mapping[str, subprocess.Popen[str]]) -> threading.Timer:
    def kill() -> None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()

    timer = threading.Timer(TIMEOUT_S, kill)
    timer.daemon = True
    timer.start()
    return timer


def run_group(envs: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Any]]:
    """What each service's svc-infra resolved (phase 1) and accepted from the others (phase 2)."""
    procs: dict[str, subprocess.Popen[str]] = {}
    with tempfile.TemporaryDirectory(prefix="svc-compare-oracle-") as scratch:
        for name, env in envs.items():
            work = Path(scratch, name)
            work.mkdir()
            procs[name] = subprocess.Popen(
                [sys.executable, str(CHILD)],
                env=clean_env(env),
                cwd=work,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        timer = _with_deadline(procs)
        try:
            first = {name: _read_marked(proc, name) for name, proc in procs.items()}
            artifacts = {
                name: {
                    "token": result.get("jwt", {}).get("token"),
                    "ciphertext": result.get("webhook", {}).get("ciphertext"),
                }
                for name, result in first.items()
            }
            for name, proc in procs.items():
                assert proc.stdin is not None
                others = {other: a for other, a in artifacts.items() if other != name}
                proc.stdin.write(json.dumps(others) + "\n")
                proc.stdin.flush()
            second = {name: _read_marked(proc, name) for name, proc in procs.items()}
        finally:
            timer.cancel()
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
    return {name: {**first[name], **second[name]} for name in envs}
