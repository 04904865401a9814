"""The ``svc-nb`` command: ``doctor``, ``run``, ``open``, ``notebooks``, ``lab``."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from svc_nb._cli_doctor import add_doctor_parser
from svc_nb._cli_imports import declining_optional_imports
from svc_nb._cli_runbook import DEFAULT_DEST, add_open_parser, add_run_parser, lab_missing
from svc_nb.env._compare_cli import add_compare_parser

if TYPE_CHECKING:
    from svc_nb._notebook_copy import copy_notebooks

__all__ = ["build_parser", "copy_notebooks", "main"]

EXIT_OK, EXIT_FAIL = 0, 1


def __getattr__(name: str) -> Any:
    # copy_notebooks loads with the notebook copier, which `svc-nb doctor` never needs.
    if name == "copy_notebooks":
        from svc_nb._notebook_copy import copy_notebooks

        return copy_notebooks
    raise AttributeError(f"module 'svc_nb.cli' has no attribute {name!r}")


def _copy_and_list(dest: str, force: bool) -> int | None:
    """Copy the notebooks and list what happened; an exit status if DEST cannot take them."""
    from svc_nb._notebook_copy import NotebookCopyError, copy_notebooks

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
    if lab_missing():
        return EXIT_FAIL
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={args.dest}", *args.lab_args]
    return subprocess.call(command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="svc-nb",
        description="Troubleshoot svc-infra services (PostgreSQL, Redis, JWT, OAuth, webhooks, CORS).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_doctor_parser(sub)
    add_run_parser(sub)
    add_open_parser(sub)
    add_compare_parser(sub)

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
    lab.add_argument(
        "lab_args", nargs=argparse.REMAINDER, help="arguments passed on to jupyter lab"
    )
    lab.set_defaults(func=_cmd_lab)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``svc-nb``; returns the exit status."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if words[:1] == ["open"] and "--" in words:
        # `svc-nb open CHECK [options] -- [jupyter lab options]`
        cut = words.index("--")
        words, passthrough = words[:cut], words[cut + 1 :]
    args = parser.parse_args(words)
    if passthrough:
        args.lab_args = passthrough
    # Reading the command line means this process is svc-nb itself: skip the optional
    # imports its libraries attempt (see _cli_imports). A caller passing argv keeps them.
    declining = declining_optional_imports() if argv is None else contextlib.nullcontext()
    try:
        with declining:
            return int(args.func(args))
    except KeyboardInterrupt:
        print("svc-nb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`svc-nb doctor --json | head`): nothing left to tell it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
