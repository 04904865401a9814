"""``[tool.svc-nb]`` in the nearest ``pyproject.toml``: silenced checks and the fail level.

```toml
[tool.svc-nb]
fail-on = "warn"                    # optional; --fail-on wins
silence = [
  "env.jwt_secret",                 # a check id, or a whole section: "webhooks"
  { id = "cache.backend", reason = "memory cache on purpose in CI" },
]
```

A file that cannot be read or parsed, or a table of the wrong shape, is a
:class:`DoctorConfigError`: the doctor cannot know what to silence, so it does
not guess (exit status 3).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svc_nb._exceptions import SvcNbError
from svc_nb.doctor._select import Silence, check_pattern

__all__ = ["FAIL_LEVELS", "DoctorConfig", "DoctorConfigError", "find_pyproject", "load_config"]

FAIL_LEVELS = ("fail", "warn")
_TABLE = "svc-nb"


class DoctorConfigError(SvcNbError):
    """The configuration exists but cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class DoctorConfig:
    """What ``[tool.svc-nb]`` says; ``path`` is the file it came from (None if none)."""

    path: Path | None = None
    silence: tuple[Silence, ...] = ()
    fail_on: str | None = None


def find_pyproject(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` (default: the current folder) or above."""
    folder = Path(start or os.getcwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def _silence_entry(entry: Any, where: str) -> Silence:
    if isinstance(entry, str):
        return Silence(check_pattern(entry, where=where))
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        reason = entry.get("reason", "")
        if not isinstance(reason, str):
            raise DoctorConfigError(f"{where}: reason must be text, got {reason!r:.40}")
        return Silence(check_pattern(entry["id"], where=where), reason)
    raise DoctorConfigError(
        f'{where}: each entry is a check id such as "db.auth" or '
        f'{{ id = "db.auth", reason = "why" }}, got {entry!r:.60}'
    )


def _parse_table(table: Any, path: Path) -> DoctorConfig:
    where = f"{path}: [tool.{_TABLE}]"
    if not isinstance(table, dict):
        raise DoctorConfigError(f"{where} must be a table")
    raw = table.get("silence", [])
    if not isinstance(raw, list):
        raise DoctorConfigError(f'{where} silence must be a list, e.g. silence = ["db.ssl"]')
    silence = []
    for index, entry in enumerate(raw):
        try:
            silence.append(_silence_entry(entry, f"{where} silence[{index}]"))
        except ValueError as exc:  # a pattern that names nothing
            raise DoctorConfigError(str(exc)) from None
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in FAIL_LEVELS:
        raise DoctorConfigError(f'{where} fail-on must be "fail" or "warn", got {fail_on!r:.40}')
    return DoctorConfig(path, tuple(silence), fail_on)


def load_config(path: str | os.PathLike[str] | None = None) -> DoctorConfig:
    """The doctor's settings from ``path``, else from the nearest ``pyproject.toml``."""
    found = Path(path) if path is not None else find_pyproject()
    if found is None:
        return DoctorConfig()
    try:
        with found.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise DoctorConfigError(f"cannot read {found}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DoctorConfigError(f"{found} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get(_TABLE)
    if table is None:
        return DoctorConfig(found)
    return _parse_table(table, found)
