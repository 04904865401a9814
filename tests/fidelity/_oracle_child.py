"""The oracle's child process: build a real svc-infra app from this process's environment.

Run as a script (``python _oracle_child.py CONFIG_JSON``) in a clean environment and a
scratch working directory: svc-infra's settings load at import, so one process holds
one environment. It builds the app the way a user would with svc-infra's own helpers
(``add_sql_db``, ``add_security``, ``add_auth_users``, ``add_cache``,
``easy_service_app``, ``easy_jobs``, ``add_webhooks``), runs the lifespan start-up,
makes one request that touches the database, pushes one webhook through the outbox,
the job queue and the delivery handler, and prints ONE JSON line prefixed with
:data:`MARK`: the phase reached, the exception (scrubbed) and the values svc-infra
really uses, read from the objects it built.

Nothing here decides what svc-infra *should* do: it only records what it did.
"""

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# tests/ holds the helper the svc-infra oracle children share (this file runs as a script).
sys.path.append(str(Path(__file__).resolve().parent.parent))
from _child_common import user_types

MARK = "@@ORACLE@@"
START = time.monotonic()
PHASES = ("import", "build", "startup", "request", "deliver", "oauth", "done")

# Exception types (anywhere in the chain) that mean "a peer could not be reached",
# as opposed to a configuration svc-infra refused.
_IO_TYPES = ("OSError", "ConnectionError", "TimeoutError", "CancelledError")


def _secret_values() -> list[str]:
    """Every env value that must not leave this process: secret-named values, URL passwords."""
    found: list[str] = []
    markers = ("SECRET", "PASSWORD", "KEY", "TOKEN", "CREDENTIAL", "PASSWD")
    for name, value in os.environ.items():
        if not value:
            continue
        if any(marker in name.upper() for marker in markers) and len(value) >= 4:
            found.append(value)
        if "://" in value:
            with contextlib.suppress(ValueError):
                password = urlsplit(value.strip()).password
                if password:
                    found.extend({password, unquote(password)})
    return sorted(set(found), key=len, reverse=True)


def scrub(text: str) -> str:
    for value in _secret_values():
        text = text.replace(value, "***")
    return text


def _io_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for klass in type(current).__mro__:
            if klass.__name__ in _IO_TYPES:
                return True
        current = current.__cause__ or current.__context__
    return False


def enter(state: dict[str, Any], phase: str) -> None:
    state["phase"] = phase
    state.setdefault("marks", {})[phase] = round(time.monotonic() - START, 3)


def describe(exc: BaseException) -> dict[str, Any]:
    chain = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < 6:
        seen.add(id(current))
        chain.append(f"{type(current).__module__}.{type(current).__name__}")
        current = current.__cause__ or current.__context__
    tb = traceback.extract_tb(exc.__traceback__)
    frames = [f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in tb[-4:]]
    return {
        "type": type(exc).__name__,
        "chain": chain,
        "message": scrub(str(exc))[:2000],
        "io": _io_error(exc),
        "where": frames,
    }


_SECRETS: list[str] = []


def fp(secret: Any) -> str | None:
    """A placeholder for a secret's fingerprint, filled in by :func:`fill_fingerprints`.

    The fingerprint is svc_nb's own (``svc_nb.tokens.fingerprint``) so the parent can
    compare it with what svc_nb says; svc_nb is imported only after svc-infra's run,
    so that it cannot change anything svc-infra does.
    """
    if secret is None:
        return None
    if isinstance(secret, bytes):
        secret = secret.decode("utf-8", "replace")
    _SECRETS.append(str(secret))
    return f"@@secret:{len(_SECRETS) - 1}"


def fill_fingerprints(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: fill_fingerprints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_fingerprints(item) for item in value]
    if isinstance(value, str) and value.startswith("@@secret:"):
        from svc_nb.tokens import fingerprint

        return fingerprint(_SECRETS[int(value.split(":", 1)[1])])
    return value


