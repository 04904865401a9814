"""Which variables svc-infra reads, in which order: the resolvers every section uses.

Everything here is pure and linear in the size of the values: a pasted 1 MB
value, a value that is not a string (``dotenv_values()`` gives ``None`` for a
bare ``NAME`` line), a path too long for the file system or JSON nested a
hundred thousand levels deep are answered, never raised.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from svc_nb._redact import is_secret_name, register_secret

__all__ = [
    "CACHE_URL_VARS",
    "DATABASE_URL_VARS",
    "DEFAULT_SECRETS_FILE",
    "JOB_QUEUE_REDIS_VARS",
    "JWT_SECRET_VARS",
    "PROD_LIKE_ENVS",
    "Odd",
    "Resolved",
    "app_environment",
    "job_queue_redis_url",
    "register_env_secrets",
    "resolve_cache_url",
    "resolve_database_url",
    "resolve_job_queue",
    "resolve_jwt_secret",
]

# svc-infra's runtime (add_sql_db) reads only SQL_URL; its CLI's URL helper tries these in order.
DATABASE_URL_VARS = ("SQL_URL", "DB_URL", "DATABASE_URL", "DATABASE_URL_PRIVATE", "PRIVATE_SQL_URL")
DEFAULT_SECRETS_FILE = "/run/secrets/database_url"
CACHE_URL_VARS = ("CACHE_URL", "REDIS_URL")
JWT_SECRET_VARS = ("AUTH_JWT__SECRET", "AUTH_JWT_SECRET", "JWT_SECRET")
PROD_LIKE_ENVS = ("prod", "production", "staging", "test", "uat", "preview")
# svc_infra.jobs.easy: JOBS_REDIS_URL, then deploy.get_redis_url(prefer_private=True).
JOB_QUEUE_REDIS_VARS = (
    "JOBS_REDIS_URL",
    "REDIS_URL_PRIVATE",
    "REDIS_PRIVATE_URL",
    "REDIS_URL",
    "CACHE_URL",
    "UPSTASH_REDIS_REST_URL",
)
JOB_QUEUE_DEFAULT_URL = "redis://localhost:6379/0"

# A secret file is a URL or a key: anything larger is the wrong file (or /dev/zero).
MAX_FILE_BYTES = 64 * 1024
# JSON settings svc-infra reads are at most three levels deep; far deeper is an
# error whatever svc-infra makes of it, and is never handed to a recursive parser.
MAX_JSON_DEPTH = 100


@dataclass(frozen=True)
class Resolved:
    """A value svc-infra would use and where it came from (a variable or a file)."""

    source: str
    value: str
    from_file: bool = False

    def __repr__(self) -> str:  # the value may be secret: never show it here
        return f"Resolved(source={self.source!r}, from_file={self.from_file})"


@dataclass(frozen=True)
class Odd:
    """A name or value that is not plain text, and what was made of it."""

    name: str
    kind: str  # "none", "coerced" or "dropped"
    type_name: str


# -- values that are not strings ----------------------------------------------------


def as_text(value: Any) -> str | None:
    """A value as the text an environment would hold; None when it stays unset.

    ``None`` is python-dotenv's bare ``NAME`` line (load_dotenv skips it); bytes
    decode like ``os.environb``; numbers become their text.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return os.fsdecode(bytes(value))
    if isinstance(value, int | float):  # bool included: str(True) is what a template writes
        return str(value)
    return None


def text_environ(environ: Mapping[Any, Any] | None) -> tuple[dict[str, str], list[Odd]]:
    """The environment as ``{str: str}``, and every entry that needed coercing or dropping."""
    source: Mapping[Any, Any] = os.environ if environ is None else environ
    text: dict[str, str] = {}
    odd: list[Odd] = []
    for key, value in source.items():
        name = as_text(key)
        if name is None or not isinstance(key, str):
            odd.append(
                Odd(repr(key)[:40], "dropped" if name is None else "coerced", type(key).__name__)
            )
            if name is None:
                continue
        if isinstance(value, str):
            text[name] = value
            continue
        converted = as_text(value)
        if value is None:
            odd.append(Odd(name, "none", "NoneType"))
        else:
            odd.append(
                Odd(name, "coerced" if converted is not None else "dropped", type(value).__name__)
            )
        if converted is not None:
            text[name] = converted
    return text, odd


