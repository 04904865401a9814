"""Read an app's wiring without running it: routes, middleware (in order, with settings), features.

Works on any Starlette/FastAPI app (svc-infra's are FastAPI), through ASGI
wrappers such as uvicorn's ``ProxyHeadersMiddleware``, mounted sub-apps
(svc-infra's versioned APIs) and FastAPI's included routers. Secrets in
middleware settings are shown as fingerprints only.
"""

from __future__ import annotations

import inspect as _inspect
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from svc_nb._redact import fingerprint, register_secret, scrub

__all__ = [
    "MiddlewareRow",
    "RouteRow",
    "Wiring",
    "is_health_path",
    "read_wiring",
    "unwrap",
]

_MAX_DEPTH = 12
_MAX_ROUTES = 5000
_MAX_WRAPPERS = 8
_LOGIN_SUFFIX = "/{provider}/login"
_HEALTH_LEAVES = frozenset({"ping", "health", "healthz", "livez", "readyz"})
_PROBE_LEAVES = frozenset({"live", "ready", "startup"})
_DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")
_SECRET_KEYS = re.compile(r"secret|password|token|credential", re.IGNORECASE)


@dataclass(frozen=True)
class RouteRow:
    path: str
    methods: tuple[str, ...]
    name: str
    kind: str  # route | websocket | mount
    endpoint: str
    app: str  # "/" or the mount path of the sub-app serving it


@dataclass(frozen=True)
class MiddlewareRow:
    position: int  # 0 = outermost
    app: str
    middleware: str
    source: str  # wrapper | starlette | user
    config: Mapping[str, Any]


@dataclass
class Wiring:
    """What ``read_wiring`` found: every route and middleware, and the settings checks need."""

    routes: list[RouteRow] = field(default_factory=list)
    middleware: list[MiddlewareRow] = field(default_factory=list)
    #: Effective CORS settings of the root app, outermost first (not masked: no secrets).
    cors: list[dict[str, Any]] = field(default_factory=list)
    #: Effective SessionMiddleware settings (outermost), the secret as a fingerprint.
    session: dict[str, Any] | None = None
    session_secret: str | bytes | None = None
    session_cookie: str | None = None
    providers: list[str] = field(default_factory=list)
    oauth_login: str | None = None  # e.g. /auth/oauth/{provider}/login
    password_login: str | None = None
    wrappers: list[str] = field(default_factory=list)
    starlette: bool = False

    def paths(self, method: str = "GET") -> list[str]:
        return [r.path for r in self.routes if r.kind == "route" and method in r.methods]


def is_health_path(path: str) -> bool:
    """A health/ops endpoint as svc-infra names them: /ping, /status, /_ops/live, /_sql/health…"""
    if "{" in path:
        return False
    parts = [p for p in path.split("/") if p]
    if not parts:
        return False
    if path.rstrip("/") == "/status" or any(p in ("_ops", "_health") for p in parts):
        return True
    return parts[-1] in _HEALTH_LEAVES or (parts[-1] in _PROBE_LEAVES and parts[0].startswith("_"))


def _shown_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str | bytes) and _SECRET_KEYS.search(key):
        register_secret(value)
        return fingerprint(value) if value else ""
    if isinstance(value, re.Pattern):
        return value.pattern
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_shown_value(key, v) for v in list(value)[:50]]
    if isinstance(value, Mapping):
        return {str(k): _shown_value(str(k), v) for k, v in list(value.items())[:50]}
    if callable(value):
        return getattr(value, "__qualname__", type(value).__name__)
    return scrub(repr(value)[:200])