# -- reading the built objects ---------------------------------------------------------


def _middleware_kwargs(app: Any, name: str) -> dict[str, Any] | None:
    for entry in app.user_middleware:
        if entry.cls.__name__ == name:
            return dict(entry.kwargs)
    return None


def _cors(app: Any) -> dict[str, Any] | None:
    kwargs = _middleware_kwargs(app, "CORSMiddleware")
    if kwargs is None:
        return None
    return {
        "allow_origins": list(kwargs.get("allow_origins", ())),
        "allow_origin_regex": kwargs.get("allow_origin_regex"),
        "allow_credentials": bool(kwargs.get("allow_credentials", False)),
        "allow_methods": list(kwargs.get("allow_methods", ("GET",))),
        "allow_headers": list(kwargs.get("allow_headers", ())),
    }


def _redis_target(client: Any) -> dict[str, Any]:
    kwargs = dict(client.connection_pool.connection_kwargs)
    return {
        "connection_class": client.connection_pool.connection_class.__name__,
        "host": kwargs.get("host"),
        "port": kwargs.get("port"),
        "db": kwargs.get("db", 0),
        "username": kwargs.get("username"),
        "password_fp": fp(kwargs.get("password")),
        "path": kwargs.get("path"),
    }


def _sql_url(url: Any) -> dict[str, Any]:
    return {
        "drivername": url.drivername,
        "username": url.username,
        "password_fp": fp(url.password),
        "host": url.host,
        "port": url.port,
        "database": url.database,
        "query": {k: list(v) if isinstance(v, tuple) else v for k, v in url.query.items()},
    }


class Recorder:
    """Spies that record what svc-infra passed to its libraries, then call them unchanged."""

    def __init__(self) -> None:
        self.cache_urls: list[str] = []
        self.delivery_timeouts: list[float | None] = []

    def install(self) -> None:
        from svc_infra.cache import backend as cache_backend
        from svc_infra.jobs.builtins import webhook_delivery

        original_setup = cache_backend._cache.setup

        def setup(settings_url: str, *args: Any, **kwargs: Any) -> Any:
            self.cache_urls.append(settings_url)
            return original_setup(settings_url, *args, **kwargs)

        cache_backend._cache.setup = setup  # type: ignore[method-assign]

        original_client = webhook_delivery.new_async_httpx_client

        def new_client(*args: Any, **kwargs: Any) -> Any:
            client = original_client(*args, **kwargs)
            self.delivery_timeouts.append(client.timeout.read)
            return client

        webhook_delivery.new_async_httpx_client = new_client


# -- the app ---------------------------------------------------------------------------


def build(state: dict[str, Any]) -> dict[str, Any]:
    """Build both apps and the job queue with svc-infra's helpers; return the objects."""

    from fastapi import FastAPI
    from svc_infra.api.fastapi.auth.add import add_auth_users
    from svc_infra.api.fastapi.db.sql.add import add_sql_db, add_sql_health
    from svc_infra.api.fastapi.ease import easy_service_app
    from svc_infra.cache.add import add_cache
    from svc_infra.jobs.easy import easy_jobs
    from svc_infra.security.add import add_security
    from svc_infra.webhooks.add import add_webhooks

    User, UserRead, UserCreate, UserUpdate = user_types("oracle_users")
    app = FastAPI()
    add_sql_db(app)
    add_sql_health(app)
    add_security(app)
    add_auth_users(
        app,
        user_model=User,
        schema_read=UserRead,
        schema_create=UserCreate,
        schema_update=UserUpdate,
    )
    add_cache(app)
    state["phase_detail"] = "easy_service_app"
    service_app = easy_service_app(name="oracle", release="0.0.0")
    state["phase_detail"] = "easy_jobs"
    queue, scheduler = easy_jobs()
    state["phase_detail"] = "add_webhooks"
    add_webhooks(app, queue=queue, scheduler=scheduler)
    state["phase_detail"] = None
    return {"app": app, "service_app": service_app, "queue": queue}


