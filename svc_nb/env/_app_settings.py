"""Settings ``easy_service_app`` validates while it builds the app: logging and metrics.

``easy_service_app`` calls ``setup_logging(level=LOG_LEVEL, fmt=LOG_FORMAT)``, which
validates both against svc-infra's ``LoggingConfig`` enums (exact, case-sensitive:
``LOG_LEVEL=debug`` is refused), and ``add_observability``, which builds
``ObservabilitySettings`` (pydantic-settings, no prefix) from ``METRICS_*``. Either
error stops the app from being built. ``ENABLE_LOGGING`` / ``ENABLE_OBS`` switch the
steps off: anything but 1/true/yes/on counts as off.

``ObservabilitySettings`` is judged by svc-infra's own model when svc-infra is
installed (its settings file is executed on its own, as for ``AuthSettings``), else
by a table of its three fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._explanations import clip, combine, ok
from svc_nb.env._svc_infra_model import SvcInfraModel

__all__ = ["APP_SETTING_CHECKS", "LOG_FORMATS", "LOG_LEVELS", "observability_problems"]

C = EnvCause
# svc_infra.app.logging.formats: LogLevelOptions and LogFormatOptions (StrEnum values).
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")
LOG_FORMATS = ("plain", "json")
_TRUE = ("1", "true", "yes", "on")  # ease._env_bool
_PYDANTIC_BOOL = frozenset(
    {"1", "on", "t", "true", "y", "yes", "0", "off", "f", "false", "n", "no"}
)
_OBS_FIELDS = ("METRICS_ENABLED", "METRICS_PATH", "METRICS_DEFAULT_BUCKETS")
_OBS_FILE = ("obs", "settings.py")

EXPLAIN: dict[EnvCause, Explanation] = {
    C.APP_SETTING_INVALID: Explanation(
        Status.FAIL,
        "{name}={value!r}: easy_service_app raises {error} while it builds the app",
        "{why}",
        "{fix}",
    ),
}


def _enabled(env: Mapping[str, str], name: str) -> bool:
    """``ease._env_bool(name, True)``: unset is on; set, only 1/true/yes/on is on."""
    value = env.get(name)
    return value is None or value.strip().lower() in _TRUE


def _stripped(env: Mapping[str, str], name: str) -> str | None:
    """``ease._env_str``: stripped, None when empty."""
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _logging_problems(env: Mapping[str, str]) -> list[Finding]:
    if not _enabled(env, "ENABLE_LOGGING"):
        return []
    problems = []
    for name, allowed, example in (
        ("LOG_LEVEL", LOG_LEVELS, "INFO"),
        ("LOG_FORMAT", LOG_FORMATS, "json"),
    ):
        value = _stripped(env, name)
        if value is None or value in allowed:
            continue
        hint = f" (write {value.upper()!r})" if value.upper() in allowed else ""
        hint = hint or (f" (write {value.lower()!r})" if value.lower() in allowed else "")
        problems.append(
            explain(
                "env.app_settings",
                C.APP_SETTING_INVALID,
                EXPLAIN,
                name=name,
                value=clip(value, 40),
                error="ValidationError (LoggingConfig)",
                why=f"setup_logging() validates {name} against {', '.join(allowed)} exactly, "
                f"case included{hint}; ENABLE_LOGGING=false skips it.",
                fix=f"export {name}={example}",
                data={"variable": name},
            )
        )
    return problems


# -- ObservabilitySettings ----------------------------------------------------------

_OBS_MODEL = SvcInfraModel(_OBS_FILE, "ObservabilitySettings")


def _table(env: Mapping[str, str]) -> list[tuple[str, str]]:
    problems = []
    for name, value in env.items():
        upper = name.upper()
        if upper == "METRICS_ENABLED" and value.strip().lower() not in _PYDANTIC_BOOL:
            problems.append((name, "Input should be a valid boolean"))
        if upper == "METRICS_DEFAULT_BUCKETS":
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                problems.append((name, "error parsing value (not JSON)"))
                continue
            if not isinstance(parsed, list) or not all(
                isinstance(x, int | float) and not isinstance(x, bool) for x in parsed
            ):
                problems.append((name, "Input should be a list of numbers"))
    return problems


def observability_problems(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(variable, message) for each METRICS_* value ObservabilitySettings rejects."""
    relevant = {k: v for k, v in env.items() if k.upper() in _OBS_FIELDS}
    if not relevant:
        return []
    model = _OBS_MODEL.load()
    if model is None:
        return _table(relevant)
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    problems: list[tuple[str, str]] = []
    for name, value in relevant.items():  # one at a time: every bad variable is named
        try:
            model.validate({name: value})
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            problems.append((name, str(first.get("msg", "invalid value"))))
        except (SettingsError, RecursionError):
            problems.append((name, "error parsing value (not JSON)"))
    return problems


def _metrics_problems(env: Mapping[str, str]) -> list[Finding]:
    if not _enabled(env, "ENABLE_OBS"):
        return []
    return [
        explain(
            "env.app_settings",
            C.APP_SETTING_INVALID,
            EXPLAIN,
            name=name,
            value=clip(env[name], 40),
            error="a pydantic error (ObservabilitySettings)",
            why=f"add_observability() builds ObservabilitySettings: {message}. ENABLE_OBS=false "
            "skips it.",
            fix=(
                "export METRICS_DEFAULT_BUCKETS='[0.05, 0.1, 0.5, 1, 5]'  # a JSON list of seconds"
                if name.upper() == "METRICS_DEFAULT_BUCKETS"
                else f"export {name}=true   # or false"
            ),
            data={"variable": name},
        )
        for name, message in observability_problems(env)
    ]


def _check_app_settings(env: dict[str, str], prod_like: bool) -> Finding | None:
    names = ("ENABLE_LOGGING", "LOG_LEVEL", "LOG_FORMAT", "ENABLE_OBS")
    present = [n for n in env if n in names or n.upper() in _OBS_FIELDS]
    if not present:
        return None
    problems = _logging_problems(env) + _metrics_problems(env)
    summary = "easy_service_app settings " + ", ".join(present[:6])
    if not problems:
        return ok(
            "env.app_settings",
            summary,
            "Logging and metrics settings load as easy_service_app validates them.",
            variables=present,
        )
    return combine("env.app_settings", summary, problems, variables=present)


APP_SETTING_CHECKS = [("env.app_settings", _check_app_settings)]
