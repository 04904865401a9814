"""Getting help: a bug-report bundle safe to paste publicly, and debug logging into the notebook.

``bug_report()`` gathers versions (svc_nb, svc-infra, Python, OS, key packages,
the PostgreSQL and Redis servers when reachable), the traceback of the failure,
the masked environment summary and a reproduction template. Every secret read
from the environment, URLs or traceback locals is registered with
:mod:`svc_nb._redact` first, and the finished text is scrubbed once more.
"""

from __future__ import annotations

import asyncio
import collections
import html
import logging
import os
import platform
import sys
import traceback
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from svc_nb._redact import is_secret_name, mask_secret, mask_url, register_secret, scrub
from svc_nb._report import Report, ReprMixin, Status
from svc_nb._runtime import run

__all__ = [
    "ISSUES_URL",
    "BugReport",
    "DebugLogging",
    "bug_report",
    "disable_debug_logging",
    "enable_debug_logging",
    "server_versions",
]

ISSUES_URL = "https://github.com/nfraxlab/svc-infra/issues"
_MAX_LOCAL_REPR = 120
_REPRO_TEMPLATE = '''import asyncio
from fastapi import FastAPI
# from svc_infra... import ...   <- the smallest svc-infra setup that fails

app = FastAPI()
# add_sql_db(app) / add_cache(app) / add_auth_users(app, ...) / add_security(app, ...)

async def main() -> None:
    ...  # the call that fails

asyncio.run(main())'''


# --------------------------------------------------------------------------
# The bundle
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    title: str
    rows: Sequence[tuple[str, str]] = ()
    code: str | None = None
    text: str = ""
    table_head: tuple[str, str] = ("", "")


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