def read_build(objects: dict[str, Any], effective: dict[str, Any]) -> None:
    """Values readable before start-up: CORS per entry point, session secret, queue, outbox."""
    app, service_app, queue = objects["app"], objects["service_app"], objects["queue"]
    effective["cors"] = {"add_security": _cors(app), "easy_service_app": _cors(service_app)}
    session = _middleware_kwargs(app, "SessionMiddleware")
    effective["session_secret_fp"] = fp(session["secret_key"]) if session else None
    effective["session_https_only"] = session.get("https_only") if session else None
    effective["jobs_queue"] = type(queue).__name__
    client = getattr(queue, "_r", None)
    effective["jobs_redis"] = _redis_target(client) if client is not None else None
    effective["jobs_visibility_timeout_s"] = getattr(queue, "_vt", None)
    outbox = app.state.webhooks_outbox
    effective["outbox"] = type(outbox).__name__
    outbox_client = getattr(outbox, "_client", None)
    effective["outbox_redis"] = _redis_target(outbox_client) if outbox_client else None


def read_started(recorder: Recorder, effective: dict[str, Any]) -> None:
    """Values fixed at start-up: database engine URL, cache URL, the JWT strategy."""
    from svc_infra.api.fastapi.auth.state import get_auth_state
    from svc_infra.api.fastapi.db.sql import session as sql_session

    engine = sql_session._engine
    effective["database"] = _sql_url(engine.url) if engine is not None else None
    effective["cache_url"] = scrub(recorder.cache_urls[-1]) if recorder.cache_urls else None
    effective["cache_url_fp"] = fp(recorder.cache_urls[-1]) if recorder.cache_urls else None
    _model, get_strategy, _prefix = get_auth_state()
    strategy = get_strategy()
    effective["jwt_secret_fp"] = fp(getattr(strategy, "encode_key", None))
    effective["jwt_lifetime_seconds"] = strategy.lifetime_seconds
    effective["jwt_old_secret_fps"] = [fp(s) for s in getattr(strategy, "old_secrets", []) or []]


async def request(app: Any) -> int:
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get("/_sql/health")
    return response.status_code