def env_get(env: Mapping[Any, Any] | None, name: str) -> str:
    """``env[name]`` as text, ``""`` when unset or not representable (resolvers never raise)."""
    source: Mapping[Any, Any] = os.environ if env is None else env
    return as_text(source.get(name)) or ""


def env_get_nocase(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(name as spelled, value) of a variable pydantic-settings reads case-insensitively."""
    if name in env:
        return name, env[name]
    lowered = name.lower()
    for key, value in env.items():
        if key.lower() == lowered:
            return key, value
    return None


# -- files --------------------------------------------------------------------------


def file_problem(path: str) -> tuple[str, str | None]:
    """("", content) for a usable file, else (problem, None); never raises, never blocks.

    Only regular files are opened: a FIFO would block the read and /dev/zero never ends.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "does not exist", None
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, ELOOP, EACCES, an embedded NUL
        return f"cannot be used as a path ({_os_reason(exc)})", None
    if stat.S_ISDIR(info.st_mode):
        return "is a directory", None
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file", None
    if info.st_size > MAX_FILE_BYTES:
        return f"is larger than {MAX_FILE_BYTES // 1024} KiB (not a URL or a key)", None
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        return "is not readable by this process", None
    except OSError as exc:
        return f"cannot be read ({_os_reason(exc)})", None
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8 text", None
    return ("", content) if content.strip() else ("is empty", None)


def _os_reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


def _file_value(path: str) -> str | None:
    problem, content = file_problem(path)
    return None if problem or content is None else content.strip()


# -- JSON ---------------------------------------------------------------------------

_JSON_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON ``text`` nests deeper than ``limit``, in one linear pass (strings skipped)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for match in _JSON_STRUCTURE.finditer(text):
        char = match.group()
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\" and match.end() < len(text):
                # Only the character right after a backslash is escaped.
                escaped = text[match.end()] in '\\"'
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def load_json(text: str) -> tuple[Any, str | None]:
    """(value, None), or (None, "not_json" | "too_deep"), without recursion risk."""
    if json_depth_exceeds(text):
        return None, "too_deep"
    try:
        return json.loads(text), None
    except (ValueError, RecursionError):
        return None, "not_json"


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a parsed JSON value (iterative: no recursion limit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


# -- resolvers ----------------------------------------------------------------------


def _direct_value(name: str, value: str) -> Resolved:
    """The CLI helper's reading of a direct value: ``file:`` and absolute paths name a file."""
    path = value.removeprefix("file:")
    if os.path.isabs(path):
        content = _file_value(path)
        if content:
            return Resolved(name, content, from_file=True)
    return Resolved(name, path)


def resolve_database_url(
    environ: Mapping[str, str] | None = None,
    *,
    runtime_only: bool = False,
    secrets_file: str = DEFAULT_SECRETS_FILE,
) -> Resolved | None:
    """The database URL svc-infra would use, or None when none is configured.

    ``runtime_only`` restricts to what the running app reads (``SQL_URL``); by
    default the URL helper's full chain is followed (each name, where a
    ``file:`` or absolute-path value names a file, then its ``*_FILE`` variant,
    then the Docker secret file; not the ``DB_*`` parts). ``postgres://`` is
    rewritten to ``postgresql://``, as svc-infra's runtime and CLI both do.
    """
    names = DATABASE_URL_VARS[:1] if runtime_only else DATABASE_URL_VARS
    found: Resolved | None = None
    for name in names:
        value = env_get(environ, name).strip()
        if value:
            found = Resolved(name, value) if runtime_only else _direct_value(name, value)
            break
        file_name = env_get(environ, f"{name}_FILE").strip()
        if file_name and not runtime_only:
            content = _file_value(file_name)
            if content:
                found = Resolved(f"{name}_FILE", content, from_file=True)
                break
    if found is None and not runtime_only:
        content = _file_value(secrets_file)
        if content:
            found = Resolved(secrets_file, content, from_file=True)
    if found is None:
        return None
    value = found.value
    if value.startswith("postgres://"):
        value = "postgresql://" + value[len("postgres://") :]
    return Resolved(found.source, value, found.from_file)


def resolve_cache_url(environ: Mapping[str, str] | None = None) -> Resolved:
    """``CACHE_URL``, then ``REDIS_URL``, else svc-infra's in-memory ``mem://``."""
    for name in CACHE_URL_VARS:
        value = env_get(environ, name).strip()
        if value:
            return Resolved(name, value)
    return Resolved("(default)", "mem://")


def resolve_job_queue(environ: Mapping[str, str] | None = None) -> Resolved | None:
    """Where svc-infra's job queue lives: None for process memory, else its Redis URL.

    svc_infra.jobs.easy_jobs() uses Redis only when ``JOBS_DRIVER`` (lower-cased,
    not stripped) is ``redis``; the URL is the first non-empty of
    :data:`JOB_QUEUE_REDIS_VARS`, else ``redis://localhost:6379/0``.
    """
    if (env_get(environ, "JOBS_DRIVER") or "memory").lower() != "redis":
        return None
    for name in JOB_QUEUE_REDIS_VARS:
        value = env_get(environ, name)
        if value:  # os.getenv(...) or ...: empty is skipped, whitespace is not
            return Resolved(name, value)
    return Resolved("(default)", JOB_QUEUE_DEFAULT_URL)


def job_queue_redis_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The Redis URL of svc-infra's job queue (webhook deliveries); None = in-memory queue."""
    resolved = resolve_job_queue(environ)
    return None if resolved is None else resolved.value


def jwt_block_secret(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(source, secret) of svc-infra's ``jwt`` settings block, when it has a secret.

    ``AUTH_JWT__SECRET`` overrides the ``secret`` of ``AUTH_JWT='{...}'``; both
    names are matched case-insensitively, as pydantic-settings does.
    """
    nested = env_get_nocase(env, "AUTH_JWT__SECRET")
    if nested is not None and nested[1]:
        return nested
    block = env_get_nocase(env, "AUTH_JWT")
    if block is None or not block[1].lstrip().startswith("{"):
        return None
    parsed, _ = load_json(block[1])
    secret = parsed.get("secret") if isinstance(parsed, dict) else None
    return (block[0], secret) if isinstance(secret, str) and secret else None


def resolve_jwt_secret(environ: Mapping[str, str] | None = None) -> Resolved | None:
    """``AUTH_JWT__SECRET`` (or ``AUTH_JWT`` JSON), ``AUTH_JWT_SECRET``, ``JWT_SECRET``.

    Never ``JWT_SECRET_KEY``. Like svc-infra, any non-empty value counts (even
    whitespace: ``env.jwt_secret`` warns about it).
    """
    env, _ = text_environ(environ)
    block = jwt_block_secret(env)
    if block is not None:
        return Resolved(*block)
    for name in JWT_SECRET_VARS[1:]:
        value = env.get(name, "")
        if value:
            return Resolved(name, value)
    return None


# -- environment name ---------------------------------------------------------------

# svc-infra's app/env.py: APP_ENV (then RAILWAY_ENVIRONMENT_NAME), stripped, case-folded.
ENV_SYNONYMS = {
    "local": "local",
    "dev": "dev",
    "development": "dev",
    "test": "test",
    "uat": "test",
    "preview": "test",
    "staging": "test",
    "prod": "prod",
    "production": "prod",
}


def app_environment(environ: Mapping[str, str] | None = None) -> tuple[str, str, bool]:
    """(raw value, svc-infra's normalised environment, prod-like?) as svc-infra decides them."""
    raw = env_get(environ, "APP_ENV") or env_get(environ, "RAILWAY_ENVIRONMENT_NAME")
    normalised = ENV_SYNONYMS.get(raw.strip().casefold(), "local")
    # require_secret(): prod and test (staging, uat, preview) are production-like.
    prod_like = normalised in ("prod", "test") or raw.lower() in PROD_LIKE_ENVS
    return raw, normalised, prod_like


# -- masking ------------------------------------------------------------------------

# Shell variables whose names look secret to the pattern but hold the working directory.
_NOT_SECRET_ENV = frozenset({"PWD", "OLDPWD"})


def register_env_secrets(env: Mapping[Any, Any]) -> None:
    """Register every secret value and URL password of ``env`` so scrub() masks it everywhere."""
    text, _ = text_environ(env)
    for name, value in text.items():
        if not value or name in _NOT_SECRET_ENV:
            continue
        if is_secret_name(name):
            register_secret(value)
            # AUTH_JWT__OLD_SECRETS='["a","b"]' and AUTH_JWT='{"secret": …}': each one is a secret.
            if value.lstrip()[:1] in ("[", "{"):
                parsed, _ = load_json(value)
                register_secret(*strings_in(parsed))
        if "://" in value:
            with contextlib.suppress(ValueError):
                password = urllib.parse.urlsplit(value.strip()).password
                if password:
                    register_secret(password, urllib.parse.unquote(password))
