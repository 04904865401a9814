"""One service's input — a mapping, a ``.env`` file or a doctor report — read without raising.

A path is read on its own: a ``.env`` file gives exactly its variables (not
this process's environment, which belongs to none of the services compared),
and a file that starts with ``{`` is taken for ``svc-nb doctor --json``
output. Anything that cannot be read becomes an ``env.compare.input`` finding
naming the service and the file.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svc_nb._exceptions import ArgumentTypeError
from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._compare_doctor import is_doctor_report, settings_from_doctor
from svc_nb.env._compare_environ import settings_from_environ
from svc_nb.env._compare_settings import ServiceSettings
from svc_nb.env._dotenv import EnvFileError, read_env_file
from svc_nb.env._read import json_depth_exceeds, text_environ

__all__ = ["Loaded", "load_service"]

C = EnvCause
CHECK = "env.compare.input"
# A .env file or a doctor report is kilobytes; far more is the wrong file.
MAX_INPUT_BYTES = 4 * 1024 * 1024

_FILE_FIX = "Pass {name}=PATH with the service's .env file or its `svc-nb doctor --json` output."
_EXPLAIN = {
    C.ENV_FILE_MISSING: Explanation(
        Status.FAIL, "{name}: {path} does not exist or is not a file", "", _FILE_FIX
    ),
    C.ENV_FILE_UNREADABLE: Explanation(
        Status.FAIL,
        "{name}: {path} cannot be read ({reason})",
        "",
        "Make the file readable by this user (chmod/chown), or pass another path.",
    ),
    C.ENV_FILE_NOT_UTF8: Explanation(
        Status.FAIL,
        "{name}: {path} is not UTF-8 text",
        "{message}",
        "Re-save the file as UTF-8 (svc-infra's dotenv loading reads UTF-8), e.g. "
        "iconv -f latin1 -t utf-8 .env > .env.utf8",
    ),
    C.COMPARE_INPUT_INVALID: Explanation(
        Status.FAIL, "{name}: {path} {problem}", "{detail}", _FILE_FIX
    ),
    C.COMPARE_ENV_EMPTY: Explanation(
        Status.WARN,
        "{name}: {what} sets no variables: every value is svc-infra's default",
        "An empty environment is compared as it is, but it is rarely what the service runs with.",
        "Pass the environment the service really runs with (its .env file, or `svc-nb doctor "
        "--json` run where it runs).",
    ),
}


@dataclass(frozen=True)
class Loaded:
    """A service's settings, or None when its input is unusable; and what was wrong with it."""

    name: str
    settings: ServiceSettings | None
    problem: Finding | None = None


def _problem(name: str, cause: EnvCause, path: str = "", **fields: Any) -> Finding:
    data = {"service": name, "path": path} if path else {"service": name}
    return explain(CHECK, cause, _EXPLAIN, data=data, name=name, path=path or "", **fields)


def _invalid(name: str, path: str, problem: str, detail: str = "") -> Finding:
    """The finding for a file that is neither a .env file nor a doctor report."""
    return _problem(name, C.COMPARE_INPUT_INVALID, path, problem=problem, detail=detail)


def _read_bytes(name: str, path: str) -> bytes | Finding:
    """The file's bytes, or the finding saying why not (never blocks on a FIFO or a device)."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return _problem(name, C.ENV_FILE_MISSING, path)
    except OSError as exc:
        return _problem(name, C.ENV_FILE_UNREADABLE, path, reason=exc.strerror or "error")
    if not stat.S_ISREG(info.st_mode):
        return _problem(name, C.ENV_FILE_MISSING, path)
    if info.st_size > MAX_INPUT_BYTES:
        return _invalid(
            name,
            path,
            f"is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB",
            "A .env file or a doctor report is a few kilobytes: this is another file.",
        )
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        return _problem(name, C.ENV_FILE_UNREADABLE, path, reason=exc.strerror or "error")


def _from_json(name: str, path: str, text: str) -> Loaded:
    invalid = "is JSON but not a svc-nb doctor --json report"
    if json_depth_exceeds(text):
        return Loaded(name, None, _invalid(name, path, invalid))
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        # `svc-nb doctor --json --watch` writes one document per line: the last one is current.
        document = None
        for line in reversed(text.splitlines()):
            try:
                document = json.loads(line)
                break
            except (ValueError, RecursionError):
                continue
    if document is None:
        detail = (
            "A doctor report is what `svc-nb doctor --json` prints; "
            "a .env file has NAME=value lines."
        )
        return Loaded(
            name, None, _invalid(name, path, "starts like JSON but does not parse", detail)
        )
    if not is_doctor_report(document):
        detail = 'It has no "findings" list: pass the output of `svc-nb doctor --json`.'
        return Loaded(name, None, _invalid(name, path, invalid, detail))
    return Loaded(name, settings_from_doctor(document, f"doctor report {path}"))


def _from_path(name: str, path: str) -> Loaded:
    raw = _read_bytes(name, path)
    if isinstance(raw, Finding):
        return Loaded(name, None, raw)
    if b"\x00" in raw:
        detail = "It holds NUL bytes: neither a .env file nor a doctor report does."
        return Loaded(name, None, _invalid(name, path, "is a binary file", detail))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"byte {raw[exc.start]:#04x} on line {line} is not UTF-8"
        return Loaded(name, None, _problem(name, C.ENV_FILE_NOT_UTF8, path, message=message))
    if text.lstrip()[:1] in ("{", "["):
        return _from_json(name, path, text)
    try:
        env = read_env_file(path)
    except EnvFileError as exc:  # the file changed between the two reads
        return Loaded(name, None, _problem(name, C.ENV_FILE_UNREADABLE, path, reason=exc.reason))
    settings = settings_from_environ(env, f".env file {path}")
    empty = _problem(name, C.COMPARE_ENV_EMPTY, path, what=path) if not env else None
    return Loaded(name, settings, empty)


def load_service(name: str, source: Any) -> Loaded:
    """Read one service's input; raises only for a value of the wrong type (misuse)."""
    if isinstance(source, Mapping):
        env, _ = text_environ(source)
        settings = settings_from_environ(env, "mapping")
        empty = _problem(name, C.COMPARE_ENV_EMPTY, what="the mapping") if not env else None
        return Loaded(name, settings, empty)
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return _from_path(name, path)
    raise ArgumentTypeError(
        f"compare(): the environment of service {name!r} must be a mapping of variables, a .env "
        f"file path or the path of a `svc-nb doctor --json` output, not {type(source).__name__}"
    )
