"""Why a start-up failed: the exception (and its chain) classified into a cause, then explained.

The rules follow the start-up rehearsal's: a missing variable, a missing
secret, unparseable settings and a missing package are configuration; a
database or Redis that does not answer is a dependency. Each rule looks at the
exception types and their text along the ``__cause__``/``__context__`` chain,
in linear time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from svc_nb._explain import Explanation
from svc_nb._report import Status
from svc_nb.service._causes import ServiceCause as C

__all__ = ["STARTUP_EXPLAIN", "classify_exception"]

_CHAIN_LIMIT = 8
_FRAME_LIMIT = 64
_TEXT_CHARS = 600
_F = Status.FAIL
_DEPENDENCY = "It is a dependency, not the app: "

STARTUP_EXPLAIN: dict[C, Explanation] = {
    C.MISSING_ENV_VAR: Explanation(
        _F,
        "{when} failed: the environment variable {name} is not set",
        "{error}",
        "Set {name} in the service's environment (svc-infra's database URL is SQL_URL; "
        "DATABASE_URL alone is not read at run time).",
    ),
    C.SECRET_REQUIRED: Explanation(
        _F,
        "{when} failed: a required secret is not set ({error_type})",
        "{error}\nIn APP_ENV prod, staging, test, uat or preview svc-infra refuses its "
        "development defaults.",
        "Set the secret it names (AUTH_JWT__SECRET for JWTs, SESSION_SECRET for sessions), "
        "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(48))'`.",
    ),
    C.SETTINGS_REJECTED: Explanation(
        _F,
        "{when} failed: a setting has a value svc-infra cannot parse",
        "{error}\nsvc-infra loads its settings when it is imported, so one malformed variable "
        "(AUTH_*, CORS_*, …) stops the whole app.",
        "Fix the variable named above; svc_nb.env.check_env() lists every malformed one.",
    ),
    C.MODULE_MISSING: Explanation(
        _F,
        "{when} failed: the module {name} is not installed",
        "{error}",
        "Install it in the service's environment: pip install {package}",
    ),
    C.DB_AUTH_FAILED: Explanation(
        _F,
        "{when} failed: the database refused the credentials",
        _DEPENDENCY + "{error}",
        "Check the user and password in SQL_URL (svc_nb.db.check() explains the server's answer).",
    ),
    C.DB_MISSING: Explanation(
        _F,
        "{when} failed: the database does not exist",
        _DEPENDENCY + "{error}",
        "Create it (createdb <name>) or fix the database name in SQL_URL.",
    ),
    C.DB_UNREACHABLE: Explanation(
        _F,
        "{when} failed: the database does not answer",
        _DEPENDENCY + "{error}",
        "Start PostgreSQL or fix the host and port in SQL_URL; await svc_nb.db.check() shows why.",
    ),
    C.CACHE_UNREACHABLE: Explanation(
        _F,
        "{when} failed: Redis does not answer",
        _DEPENDENCY + "{error}\nsvc-infra's add_cache fails fast: there is no fallback to memory.",
        "Start Redis or fix CACHE_URL / REDIS_URL; await svc_nb.cache.check() shows why.",
    ),
    C.STARTUP_FAILED: Explanation(
        _F,
        "{when} failed: {error_type}",
        "{error}",
        "Read the traceback in data['traceback'] (or the service log) for the failing line.",
    ),
}


@dataclass(frozen=True)
class _Seen:
    """One exception of the chain: its class names (with bases), module, text, and the
    libraries its traceback went through (a refused connect is a plain OSError)."""

    names: frozenset[str]
    module: str
    text: str
    libraries: frozenset[str]


_DB_LIBRARIES = frozenset({"asyncpg", "sqlalchemy", "psycopg", "psycopg2"})
_CACHE_LIBRARIES = frozenset({"redis", "cashews"})
_NETWORK = frozenset({"OSError", "ConnectionError", "TimeoutError", "OperationalError"})


def _libraries(exc: BaseException) -> frozenset[str]:
    found: set[str] = set()
    tb = exc.__traceback__
    for _ in range(_FRAME_LIMIT):
        if tb is None:
            break
        parts = tb.tb_frame.f_code.co_filename.replace("\\", "/").split("/")
        found.update(p for p in parts if p in _DB_LIBRARIES or p in _CACHE_LIBRARIES)
        tb = tb.tb_next
    return frozenset(found)


def _chain(exc: BaseException) -> list[_Seen]:
    seen: list[_Seen] = []
    current: BaseException | None = exc
    for _ in range(_CHAIN_LIMIT):  # bounded: chains can be cyclic
        if current is None:
            break
        names = frozenset(k.__name__ for k in type(current).__mro__)
        text = str(current)[:_TEXT_CHARS]
        seen.append(_Seen(names, type(current).__module__, text, _libraries(current)))
        current = current.__cause__ or current.__context__
    return seen


def _word_after(text: str, marker: str) -> str:
    start = text.find(marker)
    if start < 0:
        return "?"
    rest = text[start + len(marker) :].strip().split()
    return rest[0].strip("'\".,:") if rest else "?"


def _missing_env(seen: _Seen) -> dict[str, Any] | None:
    if "Missing environment variable" not in seen.text:
        return None
    return {"name": _word_after(seen.text, "Missing environment variable")}


def _missing_secret(seen: _Seen) -> dict[str, Any] | None:
    return {} if "MissingSecretError" in seen.names else None


def _settings(seen: _Seen) -> dict[str, Any] | None:
    if "ValidationError" in seen.names and seen.module.startswith("pydantic"):
        return {}
    return {} if "SettingsError" in seen.names else None


def _module_missing(seen: _Seen) -> dict[str, Any] | None:
    if "ModuleNotFoundError" not in seen.names:
        return None
    name = _word_after(seen.text, "No module named")
    return {"name": name, "package": name.split(".")[0].replace("_", "-")}


def _db_auth(seen: _Seen) -> dict[str, Any] | None:
    auth = {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}
    if seen.names & auth or "password authentication failed" in seen.text:
        return {}
    return None


def _db_missing(seen: _Seen) -> dict[str, Any] | None:
    if "InvalidCatalogNameError" in seen.names:
        return {}
    return {} if 'database "' in seen.text and "does not exist" in seen.text else None


def _cache(seen: _Seen) -> dict[str, Any] | None:
    if "Cache readiness probe failed" in seen.text:
        return {}
    from_cache = seen.module.startswith("redis") or bool(seen.libraries & _CACHE_LIBRARIES)
    return {} if from_cache and seen.names & _NETWORK else None


def _db_unreachable(seen: _Seen) -> dict[str, Any] | None:
    from_db = seen.module.startswith(tuple(_DB_LIBRARIES)) or bool(seen.libraries & _DB_LIBRARIES)
    return {} if from_db and seen.names & _NETWORK else None


# First rule that matches any exception of the chain wins; configuration before dependencies.
_RULES: tuple[tuple[C, Callable[[_Seen], dict[str, Any] | None]], ...] = (
    (C.SECRET_REQUIRED, _missing_secret),
    (C.SETTINGS_REJECTED, _settings),
    (C.MISSING_ENV_VAR, _missing_env),
    (C.MODULE_MISSING, _module_missing),
    (C.DB_AUTH_FAILED, _db_auth),
    (C.DB_MISSING, _db_missing),
    (C.CACHE_UNREACHABLE, _cache),
    (C.DB_UNREACHABLE, _db_unreachable),
)


# The rehearsal's rules (svc_nb.env.rehearse) name svc-infra's own configuration failures;
# they are asked first, so an app started here and one rehearsed in a subprocess get the
# same verdict. Their causes map onto this section's codes; dependency failures (database,
# Redis, a missing module) are this module's own rules.
_FROM_REHEARSAL = {
    "settings_rejected": C.SETTINGS_REJECTED,
    "secret_required": C.SECRET_REQUIRED,
    "sql_url_missing": C.MISSING_ENV_VAR,
    "cache_unreachable": C.CACHE_UNREACHABLE,
}
_LOCAL_RULE = dict(_RULES)


def _rehearsal_verdict(exc: BaseException, chain: list[_Seen]) -> C | None:
    from svc_nb.env._rehearse_explain import RULES

    error = {
        "chain": [name for seen in chain for name in seen.names],
        "message": "\n".join(seen.text for seen in chain),
    }
    for rule in RULES:
        if rule.cause.value in _FROM_REHEARSAL and rule.matches("startup", error):
            return _FROM_REHEARSAL[rule.cause.value]
    return None


def classify_exception(exc: BaseException) -> tuple[C, dict[str, Any]]:
    """The cause of a start-up (or import) failure and the fields its explanation shows."""
    chain = _chain(exc)
    fields: dict[str, Any] = {
        "error": f"{type(exc).__name__}: {str(exc)[:_TEXT_CHARS]}",
        "error_type": type(exc).__name__,
    }
    agreed = _rehearsal_verdict(exc, chain)
    if agreed is not None:
        extra: dict[str, Any] = next(
            (f for seen in chain if (f := _LOCAL_RULE[agreed](seen)) is not None), {}
        )
        return agreed, {**fields, **extra}
    for cause, rule in _RULES:
        for seen in chain:
            found = rule(seen)
            if found is not None:
                return cause, {**fields, **found}
    return C.STARTUP_FAILED, fields
