""".env files: read one without touching os.environ, and merge it the way svc-infra does."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from svc_nb._exceptions import SvcNbError
from svc_nb.env._read import text_environ

__all__ = ["EnvFileError", "merged_environ", "read_env_file"]


class EnvFileError(SvcNbError, ValueError):
    """A .env file that cannot be read: missing, unreadable or not UTF-8.

    ``reason`` is ``"missing"``, ``"unreadable"`` or ``"not_utf8"``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """A .env file's variables (python-dotenv's parser), without touching os.environ.

    Bare ``NAME`` lines (no value) are left out, as ``load_dotenv`` leaves them
    unset. Raises :class:`EnvFileError` naming the problem when the file cannot be read.
    """
    from dotenv import dotenv_values

    file = Path(path)
    try:
        is_file = file.is_file()
    except (OSError, ValueError):  # a name too long, an embedded NUL
        is_file = False
    if not is_file:
        raise EnvFileError(
            f"env file {str(file)[:200]!r} does not exist or is not a file", reason="missing"
        )
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise EnvFileError(
            f"env file {str(file)!r} cannot be read: {exc.strerror}", reason="unreadable"
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise EnvFileError(
            f"env file {str(file)!r} is not UTF-8 (byte {raw[exc.start]:#04x} on line {line}); "
            "save it as UTF-8 — svc-infra's dotenv loading reads UTF-8 too",
            reason="not_utf8",
        ) from exc
    values = dotenv_values(stream=io.StringIO(text))
    return {k: v for k, v in values.items() if v is not None}


def merged_environ(
    dotenv_path: str | os.PathLike[str] | None = None,
    environ: Mapping[Any, Any] | None = None,
) -> dict[str, str]:
    """``environ`` (default ``os.environ``) with a .env file's values for names it does not set.

    The environment wins over the file, as svc-infra's ``load_dotenv(override=False)``
    and pydantic-settings both decide. The result is a new dict; ``os.environ``
    is not changed. Raises :class:`EnvFileError` when the file cannot be read.
    """
    merged, _ = text_environ(environ)
    if dotenv_path is not None:
        for key, value in read_env_file(dotenv_path).items():
            merged.setdefault(key, value)
    return merged
