"""``bug_report()``: versions, servers, the traceback and its locals, the environment, all masked."""

from __future__ import annotations

import os
import platform
import sys
import traceback
from collections.abc import Mapping

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._redact import scrub
from svc_nb._report import Report, Status
from svc_nb._runtime import run
from svc_nb._validate import check_timeout
from svc_nb.support._bundle import BugReport, Section
from svc_nb.support._servers import DEFAULT_PROBE_TIMEOUT_S, describe_error, server_versions
from svc_nb.support._tracebacks import innermost_locals, last_exception, register_exception_secrets

__all__ = ["bug_report"]

_REPRO_TEMPLATE = """import asyncio
from fastapi import FastAPI
# from svc_infra... import ...   <- the smallest svc-infra setup that fails

app = FastAPI()
# add_sql_db(app) / add_cache(app) / add_auth_users(app, ...) / add_security(app, ...)

async def main() -> None:
    ...  # the call that fails

asyncio.run(main())"""


def _report_rows(report: Report) -> list[tuple[str, str]]:
    return [(f.check, f"{f.status.symbol} {f.status.value.upper()} — {f.summary}") for f in report]


def _versions_section() -> Section:
    from svc_nb import __version__
    from svc_nb.env import package_versions

    versions = package_versions()
    python = platform.python_version()
    rows = [
        ("svc_nb", __version__),
        ("svc-infra", versions.get("svc-infra") or "not installed in this interpreter"),
        ("Python", f"{python} ({platform.python_implementation()}) at {sys.executable}"),
        ("OS", platform.platform()),
    ]
    rows += [(k, v) for k, v in versions.items() if v and k not in ("svc-nb", "svc-infra")]
    return Section("Versions", rows=rows, table_head=("component", "version"))


def _servers(env: Mapping[str, str], timeout: float, probe: bool) -> dict[str, str]:
    if not probe:
        return {"postgresql": "not probed", "redis": "not probed"}
    try:
        return run(server_versions(env, timeout=timeout))
    except Exception as err:  # the report must come out even when probing breaks
        return {"postgresql": describe_error(err), "redis": describe_error(err)}


def _failure_sections(failure: BaseException | None) -> list[Section]:
    if failure is None:
        return [
            Section(
                "Traceback",
                text="No exception given and none raised in this session yet: pass it with "
                "bug_report(exc), or paste the full traceback here.",
            )
        ]
    tb_text = "".join(traceback.format_exception(failure)).rstrip()
    sections = [Section("Traceback", code=tb_text)]
    local_rows = innermost_locals(failure)
    if local_rows:
        sections.append(
            Section(
                "Locals of the innermost frame (secrets masked)",
                rows=local_rows,
                table_head=("name", "value"),
            )
        )
    return sections


def _title(failure: BaseException | None) -> str:
    if failure is None:
        return "Bug report"
    # Scrubbed before it is cut: a cut secret would no longer match its registered form.
    lines = scrub(str(failure)).strip().splitlines()
    return f"Bug report: {type(failure).__name__}" + (f": {lines[0][:100]}" if lines else "")


def _sections(
    failure: BaseException | None,
    servers: Mapping[str, str],
    env_report: Report,
    runtime_report: Report,
) -> tuple[Section, ...]:
    return (
        Section(
            "What happened",
            text="Describe what you did, what you expected and what happened instead.",
        ),
        _versions_section(),
        Section(
            "Servers",
            rows=[("PostgreSQL", servers["postgresql"]), ("Redis", servers["redis"])],
            table_head=("service", "version"),
        ),
        *_failure_sections(failure),
        Section(
            "Environment (masked, as svc-infra reads it)",
            rows=_report_rows(env_report),
            table_head=("check", "finding"),
        ),
        Section(
            "Python and event loop",
            rows=_report_rows(runtime_report),
            table_head=("check", "finding"),
        ),
        Section(
            "Minimal reproduction",
            text="Replace this with the smallest code that fails (no real secrets: use placeholders).",
            code=_REPRO_TEMPLATE,
        ),
    )


def bug_report(
    exc: BaseException | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_PROBE_TIMEOUT_S,
    probe_servers: bool = True,
) -> BugReport:
    """A redacted bug report for svc-infra's (or svc_nb's) issue tracker.

    ``exc`` defaults to the last exception raised in this session
    (``sys.last_value``, which IPython sets for a failed cell). Server versions
    are probed at the configured URLs within ``timeout`` seconds each. Every
    secret found in the environment, the traceback's locals or the exception is
    masked in every part of the report.
    """
    from svc_nb.env import check_env, check_event_loop, check_python, register_env_secrets

    if exc is not None and not isinstance(exc, BaseException):
        raise ArgumentTypeError(
            "bug_report() takes the exception object (e.g. `except Exception as exc: "
            f"bug_report(exc)`), got {type(exc).__name__}"
        )
    timeout = check_timeout(timeout)
    env = dict(os.environ if environ is None else environ)
    # Register every secret before anything is rendered, so every later scrub() hides it.
    register_env_secrets(env)
    failure = exc if exc is not None else last_exception()
    if failure is not None:
        register_exception_secrets(failure)

    servers = _servers(env, timeout, probe_servers)
    env_report = check_env(env)
    runtime_report = check_python() + check_event_loop()
    sections = _sections(failure, servers, env_report, runtime_report)
    worst = (env_report + runtime_report).worst
    return BugReport(
        title=_title(failure),
        sections=sections,
        data={
            "exception_type": type(failure).__name__ if failure is not None else None,
            "servers": servers,
            "environment_worst": worst.value,
            "environment_ok": worst is not Status.FAIL,
        },
    )
