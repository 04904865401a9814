"""The interpreter, the installed packages and the event loop this code runs in."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import re
import shlex
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from svc_nb._report import Finding, Report
from svc_nb._runtime import _running_loop, in_kernel, is_patched, patchable
from svc_nb.env._causes import EnvCause
from svc_nb.env._explanations import finding, ok
from svc_nb.env._known_bad import known_bad_findings

__all__ = [
    "KEY_PACKAGES",
    "check_event_loop",
    "check_python",
    "in_notebook_kernel",
    "install_command",
    "package_versions",
]

C = EnvCause

# Distribution names whose versions matter when svc-infra misbehaves.
KEY_PACKAGES = (
    "svc-nb", "svc-infra", "fastapi", "starlette", "pydantic", "pydantic-settings", "sqlalchemy",
    "asyncpg", "psycopg", "alembic", "redis", "pyjwt", "authlib", "httpx", "cryptography",
    "python-dotenv", "nest-asyncio2", "nest-asyncio", "uvloop", "ipykernel", "ipywidgets",
    "typer",
)  # fmt: skip

#: Whether this code runs in a Jupyter kernel: the one test, in svc_nb._runtime.
in_notebook_kernel = in_kernel

_versions_cache: dict[tuple[object, ...], dict[str, str | None]] = {}
_missing_cache: dict[tuple[object, ...], list[str]] = {}
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _install_state() -> tuple[object, ...]:
    """What changes when a package is installed or removed: sys.path and its folders' mtimes."""
    state: list[object] = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            state.append((entry, None))
    return tuple(state)


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str | None]:
    """Installed versions (importlib.metadata) of ``names``; None for those not installed.

    Scanning metadata costs milliseconds per package, so results are reused
    until an install or removal changes sys.path's folders (a %pip install does).
    """
    wanted = tuple(names)
    key = (wanted, *_install_state())
    cached = _versions_cache.get(key)
    if cached is not None:
        return dict(cached)
    result: dict[str, str | None] = {}
    for name in wanted:
        try:
            result[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            result[name] = None
    _versions_cache.clear()
    _versions_cache[key] = result
    return dict(result)


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares them (case, and runs of ``-_.``, ignored)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_info_names() -> set[str]:
    """Names of the distributions whose ``.dist-info`` folders lie on sys.path.

    Listing folders is one system call per path entry, where asking
    importlib.metadata for each requirement parses a metadata file each time.
    """
    names: set[str] = set()
    for entry in sys.path:
        try:
            listed = os.listdir(entry or ".")
        except OSError:
            continue
        for item in listed:
            if item.endswith(".dist-info"):
                names.add(_normal(item[: -len(".dist-info")].split("-", 1)[0]))
    return names


def _missing_requirements(distribution: str) -> list[str]:
    """Unconditional requirements of ``distribution`` that are not installed."""
    key = (distribution, *_install_state())
    if key in _missing_cache:
        return list(_missing_cache[key])
    missing: list[str] = []
    present = _dist_info_names()
    for requirement in importlib.metadata.requires(distribution) or []:
        match = _REQUIREMENT_NAME.match(requirement)
        if match is None or ";" in requirement:  # extras and markers: not always needed
            continue
        if _normal(match.group()) in present:
            continue
        try:  # not among the folders (an egg, a zip): importlib.metadata decides
            importlib.metadata.version(match.group())
        except importlib.metadata.PackageNotFoundError:
            missing.append(match.group())
    _missing_cache.clear()
    _missing_cache[key] = missing
    return list(missing)


def install_command(package: str = "svc-infra") -> str:
    """The command that installs ``package`` into *this* interpreter."""
    if in_kernel():
        return f"%pip install {package}"
    return f"{shlex.quote(sys.executable)} -m pip install {package}"


def _environment_kind() -> tuple[str, str]:
    if os.environ.get("CONDA_PREFIX") and Path(sys.prefix, "conda-meta").is_dir():
        return "conda", sys.prefix
    if sys.prefix != sys.base_prefix:
        return "virtualenv", sys.prefix
    return "system", sys.prefix


def _pip_on_path_target() -> tuple[str, str] | None:
    """(pip path, interpreter it installs into) for the ``pip`` on PATH, when it is a script."""
    pip = shutil.which("pip")
    if not pip:
        return None
    try:
        with open(pip, "rb") as fh:
            first = fh.readline(512).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if words and Path(words[0]).name == "env":  # #!/usr/bin/env python3
        words = [w for w in words[1:] if not w.startswith("-")]
        found = shutil.which(words[0]) if words else None
        words = [found] if found else []
    # A shell-script shim (pyenv, asdf) decides at run time: nothing to compare.
    if not words or "python" not in Path(words[0]).name:
        return None
    return pip, words[0]


def _same_interpreter(a: str, b: str) -> bool:
    try:
        return (
            Path(a).resolve() == Path(b).resolve()
            or Path(a).parent.resolve() == Path(b).parent.resolve()
        )
    except OSError:
        return a == b


def _svc_infra_finding(installed: str | None, command: str) -> Finding:
    """Installed and complete, without importing it.

    Importing svc_infra here would load its settings from this process's
    environment (a bad AUTH_* value raises) and pin them for the session; its
    files and its required packages are what decides whether it can import.
    """
    if "svc_infra" in sys.modules:
        return ok(
            "python.svc_infra",
            f"svc-infra {installed or '(version unknown)'} imported",
            version=installed,
        )
    try:
        spec = importlib.util.find_spec("svc_infra")  # locates the package, runs none of it
    except (ImportError, ValueError):
        spec = None
    if spec is None and not installed:
        outside = (
            f"\n# outside the notebook: {shlex.quote(sys.executable)} -m pip install svc-infra"
        )
        fix = command + (outside if command.startswith("%") else "")
        return finding(
            "python.svc_infra",
            C.SVC_INFRA_MISSING,
            executable=sys.executable,
            fix=fix,
            data={"version": None},
        )
    missing = (
        ["the svc_infra package files"] if spec is None else _missing_requirements("svc-infra")
    )
    if missing:
        return finding(
            "python.svc_infra",
            C.SVC_INFRA_BROKEN,
            version=installed or "(version unknown)",
            missing=", ".join(missing),
            is_are="is" if len(missing) == 1 else "are",
            fix=command.replace("install", "install --force-reinstall", 1),
            data={"version": installed, "missing": missing},
        )
    return ok(
        "python.svc_infra",
        f"svc-infra {installed or '(version unknown)'} installed, with every package it requires",
        "Not imported here: importing svc_infra loads its settings from this process's environment.",
        version=installed,
    )


def check_python() -> Report:
    """Interpreter, virtualenv/conda, svc-infra and key package versions, and pip traps."""
    kind, prefix = _environment_kind()
    version = platform.python_version()
    findings = [
        ok(
            "python.interpreter",
            f"Python {version} ({platform.python_implementation()}), {kind} at {prefix}",
            f"Interpreter: {sys.executable}",
            executable=sys.executable,
            version=version,
            environment=kind,
            prefix=prefix,
            in_kernel=in_kernel(),
        )
    ]
    versions = package_versions()
    command = install_command("svc-infra")
    findings.append(_svc_infra_finding(versions.get("svc-infra"), command))
    pip = _pip_on_path_target()
    if pip is not None and not _same_interpreter(pip[1], sys.executable):
        findings.append(
            finding(
                "python.pip",
                C.PIP_OTHER_INTERPRETER,
                pip=pip[0],
                target=pip[1],
                executable=sys.executable,
                fix=command.replace("svc-infra", "PACKAGE"),
                data={"pip": pip[0], "pip_python": pip[1]},
            )
        )
    present = {k: v for k, v in versions.items() if v}
    missing = [k for k, v in versions.items() if not v]
    key_ones = ("svc-nb", "asyncpg", "redis", "pyjwt", "httpx")
    findings.append(
        ok(
            "python.packages",
            ", ".join(f"{k} {v}" for k, v in present.items() if k in key_ones),
            "Installed: "
            + ", ".join(f"{k} {v}" for k, v in present.items())
            + (f"\nNot installed: {', '.join(missing)}" if missing else ""),
            versions=versions,
        )
    )
    findings.extend(known_bad_findings(versions))
    return Report(findings, title="Python environment")


def check_event_loop() -> Report:
    """Is a loop running in this thread, which class, is it patched for nested runs, what to do."""
    loop = _running_loop()
    kernel = in_kernel()
    data: dict[str, Any] = {"in_kernel": kernel, "running": loop is not None}
    if loop is None:
        found = ok(
            "loop.event_loop",
            "no event loop running in this thread",
            "asyncio.run(...) and svc_nb.run(...) both work here; `await` needs a running loop.",
            **data,
        )
        return Report([found], title="Event loop")
    cls = f"{type(loop).__module__}.{type(loop).__qualname__}"
    name = type(loop).__name__
    data.update(loop_class=cls, patched=is_patched(loop), patchable=patchable(loop))
    if is_patched(loop):
        found = ok(
            "loop.event_loop",
            f"running loop {name} accepts nested runs (patched)",
            f"{cls} is patched (nest-asyncio2), so the guide's asyncio.run(main()) works in a cell; "
            "`await main()` is still the better habit.",
            **data,
        )
    elif not patchable(loop):
        found = finding("loop.event_loop", C.LOOP_UNPATCHABLE, loop=name, loop_class=cls, data=data)
    elif kernel:
        found = finding("loop.event_loop", C.LOOP_NOT_PATCHED, loop_class=cls, data=data)
    else:
        found = ok(
            "loop.event_loop",
            f"running inside {name} (not patched)",
            "Code here runs inside an event loop (asyncio.run, a server, a test); use `await`, "
            "not asyncio.run(). svc_nb.run() patches the loop when it must.",
            **data,
        )
    return Report([found], title="Event loop")
