"""One service of a group, as svc-infra builds it from this process's environment.

Run by ``tests/_compare_oracle.py`` in a clean environment. Phase 1 prints one
JSON line (after :data:`MARK`): what svc-infra resolved — its environment, the
database URL its engine got, the cache URL and namespace, the job queue's Redis
target — plus a token its JWT strategy issued and a subscription secret it
encrypted. Phase 2 reads the other services' tokens and ciphertexts (one JSON
line on stdin) and prints which ones this service's svc-infra accepts and
decrypts. Nothing here decides what svc-infra should do: it records what it did.
"""

import asyncio
import json
import os
import sys
import uuid
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from _child_common import user_types  # a sibling: this file runs as a script from tests/

MARK = "@@COMPARE@@"
PROBE_SECRET = "compare-oracle-subscription-secret"


def emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


def failure(exc: BaseException) -> dict[str, Any]:
    return {"error": type(exc).__name__}


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:****@{netloc}"))


def environment() -> dict[str, Any]:
    from svc_infra.app.env import MissingSecretError, get_current_environment, require_secret

    try:
        require_secret(None, "ORACLE_PROBE", dev_default="dev")
        prod_like = False
    except MissingSecretError:
        prod_like = True
    return {"name": str(get_current_environment()), "prod_like": prod_like}


async def database() -> dict[str, Any]:
    from fastapi import FastAPI
    from svc_infra.api.fastapi.db.sql import session
    from svc_infra.api.fastapi.db.sql.add import add_sql_db

    app = FastAPI()
    add_sql_db(app)
    async with app.router.lifespan_context(app):  # builds the engine; connects to nothing
        url = session._engine.url
        return {
            "drivername": url.drivername,
            "username": url.username,
            "host": url.host,
            "port": url.port,
            "database": url.database,
        }


def cache() -> dict[str, Any]:
    from svc_infra.cache.add import _derive_settings

    url, prefix, version = _derive_settings(None, None, None)
    return {"url": without_password(url), "prefix": prefix, "version": version}


def job_queue() -> dict[str, Any]:
    from svc_infra.jobs.easy import easy_jobs

    queue, _scheduler = easy_jobs()
    client = getattr(queue, "_r", None)
    if client is None:
        return {"driver": "memory", "type": type(queue).__name__}
    kwargs = client.connection_pool.connection_kwargs
    return {
        "driver": "redis",
        "type": type(queue).__name__,
        "host": kwargs.get("host"),
        "port": kwargs.get("port"),
        "db": kwargs.get("db", 0),
        "path": kwargs.get("path"),
        "username": kwargs.get("username"),
    }


def jwt_strategy() -> Any:
    """The strategy add_auth_users() builds, through svc-infra's own state."""
    from fastapi import FastAPI
    from svc_infra.api.fastapi.auth.add import add_auth_users
    from svc_infra.api.fastapi.auth.state import get_auth_state

    User, UserRead, UserCreate, UserUpdate = user_types("compare_oracle_users")
    add_auth_users(
        FastAPI(),
        user_model=User,
        schema_read=UserRead,
        schema_create=UserCreate,
        schema_update=UserUpdate,
    )
    return get_auth_state()[1]()


class _Users:
    """A user manager that knows every user: read_token then answers whether the token verified."""

    def parse_id(self, value: Any) -> Any:
        return value

    async def get(self, user_id: Any) -> Any:
        return SimpleNamespace(id=user_id)


async def jwt(strategy: Any) -> dict[str, Any]:
    from svc_nb._redact import fingerprint

    token = await strategy.write_token(SimpleNamespace(id=uuid.uuid4()))
    old = list(getattr(strategy, "_verify_secrets", [])[1:])
    return {
        "token": token,
        "secret_fp": fingerprint(strategy.encode_key),
        "old_fps": [fingerprint(s) for s in old],
    }


def encrypt() -> dict[str, Any]:
    from svc_infra.webhooks.encryption import encrypt_secret

    return {"ciphertext": encrypt_secret(PROBE_SECRET)}


async def phase_one(state: dict[str, Any]) -> dict[str, Any]:
    import svc_infra  # noqa: F401  settings load here, from this environment

    result: dict[str, Any] = {}
    probes: dict[str, Any] = {
        "environment": environment,
        "cache": cache,
        "job_queue": job_queue,
        "webhook": encrypt,
    }
    for name, probe in probes.items():
        try:
            result[name] = probe()
        except Exception as exc:
            result[name] = failure(exc)
    try:
        result["database"] = await database()
    except Exception as exc:
        result["database"] = failure(exc)
    try:
        state["strategy"] = jwt_strategy()
        result["jwt"] = await jwt(state["strategy"])
    except Exception as exc:
        result["jwt"] = failure(exc)
    return result


async def phase_two(state: dict[str, Any], others: dict[str, Any]) -> dict[str, Any]:
    from svc_infra.webhooks.encryption import decrypt_secret

    accepts: dict[str, Any] = {}
    decrypts: dict[str, Any] = {}
    strategy = state.get("strategy")
    for name, artifacts in others.items():
        token = artifacts.get("token")
        if token and strategy is not None:
            accepts[name] = await strategy.read_token(token, _Users()) is not None
        ciphertext = artifacts.get("ciphertext")
        if ciphertext:
            try:
                decrypts[name] = decrypt_secret(ciphertext) == PROBE_SECRET
            except Exception as exc:
                decrypts[name] = type(exc).__name__
    return {"accepts_tokens_from": accepts, "decrypts_secrets_from": decrypts}


async def main() -> None:
    state: dict[str, Any] = {}
    emit(await phase_one(state))
    line = sys.stdin.readline()
    emit(await phase_two(state, json.loads(line) if line.strip() else {}))


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)  # clients svc-infra left open must not keep the process alive
