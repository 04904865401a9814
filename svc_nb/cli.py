"""The ``svc-nb`` command: ``doctor``, ``notebooks``, ``lab``."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from svc_nb._diagnose import diagnose
from svc_nb._resources import notebook_paths
from svc_nb._runtime import run

__all__ = ["copy_notebooks", "main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
MANIFEST = ".svc-nb-manifest.json"
DEFAULT_DEST = "svc-nb-notebooks"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_notebooks(dest: str | os.PathLike[str], *, force: bool = False) -> list[tuple[Path, str]]:
    """Copy the bundled notebooks into ``dest``; returns (path, action) pairs.

    A manifest remembers what svc_nb wrote, so an unchanged copy is refreshed
    but a notebook the user edited (or wrote) is kept unless ``force``.
    """
    target = Path(dest)
    target.mkdir(parents=True, exist_ok=True)
    manifest_path = target / MANIFEST
    try:
        manifest: dict[str, str] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    actions: list[tuple[Path, str]] = []
    for source in notebook_paths():
        out = target / source.name
        new_hash = _sha256(source)
        if out.exists():
            current = _sha256(out)
            if current == new_hash:
                actions.append((out, "unchanged"))
                manifest[source.name] = new_hash
                continue
            if manifest.get(source.name) != current and not force:
                actions.append((out, "kept (you changed it; --force overwrites)"))
                continue
            action = "updated"
        else:
            action = "written"
        shutil.copyfile(source, out)
        manifest[source.name] = new_hash
        actions.append((out, action))
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return actions


def _load_env_file(path: str) -> dict[str, str]:
    from svc_nb.env import EnvFileError, read_env_file

    try:
        return read_env_file(path)
    except EnvFileError as exc:
        print(f"svc-nb: --env-file: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _cmd_doctor(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    if args.env_file:
        # The file fills in what the shell did not set, as svc-infra's dotenv loading does.
        for key, value in _load_env_file(args.env_file).items():
            environ.setdefault(key, value)
    report = run(diagnose(environ, timeout=args.timeout))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.render_text())
    return EXIT_OK if report.ok else EXIT_FAIL


def _cmd_notebooks(args: argparse.Namespace) -> int:
    for path, action in copy_notebooks(args.dest, force=args.force):
        print(f"{action:>10}  {path}")
    return EXIT_OK


def _cmd_lab(args: argparse.Namespace) -> int:
    for path, action in copy_notebooks(args.dest, force=args.force):
        print(f"{action:>10}  {path}")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print(
            "svc-nb: JupyterLab is not installed in this environment. Install it with:\n"
            f"  {sys.executable} -m pip install 'svc-nb[lab]'",
            file=sys.stderr,
        )
        return EXIT_FAIL
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={args.dest}", *args.lab_args]
    return subprocess.call(command)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"timeout must be positive, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="svc-nb", description="Troubleshoot svc-infra services (PostgreSQL, Redis, JWT, OAuth, webhooks, CORS)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser(
        "doctor",
        help="run every quick diagnostic and print the report",
        description="Run svc_nb.diagnose() against the services the environment points at. "
        "Exit status: 0 when nothing fails, 1 when a check fails, 2 on bad usage.",
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument("--timeout", type=_positive_float, default=3.0, help="seconds per check (default 3)")
    doctor.add_argument("--env-file", metavar="PATH", help="read variables from a .env file too")
    doctor.set_defaults(func=_cmd_doctor)

    notebooks = sub.add_parser("notebooks", help="copy the bundled notebooks into a folder")
    notebooks.add_argument("dest", nargs="?", default=DEFAULT_DEST)
    notebooks.add_argument("--force", action="store_true", help="overwrite notebooks you changed")
    notebooks.set_defaults(func=_cmd_notebooks)

    lab = sub.add_parser(
        "lab",
        help="copy the notebooks, then open them in JupyterLab",
        description="Copy the bundled notebooks into DEST, then start JupyterLab there. "
        "Needs the 'lab' extra: pip install 'svc-nb[lab]'.",
    )
    lab.add_argument("dest", nargs="?", default=DEFAULT_DEST)
    lab.add_argument("--force", action="store_true", help="overwrite notebooks you changed")
    lab.add_argument("lab_args", nargs=argparse.REMAINDER, help="arguments passed on to jupyter lab")
    lab.set_defaults(func=_cmd_lab)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``svc-nb``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("svc-nb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
