"""``svc-nb doctor``: arguments, output formats and exit statuses.

Exit status: 0 nothing failed; 1 a check failed (or warned, with ``--fail-on
warn``); 2 bad usage; 3 could not run at all (an unreadable configuration or
``--env-file``). With ``--json`` or ``--format junit`` stdout holds only the
document; messages go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from svc_nb._cli_imports import running_only_svc_nb
from svc_nb._validate import DEFAULT_TIMEOUT_S

__all__ = ["add_doctor_parser"]

EXIT_USAGE, EXIT_CANNOT_RUN = 2, 3
FORMATS = ("text", "json", "junit")
# Variables that make the doctor import the user's code into its own process: the service
# section imports the app SVC_NB_APP names (env.rehearse imports it only in a child).
USER_CODE_VARIABLES = ("SVC_NB_APP",)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _add_output_flags(doctor: argparse.ArgumentParser) -> None:
    doctor.add_argument(
        "--json", action="store_true", help="print only JSON (same as --format json)"
    )
    doctor.add_argument("--format", choices=FORMATS, help="text (default), json or junit (XML)")
    doctor.add_argument(
        "--watch",
        type=_seconds,
        metavar="SECONDS",
        help="re-run every SECONDS until Ctrl-C, showing what changed since the last run",
    )
    doctor.add_argument(
        "--print-schema", action="store_true", help="print the JSON Schema of --json and exit"
    )


def _add_selection_flags(doctor: argparse.ArgumentParser) -> None:
    doctor.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="ID",
        help="run only this section (db) or check id (db.auth); repeatable",
    )
    doctor.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="ID",
        help="leave out this section or check id; repeatable",
    )
    doctor.add_argument(
        "--fail-on",
        choices=("fail", "warn"),
        help="the status that fails the run (default: fail, or [tool.svc-nb] fail-on)",
    )
    doctor.add_argument(
        "--config",
        metavar="PYPROJECT",
        help="read [tool.svc-nb] from this file (default: the nearest pyproject.toml)",
    )


def _add_target_flags(doctor: argparse.ArgumentParser) -> None:
    doctor.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds per check (default {DEFAULT_TIMEOUT_S:g})",
    )
    doctor.add_argument("--env-file", metavar="PATH", help="read variables from a .env file too")
    doctor.add_argument(
        "--app",
        metavar="PKG.MODULE:APP",
        help="check this ASGI app itself too (the service section; same as SVC_NB_APP)",
    )
    doctor.add_argument(
        "--url",
        metavar="URL",
        help="check the running service at this base URL (same as SVC_NB_SERVICE_URL)",
    )


def add_doctor_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``doctor`` to the ``svc-nb`` subcommands."""
    doctor = sub.add_parser(
        "doctor",
        help="run every quick diagnostic and print the report",
        description="Run the quick diagnostics against the services the environment points at. "
        "Exit status: 0 nothing failed, 1 a check failed (or warned, with --fail-on warn), "
        "2 bad usage, 3 could not run (unreadable configuration).",
    )
    _add_output_flags(doctor)
    _add_selection_flags(doctor)
    _add_target_flags(doctor)
    doctor.set_defaults(func=_cmd_doctor, parser=doctor)
    return doctor


def _format(args: argparse.Namespace) -> str:
    if args.json and args.format not in (None, "json"):
        args.parser.error(f"--json and --format {args.format} contradict each other")
    chosen = "json" if args.json else (args.format or "text")
    if args.watch is not None and chosen == "junit":
        args.parser.error("--watch cannot write JUnit: a JUnit file reports one run")
    return str(chosen)


def _environ(env_file: str | None) -> dict[str, str] | int:
    """os.environ with the --env-file's values where the shell set none, or an exit status."""
    from svc_nb.env import EnvFileError, merged_environ

    try:
        return merged_environ(env_file or None)
    except EnvFileError as exc:
        print(f"svc-nb doctor: --env-file: {exc}", file=sys.stderr)
        return EXIT_USAGE if exc.reason == "missing" else EXIT_CANNOT_RUN


