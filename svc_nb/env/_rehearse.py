"""``rehearse()``: start svc-infra (or the user's app) for real, in a child process.

svc-infra's settings load at import and its helpers read the environment when the
app is built or started, so the surest way to know whether an environment works is
to start it. The child (``_rehearse_child.py``, run by path with ``sys.executable``)
imports svc-infra, imports the user's app or builds svc-infra's standard one, and runs
the ASGI lifespan start-up. It reports raw facts; here they become one finding,
``env.rehearse``, with svc_nb's explanation and fix and every secret masked. The call
is bounded: when the time runs out the child's whole process group is killed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib.util
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svc_nb._exceptions import ArgumentTypeError, ArgumentValueError
from svc_nb._redact import scrub
from svc_nb._report import Finding, Report, Status
from svc_nb._validate import check_timeout
from svc_nb.env._causes import EnvCause
from svc_nb.env._read import register_env_secrets, text_environ
from svc_nb.env._rehearse_explain import classify

__all__ = ["APP_ENV_VAR", "Rehearsal", "rehearse", "rehearse_check"]

CHILD = Path(__file__).with_name("_rehearse_child.py")
MARK = "@@svc_nb.rehearse@@"
#: ``diagnose()`` rehearses the app this variable names ("package.module:attr").
APP_ENV_VAR = "SVC_NB_APP"
# What an explicit ``environ`` is completed with, so that Python itself can run.
_PROCESS_VARS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")
_STDERR_TAIL_BYTES = 4096
_SHUTDOWN_TIMEOUT_S = 5.0


@dataclass
class Rehearsal:
    """What the child reported: the phases it entered and its final result (raw)."""

    phases: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    returncode: int | None = None
    timed_out: bool = False
    stderr_tail: str = ""
    elapsed_s: float = 0.0

    @property
    def phase(self) -> str:
        if self.result is not None:
            return str(self.result.get("phase", "import"))
        return self.phases[-1] if self.phases else "launch"


def _check_app(app: object) -> str | None:
    if app is None:
        return None
    if not isinstance(app, str):
        raise ArgumentTypeError(
            f"app= takes 'package.module:attribute' as a string, not {type(app).__name__}; "
            "for an app object in this kernel use svc_nb.service.check(app)"
        )
    module, sep, attr = app.strip().partition(":")
    if not sep or not module or not attr or any(not p.isidentifier() for p in module.split(".")):
        raise ArgumentValueError(
            f"app= must look like 'package.module:attribute' (e.g. 'myservice.main:app'), "
            f"got {app!r}"
        )
    if any(not part.isidentifier() for part in attr.split(".")):
        raise ArgumentValueError(f"the attribute part of app= must be a dotted name, got {attr!r}")
    return app.strip()


def child_environment(environ: Mapping[str, str] | None) -> dict[str, str]:
    """``os.environ``, or ``environ`` completed with what Python needs to run (PATH, HOME...)."""
    if environ is None:
        return dict(os.environ)
    text, _odd = text_environ(environ)
    base = {name: os.environ[name] for name in _PROCESS_VARS if name in os.environ}
    return {**base, **text}


def _child_sys_path() -> list[str]:
    # The user's modules are importable here (cwd, notebook dir, sys.path edits):
    # the child sees the same entries, before its own.
    return [entry for entry in sys.path if isinstance(entry, str) and entry]


async def _read_stdout(stream: asyncio.StreamReader, run: Rehearsal) -> None:
    while line := await stream.readline():
        text = line.decode("utf-8", "replace")
        if not text.startswith(MARK):
            continue
        with contextlib.suppress(ValueError):
            payload = json.loads(text[len(MARK) :])
            if payload.get("event") == "phase":
                run.phases.append(str(payload.get("phase")))
            elif payload.get("event") == "result":
                run.result = payload


async def _read_stderr(stream: asyncio.StreamReader, tail: collections.deque[bytes]) -> None:
    while chunk := await stream.read(4096):
        tail.append(chunk)
        while sum(len(c) for c in tail) > _STDERR_TAIL_BYTES and len(tail) > 1:
            tail.popleft()


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    # The child runs in a session of its own: kill it and whatever it started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def run_child(
    env: Mapping[str, str], app: str | None, timeout: float, cwd: str | None = None
) -> Rehearsal:
    """Start the child and collect what it reports, killing it when ``timeout`` runs out."""
    config = {"app": app, "sys_path": _child_sys_path(), "shutdown_timeout": _SHUTDOWN_TIMEOUT_S}
    run = Rehearsal()
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        json.dumps(config),
        env=dict(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    tail: collections.deque[bytes] = collections.deque()
    readers = asyncio.gather(_read_stdout(proc.stdout, run), _read_stderr(proc.stderr, tail))
    try:
        await asyncio.wait_for(asyncio.shield(readers), timeout)
        run.returncode = await asyncio.wait_for(proc.wait(), max(0.5, timeout / 10))
    except TimeoutError:
        run.timed_out = run.result is None
        _kill_group(proc)
    finally:
        if proc.returncode is None:
            _kill_group(proc)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5.0)
        readers.cancel()
        with contextlib.suppress(BaseException):
            await readers
        run.returncode = proc.returncode
    run.stderr_tail = b"".join(tail).decode("utf-8", "replace")
    run.elapsed_s = time.monotonic() - started
    return run


def svc_infra_importable() -> bool:
    try:
        return importlib.util.find_spec("svc_infra") is not None
    except (ImportError, ValueError):
        return False


def _skip_missing() -> Finding:
    return Finding(
        "env.rehearse",
        Status.SKIP,
        "svc-infra is not installed in this interpreter: nothing to rehearse",
        detail=f"{sys.executable} cannot import svc_infra, so its start-up cannot be tried here.",
        fix="Run the rehearsal in the service's own environment (its virtualenv or container), "
        "or install the service's dependencies: pip install svc-infra",
        cause=EnvCause.SVC_INFRA_MISSING,
    )


async def rehearse(
    environ: Mapping[str, str] | None = None,
    *,
    app: str | None = None,
    timeout: float = 60.0,
    cwd: str | os.PathLike[str] | None = None,
) -> Report:
    """Start svc-infra with ``environ`` in a subprocess and report what really happens.

    The child imports svc-infra (its settings load then), imports ``app``
    ("package.module:attribute") or, without it, builds svc-infra's standard app with
    its own helpers (``easy_service_app``, ``add_sql_db``, ``add_security``,
    ``add_auth_users``, ``add_cache``, ``easy_jobs`` + ``add_webhooks``), and runs the
    ASGI lifespan start-up. ``environ`` defaults to ``os.environ``; an explicit mapping is
    completed with PATH/HOME/LANG only. ``cwd`` (default: the current directory) is
    where svc-infra looks for ``.env``. Bounded by ``timeout`` seconds: the child is
    killed when it runs out. Returns a Report with one finding, ``env.rehearse``.
    """
    timeout = check_timeout(timeout)
    app = _check_app(app)
    title = f"svc-infra start-up rehearsal{f' of {app}' if app else ''}"
    if not svc_infra_importable():
        return Report([_skip_missing()], title=title)
    env = child_environment(environ)
    register_env_secrets(env)
    run = await run_child(env, app, timeout, None if cwd is None else os.fspath(cwd))
    finding = classify(run, env=env, app=app, timeout=timeout)
    return Report([finding], title=scrub(title))


async def rehearse_check(environ: Mapping[str, str], timeout: float) -> list[Finding]:
    """``diagnose()``'s check: rehearse the app named by ``SVC_NB_APP``, when it is set."""
    app = (environ.get(APP_ENV_VAR) or "").strip()
    if not app:
        return []
    try:
        report = await rehearse(environ, app=app, timeout=timeout)
    except (ArgumentValueError, ArgumentTypeError) as exc:
        return [
            Finding(
                "env.rehearse",
                Status.FAIL,
                f"{APP_ENV_VAR} is not 'package.module:attribute'",
                detail=str(exc),
                fix=f"Set {APP_ENV_VAR}=myservice.main:app (the module and the ASGI app in it).",
                cause=EnvCause.APP_SPEC_INVALID,
            )
        ]
    return list(report)
