"""A small svc-infra app for notebook 08, built with svc-infra's own helpers.

Each keyword turns on one misconfiguration the guide's readers meet, so a cell
can show a check failing and, with the keyword flipped, passing:

===========================  ===========================================================
``cors="easy_service_app"``  CORS inside svc-infra's error middleware: a 500 has no CORS
``cors="both"``              two CORS middlewares (easy_service_app + add_security)
``origins=("*",)``           any origin, with credentials
``origins=(".../",)``        an origin with a trailing slash, which never matches
``trust_proxy=False``        behind a TLS proxy the OAuth redirect_uri is http://
``secure_cookie=True``       a Secure session cookie on a service reached over http
``database_env="SQL_URL"``   start-up reads the database URL from this variable
``cache_url=...``            start-up waits for Redis (fails fast when it is down)
``webhook="raw"``            the webhook handler HMACs the raw body
===========================  ===========================================================

``GET /items/{name}`` has a bug on purpose: an unknown name is a 500.

Needs svc-infra (``pip install svc-infra``); nothing here talks to GitHub:
the login route only builds the redirect to it.
"""

from __future__ import annotations

import functools
import os
import secrets
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from svc_nb._redact import register_secret
from svc_nb.demo._errors import DemoError, require

__all__ = ["DEMO_ORIGIN", "WEBHOOK_PATH", "service_app"]

DEMO_ORIGIN = "http://localhost:3000"
WEBHOOK_PATH = "/webhooks/receive"
_CORS_CHOICES = ("add_security", "easy_service_app", "both", "none")
_WEBHOOK_CHOICES = ("canonical", "raw", None)
# Building an app sets process-wide state briefly (the OAuth provider registry).
_BUILD_LOCK = threading.Lock()


@functools.cache
def _user_schemas() -> tuple[Any, Any, Any, Any]:
    """The user model as svc-infra's auth template declares it; defined once per process."""
    from fastapi_users import schemas
    from sqlalchemy import Boolean, Column, String
    from svc_infra.db.sql.base import ModelBase
    from svc_infra.db.sql.types import GUID

    # Column() rather than Mapped[...] annotations: this module postpones annotations,
    # which SQLAlchemy cannot resolve for a class defined inside a function.
    class DemoUser(ModelBase):
        __tablename__ = "users"  # svc-infra's own tables (auth_sessions, …) point at users.id
        __table_args__ = {"extend_existing": True}  # noqa: RUF012 - SQLAlchemy's own protocol

        id: Any = Column(GUID(), primary_key=True, default=uuid.uuid4)
        email = Column(String(320), index=True, nullable=False)
        hashed_password = Column(String(512), nullable=False)
        is_active = Column(Boolean, default=True, nullable=False)
        is_superuser = Column(Boolean, default=False, nullable=False)
        is_verified = Column(Boolean, default=False, nullable=False)
        mfa_enabled = Column(Boolean, default=False, nullable=False)

    class UserRead(schemas.BaseUser[uuid.UUID]):
        pass

    class UserCreate(schemas.BaseUserCreate):
        pass

    class UserUpdate(schemas.BaseUserUpdate):
        pass

    return DemoUser, UserRead, UserCreate, UserUpdate


@contextmanager
def _github_registered(client_id: str, client_secret: str) -> Iterator[None]:
    """GitHub in svc-infra's provider registry while the app is built, as its env vars would put it."""
    from svc_infra.connect.providers.github import build_github_provider
    from svc_infra.connect.registry import registry

    names = ("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET")
    saved_env = {n: os.environ.get(n) for n in names}
    saved = dict(getattr(registry, "_providers", {}))
    os.environ.update(GITHUB_CLIENT_ID=client_id, GITHUB_CLIENT_SECRET=client_secret)
    try:
        provider = build_github_provider()
        if provider is None:  # pragma: no cover - svc-infra reads exactly these variables
            raise DemoError("svc-infra did not build its GitHub provider from GITHUB_CLIENT_ID")
        registry.register(provider)
        yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if hasattr(registry, "_providers"):  # leave the process's registry as it was
            registry._providers = saved


