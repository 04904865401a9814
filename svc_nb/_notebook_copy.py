"""Copying the bundled notebooks into a user's folder, safely.

The folder may hold anything: notebooks the user edited, their own files, or
symbolic links (planted or not) named like a notebook or the manifest. So:
nothing is written *through* a link, nothing is read from a non-regular file
(a FIFO would block forever), and every file is written to a temporary file in
the folder first and renamed over its name (``os.replace`` replaces a name,
never the file a link points at).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

from svc_nb._exceptions import SvcNbError
from svc_nb._resources import notebook_paths

__all__ = ["MANIFEST", "NotebookCopyError", "copy_notebooks", "rewrite_notebook"]

MANIFEST = ".svc-nb-manifest.json"
# Kernel and device file systems: a "folder" there is not a place for notebooks.
_VIRTUAL_ROOTS = ("/proc", "/sys", "/dev")
_MAX_MANIFEST = 1_000_000


class NotebookCopyError(SvcNbError):
    """The destination cannot take the notebooks; the message says why and what to do."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _check_destination(target: Path) -> Path:
    resolved = target.resolve()
    for root in _VIRTUAL_ROOTS:
        if resolved == Path(root) or Path(root) in resolved.parents:
            raise NotebookCopyError(
                f"{target} is inside {root}, a virtual file system: choose an ordinary folder"
            )
    if resolved.exists() and not resolved.is_dir():
        raise NotebookCopyError(
            f"{target} is a file, not a folder: give a folder (it is created if missing)"
        )
    try:
        resolved.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NotebookCopyError(
            f"cannot create the folder {target}: {exc.strerror or exc}"
        ) from None
    return resolved


def _refuse_odd_entries(target: Path, names: list[str]) -> None:
    """Refuse before writing anything if a name we would write is a link or not a file."""
    odd: list[str] = []
    for name in names:
        try:
            mode = (target / name).lstat().st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            odd.append(f"{name} (a symbolic link)")
        elif not stat.S_ISREG(mode):
            odd.append(f"{name} (not a regular file)")
    if odd:
        raise NotebookCopyError(
            f"{target} holds {', '.join(odd)}; svc-nb never writes through links or over "
            "special files: remove them, or choose another folder"
        )


def _read_regular(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of a regular file, never following a link; None if absent."""
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: it became a link since we looked
        raise NotebookCopyError(f"cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise NotebookCopyError(
                f"{path} is not a regular file: remove it, or choose another folder"
            )
        return fh.read() if limit is None else fh.read(limit)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file in the same folder, then rename it over ``path``."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _load_manifest(target: Path) -> dict[str, str]:
    raw = _read_regular(target / MANIFEST, _MAX_MANIFEST)
    try:
        loaded = json.loads(raw or b"{}")
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): str(v) for k, v in loaded.items()}


def _copy_one(source: Path, out: Path, manifest: dict[str, str], force: bool) -> str:
    data = source.read_bytes()
    new_hash = hashlib.sha256(data).hexdigest()
    current = _read_regular(out)
    action = "written"
    if current is not None:
        current_hash = hashlib.sha256(current).hexdigest()
        if current_hash == new_hash:
            manifest[source.name] = new_hash
            return "unchanged"
        if manifest.get(source.name) != current_hash and not force:
            return "kept (you changed it; --force overwrites)"
        action = "updated"
    _write_atomic(out, data)
    manifest[source.name] = new_hash
    return action


def rewrite_notebook(dest: str | os.PathLike[str], name: str, data: bytes) -> None:
    """Replace the copy ``name`` in ``dest`` with ``data`` (``svc-nb open`` fills parameters).

    A copy that was svc_nb's stays svc_nb's (the manifest learns the new content,
    so a later copy refreshes it); a notebook the user changed stays theirs.
    """
    given = Path(dest)
    target = _check_destination(given)
    _refuse_odd_entries(target, [MANIFEST, name])
    manifest = _load_manifest(target)
    current = _read_regular(target / name)
    ours = current is not None and manifest.get(name) == hashlib.sha256(current).hexdigest()
    try:
        _write_atomic(target / name, data)
        if ours:
            manifest[name] = hashlib.sha256(data).hexdigest()
            _write_atomic(
                target / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode()
            )
    except OSError as exc:
        raise NotebookCopyError(
            f"cannot write into {given}: {exc.strerror or exc}", exit_code=3
        ) from None


def copy_notebooks(dest: str | os.PathLike[str], *, force: bool = False) -> list[tuple[Path, str]]:
    """Copy the bundled notebooks into ``dest``; returns (path, action) pairs.

    A manifest remembers what svc_nb wrote, so an unchanged copy is refreshed
    but a notebook the user edited (or wrote) is kept unless ``force``. Raises
    :class:`NotebookCopyError` when ``dest`` is a file or a virtual file system,
    or holds a symbolic link (or a special file) under a name it would write.
    """
    given = Path(dest)
    target = _check_destination(given)
    sources = notebook_paths()
    _refuse_odd_entries(target, [MANIFEST, *(s.name for s in sources)])
    manifest = _load_manifest(target)
    actions: list[tuple[Path, str]] = []
    try:
        for source in sources:
            out = given / source.name
            actions.append((out, _copy_one(source, target / source.name, manifest, force)))
        _write_atomic(target / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    except OSError as exc:
        raise NotebookCopyError(
            f"cannot write into {given}: {exc.strerror or exc}", exit_code=3
        ) from None
    return actions
