"""CORS as each svc-infra entry point configures it from the environment.

``add_security(app)`` reads every ``CORS_ALLOW_*`` knob; ``easy_service_app`` (and
``setup_service_api``) reads only ``CORS_ALLOW_ORIGINS``, always allows credentials
and turns ``https://*.example.com`` into a regex. The same variables therefore give
two different middlewares: every CORS verdict names the entry point it judged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["CORS_ENTRY_POINTS", "bool_word", "cors_settings", "origin_words"]

CORS_ENTRY_POINTS = ("add_security", "easy_service_app")


def origin_words(value: str | None) -> list[str]:
    """``_normalize_origins``: comma-separated, stripped, empty parts dropped."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def bool_word(value: str | None) -> bool | None:
    """``svc_infra.security.add._parse_bool``."""
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    return None


def _add_security_cors(env: Mapping[str, str]) -> dict[str, Any] | None:
    """``add_security(app)``: every ``CORS_ALLOW_*`` knob; no middleware without origins."""
    origins = origin_words(env.get("CORS_ALLOW_ORIGINS"))
    if not origins:
        return None
    parsed = bool_word(env.get("CORS_ALLOW_CREDENTIALS"))
    regex = env.get("CORS_ALLOW_ORIGIN_REGEX")
    wildcard = "*" in origins
    return {
        "allow_origins": ["*"] if wildcard else origins,
        "allow_origin_regex": (regex or ".*") if wildcard else (regex or None),
        "allow_credentials": True if parsed is None else parsed,
        "allow_methods": origin_words(env.get("CORS_ALLOW_METHODS")) or ["*"],
        "allow_headers": origin_words(env.get("CORS_ALLOW_HEADERS")) or ["*"],
    }


def _wildcard_regex(origin: str) -> str:
    """``setup._origin_to_regex``: each ``*`` matches one DNS label, anchored."""
    return "^" + re.escape(origin).replace(r"\*", "[a-zA-Z0-9_-]+") + "$"


def _easy_service_app_cors(env: Mapping[str, str]) -> dict[str, Any] | None:
    """``easy_service_app``/``setup_service_api``: only ``CORS_ALLOW_ORIGINS``, credentials on."""
    origins = list(dict.fromkeys(origin_words(env.get("CORS_ALLOW_ORIGINS"))))
    if not origins:
        return None
    settings: dict[str, Any] = {
        "allow_origins": [],
        "allow_origin_regex": None,
        "allow_credentials": True,
        "allow_methods": ["*"],
        "allow_headers": ["*"],
    }
    if "*" in origins:
        settings["allow_origin_regex"] = ".*"
        return settings
    patterns = [_wildcard_regex(o) for o in origins if "*" in o]
    exact = [o for o in origins if "*" not in o]
    if patterns:
        settings["allow_origin_regex"] = "|".join(
            patterns + ["^" + re.escape(o) + "$" for o in exact]
        )
    else:
        settings["allow_origins"] = exact
    return settings


def cors_settings(env: Mapping[str, str], entry_point: str) -> dict[str, Any] | None:
    """The ``CORSMiddleware`` keyword arguments an entry point installs, or None (no CORS)."""
    if entry_point == "add_security":
        return _add_security_cors(env)
    if entry_point == "easy_service_app":
        return _easy_service_app_cors(env)
    raise ValueError(f"unknown CORS entry point {entry_point!r}; one of {CORS_ENTRY_POINTS}")