def _add_auth(app: Any, *, github: bool) -> None:
    from svc_infra.api.fastapi.auth.add import add_auth_users

    user, read, create, update = _user_schemas()
    client_secret = "demo-github-secret-" + secrets.token_hex(8)
    register_secret(client_secret)
    context = _github_registered("svc-nb-demo-client", client_secret) if github else None
    with context if context is not None else _nothing():
        add_auth_users(
            app, user_model=user, schema_read=read, schema_create=create, schema_update=update
        )


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _add_dependencies(app: Any, database_env: str | None, cache_url: str | None) -> None:
    """What start-up waits for: the database URL (read then, like SQL_URL) and Redis."""
    if database_env is not None:
        from svc_infra.api.fastapi.db.sql.add import add_sql_db

        add_sql_db(app, dsn_env=database_env)
    if cache_url is not None:
        from svc_infra.cache.add import add_cache

        add_cache(app, url=cache_url, readiness_timeout=1.0)


def _add_security(app: Any, origins: list[str], secure_cookie: bool) -> None:
    from svc_infra.security.add import add_security

    session_secret = "demo-session-secret-" + secrets.token_hex(16)
    register_secret(session_secret)
    add_security(
        app,
        cors_origins=origins,
        allow_credentials=True,
        env={},  # the switches decide, not this process's CORS_* variables
        install_session_middleware=True,
        session_secret_key=session_secret,
        session_cookie_https_only=secure_cookie,
    )


def _check_choices(cors: str, webhook: str | None, origins: Sequence[str]) -> None:
    if cors not in _CORS_CHOICES:
        raise DemoError(f"cors must be one of {', '.join(_CORS_CHOICES)}, got {cors!r}")
    if webhook not in _WEBHOOK_CHOICES:
        raise DemoError(f"webhook must be 'canonical', 'raw' or None, got {webhook!r}")
    if isinstance(origins, str) or not all(isinstance(o, str) for o in origins):
        raise DemoError("origins must be a list of origins, e.g. ['http://localhost:3000']")


def service_app(
    *,
    cors: Literal["add_security", "easy_service_app", "both", "none"] = "add_security",
    origins: Sequence[str] = (DEMO_ORIGIN,),
    secure_cookie: bool = False,
    trust_proxy: bool = False,
    github: bool = True,
    database_env: str | None = None,
    cache_url: str | None = None,
    webhook: Literal["canonical", "raw"] | None = "canonical",
    webhook_secret: str = "demo-webhook-secret",
    name: str = "svc-nb demo",
) -> Any:
    """An svc-infra app (``easy_service_app`` + ``add_security`` + ``add_auth_users``) to check.

    ``cors`` says which helper installs CORS for ``origins``: ``add_security``
    (outermost, so error answers keep their CORS headers), ``easy_service_app``
    (inside svc-infra's catch-all error middleware), ``both`` or ``none``.
    ``trust_proxy`` wraps the app in uvicorn's ``ProxyHeadersMiddleware``
    (what ``--proxy-headers --forwarded-allow-ips='*'`` does), so behind a TLS
    proxy the OAuth callback is built as https://. See the module docstring for
    the other switches.
    """
    require("svc_infra", "svc-infra")
    _check_choices(cors, webhook, origins)
    from svc_infra.api.fastapi.ease import easy_service_app

    from svc_nb.demo._service_routes import add_items, add_webhook

    register_secret(webhook_secret)
    with _BUILD_LOCK:
        app = easy_service_app(
            name=name,
            release="0.1.0",
            public_cors_origins=list(origins) if cors in ("easy_service_app", "both") else None,
            enable_logging=False,
            enable_observability=False,
        )
        add_items(app)
        if webhook is not None:
            add_webhook(app, WEBHOOK_PATH, webhook, webhook_secret)
        _add_dependencies(app, database_env, cache_url)
        _add_security(app, list(origins) if cors in ("add_security", "both") else [], secure_cookie)
        _add_auth(app, github=github)
    if trust_proxy:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        return ProxyHeadersMiddleware(app, trusted_hosts="*")  # type: ignore[arg-type]
    return app
