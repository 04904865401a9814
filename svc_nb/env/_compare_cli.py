"""``svc-nb compare NAME=PATH NAME=PATH … [--json]``: several services' settings side by side.

Each PATH is a service's ``.env`` file or its ``svc-nb doctor --json`` output.
Exit status, as ``svc-nb doctor``: 0 nothing failed; 1 a check failed (or
warned, with ``--fail-on warn``); 2 bad usage (including a file that does not
exist); 3 could not run (an input that cannot be read or is not a .env file
or doctor report). With ``--json`` stdout holds only the document.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from svc_nb._exceptions import SvcNbError

__all__ = ["EXIT_CANNOT_RUN", "EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "add_compare_parser", "main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CANNOT_RUN = 0, 1, 2, 3
SCHEMA_VERSION = "1.0"
_USAGE_CAUSES = frozenset({"env_file_missing"})
_CANNOT_RUN_CAUSES = frozenset(
    {"env_file_unreadable", "env_file_not_utf8", "compare_input_invalid"}
)


class _UsageError(SvcNbError):
    pass


def _service(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write each service as NAME=PATH, e.g. api=api.env"
        )
    return name.strip(), path


def _role(text: str) -> tuple[str, list[str]]:
    name, sep, roles = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r}: write NAME=ROLE[,ROLE…], e.g. worker=worker or api=issues_tokens,enqueues"
        )
    return name.strip(), [r.strip() for r in roles.split(",") if r.strip()]


def add_compare_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``compare`` to the ``svc-nb`` subcommands (``func`` runs it, returning the exit status)."""
    parser = sub.add_parser(
        "compare",
        help="compare the settings of several services (.env files or doctor --json reports)",
        description="Compare what svc-infra reads in several services of one deployment: "
        "JWT secrets, webhook encryption key, job queue, database, APP_ENV, cache. Exit status: "
        "0 nothing failed, 1 a check failed, 2 bad usage (or a missing file), 3 could not run.",
    )
    _arguments(parser)
    parser.set_defaults(func=_run, parser=parser)
    return parser


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "services",
        nargs="*",
        type=_service,
        metavar="NAME=PATH",
        help="a service and its .env file or `svc-nb doctor --json` output; two or more",
    )
    parser.add_argument("--json", action="store_true", help="print only JSON")
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        type=_role,
        metavar="NAME=ROLE[,ROLE…]",
        help="what a service does: issues_tokens, verifies_tokens, creates_subscriptions, "
        "enqueues, worker, all (repeatable; default: every service does everything)",
    )
    parser.add_argument(
        "--fail-on",
        choices=("fail", "warn"),
        default="fail",
        help="the status that fails the run (default: fail)",
    )


def _request(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, list[str]] | None]:
    services: dict[str, str] = {}
    for name, path in args.services:
        if name in services:
            raise _UsageError(f"service {name!r} is given twice")
        services[name] = path
    if len(services) < 2:
        raise _UsageError("give two or more services: svc-nb compare api=api.env worker=worker.env")
    roles: dict[str, list[str]] = {}
    for name, held in args.role:
        roles.setdefault(name, []).extend(held)
    return services, roles or None


def _exit_status(comparison: Any, fail_on: str) -> int:
    causes = {f.cause for f in comparison.report.select("env.compare.input")}
    if causes & _USAGE_CAUSES:
        return EXIT_USAGE
    if causes & _CANNOT_RUN_CAUSES:
        return EXIT_CANNOT_RUN
    failing = ("fail",) if fail_on == "fail" else ("fail", "warn")
    return EXIT_FAIL if any(f.status.value in failing for f in comparison.report) else EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from svc_nb._exceptions import SvcNbError
    from svc_nb.env._compare import compare

    try:
        services, roles = _request(args)
        comparison = compare(services, roles=roles)
    except (_UsageError, SvcNbError) as exc:
        print(f"svc-nb compare: {exc}", file=sys.stderr)
        return EXIT_USAGE
    status = _exit_status(comparison, args.fail_on)
    if args.json:
        document = {
            "schema_version": SCHEMA_VERSION,
            "exit_code": status,
            "fail_on": args.fail_on,
            **comparison.to_dict(),
        }
        print(json.dumps(document, indent=2))
    else:
        print(comparison)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """``svc-nb compare`` on its own: parse ``argv`` (without the subcommand), run, return the status."""
    parser = argparse.ArgumentParser(prog="svc-nb compare", description=__doc__.split("\n\n")[0])
    _arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
