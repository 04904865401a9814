"""The sections oracle's child: svc-infra's own code, driven one request at a time.

Started by ``tests/fidelity/_sections_oracle.py`` with a CLEAN environment (PATH,
HOME, LANG and the oracle's base variables only) in a scratch working directory.
It reads one JSON request per line on stdin (``{"op": ..., "env": {...},
"args": {...}}``) and answers one line prefixed with :data:`MARK`.

``env`` replaces the variables of the request's environment for the duration of
the request. That is sound only for the settings svc-infra reads when a function
is *called* (``os.getenv`` inside ``easy_jobs``, ``_resolve_jobs_redis_url``,
``get_redis_url``, ``add_webhooks(env=os.environ)``, the webhook handler's
timeout, the Fernet key behind an ``lru_cache`` that is cleared here, the auth
settings object that is rebuilt here, Alembic's ``SQL_URL``/``PROJECT_ROOT``).
Settings svc-infra freezes at import (``APP_ENV``) stay those of the process.

Nothing here decides what svc-infra *should* do: each op runs svc-infra's code
and records what it did.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# tests/ holds the helper the svc-infra oracle children share (this file runs as a script).
sys.path.append(str(Path(__file__).resolve().parent.parent))
from _child_common import user_types

MARK = "@@SECTIONS@@"
_BASE = dict(os.environ)


def describe(exc: BaseException) -> dict[str, Any]:
    chain: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 6:
        chain.append(f"{type(current).__module__}.{type(current).__name__}")
        current = current.__cause__ or current.__context__
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    return {
        "type": type(exc).__name__,
        "mro": [k.__name__ for k in type(exc).__mro__],
        "chain": chain,
        "message": str(exc)[:2000],
        "where": [f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in frames],
    }


def _reset_svc_infra_caches() -> None:
    """Forget values svc-infra caches after reading them from the environment."""
    if "svc_infra.webhooks.encryption" in sys.modules:
        sys.modules["svc_infra.webhooks.encryption"]._get_fernet.cache_clear()
    if "svc_infra.api.fastapi.auth.settings" in sys.modules:
        sys.modules["svc_infra.api.fastapi.auth.settings"]._settings = None


@contextlib.contextmanager
def environment(env: dict[str, str] | None) -> Iterator[None]:
    if env is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(_BASE)
    os.environ.update(env)
    _reset_svc_infra_caches()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _reset_svc_infra_caches()


# -- webhooks: signing -------------------------------------------------------------------


def op_sign(secret: str, payloads: list[Any]) -> list[dict[str, str]]:
    """svc-infra's ``sign`` and ``canonical_body`` for each payload."""
    from svc_infra.webhooks.signing import canonical_body, sign

    return [
        {"signature": sign(secret, p), "canonical": canonical_body(p).decode()} for p in payloads
    ]


def op_verify(secret: str, body: str, signature: str) -> bool:
    """svc-infra's own ``verify`` over the JSON a receiver parsed from ``body``."""
    from svc_infra.webhooks.signing import verify

    return bool(verify(secret, json.loads(body), signature))


def op_sign_raw(secret: str, case: str) -> dict[str, Any]:
    """svc-infra's ``sign`` of payloads JSON cannot carry (non-string keys)."""
    from svc_infra.webhooks.signing import sign

    payloads: dict[str, Any] = {
        "int_keys": {"topic": "t", "payload": {2: "two", 10: "ten"}, "version": 1},
        "mixed_keys": {"topic": "t", "payload": {2: "two", "a": "letter"}, "version": 1},
    }
    try:
        return {"signature": sign(secret, payloads[case])}
    except Exception as exc:
        return {"error": describe(exc)}


# -- webhooks: encryption ----------------------------------------------------------------


def op_encrypt(secrets: list[str]) -> dict[str, Any]:
    """svc-infra's ``encrypt_secret`` (with this request's WEBHOOK_ENCRYPTION_KEY) and back."""
    from svc_infra.webhooks.encryption import decrypt_secret, encrypt_secret

    try:
        encrypted = [encrypt_secret(s) for s in secrets]
    except Exception as exc:
        return {"error": describe(exc)}
    return {"encrypted": encrypted, "decrypted": [decrypt_secret(c) for c in encrypted]}


