"""The child process of ``svc_nb.env.rehearse``: start svc-infra (or the user's app) for real.

Run by path with ``sys.executable`` (never imported: it must not import svc_nb, so that
nothing but svc-infra and the user's code runs in it). Its only argument is a JSON
object: ``app`` ("package.module:attr" or null), ``sys_path`` (entries to make the
user's modules importable), ``shutdown_timeout``. It prints progress and result lines
prefixed with :data:`MARK` on stdout:

* ``{"event": "phase", "phase": ...}`` as it enters each phase;
* ``{"event": "result", "phase": ..., "ok": ..., "error": {...} | null, ...}`` last.

Phases: ``import`` (svc-infra and its settings), ``app`` (importing the user's app, or
building svc-infra's reference app), ``startup`` (the ASGI lifespan start-up), ``done``.
The parent classifies the error and scrubs secrets; this process reports raw facts.
"""

import asyncio
import importlib
import inspect
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any

# Run by path in a child process, and never imports svc_nb: its exceptions stay outside
# svc_nb's tree on purpose (tests/test_api.py reads this marker).
STANDALONE_CHILD = True

MARK = "@@svc_nb.rehearse@@"


def emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


def enter(state: dict[str, Any], phase: str) -> None:
    state["phase"] = phase
    emit({"event": "phase", "phase": phase})


def describe(exc: BaseException) -> dict[str, Any]:
    chain: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < 6:
        seen.add(id(current))
        chain.append(f"{type(current).__module__}.{type(current).__qualname__}")
        current = current.__cause__ or current.__context__
    frames = traceback.extract_tb(exc.__traceback__)[-5:]
    return {
        "type": type(exc).__qualname__,
        "module": type(exc).__module__,
        "message": str(exc)[:4000],
        "chain": chain,
        "where": [f"{f.filename}:{f.lineno} in {f.name}" for f in frames],
    }


class Refusal(Exception):
    """A reason the rehearsal cannot go on that is not an exception of the app's own."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# -- the app --------------------------------------------------------------------------------


def load_app(spec: str) -> Any:
    module_name, _, attr_path = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise Refusal("module_not_found", f"no module named {exc.name!r}") from exc
        raise
    target: Any = module
    for part in attr_path.split("."):
        if not hasattr(target, part):
            raise Refusal(
                "attribute_missing", f"module {module_name!r} has no attribute {attr_path!r}"
            )
        target = getattr(target, part)
    return target


def is_asgi(app: Any) -> bool:
    """An ASGI 3 application: an async callable taking (scope, receive, send)."""
    if inspect.isclass(app) or not callable(app):
        return False
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if not inspect.iscoroutinefunction(call) and not inspect.iscoroutinefunction(app):
        # Starlette/FastAPI define ``async def __call__``; anything else must be async too.
        return False
    try:
        inspect.signature(app).bind(object(), object(), object())
    except (TypeError, ValueError):
        return False
    return True


def reference_app() -> Any:
    """svc-infra's standard app, built with its own helpers from the environment."""
    from fastapi_users import schemas
    from sqlalchemy import Boolean, String
    from sqlalchemy.orm import Mapped, mapped_column
    from svc_infra.api.fastapi.auth.add import add_auth_users
    from svc_infra.api.fastapi.db.sql.add import add_sql_db
    from svc_infra.api.fastapi.ease import easy_service_app
    from svc_infra.cache.add import add_cache
    from svc_infra.db.sql.base import ModelBase
    from svc_infra.db.sql.types import GUID
    from svc_infra.jobs.easy import easy_jobs
    from svc_infra.security.add import add_security
    from svc_infra.webhooks.add import add_webhooks

    class RehearsalUser(ModelBase):
        __tablename__ = "svc_nb_rehearsal_users"
        __svc_infra_auth_user__ = True

        id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
        email: Mapped[str] = mapped_column(String(320), nullable=False)
        hashed_password: Mapped[str] = mapped_column(String(512), nullable=False)
        is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
        is_superuser: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
        is_verified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    class UserRead(schemas.BaseUser[uuid.UUID]):
        pass

    class UserCreate(schemas.BaseUserCreate):
        pass

    class UserUpdate(schemas.BaseUserUpdate):
        pass

    app = easy_service_app(name="svc-nb-rehearsal", release="0")
    add_sql_db(app)
    add_security(app)
    add_auth_users(
        app,
        user_model=RehearsalUser,
        schema_read=UserRead,
        schema_create=UserCreate,
        schema_update=UserUpdate,
    )
    add_cache(app)
    queue, scheduler = easy_jobs()
    add_webhooks(app, queue=queue, scheduler=scheduler)
    return app