def effective_settings(cls: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A middleware's constructor defaults overlaid with the arguments it was added with."""
    settings: dict[str, Any] = {}
    try:
        parameters = _inspect.signature(cls).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    for name, parameter in parameters.items():
        if name == "app" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is not parameter.empty:
            settings[name] = parameter.default
    settings.update(kwargs)
    return settings


def _name(cls: Any) -> str:
    return str(getattr(cls, "__name__", type(cls).__name__))


def _starlette_types() -> tuple[type, ...]:
    try:
        from starlette.applications import Starlette
    except ImportError:  # pragma: no cover - svc-infra apps always have starlette
        return ()
    return (Starlette,)


def unwrap(app: Any) -> tuple[Any, list[Any]]:
    """The Starlette app inside ASGI wrappers (``.app`` chains), and the wrappers outermost first."""
    types = _starlette_types()
    wrappers: list[Any] = []
    current = app
    for _ in range(_MAX_WRAPPERS):
        if types and isinstance(current, types):
            return current, wrappers
        inner = getattr(current, "app", None)
        if inner is None or not callable(inner):
            break
        wrappers.append(current)
        current = inner
    return (current if types and isinstance(current, types) else None), wrappers


def _endpoint_name(route: Any) -> str:
    endpoint = getattr(route, "endpoint", None) or getattr(route, "app", None)
    return str(getattr(endpoint, "__qualname__", type(endpoint).__name__))


def _walk(routes: Any, prefix: str, app_label: str, depth: int) -> Iterator[tuple[Any, RouteRow]]:
    """(route object, row) for every route, through mounts and FastAPI's included routers."""
    if depth > _MAX_DEPTH:
        return
    for route in list(routes or ()):
        original = getattr(route, "original_router", None)
        if original is not None:  # FastAPI >= 0.16x: an included router, kept as such
            context = getattr(route, "include_context", None)
            inner_prefix = prefix + str(getattr(context, "prefix", "") or "")
            yield from _walk(getattr(original, "routes", ()), inner_prefix, app_label, depth + 1)
            continue
        path = prefix + str(getattr(route, "path", ""))
        sub_routes = getattr(route, "routes", None)
        if sub_routes is not None and not hasattr(route, "endpoint"):  # a Mount
            yield (
                route,
                RouteRow(
                    path,
                    (),
                    str(getattr(route, "name", "") or ""),
                    "mount",
                    _endpoint_name(route),
                    app_label,
                ),
            )
            label = (
                path if isinstance(getattr(route, "app", None), _starlette_types()) else app_label
            )
            yield from _walk(sub_routes, path, label, depth + 1)
            continue
        methods = tuple(sorted(getattr(route, "methods", None) or ()))
        kind = "route" if methods or hasattr(route, "endpoint") else "websocket"
        if type(route).__name__.lower().startswith("websocket"):
            kind = "websocket"
        row = RouteRow(
            path,
            methods,
            str(getattr(route, "name", "") or ""),
            kind,
            _endpoint_name(route),
            app_label,
        )
        yield route, row


def _oauth_providers(endpoint: Any) -> list[str]:
    """The providers an svc-infra OAuth login route serves: its authlib registry, from the closure."""
    for cell in getattr(endpoint, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        registry = getattr(value, "_registry", None)
        if isinstance(registry, Mapping) and hasattr(value, "create_client"):
            return sorted(str(k) for k in registry)
    return []


# svc-infra middlewares whose effective setting is a module default when the argument is None.
_MODULE_DEFAULTS = {
    "HandlerTimeoutMiddleware": ("timeout_seconds", "REQUEST_TIMEOUT_SECONDS"),
    "BodyReadTimeoutMiddleware": ("timeout_seconds", "REQUEST_BODY_TIMEOUT_SECONDS"),
}


def _svc_infra_defaults(cls: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Fill in what svc-infra's middlewares use when an argument is left out."""
    module = sys.modules.get(getattr(cls, "__module__", ""), None)
    name = _name(cls)
    if name in _MODULE_DEFAULTS and module is not None:
        key, constant = _MODULE_DEFAULTS[name]
        if settings.get(key) is None and isinstance(getattr(module, constant, None), int | float):
            settings[key] = getattr(module, constant)
    if name == "SecurityHeadersMiddleware" and module is not None:
        defaults = getattr(module, "SECURE_DEFAULTS", None)
        if isinstance(defaults, Mapping):
            settings["headers"] = sorted({*defaults, *(settings.get("overrides") or {})})
    return settings


def _middleware_rows(app: Any, label: str, start: int) -> list[MiddlewareRow]:
    rows = [MiddlewareRow(start, label, "ServerErrorMiddleware", "starlette", {})]
    for i, entry in enumerate(getattr(app, "user_middleware", ()) or ()):
        cls = getattr(entry, "cls", None)
        kwargs = getattr(entry, "kwargs", {}) or {}
        settings = _svc_infra_defaults(cls, effective_settings(cls, kwargs))
        shown = {k: _shown_value(k, v) for k, v in settings.items()}
        rows.append(MiddlewareRow(start + 1 + i, label, _name(cls), "user", shown))
    rows.append(MiddlewareRow(start + len(rows), label, "ExceptionMiddleware", "starlette", {}))
    return rows


def _root_settings(app: Any, wiring: Wiring) -> None:
    for entry in getattr(app, "user_middleware", ()) or ():
        cls = getattr(entry, "cls", None)
        settings = effective_settings(cls, getattr(entry, "kwargs", {}) or {})
        if _name(cls) == "CORSMiddleware":
            wiring.cors.append(settings)
        elif _name(cls) == "SessionMiddleware" and wiring.session is None:
            secret = settings.get("secret_key")
            wiring.session_secret = secret if isinstance(secret, str | bytes) else None
            wiring.session_cookie = str(settings.get("session_cookie") or "session")
            wiring.session = {k: _shown_value(k, v) for k, v in settings.items()}


def read_wiring(app: Any) -> Wiring:
    """Routes, middleware and the settings the service checks need, read from the app object."""
    root, wrappers = unwrap(app)
    wiring = Wiring(wrappers=[type(w).__name__ for w in wrappers], starlette=root is not None)
    for i, wrapper in enumerate(wrappers):
        settings = {
            k: _shown_value(k, v)
            for k, v in vars(wrapper).items()
            if k != "app" and not k.startswith("_")
        }
        wiring.middleware.append(
            MiddlewareRow(i, "(wrapper)", type(wrapper).__name__, "wrapper", settings)
        )
    if root is None:
        return wiring
    wiring.middleware += _middleware_rows(root, "/", len(wrappers))
    _root_settings(root, wiring)
    for route, row in _walk(getattr(root, "routes", ()), "", "/", 0):
        if len(wiring.routes) >= _MAX_ROUTES:
            break
        wiring.routes.append(row)
        if row.kind == "mount" and isinstance(getattr(route, "app", None), _starlette_types()):
            start = len(wiring.middleware)
            wiring.middleware += _middleware_rows(route.app, row.path, start)
        if row.path.endswith(_LOGIN_SUFFIX) and wiring.oauth_login is None:
            wiring.oauth_login = row.path
            wiring.providers = _oauth_providers(getattr(route, "endpoint", None))
        if row.name == "auth:jwt.login" and "POST" in row.methods and wiring.password_login is None:
            wiring.password_login = row.path
    return wiring


def features(wiring: Wiring) -> dict[str, list[str]]:
    """svc-infra features the routes show, each with the paths that show it."""
    found: dict[str, list[str]] = {}

    def add(name: str, path: str) -> None:
        paths = found.setdefault(name, [])
        if path not in paths and len(paths) < 6:
            paths.append(path)

    for row in wiring.routes:
        path = row.path.rstrip("/") or "/"
        if row.kind != "route":
            continue
        if row.name == "auth:jwt.login" or path.endswith(("/register", "/users/me")):
            add("auth/users", path)
        if "/mfa/" in path:
            add("mfa", path)
        if "webhook" in path:
            add("webhooks", path)
        if is_health_path(path):
            add("ops/health", path)
        if path.endswith(_DOCS_PATHS):
            add("docs", path)
        if path.endswith("/metrics"):
            add("metrics", path)
    if wiring.oauth_login:
        found["oauth"] = [
            f"{p} ({wiring.oauth_login.replace('{provider}', p)})" for p in wiring.providers
        ] or [wiring.oauth_login]
    return found