def op_decrypt(ciphertexts: list[str]) -> list[dict[str, Any]]:
    from svc_infra.webhooks.encryption import decrypt_secret

    out: list[dict[str, Any]] = []
    for text in ciphertexts:
        try:
            out.append({"plain": decrypt_secret(text)})
        except Exception as exc:
            out.append({"error": describe(exc)})
    return out


# -- webhooks: the job queue ----------------------------------------------------------------


def _redis_target(client: Any) -> dict[str, Any]:
    kwargs = dict(client.connection_pool.connection_kwargs)
    return {
        "host": kwargs.get("host"),
        "port": kwargs.get("port"),
        "db": kwargs.get("db", 0),
        "username": kwargs.get("username"),
        "password": kwargs.get("password"),
        "path": kwargs.get("path"),
    }


def op_jobs() -> dict[str, Any]:
    """What ``easy_jobs()`` builds in this environment: the queue class and its Redis."""
    from svc_infra.jobs.easy import easy_jobs

    try:
        queue, _scheduler = easy_jobs()
    except Exception as exc:
        return {"error": describe(exc)}
    client = getattr(queue, "_r", None)
    return {
        "queue": type(queue).__name__,
        "redis": _redis_target(client) if client is not None else None,
        "prefix": getattr(queue, "_p", None),
        "visibility_timeout": getattr(queue, "_vt", None),
    }


class _Pipeline:
    """One app's webhook wiring, built with svc-infra's helpers: outbox, queue, handler."""

    def __init__(self) -> None:
        from fastapi import FastAPI
        from svc_infra.jobs.easy import easy_jobs
        from svc_infra.webhooks.add import add_webhooks

        self.app = FastAPI()
        self.queue, scheduler = easy_jobs()
        add_webhooks(self.app, queue=self.queue, scheduler=scheduler, schedule_tick=False)
        self.seen: list[dict[str, Any]] = []

    async def publish(self, topic: str, payload: Any, subscribers: list[dict[str, str]]) -> None:
        from svc_infra.webhooks.service import WebhookService

        subs = self.app.state.webhooks_subscriptions
        for sub in subscribers:
            subs.add(topic, sub["url"], sub["secret"])
        WebhookService(self.app.state.webhooks_outbox, subs).publish(topic, payload)
        for _ in subscribers:
            await self.app.state.webhooks_outbox_tick()

    async def handler(self, job: Any) -> None:
        self.seen.append({"id": job.id, "attempts": job.attempts, "name": job.name})
        await self.app.state.webhooks_delivery_handler(job)


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes | bytearray) else value


def _redis_state(queue: Any) -> dict[str, Any]:
    r, p = queue._r, queue._p
    jobs: dict[str, Any] = {}
    ids = set()
    lists = {
        "ready": [_text(i) for i in r.lrange(f"{p}:ready", 0, -1)],
        "processing": [_text(i) for i in r.lrange(f"{p}:processing", 0, -1)],
        "dlq": [_text(i) for i in r.lrange(f"{p}:dlq", 0, -1)],
    }
    delayed = {_text(m): s for m, s in r.zrange(f"{p}:delayed", 0, -1, withscores=True)}
    for group in (*lists.values(), delayed):
        ids.update(group)
    for job_id in ids:
        jobs[job_id] = {_text(k): _text(v) for k, v in r.hgetall(f"{p}:job:{job_id}").items()}
    return {**lists, "delayed": delayed, "jobs": jobs}


def _memory_state(queue: Any) -> dict[str, Any]:
    now = time.time()
    return {
        "jobs": {
            j.id: {
                "attempts": j.attempts,
                "max_attempts": j.max_attempts,
                "last_error": j.last_error,
                "due_in_s": j.available_at.timestamp() - now,
                "payload": json.dumps(j.payload, default=str),
            }
            for j in queue._jobs
        }
    }


def _time_travel(queue: Any) -> None:
    """Make every waiting job due now: svc-infra's own schedule was recorded just before."""
    from datetime import UTC, datetime, timedelta

    if hasattr(queue, "_r"):
        r, p = queue._r, queue._p
        due = int(time.time()) - 1
        for member in r.zrange(f"{p}:delayed", 0, -1):
            r.zadd(f"{p}:delayed", {_text(member): due})
    else:
        for job in queue._jobs:
            job.available_at = datetime.now(UTC) - timedelta(seconds=1)