def _emit(result: Any, fmt: str, found: Any = None, *, watching: bool = False) -> None:
    # Each format imports only its own renderer: a --json run loads no text or XML views.
    if fmt == "json":
        document = result.to_dict()
        if found is not None:
            document["changes"] = [change.to_dict() for change in found]
        # One document per line while watching (JSON Lines), indented otherwise.
        print(json.dumps(document) if watching else json.dumps(document, indent=2), flush=True)
    elif fmt == "junit":
        from svc_nb.doctor import to_junit

        sys.stdout.write(to_junit(result))
    elif found is None:
        from svc_nb.doctor import render_text

        print(render_text(result), flush=True)
    else:
        from svc_nb.doctor import render_changes

        print(render_changes(result, found), flush=True)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from svc_nb._exceptions import ArgumentValueError
    from svc_nb.doctor import DoctorConfigError, Selection, load_config, schema_text

    if args.print_schema:
        sys.stdout.write(schema_text())
        return 0
    fmt = _format(args)
    try:
        Selection.build(args.only, args.skip)
    except ArgumentValueError as exc:  # a pattern that names no section
        args.parser.error(str(exc))
    environ = _environ(args.env_file)
    if isinstance(environ, int):
        return environ
    # The service section reads its target from the environment, as diagnose() does.
    if args.app:
        environ["SVC_NB_APP"] = args.app
    if args.url:
        environ["SVC_NB_SERVICE_URL"] = args.url
    if args.config is not None and not Path(args.config).is_file():
        args.parser.error(f"--config {args.config}: no such file")
    try:
        config = load_config(args.config)
    except DoctorConfigError as exc:
        print(f"svc-nb doctor: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    # Nothing but svc-nb runs here: its own process may decline more (see _cli_imports).
    alone = running_only_svc_nb() if _only_svc_nb(environ) else contextlib.nullcontext()
    with alone:
        return _run(args, environ, config, fmt)


def _only_svc_nb(environ: Mapping[str, str]) -> bool:
    """Whether this run imports no user code and no check of it needs PyJWT's cryptography."""
    if any((environ.get(name) or "").strip() for name in USER_CODE_VARIABLES):
        return False
    return not _secret_may_be_der(environ)


def _secret_may_be_der(environ: Mapping[str, str]) -> bool:
    """Whether the tokens check could judge this JWT secret differently without cryptography.

    That check signs and verifies HS256 only: hashlib's HMAC, and ``PyJWK`` of an
    ``oct`` key at most. Its one step that asks cryptography is PyJWT refusing a
    DER public key or certificate as the secret (``HMACAlgorithm._is_der_key``).
    Every DER key or certificate holds an INTEGER (0x02) or BIT STRING (0x03) tag
    byte, which UTF-8 writes only for U+0002 / U+0003: a secret with no control
    character can be neither. (Read here, not in svc_nb.tokens: ``--only db``
    loads no tokens module.)
    """
    from svc_nb.env._read import resolve_jwt_secret

    resolved = resolve_jwt_secret(environ)
    return resolved is not None and any(char < " " for char in resolved.value)


def _run(args: argparse.Namespace, environ: dict[str, str], config: Any, fmt: str) -> int:
    """Run the checks once (or every --watch seconds) and print them; the exit status."""
    from svc_nb._runtime import run
    from svc_nb.doctor import doctor

    def run_once() -> Any:
        return run(
            doctor(
                environ,
                only=args.only,
                skip=args.skip,
                fail_on=args.fail_on,
                timeout=args.timeout,
                config=config,
            )
        )

    if args.watch is None:
        result = run_once()
        _emit(result, fmt)
        return int(result.exit_code)
    from svc_nb.doctor import watch

    return watch(run_once, args.watch, lambda r, c: _emit(r, fmt, c, watching=True))
