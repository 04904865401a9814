"""A service's settings read back from its ``svc-nb doctor --json`` report.

The report carries what the ``env.*`` findings measured: masked URLs, their
sources and the fingerprints of the secrets. That is enough to compare most
settings; what a report does not carry (the cache namespace, the outbox) stays
``unknown`` and is left out of those comparisons. Reports with an ``effective``
block (a mapping of effective values, top level or as the data of an
``env.effective`` finding) are read first. Every field is read defensively:
a report from another svc-nb version is compared on what it has.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from svc_nb._redact import fingerprint
from svc_nb.env._compare_settings import (
    DEV_DEFAULTS,
    MISSING_TEXT,
    UNKNOWN_CELL,
    Cell,
    ServiceSettings,
    database_view,
    redis_view,
    with_old_secrets,
)

__all__ = ["is_doctor_report", "settings_from_doctor"]

_SHOWN_CHARS = 80


def is_doctor_report(document: Any) -> bool:
    """Whether a parsed JSON value looks like ``svc-nb doctor --json`` (or a Report's to_dict)."""
    return isinstance(document, dict) and isinstance(document.get("findings"), list)


def _text(value: Any, limit: int = _SHOWN_CHARS) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _fp(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith("fp:") and len(value) < 80 else None


class _Findings:
    """The report's findings by check id (the first of each), each as (status, cause, data)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.by_check: dict[str, tuple[str, str | None, dict[str, Any]]] = {}
        for item in document.get("findings", []):
            if not isinstance(item, dict) or not isinstance(item.get("check"), str):
                continue
            data: dict[str, Any] = item["data"] if isinstance(item.get("data"), dict) else {}
            cause: str | None = item["cause"] if isinstance(item.get("cause"), str) else None
            status: str = item["status"] if isinstance(item.get("status"), str) else ""
            self.by_check.setdefault(item["check"], (status, cause, data))
        effective = document.get("effective")
        if not isinstance(effective, dict):
            effective = self.by_check.get("env.effective", ("", None, {}))[2]
        self.effective: dict[str, Any] = effective if isinstance(effective, dict) else {}

    @property
    def ran_env(self) -> bool:
        """Whether the env checks ran: absent optional findings then mean "not set"."""
        return "env.app_env" in self.by_check or "env.jwt_secret" in self.by_check

    def get(self, check: str) -> tuple[str, str | None, dict[str, Any]] | None:
        return self.by_check.get(check)


def _app_env(found: _Findings) -> tuple[Cell, bool | None]:
    entry = found.get("env.app_env")
    data = entry[2] if entry else {}
    normalised = _text(found.effective.get("app_env"), 20) or _text(data.get("environment"), 20)
    prod_like = found.effective.get("prod_like", data.get("prod_like"))
    if normalised is None or not isinstance(prod_like, bool):
        return UNKNOWN_CELL, None
    kind = "production-like" if prod_like else "development"
    return Cell(f"{normalised}, {kind}", (normalised, prod_like)), prod_like


def _url_cell(
    url: str | None,
    view: Callable[[str], tuple[str, Hashable]],
    *,
    prefix: str = "",
    source: str | None = None,
    wrap: str | None = None,
) -> Cell:
    """A URL as the report gives it (password masked); a URL masked whole cannot be compared."""
    if url is None or "://" not in url:
        return UNKNOWN_CELL
    shown, key = view(url)
    return Cell(prefix + shown + (f" ({source})" if source else ""), (wrap, key) if wrap else key)


def _database(found: _Findings) -> Cell:
    url = _text(found.effective.get("database_url"), 2000)
    if url is not None:
        return _url_cell(url, database_view)
    entry = found.get("env.database_url")
    if entry is None:
        return UNKNOWN_CELL
    _, cause, data = entry
    url = _text(data.get("url"), 2000)
    if cause == "no_database_url" or url is None:
        return Cell("(none)", ("none",), "missing") if cause else UNKNOWN_CELL
    if data.get("runtime_source", "SQL_URL") is None:
        source = _text(data.get("source"), 40) or "another name"
        return Cell(
            f"(none: only {source} = {url[:_SHOWN_CHARS]}, which the app never reads)",
            ("none",),
            "missing",
        )
    return _url_cell(url, database_view)


def _cache(found: _Findings) -> tuple[Cell, Cell]:
    url, source = _text(found.effective.get("cache_url"), 2000), None
    if url is None:
        entry = found.get("env.cache_url")
        data = entry[2] if entry else {}
        url, source = _text(data.get("url"), 2000), _text(data.get("source"), 40)
    if url == "mem://" and source in (None, "(default)"):
        url_cell = Cell("mem:// (default: each process on its own)", ("mem",), "default")
    else:
        url_cell = _url_cell(url, redis_view, source=source)
    prefix = _text(found.effective.get("cache_prefix"), 40)
    version = _text(found.effective.get("cache_version"), 40)
    namespace = (
        Cell(f"{prefix}:{version}", (prefix, version)) if prefix and version else UNKNOWN_CELL
    )
    return url_cell, namespace


def _job_queue(found: _Findings) -> Cell:
    driver = found.effective.get("jobs_driver")
    url, source = found.effective.get("jobs_redis_url"), None
    if driver is None:
        entry = found.get("env.job_queue")
        if entry is None:
            return UNKNOWN_CELL
        data = entry[2]
        driver, url, source = data.get("driver"), data.get("url"), _text(data.get("source"), 40)
    if driver == "memory":
        return Cell("memory", ("memory",), "default")
    if driver != "redis":
        return UNKNOWN_CELL
    return _url_cell(_text(url, 2000), redis_view, prefix="redis ", source=source, wrap="redis")


def _outbox(found: _Findings) -> Cell:
    kind = found.effective.get("outbox")
    if kind == "memory":
        return Cell("memory", ("memory",), "default")
    if kind != "redis":
        return UNKNOWN_CELL
    url = _text(found.effective.get("outbox_redis_url"), 2000)
    return _url_cell(url, redis_view, prefix="redis ", wrap="redis")


def _secret(
    found: _Findings,
    check: str,
    default_key: str,
    prod_like: bool | None,
    *,
    effective_key: str | None,
    invalid_causes: tuple[str, ...] = (),
) -> Cell:
    """A secret's fingerprint as its finding recorded it; absent: svc-infra's default or missing."""
    fp = _fp(found.effective.get(effective_key)) if effective_key else None
    entry = found.get(check)
    if fp is None and entry is not None:
        fp = _fp(entry[2].get("fingerprint"))
    cause = entry[1] if entry else None
    if fp is not None:
        source = _text(entry[2].get("source"), 40) if entry else None
        state = "invalid" if cause in invalid_causes else "set"
        note = " (unusable)" if state == "invalid" else f" ({source})" if source else ""
        return Cell(fp + note, fp, state)
    if cause == "check_crashed" or not (entry is not None or found.ran_env):
        return UNKNOWN_CELL
    # No value recorded: unset, so svc-infra refuses (production-like) or uses its public default.
    if prod_like:
        return Cell(MISSING_TEXT[default_key], None, "missing")
    if prod_like is False:
        default = fingerprint(DEV_DEFAULTS[default_key])
        return Cell(f"{default} (public dev default)", default, "default")
    return UNKNOWN_CELL


def _old_secrets(found: _Findings) -> Cell:
    fps = found.effective.get("jwt_old_secret_fingerprints")
    if not isinstance(fps, list):
        entry = found.get("env.jwt_old_secrets")
        if entry is None:
            return Cell("(none)", (), "default") if found.ran_env else UNKNOWN_CELL
        fps = entry[2].get("fingerprints")
        if not isinstance(fps, list):
            return UNKNOWN_CELL
    clean = tuple(dict.fromkeys(fp for fp in (_fp(x) for x in fps[:100]) if fp))
    return Cell(", ".join(clean) or "(none)", clean, "set" if clean else "default", clean)


def _number_cell(value: Any, unit_note: str = "") -> Cell | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    key = value if math.isfinite(value) else str(value)
    return Cell(f"{value:g} s{unit_note}", key)


def _lifetime(found: _Findings) -> Cell:
    cell = _number_cell(found.effective.get("jwt_lifetime_seconds"))
    if cell is not None:
        return cell
    entry = found.get("env.jwt_lifetime")
    if entry is None:
        from svc_nb.tokens._make import DEFAULT_LIFETIME

        if not found.ran_env:
            return UNKNOWN_CELL
        return Cell(f"{DEFAULT_LIFETIME} s", DEFAULT_LIFETIME, "default")
    return _number_cell(entry[2].get("lifetime_seconds")) or UNKNOWN_CELL


def _webhook_timeout(found: _Findings) -> Cell:
    cell = _number_cell(found.effective.get("webhook_delivery_timeout_s"))
    if cell is not None:
        return cell
    entry = found.get("env.webhook_timeout")
    if entry is None:
        from svc_nb.webhooks._policy import SVC_INFRA_DELIVERY_TIMEOUT_S as default

        if not found.ran_env:
            return UNKNOWN_CELL
        return Cell(f"{default:g} s (default)", default, "default")
    source = _text(entry[2].get("source"), 40)
    note = f" ({source})" if source and source != "(default)" else " (default)" if source else ""
    return _number_cell(entry[2].get("timeout_s"), note) or UNKNOWN_CELL


def _effective_origins(found: _Findings) -> list[Any] | None:
    cors = found.effective.get("cors")
    if not isinstance(cors, dict) or "add_security" not in cors:
        return None
    middleware = cors["add_security"]
    origins = middleware.get("allow_origins") if isinstance(middleware, dict) else []
    return origins if isinstance(origins, list) else []


def _cors(found: _Findings) -> Cell:
    origins = _effective_origins(found)
    entry = found.get("env.cors")
    if origins is None and entry is None:
        return UNKNOWN_CELL
    cause = entry[1] if entry else None
    if origins is None and entry is not None:
        origins = entry[2].get("origins")
    if not isinstance(origins, list):
        return Cell("(none: no CORS middleware)", (), "default") if cause else UNKNOWN_CELL
    ordered = tuple(sorted({o for o in origins if isinstance(o, str)}))
    shown = ", ".join(o[:60] for o in ordered[:5]) + (
        f" (+{len(ordered) - 5} more)" if len(ordered) > 5 else ""
    )
    return Cell(shown or "(none: no CORS middleware)", ordered)


_Reader = Callable[[_Findings], Cell]
_SIMPLE: dict[str, _Reader] = {
    "database": _database,
    "job_queue": _job_queue,
    "outbox": _outbox,
    "jwt_old_secrets": _old_secrets,
    "jwt_lifetime": _lifetime,
    "webhook_timeout": _webhook_timeout,
    "cors_origins": _cors,
}


def settings_from_doctor(document: Mapping[str, Any], origin: str) -> ServiceSettings:
    """Every setting a doctor report carries; the rest ``unknown``."""
    found = _Findings(document)
    app_env, prod_like = _app_env(found)
    cache_url, namespace = _cache(found)
    cells: dict[str, Cell] = {"app_env": app_env, "cache_url": cache_url}
    cells["cache_namespace"] = namespace
    cells.update({key: reader(found) for key, reader in _SIMPLE.items()})
    cells["jwt_secret"] = _secret(
        found,
        "env.jwt_secret",
        "jwt_secret",
        prod_like,
        effective_key="jwt_secret_fingerprint",
    )
    # Not effective()'s session_secret_fingerprint: that is add_auth_users' cookie key.
    cells["session_secret"] = _secret(
        found, "env.session_secret", "session_secret", prod_like, effective_key=None
    )
    cells["webhook_key"] = _secret(
        found,
        "env.webhook_encryption_key",
        "webhook_key",
        prod_like,
        effective_key="webhook_encryption_key_fingerprint",
        invalid_causes=("webhook_key_invalid",),
    )
    return ServiceSettings(origin, with_old_secrets(cells), prod_like)