async def _work(pipeline: _Pipeline, runs: int) -> list[dict[str, Any]]:
    """Run svc-infra's worker (``process_one``) ``runs`` times, recording each run."""
    from svc_infra.jobs.worker import process_one

    queue = pipeline.queue
    record: list[dict[str, Any]] = []
    for _ in range(runs):
        _time_travel(queue)
        before = int(time.time())
        pipeline.seen.clear()
        processed = await process_one(queue, pipeline.handler)
        after = int(time.time())
        state = _redis_state(queue) if hasattr(queue, "_r") else _memory_state(queue)
        record.append(
            {
                "processed": processed,
                "jobs_run": list(pipeline.seen),
                "clock": [before, after],
                "state": state,
            }
        )
        if not processed:
            break
    return record


def op_pipeline(
    topic: str, payload: Any, subscribers: list[dict[str, str]], runs: int, int_keys: bool = False
) -> dict[str, Any]:
    """Publish one event through svc-infra's outbox, queue and delivery handler, then work it."""
    if int_keys:
        payload = {int(k): v for k, v in payload.items()}

    async def go() -> dict[str, Any]:
        pipeline = _Pipeline()
        await pipeline.publish(topic, payload, subscribers)
        queued = (
            _redis_state(pipeline.queue)
            if hasattr(pipeline.queue, "_r")
            else _memory_state(pipeline.queue)
        )
        runs_done = await _work(pipeline, runs)
        return {"queue": type(pipeline.queue).__name__, "queued": queued, "runs": runs_done}

    return asyncio.run(go())


def op_work(runs: int) -> list[dict[str, Any]]:
    """svc-infra's worker over whatever the Redis queue holds now (e.g. a requeued dead letter)."""

    async def go() -> list[dict[str, Any]]:
        pipeline = _Pipeline()
        return await _work(pipeline, runs)

    return asyncio.run(go())


# -- tokens ---------------------------------------------------------------------------------


@functools.cache
def _user_types() -> tuple[Any, Any, Any, Any]:
    return user_types("sections_oracle_users", auth_user=False)


class _Users:
    """The part of a fastapi-users user manager a strategy calls: any id is a user."""

    def parse_id(self, value: Any) -> Any:
        return uuid.UUID(str(value))

    async def get(self, user_id: Any) -> Any:
        return SimpleNamespace(id=user_id)


async def _accepts(strategy: Any, token: str) -> bool:
    return await strategy.read_token(token, _Users()) is not None


def op_jwt(extra_secrets: dict[str, str]) -> dict[str, Any]:
    """svc-infra's JWT strategy (its own ``get_jwt_strategy``) and MFA pre-token writer.

    Writes an access token with the strategy, one token per rotated secret and per
    ``extra_secrets`` entry (as a strategy with that secret would have), and an MFA
    pre-token; records which ones svc-infra's strategy accepts, and which of its
    secrets accepts each.
    """
    from fastapi_users.authentication import JWTStrategy
    from svc_infra.api.fastapi.auth.mfa.pre_auth import get_mfa_pre_jwt_writer
    from svc_infra.api.fastapi.auth.settings import get_auth_settings
    from svc_infra.api.fastapi.db.sql.users import get_fastapi_users

    async def go() -> dict[str, Any]:
        try:
            get_auth_settings()
            built = get_fastapi_users(*_user_types())
        except Exception as exc:
            return {"error": describe(exc)}
        strategy = built[4]()
        secrets = list(getattr(strategy, "_verify_secrets", [strategy.encode_key]))
        user = SimpleNamespace(id=uuid.uuid4())
        tokens = {"access": await strategy.write_token(user)}
        for i, secret in enumerate(secrets[1:]):
            older = JWTStrategy(secret=secret, lifetime_seconds=strategy.lifetime_seconds)
            tokens[f"old[{i}]"] = await older.write_token(user)
        for name, secret in extra_secrets.items():
            other = JWTStrategy(secret=secret, lifetime_seconds=strategy.lifetime_seconds)
            tokens[name] = await other.write_token(user)
        mfa = get_mfa_pre_jwt_writer()
        tokens["mfa"] = await mfa.write(user)
        verdicts: dict[str, Any] = {}
        for name, token in tokens.items():
            signers = []
            for i, secret in enumerate(secrets):
                single = JWTStrategy(secret=secret, lifetime_seconds=strategy.lifetime_seconds)
                if await _accepts(single, token):
                    signers.append("primary" if i == 0 else f"old[{i - 1}]")
            try:
                mfa_claims = await mfa.read(token)
            except Exception:
                mfa_claims = None
            verdicts[name] = {
                "strategy_accepts": await _accepts(strategy, token),
                "signers": signers,
                "mfa_reader_accepts": mfa_claims is not None,
            }
        settings = get_auth_settings()
        return {
            "manager_token_secrets": await _manager_token_secrets(built[0]),
            "strategy": type(strategy).__name__,
            "lifetime_seconds": strategy.lifetime_seconds,
            "audience": list(strategy.token_audience),
            "secrets": secrets,
            "mfa_secret": mfa.secret,
            "mfa_lifetime": mfa.lifetime,
            "mfa_settings_lifetime": settings.mfa_pre_token_lifetime_seconds,
            "tokens": tokens,
            "verdicts": verdicts,
            "issued_at": int(time.time()),
        }

    return asyncio.run(go())


