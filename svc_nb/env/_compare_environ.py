"""One service's settings from its variables: ``effective()`` first, the resolvers for the rest.

``effective()`` and its per-value functions say what svc-infra really uses (the
fidelity suite holds them to that); this module only turns the values into
comparable cells — URLs from their raw text, so that a URL under a secret-looking
name is still compared on its host and database — and adds what ``effective()``
does not report: the old JWT secrets, ``SESSION_SECRET``, the webhook encryption
key and the cache namespace.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from svc_nb._redact import fingerprint, register_secret
from svc_nb.env._compare_settings import (
    DEV_DEFAULTS,
    MISSING_TEXT,
    Cell,
    ServiceSettings,
    database_view,
    redis_view,
    with_old_secrets,
)
from svc_nb.env._effective import cache_url, effective, outbox_store, runtime_database_url
from svc_nb.env._read import (
    app_environment,
    env_get_nocase,
    jwt_block_secret,
    load_json,
    register_env_secrets,
    resolve_database_url,
    resolve_job_queue,
)

__all__ = ["settings_from_environ"]

# A rotation lists one or two old secrets; each fingerprint is a deliberately slow KDF.
_MAX_OLD_SECRETS = 20
_SHOWN_OLD_SECRETS = 3
# Registered whole, not item by item: a hostile list of 100 000 would take seconds.
_BULKY = frozenset({"AUTH_JWT__OLD_SECRETS"})


def _app_env(env: Mapping[str, str], said: Mapping[str, Any]) -> Cell:
    raw, _, _ = app_environment(env)
    normalised, prod_like = said["app_env"], said["prod_like"]
    kind = "production-like" if prod_like else "development"
    shown = f"{raw.strip()[:40] if raw else '(unset)'} → {normalised}, {kind}"
    return Cell(shown, (normalised, prod_like), "set" if raw else "default")


def _database(env: Mapping[str, str]) -> Cell:
    url = runtime_database_url(env)
    if url:
        return Cell(*database_view(url))
    helper = resolve_database_url(env)
    if helper is None:
        return Cell("(none)", ("none",), "missing")
    shown = database_view(helper.value)[0]
    return Cell(
        f"(none: only {helper.source} = {shown}, which the app never reads)", ("none",), "missing"
    )


def _cache(env: Mapping[str, str]) -> tuple[Cell, Cell]:
    source = "CACHE_URL" if env.get("CACHE_URL") else "REDIS_URL" if env.get("REDIS_URL") else ""
    if not source:
        url_cell = Cell("mem:// (default: each process on its own)", ("mem",), "default")
    else:
        shown, key = redis_view(cache_url(env))
        url_cell = Cell(f"{shown} ({source})", key)
    # cache/add.py _derive_settings: os.getenv(...) or the default, so an empty value is unset.
    prefix = env.get("CACHE_PREFIX") or "svc"
    version = env.get("CACHE_VERSION") or "v1"
    state = "set" if env.get("CACHE_PREFIX") or env.get("CACHE_VERSION") else "default"
    return url_cell, Cell(f"{prefix[:40]}:{version[:40]}", (prefix, version), state)


def _job_queue(env: Mapping[str, str], said: Mapping[str, Any]) -> Cell:
    resolved = resolve_job_queue(env)
    if said["jobs_driver"] != "redis" or resolved is None:
        driver = env.get("JOBS_DRIVER", "")
        why = f"JOBS_DRIVER={driver[:20]!r}" if driver else "JOBS_DRIVER unset"
        return Cell(f"memory ({why})", ("memory",), "default")
    shown, key = redis_view(resolved.value)
    return Cell(f"redis {shown} ({resolved.source})", ("redis", key))


def _outbox(env: Mapping[str, str]) -> Cell:
    kind, url = outbox_store(env)
    if kind != "redis" or url is None:
        return Cell("memory", ("memory",), "default")
    shown, key = redis_view(url)
    return Cell(f"redis {shown}", ("redis", key))


def _jwt(said: Mapping[str, Any]) -> Cell:
    fp, source = said["jwt_secret_fingerprint"], said["jwt_secret_source"]
    if fp is None:
        return Cell(MISSING_TEXT["jwt_secret"], None, "missing")
    if source is None:
        return Cell(f"{fp} (public dev default)", fp, "default")
    return Cell(f"{fp} ({source})", fp)


def _old_secrets(env: Mapping[str, str]) -> Cell:
    """AUTH_JWT__OLD_SECRETS (or the AUTH_JWT block's), used only when the block has a secret."""
    if jwt_block_secret(env) is None:
        return Cell("(none)", (), "default")
    nested = env_get_nocase(env, "AUTH_JWT__OLD_SECRETS")
    raw: Any = None
    if nested is not None:
        raw, _ = load_json(nested[1])
    else:
        block = env_get_nocase(env, "AUTH_JWT")
        parsed, _ = load_json(block[1]) if block else (None, None)
        raw = parsed.get("old_secrets") if isinstance(parsed, dict) else None
    if raw is None:
        return Cell("(none)", (), "default")
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        return Cell("(not a JSON list of strings: svc-infra cannot load it)", None, "invalid")
    old = raw[:_MAX_OLD_SECRETS]
    register_secret(*old)
    fps = tuple(dict.fromkeys(fingerprint(s) for s in old))
    if not fps:
        return Cell("(none)", (), "default")
    shown = ", ".join(fps[:_SHOWN_OLD_SECRETS])
    if len(raw) > _SHOWN_OLD_SECRETS:
        shown += f" (+{len(raw) - _SHOWN_OLD_SECRETS} more)"
    return Cell(shown, fps, "set", fps)


def _register(env: Mapping[str, str]) -> None:
    """Every secret of ``env`` is masked in any later output of this process."""
    register_env_secrets({k: v for k, v in env.items() if k.upper() not in _BULKY})
    register_secret(*(v for k, v in env.items() if k.upper() in _BULKY))


def _secret(value: str | None, name: str, default_key: str, prod_like: bool) -> Cell:
    """A secret read with require_secret(): its fingerprint; unset, the dev default or missing."""
    if value:
        register_secret(value)
        return Cell(f"{fingerprint(value)} ({name})", fingerprint(value))
    if prod_like:
        return Cell(MISSING_TEXT[default_key], None, "missing")
    default = fingerprint(DEV_DEFAULTS[default_key])
    return Cell(f"{default} (public dev default)", default, "default")


def _webhook_key(env: Mapping[str, str], prod_like: bool) -> Cell:
    from svc_nb.env._secrets import fernet_key_error

    value = env.get("WEBHOOK_ENCRYPTION_KEY")
    cell = _secret(value, "WEBHOOK_ENCRYPTION_KEY", "webhook_key", prod_like)
    error = fernet_key_error(value) if value else None
    if error is None:
        return cell
    # svc-infra raises when it first encrypts or decrypts: nothing can be shared with this key.
    return Cell(f"{cell.key} (unusable: {error[0]})", cell.key, "invalid")


def _number(value: Any, source: str | None) -> Cell:
    key = value if isinstance(value, int | float) and math.isfinite(value) else str(value)
    if source == "(default)":
        return Cell(f"{value:g} s (default)", key, "default")
    return Cell(f"{value:g} s" + (f" ({source})" if source else ""), key)


def _cors(said: Mapping[str, Any]) -> Cell:
    middleware = said["cors"].get("add_security")
    origins = middleware.get("allow_origins") if middleware else None
    if not origins:
        return Cell("(none: no CORS middleware)", (), "default")
    ordered = tuple(sorted(set(origins)))
    more = f" (+{len(ordered) - 5} more)" if len(ordered) > 5 else ""
    return Cell(", ".join(o[:60] for o in ordered[:5]) + more, ordered)


def settings_from_environ(env: Mapping[str, str], origin: str) -> ServiceSettings:
    """Every setting of a service whose variables are ``env`` (only these: not this process's)."""
    _register(env)
    said = effective(env)
    prod_like = bool(said["prod_like"])
    cache, namespace = _cache(env)
    cells = {
        "app_env": _app_env(env, said),
        "database": _database(env),
        "cache_url": cache,
        "cache_namespace": namespace,
        "job_queue": _job_queue(env, said),
        "outbox": _outbox(env),
        "jwt_secret": _jwt(said),
        "jwt_old_secrets": _old_secrets(env),
        "jwt_lifetime": _number(said["jwt_lifetime_seconds"], None),
        "session_secret": _secret(
            env.get("SESSION_SECRET"), "SESSION_SECRET", "session_secret", prod_like
        ),
        "webhook_key": _webhook_key(env, prod_like),
        "webhook_timeout": _number(
            said["webhook_delivery_timeout_s"], said["webhook_delivery_timeout_source"]
        ),
        "cors_origins": _cors(said),
    }
    return ServiceSettings(origin, with_old_secrets(cells), prod_like, empty=not env)