async def _receiver() -> tuple[asyncio.AbstractServer, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/hook"


async def deliver(app: Any, queue: Any, effective: dict[str, Any], recorder: Recorder) -> None:
    """One event through svc-infra's outbox, job queue and delivery handler to a receiver."""
    from svc_infra.webhooks.service import WebhookService

    server, url = await _receiver()
    try:
        subscriptions = app.state.webhooks_subscriptions
        subscriptions.add("oracle.ping", url, "oracle-subscription-secret")
        WebhookService(app.state.webhooks_outbox, subscriptions).publish("oracle.ping", {"n": 1})
        await app.state.webhooks_outbox_tick()
        job = queue.reserve_next()
        if job is None:
            raise RuntimeError("oracle: the outbox tick enqueued no job")
        try:
            await app.state.webhooks_delivery_handler(job)
        finally:
            queue.ack(job.id)
        if type(queue).__name__ == "RedisJobQueue":
            # Left in the queue on purpose: proves which Redis a reader of the queue looks at.
            queue.enqueue("oracle.marker", {"marker": True})
            effective["queued_marker_jobs"] = 1
    finally:
        server.close()
        effective["webhook_delivery_timeout_s"] = (
            recorder.delivery_timeouts[-1] if recorder.delivery_timeouts else None
        )


def oauth_callback(effective: dict[str, Any]) -> None:
    """What every OAuth callback does before it redirects: svc-infra's own redirect check."""
    from fastapi import HTTPException
    from svc_infra.api.fastapi.auth.providers import providers_from_settings
    from svc_infra.api.fastapi.auth.routers import oauth_router
    from svc_infra.api.fastapi.auth.settings import get_auth_settings, parse_redirect_allow_hosts

    settings = get_auth_settings()
    effective["oauth_providers"] = sorted(providers_from_settings(settings))
    effective["oauth_allowed_hosts"] = parse_redirect_allow_hosts(settings.redirect_allow_hosts_raw)
    if not effective["oauth_providers"]:
        return  # no provider login: the callback never runs
    try:
        oauth_router._validate_redirect(
            str(settings.post_login_redirect),
            effective["oauth_allowed_hosts"],
            require_https=bool(settings.session_cookie_secure),
        )
    except HTTPException as exc:
        raise RuntimeError(f"oracle: every OAuth callback answers 400 {exc.detail}") from exc


async def run(state: dict[str, Any], config: dict[str, Any]) -> None:
    effective: dict[str, Any] = state["effective"]
    enter(state, "import")
    import svc_infra  # settings load here
    from svc_infra.api.fastapi.auth.settings import get_auth_settings

    state["svc_infra_version"] = getattr(svc_infra, "__version__", None)
    recorder = Recorder()
    recorder.install()

    enter(state, "build")
    # svc-infra may also read its settings lazily, at first use: that is build time here.
    get_auth_settings()
    objects = build(state)
    read_build(objects, effective)

    enter(state, "startup")
    app, service_app = objects["app"], objects["service_app"]
    startup_timeout = float(config.get("startup_timeout", 20.0))
    async with contextlib.AsyncExitStack() as stack:
        await asyncio.wait_for(
            stack.enter_async_context(app.router.lifespan_context(app)), startup_timeout
        )
        await asyncio.wait_for(
            stack.enter_async_context(service_app.router.lifespan_context(service_app)),
            startup_timeout,
        )
        read_started(recorder, effective)

        enter(state, "request")
        status = await asyncio.wait_for(request(app), float(config.get("request_timeout", 15.0)))
        state["request_status"] = status
        if status >= 500:
            raise RuntimeError(f"oracle: GET /_sql/health answered {status}")

        enter(state, "deliver")
        await asyncio.wait_for(
            deliver(app, objects["queue"], effective, recorder),
            float(config.get("deliver_timeout", 15.0)),
        )
        enter(state, "oauth")
        oauth_callback(effective)
        enter(state, "done")


class _LoggedErrors:
    """Errors svc-infra's stack logged and swallowed (cashews logs a refused Redis).

    Recorded at ``Logger.handle``, so a logging set-up that replaces the handlers
    (``easy_service_app`` configures logging) cannot hide them.
    """

    def __init__(self) -> None:
        self.records: list[tuple[float, BaseException]] = []
        original = logging.Logger.handle

        def handle(logger: logging.Logger, record: logging.LogRecord) -> None:
            if record.exc_info and record.exc_info[1] is not None:
                self.records.append((time.monotonic(), record.exc_info[1]))
            original(logger, record)

        logging.Logger.handle = handle  # type: ignore[method-assign]


def run_once(config: dict[str, Any]) -> dict[str, Any]:
    """Run the oracle against this process's environment; the result as a JSON-able dict."""
    state: dict[str, Any] = {"phase": "import", "error": None, "effective": {}}
    logged = _LoggedErrors()
    started = time.monotonic()
    try:
        asyncio.run(run(state, config))
    except BaseException as exc:  # the oracle records whatever svc-infra raised
        state["error"] = describe(exc)
        phase_start = START + state.get("marks", {}).get(state["phase"], 0.0)
        swallowed = [exc for at, exc in logged.records if at >= phase_start]
        state["error"]["logged"] = [describe(e)["chain"] for e in swallowed[-3:]]
        state["error"]["io"] = state["error"]["io"] or any(_io_error(e) for e in swallowed)
    state["elapsed_s"] = round(time.monotonic() - started, 3)
    state["effective"] = fill_fingerprints(state["effective"])
    return state


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    state = run_once(config)
    sys.stdout.write("\n" + MARK + json.dumps(state, default=str) + "\n")
    sys.stdout.flush()
    # Pools and clients svc-infra left open must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