async def _manager_token_secrets(users: Any) -> dict[str, Any]:
    """The reset/verify secrets of svc-infra's own UserManager, and whether a verification
    token signed with the literal 'unused' decodes under the manager's own audience."""
    from fastapi_users.jwt import decode_jwt, generate_jwt

    manager = await users.get_user_manager(None).__anext__()
    token = generate_jwt(
        {
            "sub": "any-user-id",
            "email": "a@example.com",
            "aud": manager.verification_token_audience,
        },
        "unused",
        3600,
    )
    claims = decode_jwt(
        token, manager.verification_token_secret, [manager.verification_token_audience]
    )
    return {
        "reset": str(manager.reset_password_token_secret),
        "verify": str(manager.verification_token_secret),
        "forged_verify_token_decodes": claims.get("sub") == "any-user-id",
    }


# -- oauth ----------------------------------------------------------------------------------


class _OAuthApp:
    def __init__(self) -> None:
        from fastapi import FastAPI
        from starlette.responses import JSONResponse
        from svc_infra.api.fastapi.auth.add import add_auth_users
        from svc_infra.api.fastapi.db.sql.session import initialize_session

        user, read, create, update = _user_types()
        app = FastAPI()
        add_auth_users(
            app, user_model=user, schema_read=read, schema_create=create, schema_update=update
        )

        async def session(request: Any) -> Any:
            # Starlette's own SessionMiddleware reads the cookie: the ground truth.
            return JSONResponse(dict(request.session))

        app.add_route("/_oracle/session", session)
        initialize_session(os.environ["SQL_URL"])
        self.app = app
        mw = next(m for m in app.user_middleware if m.cls.__name__ == "SessionMiddleware")
        self.session_kwargs = {k: v for k, v in mw.kwargs.items() if k != "secret_key"}
        self.secret = mw.kwargs["secret_key"]

    async def get(self, path: str, cookie: str | None = None) -> dict[str, Any]:
        import httpx

        transport = httpx.ASGITransport(app=self.app)
        headers = {"cookie": cookie} if cookie else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            response = await client.get(path, headers=headers)
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:500]
        return {
            "status": response.status_code,
            "location": response.headers.get("location"),
            "set_cookie": response.headers.get_list("set-cookie"),
            "body": body,
        }


def _session_cookie(session: dict[str, Any], secret: str, age_s: float) -> str:
    """A cookie as Starlette's SessionMiddleware writes it, signed ``age_s`` seconds ago."""
    import itsdangerous

    class _Past(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age_s)

    data = base64.b64encode(json.dumps(session).encode())
    return _Past(str(secret)).sign(data).decode()


