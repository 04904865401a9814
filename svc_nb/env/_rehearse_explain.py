"""What a start-up rehearsal's outcome means: its cause, svc_nb's explanation and fix.

The child reports raw facts (the phase, the exception's type, message and chain, or
a refusal such as "not an ASGI app"). A table of rules names the cause; the text
lives in :data:`EXPLAIN`. Where ``check_env`` has a failing finding about the same
variable, its fix is the one shown: one explanation per mistake, whichever check
found it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from svc_nb._explain import Explanation, explain
from svc_nb._fmt import format_duration
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause

if TYPE_CHECKING:
    from svc_nb.env._rehearse import Rehearsal

__all__ = ["EXPLAIN", "RULES", "Rule", "classify", "implicated_variables"]

C = EnvCause
FAIL, WARN = Status.FAIL, Status.WARN
CHECK = "env.rehearse"

_WHAT = "{target}: {exception_type} while {doing}"
EXPLAIN: dict[EnvCause, Explanation] = {
    C.SETTINGS_REJECTED: Explanation(
        FAIL,
        "`import svc_infra` fails: its settings reject {variables}",
        "svc-infra loads its settings while it is imported; {exception_type}: {message}{agrees}",
        "{fix}",
    ),
    C.SECRET_REQUIRED: Explanation(
        FAIL,
        "svc-infra refuses to start: {variables} must be set in a production-like APP_ENV",
        "{exception_type} while {doing}: {message}{agrees}",
        "{fix}",
    ),
    C.SQL_URL_MISSING: Explanation(
        FAIL,
        "start-up fails: add_sql_db reads SQL_URL and it is not set",
        "{exception_type} while {doing}: {message}{agrees}",
        "{fix}",
    ),
    C.URL_INVALID: Explanation(
        FAIL,
        "start-up fails: SQLAlchemy cannot parse SQL_URL",
        "{exception_type} while {doing}: {message}{agrees}",
        "{fix}",
    ),
    C.CACHE_UNREACHABLE: Explanation(
        FAIL,
        "start-up fails: add_cache's readiness probe cannot reach the cache",
        "{exception_type} while {doing}: {message}\nsvc-infra never falls back to memory: "
        "the app does not start while its Redis is down.{agrees}",
        "Start Redis or point CACHE_URL (else REDIS_URL) at a reachable one; "
        "await svc_nb.cache.check() shows why it is unreachable.",
    ),
    C.CACHE_URL_INVALID: Explanation(
        FAIL,
        "start-up fails: the cache URL names a backend svc-infra's cache (cashews) does not know",
        "{exception_type} while {doing}: {message}{agrees}",
        "export CACHE_URL='redis://HOST:6379/0'   # or mem:// for a per-process cache",
    ),
    C.APP_MODULE_MISSING: Explanation(
        FAIL,
        "{target}: no module named {module!r} here",
        "The rehearsal imports the module with this interpreter ({executable}), from the "
        "current directory and sys.path: {message}",
        "Run from the project's root (the folder that contains the package), install the "
        "project (pip install -e .), or fix the module path in app=/SVC_NB_APP.",
    ),
    C.APP_ATTRIBUTE_MISSING: Explanation(
        FAIL,
        "{target}: {message}",
        "The module imports, but has no object under that name.",
        "Name the ASGI app object, e.g. 'myservice.main:app' for `app = FastAPI()` in "
        "myservice/main.py.",
    ),
    C.NOT_ASGI_APP: Explanation(
        FAIL,
        "{target} is not an ASGI application",
        "{message}. An ASGI app is an async callable taking (scope, receive, send): a FastAPI "
        "or Starlette instance, for example; not a module, a class or a factory function.",
        "Name the app object itself (e.g. 'myservice.main:app'); for a factory, expose "
        "`app = create_app()` in a module and name that.",
    ),
    C.APP_IMPORT_FAILED: Explanation(
        FAIL,
        "{target}: importing the app raises {exception_type}",
        "{message}\nRaised in {where}.{agrees}",
        "{fix}",
    ),
    C.LIFESPAN_UNSUPPORTED: Explanation(
        WARN,
        "{target} does not run the ASGI lifespan: nothing was started",
        "It answered the lifespan scope with {message}; servers (uvicorn's lifespan=auto) then "
        "start it without start-up hooks, so svc-infra's add_sql_db/add_cache never run there.",
        "If this is not your real app, name the FastAPI/Starlette app instead.",
    ),
    C.STARTUP_FAILED: Explanation(
        FAIL,
        _WHAT,
        "{message}\nRaised in {where}.{agrees}",
        "{fix}",
    ),
    C.STARTUP_TIMEOUT: Explanation(
        FAIL,
        "{target} did not finish start-up within {timeout}: the rehearsal was killed",
        "Last phase reached: {phase}. A lifespan hook that waits on a peer that never answers "
        "(a database or Redis behind a firewall), or a hook that never returns, looks like this; "
        "a real server waits the same way before it accepts a request.",
        "Find the hook that waits (await svc_nb.diagnose() probes the database and Redis with "
        "short timeouts), or give a slow start more time: rehearse(..., timeout=120).",
    ),
    C.REHEARSAL_CRASHED: Explanation(
        FAIL,
        "the rehearsal process died without a result (exit code {returncode})",
        "Last phase reached: {phase}. Its error output ends with:\n{stderr}",
        'Run `python -c "import svc_infra"` in the same environment to see the error, or '
        "report it with svc_nb.support.bug_report().",
    ),
}


@dataclass(frozen=True)
class Rule:
    """Name ``cause`` when the phase, an exception type in the chain and a message text match."""

    cause: EnvCause
    phases: frozenset[str] = frozenset()  # empty: any phase
    types: tuple[str, ...] = ()  # class names anywhere in the chain; empty: any
    needle: str = ""  # text in the message

    def matches(self, phase: str, error: Mapping[str, Any]) -> bool:
        if self.phases and phase not in self.phases:
            return False
        chain = [str(name).rpartition(".")[2] for name in error.get("chain") or ()]
        if self.types and not any(t in chain for t in self.types):
            return False
        return not self.needle or self.needle in str(error.get("message", ""))


# First match wins: svc-infra's own configuration errors before the generic ones.
RULES: tuple[Rule, ...] = (
    Rule(C.SETTINGS_REJECTED, types=("ValidationError", "SettingsError"), needle="AuthSettings"),
    Rule(C.SETTINGS_REJECTED, frozenset({"import"}), ("ValidationError", "SettingsError")),
    Rule(C.SECRET_REQUIRED, types=("MissingSecretError",)),
    Rule(C.SQL_URL_MISSING, types=("RuntimeError",), needle="Missing environment variable"),
    Rule(C.CACHE_UNREACHABLE, types=("RuntimeError",), needle="Cache readiness probe"),
    Rule(C.CACHE_URL_INVALID, types=("BackendNotAvailableError",)),
    Rule(C.URL_INVALID, types=("ArgumentError",), needle="SQLAlchemy URL"),
    Rule(C.APP_IMPORT_FAILED, frozenset({"app"})),
    Rule(C.STARTUP_FAILED),
)
_REFUSALS = {
    "module_not_found": C.APP_MODULE_MISSING,
    "attribute_missing": C.APP_ATTRIBUTE_MISSING,
    "not_asgi": C.NOT_ASGI_APP,
    "lifespan_unsupported": C.LIFESPAN_UNSUPPORTED,
    "startup_failed": C.STARTUP_FAILED,
    "lifespan_protocol": C.STARTUP_FAILED,
}
_DOING = {
    "import": "importing svc-infra",
    "app": "building the app",
    "startup": "running the lifespan start-up",
    "shutdown": "shutting down",
}

_ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
# A pydantic error location on a line of its own ("smtp_port", "jwt.secret"), or a
# pydantic-settings 'field "name"'.
_FIELD_LINE = re.compile(r"(?m)^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)$")
_FIELD_QUOTED = re.compile(r'field "([a-z][a-z0-9_]*)"')


def implicated_variables(message: str, env: Mapping[str, str]) -> list[str]:
    """Variables an exception message points at: names it spells, AuthSettings fields it names.

    A field of svc-infra's ``AuthSettings`` is the variable ``AUTH_<FIELD>`` (nested
    ``.`` becomes ``__``); the names are kept as the environment spells them.
    """
    names: list[str] = []
    if "AuthSettings" in message or 'field "' in message:
        fields = _FIELD_LINE.findall(message) + _FIELD_QUOTED.findall(message)
        names += ["AUTH_" + f.upper().replace(".", "__") for f in fields]
    names += _ENV_NAME.findall(message)
    spelled = {name.upper(): name for name in env}
    return list(dict.fromkeys(spelled.get(n.upper(), n) for n in names))[:5]


def _check_env_verdict(env: Mapping[str, str], variables: list[str]) -> tuple[str, str]:
    """(" svc_nb's check_env agrees: …", its fix) for a failing finding about these variables."""
    if not variables:
        return "", ""
    from svc_nb.env._checks import check_env

    for found in check_env(env):
        if found.status is not Status.FAIL:
            continue
        text = " ".join([found.summary, found.detail, found.fix])
        if any(name in text for name in variables):
            return f"\nsvc_nb's check_env agrees ({found.check}): {found.summary}", found.fix
    return "", ""


def _fallback_fix(cause: EnvCause, variables: list[str]) -> str:
    if cause is C.SQL_URL_MISSING:
        return "export SQL_URL='postgresql+asyncpg://USER@HOST:5432/DB'"
    if cause is C.URL_INVALID:
        return "Set SQL_URL to a URL such as postgresql+asyncpg://USER:PASSWORD@HOST:5432/DB"
    if variables:
        return f"Fix or unset {', '.join(variables)}; svc_nb.env.check_env() explains each."
    return "Read the exception above; svc_nb.support.bug_report() bundles it with the versions."


def _cause(run: Rehearsal, app: str | None) -> EnvCause | None:
    result = run.result
    if result is None:
        return C.STARTUP_TIMEOUT if run.timed_out else C.REHEARSAL_CRASHED
    refusal = result.get("refusal")
    if refusal:
        return _REFUSALS.get(str(refusal), C.STARTUP_FAILED)
    error = result.get("error")
    if not error:
        return None
    phase = str(result.get("phase"))
    for rule in RULES:
        if rule.matches(phase, error) and (rule.cause is not C.APP_IMPORT_FAILED or app):
            return rule.cause
    return C.STARTUP_FAILED


def classify(run: Rehearsal, *, env: Mapping[str, str], app: str | None, timeout: float) -> Finding:
    """The ``env.rehearse`` finding for one rehearsal."""
    result = run.result or {}
    target = app or "svc-infra's standard app"
    version = result.get("svc_infra_version") or "(version unknown)"
    data: dict[str, Any] = {
        "app": app,
        "phase": run.phase,
        "phases": list(run.phases),
        "elapsed_s": round(run.elapsed_s, 3),
        "svc_infra_version": result.get("svc_infra_version"),
    }
    cause = _cause(run, app)
    if cause is None:
        data["shutdown_error"] = (result.get("shutdown_error") or {}).get("type")
        return Finding(
            CHECK,
            Status.OK,
            f"{target} started with svc-infra {version} in {format_duration(run.elapsed_s)}",
            detail="Imported svc-infra (its settings loaded), built the app and ran its ASGI "
            "lifespan start-up in a separate process with this environment.",
            data=data,
        )
    error = result.get("error") or {}
    message = str(error.get("message") or result.get("message") or "")
    variables = implicated_variables(message, env) if error else []
    agrees, env_fix = _check_env_verdict(env, variables)
    module = (app or "").partition(":")[0]
    data.update(exception_type=error.get("type"), variables=variables)
    return explain(
        CHECK,
        cause,
        EXPLAIN,
        data=data,
        target=target,
        exception_type=error.get("type") or "an error",
        message=message[:1500],
        doing=_DOING.get(run.phase, run.phase),
        where=" → ".join(error.get("where") or ()) or "(unknown)",
        variables=", ".join(variables) or "a variable",
        agrees=agrees,
        fix=env_fix or _fallback_fix(cause, variables),
        module=module,
        executable=_executable(),
        phase=run.phase,
        timeout=format_duration(timeout),
        returncode=run.returncode,
        stderr=run.stderr_tail[-1500:] or "(nothing)",
    )


def _executable() -> str:
    import sys

    return sys.executable
