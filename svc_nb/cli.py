"""The ``svc-nb`` command: ``doctor``, ``notebooks``, ``lab``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence

from svc_nb._diagnose import diagnose
from svc_nb._notebook_copy import NotebookCopyError, copy_notebooks
from svc_nb._runtime import run

__all__ = ["copy_notebooks", "main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEFAULT_DEST = "svc-nb-notebooks"


def _doctor_environ(env_file: str | None) -> dict[str, str]:
    """os.environ, with the --env-file's values where the shell set none (env.merged_environ)."""
    from svc_nb.env import EnvFileError, merged_environ

    try:
        return merged_environ(env_file or None)
    except EnvFileError as exc:
        print(f"svc-nb: --env-file: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _cmd_doctor(args: argparse.Namespace) -> int:
    environ = _doctor_environ(args.env_file)
    report = run(diagnose(environ, timeout=args.timeout))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.render_text())
    return EXIT_OK if report.ok else EXIT_FAIL


def _copy_and_list(dest: str, force: bool) -> int | None:
    """Copy the notebooks and list what happened; an exit status if DEST cannot take them."""
    try:
        actions = copy_notebooks(dest, force=force)
    except NotebookCopyError as exc:
        print(f"svc-nb: {exc}", file=sys.stderr)
        return exc.exit_code
    for path, action in actions:
        print(f"{action:>10}  {path}")
    return None


def _cmd_notebooks(args: argparse.Namespace) -> int:
    failed = _copy_and_list(args.dest, args.force)
    return EXIT_OK if failed is None else failed


def _cmd_lab(args: argparse.Namespace) -> int:
    failed = _copy_and_list(args.dest, args.force)
    if failed is not None:
        return failed
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
