"""The oracle's zygote: import svc-infra's dependencies once, fork one child per environment.

Run as a script by ``_oracle.py`` with the clean base environment. It imports the
third-party packages svc-infra builds on (never svc-infra itself, whose settings load
at import), answers ``ready``, then serves requests, one JSON line each on stdin: it
forks, the child replaces its environment and working directory and runs
``_oracle_child.run_once``, writing the result to the file the request names. A child
that outlives the request's timeout is killed.
"""

import contextlib
import importlib
import json
import os
import signal
import sys
import time
from typing import Any

import _oracle_child

# svc-infra's third-party dependencies (what a baseline build imports): none of them reads
# the variables the table sets at import time, so importing them before the fork changes
# nothing svc-infra decides. svc-infra itself is never imported here.
_PRELOAD = (
    "aiofiles",
    "alembic",
    "anyio",
    "asyncpg",
    "authlib.integrations.starlette_client",
    "cashews",
    "cryptography.fernet",
    "fastapi",
    "fastapi.openapi.models",
    "fastapi_users",
    "fastapi_users.router",
    "fastapi_users_db_sqlalchemy",
    "httpx",
    "itsdangerous",
    "jinja2",
    "mako.template",
    "prometheus_client",
    "pydantic_settings",
    "pygments",
    "pyotp",
    "redis",
    "requests",
    "segno",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "sqlalchemy.ext.asyncio",
    "starlette.middleware.sessions",
    "trio",
    "websockets",
    "svc_nb.tokens",
)


def _preload() -> None:
    for name in _PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _fork_one(request: dict[str, Any]) -> dict[str, Any]:
    """Fork, give the child the request's environment and directory, wait (bounded)."""
    result_path, log_path = request["result"], request["log"]
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.environ.clear()
            os.environ.update(request["env"])
            os.chdir(request["cwd"])
            log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            _oracle_child.START = time.monotonic()
            state = _oracle_child.run_once(request.get("config", {}))
            with open(result_path, "w", encoding="utf-8") as handle:
                json.dump(state, handle, default=str)
        finally:
            os._exit(0)
    deadline = time.monotonic() + float(request.get("timeout", 90.0))
    while time.monotonic() < deadline:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"ok": True}
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return {"ok": False, "reason": "timeout"}


def zygote() -> None:
    """Serve requests (one JSON line each on stdin), forking one child per environment."""
    _preload()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while line := sys.stdin.readline():
        if not line.strip():
            continue
        reply = _fork_one(json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    zygote()