def op_oauth(provider: str, forge: list[dict[str, Any]]) -> dict[str, Any]:
    """The login redirect and cookie svc-infra's OAuth router makes, and its callbacks' answers.

    ``forge`` lists callbacks to replay: each says how to alter the real login
    session (``drop_keys`` prefixes, ``age_s``, ``secret``, ``no_cookie``) and which
    state to send back (``state``: "real" or a literal).
    """

    async def go() -> dict[str, Any]:
        oauth = _OAuthApp()
        name = oauth.session_kwargs.get("session_cookie", "svc_session")
        login = await oauth.get(f"/auth/oauth/{provider}/login")
        cookie_header = next(c for c in login["set_cookie"] if c.startswith(f"{name}="))
        value = cookie_header.split(";", 1)[0].split("=", 1)[1]
        session = (await oauth.get("/_oracle/session", f"{name}={value}"))["body"]
        callbacks = []
        for case in forge:
            state = case.get("state", "real")
            if state == "real":
                state = session.get(f"oauth:{provider}:state")
            altered = {
                k: v
                for k, v in session.items()
                if not any(k.startswith(p) for p in case.get("drop_keys", ()))
            }
            if case.get("no_cookie"):
                sent = None
            elif case.get("drop_keys") or "age_s" in case or "secret" in case:
                sent = _session_cookie(
                    altered, case.get("secret", oauth.secret), case.get("age_s", 0)
                )
            else:
                sent = value
            cookie = f"{name}={sent}" if sent else None
            answer = await oauth.get(
                f"/auth/oauth/{provider}/callback?code=oracle-code&state={state}", cookie
            )
            seen = (await oauth.get("/_oracle/session", cookie))["body"] if cookie else {}
            callbacks.append(
                {"case": case, "cookie": cookie, "state": state, "answer": answer, "seen": seen}
            )
        return {
            "login": login,
            "cookie_header": cookie_header,
            "session": session,
            "middleware": oauth.session_kwargs,
            "secret": oauth.secret,
            "callbacks": callbacks,
            "now": time.time(),
        }

    return asyncio.run(go())


# -- migrations -----------------------------------------------------------------------------


def _alembic_config() -> Any:
    from svc_infra.app.env import prepare_env
    from svc_infra.db.sql.utils import build_alembic_config

    return build_alembic_config(prepare_env())


def _current() -> list[str]:
    """The database's revisions as ``alembic current`` prints them through svc-infra's env.py.

    (svc-infra's own ``core.current()`` returns an empty ``stdout``: Alembic prints to
    the stream its Config captured before the redirect.)
    """
    import io

    from alembic import command

    cfg = _alembic_config()
    buffer = io.StringIO()
    cfg.stdout = buffer
    command.current(cfg)
    # svc-infra's env.py adds "[alembic] ..." notes; revision lines start with the hex id.
    words = (line.split()[0] for line in buffer.getvalue().splitlines() if line.strip())
    return sorted(w for w in words if all(c in "0123456789abcdef" for c in w))


def op_migrations(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """svc-infra's Alembic helpers (its templates), step by step, in PROJECT_ROOT."""
    from svc_infra.db.sql import core

    out: list[dict[str, Any]] = []
    for step in steps:
        action = step["action"]
        try:
            if action == "init":
                core.init_alembic(overwrite=True)
                result: Any = "ok"
            elif action == "create_db":
                from svc_infra.db.sql.utils import ensure_database_exists

                ensure_database_exists(os.environ["SQL_URL"])
                result = "ok"
            elif action == "revision":
                core.revision(step["message"], autogenerate=False)
                result = "ok"
            elif action == "upgrade":
                core.upgrade(step.get("target", "head"))
                result = "ok"
            elif action == "current":
                result = _current()
            elif action == "heads":
                from alembic.script import ScriptDirectory

                result = sorted(ScriptDirectory.from_config(_alembic_config()).get_heads())
            else:
                raise ValueError(f"unknown migrations step {action!r}")
            out.append({"action": action, "result": result})
        except Exception as exc:
            out.append({"action": action, "error": describe(exc)})
            break
    return out


OPS = {
    "sign": op_sign,
    "sign_raw": op_sign_raw,
    "verify": op_verify,
    "encrypt": op_encrypt,
    "decrypt": op_decrypt,
    "jobs": op_jobs,
    "pipeline": op_pipeline,
    "work": op_work,
    "jwt": op_jwt,
    "oauth": op_oauth,
    "migrations": op_migrations,
}


def main() -> None:
    import logging

    logging.disable(logging.CRITICAL)  # svc-infra's warnings are not the oracle's answer
    import svc_infra  # noqa: F401  # settings frozen at import happen here, once

    sys.stdout.write(MARK + json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        started = time.monotonic()
        with environment(request.get("env")):
            try:
                answer = {"ok": True, "result": OPS[request["op"]](**request.get("args", {}))}
            except BaseException as exc:  # the oracle records whatever svc-infra raised
                answer = {"ok": False, "error": describe(exc)}
        answer["elapsed_s"] = round(time.monotonic() - started, 3)
        sys.stdout.write(MARK + json.dumps(answer, default=str) + "\n")
        sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