@dataclass(frozen=True)
class BugReport(ReprMixin):
    """A redacted bug report: ``str()`` is markdown for an issue, the notebook shows HTML."""

    title: str
    sections: tuple[_Section, ...] = field(default_factory=tuple)
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def markdown(self) -> str:
        """The report as GitHub-flavoured markdown (paste it into an issue)."""
        out = [f"# {self.title}", ""]
        for s in self.sections:
            out += [f"## {s.title}", ""]
            if s.text:
                out += [s.text, ""]
            if s.rows:
                head = s.table_head if any(s.table_head) else ("", "")
                out += [f"| {head[0]} | {head[1]} |", "|---|---|"]
                out += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in s.rows]
                out.append("")
            if s.code is not None:
                fence = "````" if "```" in s.code else "```"
                out += [fence, s.code, fence, ""]
        return scrub("\n".join(out).rstrip() + "\n")

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f'<div class="svcnb-bugreport"><h3>{esc(self.title)}</h3>']
        for s in self.sections:
            parts.append(f"<h4>{esc(s.title)}</h4>")
            if s.text:
                parts.append(f"<p>{esc(s.text)}</p>")
            if s.rows:
                head = ""
                if any(s.table_head):
                    head = f"<thead><tr><th>{esc(s.table_head[0])}</th><th>{esc(s.table_head[1])}</th></tr></thead>"
                body = "".join(
                    f"<tr><td><code>{esc(k)}</code></td><td>{esc(v)}</td></tr>" for k, v in s.rows
                )
                parts.append(f'<table style="border-collapse:collapse;text-align:left">{head}<tbody>{body}</tbody></table>')
            if s.code is not None:
                parts.append(f'<pre style="white-space:pre-wrap">{esc(s.code)}</pre>')
        parts.append(
            "<p>Copy the markdown with <code>print(report)</code> (or <code>report.save(path)</code>) "
            f'and open an issue at <a href="{ISSUES_URL}" target="_blank">{ISSUES_URL}</a>.</p></div>'
        )
        return scrub("".join(parts))

    def __str__(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return f"<BugReport {self.title!r}: {len(self.sections)} sections; print() it for markdown>"

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the markdown to ``path`` and return the path."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.markdown)
        return os.fspath(path)


# --------------------------------------------------------------------------
# Server versions, probed with short timeouts
# --------------------------------------------------------------------------


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    message = scrub(str(exc)).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unreachable ({type(exc).__name__}{': ' + message if message else ''})"


async def _postgres_version(url: str, timeout: float) -> str:
    import asyncpg

    parts = urllib.parse.urlsplit(url)
    # asyncpg wants plain postgresql://; SQLAlchemy URLs carry +asyncpg/+psycopg.
    dsn = urllib.parse.urlunsplit(("postgresql", *parts[1:]))
    conn = None
    try:
        async with asyncio.timeout(timeout):
            conn = await asyncpg.connect(dsn, timeout=timeout)
            version = await conn.fetchval("SHOW server_version")
    except Exception as exc:
        return _describe_error(exc)
    finally:
        if conn is not None:
            try:
                async with asyncio.timeout(timeout):
                    await conn.close()
            except Exception:
                conn.terminate()
    return f"PostgreSQL {version}"


async def _redis_version(url: str, timeout: float) -> str:
    from svc_nb.cache import client as redis_client

    if url.startswith("mem://"):
        return "in-process memory cache (no Redis configured)"
    try:
        client = redis_client(url, timeout=timeout)
    except Exception as exc:
        return f"invalid URL ({type(exc).__name__}: {scrub(str(exc))})"
    try:
        async with asyncio.timeout(timeout):
            info = await client.info("server")
    except Exception as exc:
        return _describe_error(exc)
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # stubs predate redis 5
    return f"Redis {info.get('redis_version', '?')}"


async def server_versions(
    environ: Mapping[str, str] | None = None, *, timeout: float = 1.5
) -> dict[str, str]:
    """PostgreSQL and Redis server versions at the URLs svc-infra would use (or why not)."""
    from svc_nb.env import resolve_cache_url, resolve_database_url

    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    db = resolve_database_url(environ)
    cache = resolve_cache_url(environ)

    async def _none() -> str:
        return "not configured (no SQL_URL / DATABASE_URL)"

    pg_task = _postgres_version(db.value, timeout) if db else _none()
    pg, rd = await asyncio.gather(pg_task, _redis_version(cache.value, timeout))
    return {"postgresql": pg, "redis": rd}


# --------------------------------------------------------------------------
# Tracebacks with their locals redacted
# --------------------------------------------------------------------------


def _last_exception() -> BaseException | None:
    """The last exception of this interactive session (IPython sets sys.last_value too)."""
    last = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    return last if isinstance(last, BaseException) else None


def _iter_chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _frames(tb: TracebackType | None) -> list[Any]:
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def _register_value_secrets(name: str, value: Any) -> None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        if is_secret_name(name):
            register_secret(value)
        if "://" in value:
            try:
                password = urllib.parse.urlsplit(value.strip()).password
            except ValueError:
                password = None
            if password:
                register_secret(password, urllib.parse.unquote(password))
    elif isinstance(value, Mapping):
        for key, item in list(value.items())[:200]:
            _register_value_secrets(str(key), item)


def _register_traceback_secrets(exc: BaseException) -> None:
    """Register secrets held by any frame's locals, so scrub() hides them in messages and source."""
    for link in _iter_chain(exc):
        for frame in _frames(link.__traceback__):
            try:
                items = list(frame.f_locals.items())
            except Exception:  # a frame proxy can fail on exotic objects
                continue
            for name, value in items:
                _register_value_secrets(name, value)


def _safe_repr(name: str, value: Any) -> str:
    if is_secret_name(name) and isinstance(value, str | bytes):
        return mask_secret(value)
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr failed: {type(exc).__name__}>"
    if isinstance(value, str) and "://" in value:
        text = repr(mask_url(value))
    text = scrub(text)
    return text if len(text) <= _MAX_LOCAL_REPR else text[: _MAX_LOCAL_REPR - 1] + "…"


def _innermost_locals(exc: BaseException) -> list[tuple[str, str]]:
    frames = _frames(exc.__traceback__)
    if not frames:
        return []
    frame = frames[-1]
    rows = []
    for name, value in list(frame.f_locals.items())[:40]:
        if name.startswith("__"):
            continue
        rows.append((name, _safe_repr(name, value)))
    return rows


# --------------------------------------------------------------------------
# bug_report()
# --------------------------------------------------------------------------


def _report_rows(report: Report) -> list[tuple[str, str]]:
    return [(f.check, f"{f.status.symbol} {f.status.value.upper()} — {f.summary}") for f in report]


def bug_report(
    exc: BaseException | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = 1.5,
    probe_servers: bool = True,
) -> BugReport:
    """A redacted bug report for svc-infra's (or svc_nb's) issue tracker.

    ``exc`` defaults to the last exception raised in this session
    (``sys.last_value``, which IPython sets for a failed cell). Server versions
    are probed at the configured URLs within ``timeout`` seconds each.
    """
    from svc_nb import __version__
    from svc_nb.env import (
        check_env,
        check_event_loop,
        check_python,
        package_versions,
        register_env_secrets,
    )

    if exc is not None and not isinstance(exc, BaseException):
        raise TypeError(
            f"bug_report() takes the exception object (e.g. `except Exception as exc: bug_report(exc)`), "
            f"got {type(exc).__name__}"
        )
    env = dict(os.environ if environ is None else environ)
    # Register every secret before anything is rendered, so every later scrub() hides it.
    register_env_secrets(env)
    failure = exc if exc is not None else _last_exception()
    if failure is not None:
        _register_traceback_secrets(failure)

    versions = package_versions()
    sections: list[_Section] = []
    sections.append(_Section(
        "What happened",
        text="Describe what you did, what you expected and what happened instead.",
    ))
    version_rows = [
        ("svc_nb", __version__),
        ("svc-infra", versions.get("svc-infra") or "not installed in this interpreter"),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()}) at {sys.executable}"),
        ("OS", platform.platform()),
    ]
    version_rows += [(k, v) for k, v in versions.items() if v and k not in ("svc-nb", "svc-infra")]
    sections.append(_Section("Versions", rows=version_rows, table_head=("component", "version")))

    servers: dict[str, str]
    if probe_servers:
        try:
            servers = run(server_versions(env, timeout=timeout))
        except Exception as err:  # the report must come out even when probing breaks
            servers = {"postgresql": _describe_error(err), "redis": _describe_error(err)}
    else:
        servers = {"postgresql": "not probed", "redis": "not probed"}
    sections.append(_Section(
        "Servers", rows=[("PostgreSQL", servers["postgresql"]), ("Redis", servers["redis"])],
        table_head=("service", "version"),
    ))

    if failure is not None:
        tb_text = "".join(traceback.format_exception(failure))
        sections.append(_Section("Traceback", code=scrub(tb_text.rstrip())))
        local_rows = _innermost_locals(failure)
        if local_rows:
            sections.append(_Section(
                "Locals of the innermost frame (secrets masked)", rows=local_rows,
                table_head=("name", "value"),
            ))
    else:
        sections.append(_Section(
            "Traceback",
            text="No exception given and none raised in this session yet: pass it with "
            "bug_report(exc), or paste the full traceback here.",
        ))

    env_report = check_env(env)
    sections.append(_Section(
        "Environment (masked, as svc-infra reads it)", rows=_report_rows(env_report),
        table_head=("check", "finding"),
    ))
    runtime_report = check_python() + check_event_loop()
    sections.append(_Section(
        "Python and event loop", rows=_report_rows(runtime_report), table_head=("check", "finding"),
    ))
    sections.append(_Section(
        "Minimal reproduction",
        text="Replace this with the smallest code that fails (no real secrets: use placeholders).",
        code=_REPRO_TEMPLATE,
    ))
    title = "Bug report"
    if failure is not None:
        first = scrub(str(failure)).strip().splitlines()
        title += f": {type(failure).__name__}" + (f": {first[0][:100]}" if first else "")
    worst = (env_report + runtime_report).worst
    return BugReport(
        title=scrub(title),
        sections=tuple(sections),
        data={
            "exception": type(failure).__name__ if failure is not None else None,
            "servers": servers,
            "environment_worst": worst.value,
            "environment_ok": worst is not Status.FAIL,
        },
    )


