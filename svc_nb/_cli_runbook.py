"""``svc-nb run`` and ``svc-nb open``: notebooks as runbooks, from the terminal.

``run`` exits 0 when every cell ran, 1 when a cell failed (naming it), 2 on bad
usage (an unknown notebook, an undeclared parameter, a value of the wrong type,
a report file that exists), 3 when the notebook could not be run at all.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["DEFAULT_DEST", "add_open_parser", "add_run_parser", "lab_missing"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CANNOT_RUN = 0, 1, 2, 3
DEFAULT_DEST = "svc-nb-notebooks"


def _seconds(text: str) -> float:
    from svc_nb._cli_doctor import _seconds as seconds

    return seconds(text)


def _add_parameter_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        dest="parameters",
        help="set a parameter the notebook's 'parameters' cell declares; repeatable. "
        "Secrets (by name or value) reach the kernel through its environment, never the notebook",
    )
    parser.add_argument("--env-file", metavar="PATH", help="add a .env file's variables")


def add_run_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``run`` to the ``svc-nb`` subcommands."""
    run = sub.add_parser(
        "run",
        help="run a notebook headless with parameters; write the executed notebook and HTML",
        description="Run a bundled notebook (by name, number or topic: 01, database) or a "
        "notebook file, with papermill-style parameters. Writes the executed notebook and an "
        "HTML report into --out. Exit status: 0 every cell ran, 1 a cell failed, 2 bad usage, "
        "3 could not run.",
    )
    run.add_argument("notebook", metavar="NOTEBOOK")
    _add_parameter_flag(run)
    run.add_argument(
        "--out",
        default="svc-nb-runs",
        metavar="DIR",
        help="folder for the executed notebook (default ./svc-nb-runs)",
    )
    run.add_argument("--html", metavar="OUT", help="write the HTML report here (never overwritten)")
    run.add_argument(
        "--timeout", type=_seconds, default=600.0, help="seconds per cell (default 600)"
    )
    run.add_argument("--quiet", action="store_true", help="no per-cell progress")
    run.set_defaults(func=_cmd_run, parser=run)
    return run


def add_open_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``open`` to the ``svc-nb`` subcommands."""
    opener = sub.add_parser(
        "open",
        help="open the notebook that investigates a check, with its parameters filled",
        usage="%(prog)s CHECK_ID [-p NAME VALUE]... [--dest DIR] [--force] [--env-file PATH] "
        "[--no-browser] [--print-command] [-- JUPYTER_LAB_ARGS...]",
        description="Copy the notebooks into --dest (keeping the ones you edited), fill the "
        "parameters of the notebook for CHECK_ID from the environment and -p flags, and start "
        "JupyterLab on it. Arguments after -- go to jupyter lab.",
    )
    opener.add_argument("check", metavar="CHECK_ID", help="a check id (db.auth) or a section (db)")
    _add_parameter_flag(opener)
    opener.add_argument("--dest", default=DEFAULT_DEST, help=f"folder (default ./{DEFAULT_DEST})")
    opener.add_argument("--force", action="store_true", help="overwrite notebooks you changed")
    opener.add_argument(
        "--no-browser", action="store_true", help="start JupyterLab without a browser"
    )
    opener.add_argument(
        "--print-command",
        action="store_true",
        help="fill the notebook and print the JupyterLab command instead of starting it",
    )
    # Arguments after `--` go to jupyter lab: main() sets lab_args from them.
    opener.set_defaults(func=_cmd_open, parser=opener, lab_args=[])
    return opener


def _environ(args: argparse.Namespace) -> dict[str, str] | int:
    from svc_nb._cli_doctor import _environ as environ

    return environ(args.env_file)


def _cmd_run(args: argparse.Namespace) -> int:
    from svc_nb.runbook import (
        OutputExistsError,
        ParameterError,
        ParameterTypeError,
        RunFailedToStart,
        UnknownNotebookError,
        progress_printer,
        run_notebook,
    )

    environ = _environ(args)
    if isinstance(environ, int):
        return environ
    pairs = [(name, value) for name, value in args.parameters]
    progress = None if args.quiet else progress_printer(sys.stderr)
    try:
        result = run_notebook(
            args.notebook,
            pairs,
            out=args.out,
            html=args.html,
            environ=environ,
            timeout=args.timeout,
            progress=progress,
        )
    except (UnknownNotebookError, ParameterError, ParameterTypeError, OutputExistsError) as exc:
        args.parser.error(str(exc))
    except RunFailedToStart as exc:
        print(f"svc-nb run: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(f"executed notebook: {result.notebook}")
    print(f"HTML report:       {result.html}")
    if result.failure is not None:
        failure = result.failure
        where = f" ({failure.section})" if failure.section else ""
        print(f"svc-nb run: cell {failure.index}{where} failed: {failure.error}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def lab_missing() -> bool:
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print(
            "svc-nb: JupyterLab is not installed in this environment. Install it with:\n"
            f"  {sys.executable} -m pip install 'svc-nb[lab]'",
            file=sys.stderr,
        )
        return True
    return False


def _cmd_open(args: argparse.Namespace) -> int:
    import shlex

    from svc_nb._notebook_copy import NotebookCopyError
    from svc_nb.runbook import ParameterError, ParameterTypeError, UnknownCheckError, prepare_open

    environ = _environ(args)
    if isinstance(environ, int):
        return environ
    lab_args = list(args.lab_args)
    if args.no_browser:
        lab_args.insert(0, "--no-browser")
    pairs = [(name, value) for name, value in args.parameters]
    try:
        plan = prepare_open(
            args.check, args.dest, pairs, environ=environ, force=args.force, lab_args=lab_args
        )
    except (UnknownCheckError, ParameterError, ParameterTypeError) as exc:
        args.parser.error(str(exc))
    except NotebookCopyError as exc:
        print(f"svc-nb: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"{plan.ref.check}: {plan.path}, section “{plan.ref.section}”")
    for line in plan.parameters:
        print(f"  {line}")
    print(f"in JupyterLab: <server>/{plan.url_path}")
    if args.print_command:
        print(shlex.join(plan.command))
        return EXIT_OK
    if lab_missing():
        return EXIT_FAIL
    sys.stdout.flush()
    sys.stderr.flush()
    # JupyterLab takes this process's place: Ctrl-C or a signal reaches the server itself,
    # never leaving it running behind a parent that has gone.
    os.execve(plan.command[0], plan.command, {**environ, **plan.env})