# -- the ASGI lifespan ----------------------------------------------------------------------


async def lifespan(app: Any, state: dict[str, Any], shutdown_timeout: float) -> None:
    """Run the ASGI lifespan start-up (and then shut down) as a server does."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
    reply = asyncio.ensure_future(outbox.get())
    await asyncio.wait({task, reply}, return_when=asyncio.FIRST_COMPLETED)
    if not reply.done():
        reply.cancel()
        exc = task.exception()
        if exc is None:
            raise Refusal("lifespan_unsupported", "the app returned without answering the lifespan")
        # A server treats an app that raises on the lifespan scope as "no lifespan".
        state["lifespan_error"] = describe(exc)
        raise Refusal("lifespan_unsupported", f"{type(exc).__name__}: {exc}") from exc
    message = reply.result()
    if message.get("type") == "lifespan.startup.failed":
        try:
            await asyncio.wait_for(asyncio.shield(task), 1.0)
        except BaseException as exc:  # the app's own exception is the real cause
            raise exc from None
        raise Refusal("startup_failed", str(message.get("message") or "lifespan.startup.failed"))
    if message.get("type") != "lifespan.startup.complete":
        raise Refusal("lifespan_protocol", f"unexpected lifespan message {message.get('type')!r}")
    enter(state, "shutdown")
    await inbox.put({"type": "lifespan.shutdown"})
    try:
        await asyncio.wait_for(task, shutdown_timeout)
    except BaseException as exc:  # a failing shutdown is reported, start-up still passed
        state["shutdown_error"] = describe(exc)


async def rehearse(config: dict[str, Any], state: dict[str, Any]) -> None:
    enter(state, "import")
    import importlib.metadata

    import svc_infra  # noqa: F401  (its settings load here)
    from svc_infra.api.fastapi.auth.settings import get_auth_settings

    try:
        state["svc_infra_version"] = importlib.metadata.version("svc-infra")
    except importlib.metadata.PackageNotFoundError:
        state["svc_infra_version"] = None
    # svc-infra builds its auth settings on first use; a malformed AUTH_* fails here.
    get_auth_settings()
    enter(state, "app")
    spec = config.get("app")
    app = load_app(spec) if spec else reference_app()
    if not is_asgi(app):
        raise Refusal("not_asgi", f"{spec} is a {type(app).__name__}, not an ASGI application")
    enter(state, "startup")
    await lifespan(app, state, float(config.get("shutdown_timeout", 5.0)))
    enter(state, "done")


def main() -> None:
    config = json.loads(sys.argv[1])
    for entry in reversed(config.get("sys_path") or []):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    state: dict[str, Any] = {"phase": "import", "error": None, "refusal": None}
    started = time.monotonic()
    try:
        asyncio.run(rehearse(config, state))
    except Refusal as exc:
        state["refusal"] = exc.kind
        state["error"] = describe(exc.__cause__) if exc.__cause__ else None
        state["message"] = str(exc)
    except BaseException as exc:  # the rehearsal reports whatever the app raised
        state["error"] = describe(exc)
    state["elapsed_s"] = round(time.monotonic() - started, 3)
    emit({"event": "result", **state})
    sys.stdout.flush()
    # Pools and clients the app left open must not keep this process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