# --------------------------------------------------------------------------
# Debug logging into the notebook
# --------------------------------------------------------------------------

DEFAULT_LOGGERS = ("svc_infra",)
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _NotebookHandler(logging.Handler):
    """Writes scrubbed records to the current ``sys.stdout`` (the running cell, in a kernel)."""

    def __init__(self, keep: int = 500) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        self.lines: collections.deque[str] = collections.deque(maxlen=keep)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))

    def emit(self, record: logging.LogRecord) -> None:
        # The handler sits on parent and child loggers: show a propagated record once.
        if getattr(record, "_svc_nb_shown", False):
            return
        record._svc_nb_shown = True
        try:
            line = self.format(record)
            self.lines.append(line)
            # Looked up per record: ipykernel swaps sys.stdout to route output to the running cell.
            stream = sys.stdout
            if stream is not None:
                stream.write(line + "\n")
                stream.flush()
        except Exception:
            self.handleError(record)


@dataclass
class DebugLogging(ReprMixin):
    """Handle returned by :func:`enable_debug_logging`; also a context manager."""

    names: list[str]
    handler: _NotebookHandler
    previous: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> list[str]:
        """The (scrubbed) lines logged so far, newest last."""
        return list(self.handler.lines)

    @property
    def active(self) -> bool:
        return _active is self

    def disable(self) -> None:
        disable_debug_logging()

    def __enter__(self) -> DebugLogging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disable()

    def __str__(self) -> str:
        state = "on" if self.active else "off"
        return f"debug logging {state} for {', '.join(self.names)} ({len(self.handler.lines)} records)"

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(str(self))}</code>"


_active: DebugLogging | None = None


def enable_debug_logging(*names: str, level: int = logging.DEBUG) -> DebugLogging:
    """Turn on DEBUG for ``svc_infra`` (and ``names``) and show their records in the notebook.

    Each record is scrubbed of secrets before it is shown. Turn it off with
    :func:`disable_debug_logging` (or use the result as a context manager).
    """
    global _active
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(f"logger names are non-empty strings such as 'svc_infra.webhooks', got {name!r}")
    wanted = list(dict.fromkeys([*DEFAULT_LOGGERS, *names]))
    if _active is None:
        _active = DebugLogging(names=[], handler=_NotebookHandler())
    for name in wanted:
        if name in _active.names:
            continue
        logger = logging.getLogger(name)
        _active.previous[name] = logger.level
        logger.setLevel(level)
        logger.addHandler(_active.handler)
        _active.names.append(name)
    return _active


def disable_debug_logging() -> None:
    """Remove the notebook handler and restore the loggers' previous levels."""
    global _active
    if _active is None:
        return
    for name in _active.names:
        logger = logging.getLogger(name)
        logger.removeHandler(_active.handler)
        logger.setLevel(_active.previous.get(name, logging.NOTSET))
    _active.handler.close()
    _active = None
