"""IPython magics: ``%load_ext svc_nb``, then ``%svc doctor|jwt|verify|open``.

Thin wrappers over the public functions; each returns the object it shows, so
``r = %svc doctor`` keeps the result.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from svc_nb._exceptions import SvcNbError

__all__ = ["OpenLink", "load_ipython_extension", "svc"]

_USAGE = """\
%svc doctor [--only ID]... [--skip ID]... [--fail-on warn|fail] [--timeout S]
    Run the quick diagnostics and render the report (silenced checks from
    [tool.svc-nb] in the nearest pyproject.toml are listed as silenced).
    Same as `svc-nb doctor`; returns svc_nb.doctor.DoctorResult.

%svc jwt [TOKEN_OR_VARIABLE] [--key KEY_OR_VARIABLE] [--audience AUD]
    Open the JWT inspector on a token: a variable name of this notebook, or the
    token itself. --key is a variable name or the secret/PEM/JWKS URL itself.
    Returns svc_nb.widgets.jwt_inspector(...).

%svc verify [BODY HEADERS SECRET] [--scheme NAME] [--tolerance S]
    Check a webhook signature from variables: the raw body, the headers (mapping,
    pairs or text) and the secret (or a list of secrets), by variable name
    (default: body, headers, secret). Returns svc_nb.webhooks.verify(...).

%svc open CHECK_ID [--dest DIR]
    Copy the notebooks into DIR (default svc-nb-notebooks; notebooks you edited
    are kept) and show a link to the notebook and section that investigate
    CHECK_ID (db.auth, cache, tokens.exp...), with the `svc-nb open` command.
"""


class _UsageError(SvcNbError, ValueError):
    """A ``%svc`` line that cannot be run; shown as IPython's one-line usage error."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the kernel
        raise _UsageError(f"%svc {self.prog.split()[-1]}: {message}")


def _parsers() -> dict[str, argparse.ArgumentParser]:
    doctor = _Parser(prog="%svc doctor", add_help=False)
    doctor.add_argument("--only", action="append", default=[])
    doctor.add_argument("--skip", action="append", default=[])
    doctor.add_argument("--fail-on", choices=("fail", "warn"))
    doctor.add_argument("--timeout", type=float, default=None)
    jwt = _Parser(prog="%svc jwt", add_help=False)
    jwt.add_argument("token", nargs="?", default="")
    jwt.add_argument("--key", default="")
    jwt.add_argument("--audience", default="")
    verify = _Parser(prog="%svc verify", add_help=False)
    verify.add_argument("names", nargs="*")
    verify.add_argument("--scheme", default=None)
    verify.add_argument("--tolerance", type=float, default=300.0)
    opener = _Parser(prog="%svc open", add_help=False)
    opener.add_argument("check")
    opener.add_argument("--dest", default="svc-nb-notebooks")
    return {"doctor": doctor, "jwt": jwt, "verify": verify, "open": opener}


def _value(namespace: dict[str, Any], text: str) -> Any:
    """A variable's value when ``text`` names one, else the text itself."""
    return namespace[text] if text.isidentifier() and text in namespace else text


def _doctor(args: argparse.Namespace, namespace: dict[str, Any]) -> Any:
    from svc_nb._runtime import run
    from svc_nb._validate import DEFAULT_TIMEOUT_S
    from svc_nb.doctor import doctor

    timeout = DEFAULT_TIMEOUT_S if args.timeout is None else args.timeout
    return run(doctor(only=args.only, skip=args.skip, fail_on=args.fail_on, timeout=timeout))


def _jwt(args: argparse.Namespace, namespace: dict[str, Any]) -> Any:
    from svc_nb.widgets import jwt_inspector

    token = _value(namespace, args.token) if args.token else ""
    key = _value(namespace, args.key) if args.key else ""
    return jwt_inspector(str(token), str(key), audience=args.audience)


def _verify(args: argparse.Namespace, namespace: dict[str, Any]) -> Any:
    from svc_nb.webhooks import verify

    names = args.names or ["body", "headers", "secret"]
    if len(names) != 3:
        raise _UsageError("%svc verify takes three variable names: BODY HEADERS SECRET")
    missing = [name for name in names if name not in namespace]
    if missing:
        raise _UsageError(
            f"%svc verify: no variable {', '.join(missing)} in this notebook; set "
            f"{', '.join(names)} (the raw body, the headers and the secret), or name yours: "
            "%svc verify BODY HEADERS SECRET"
        )
    body, headers, secret = (namespace[name] for name in names)
    return verify(body, headers, secret, scheme=args.scheme, tolerance=args.tolerance)


class OpenLink:
    """The notebook that investigates a check: a link in a notebook, the command in a terminal."""

    def __init__(self, check: str, path: Path, section: str, anchor: str, command: str) -> None:
        self.check, self.path, self.section = check, path, section
        self.anchor, self.command = anchor, command

    def __str__(self) -> str:
        return f"{self.check}: {self.path} — {self.section}\n(from a terminal: {self.command})"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html
        import urllib.parse

        href = urllib.parse.quote(self.path.as_posix()) + "#" + urllib.parse.quote(self.anchor)
        return (
            f'<div class="svcnb-open" data-check="{html.escape(self.check)}">'
            f"<code>{html.escape(self.check)}</code> is investigated in "
            f'<a href="{html.escape(href)}" target="_blank">{html.escape(self.path.name)}</a>, '
            f"section <i>{html.escape(self.section)}</i>. "
            f"From a terminal: <code>{html.escape(self.command)}</code></div>"
        )


def _open(args: argparse.Namespace, namespace: dict[str, Any]) -> Any:
    from svc_nb._notebook_copy import copy_notebooks
    from svc_nb.runbook import notebook_for

    try:
        ref = notebook_for(args.check)
    except ValueError as exc:
        raise _UsageError(f"%svc open: {exc}") from None
    copy_notebooks(args.dest)
    path = Path(args.dest) / ref.notebook
    return OpenLink(ref.check, path, ref.section, ref.anchor, ref.command)


_ACTIONS = {"doctor": _doctor, "jwt": _jwt, "verify": _verify, "open": _open}


def svc(line: str, namespace: dict[str, Any] | None = None) -> Any:
    """Run one ``%svc`` subcommand; ``namespace`` holds the notebook's variables."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise _UsageError(f"%svc: {exc}") from None
    if not words or words[0] not in _ACTIONS:
        raise _UsageError("%svc takes a subcommand: doctor, jwt, verify or open\n\n" + _USAGE)
    args = _parsers()[words[0]].parse_args(words[1:])
    try:
        return _ACTIONS[words[0]](args, namespace or {})
    except _UsageError:
        raise
    except SvcNbError as exc:  # misuse: a bad timeout, an unknown section, a wrong type
        raise _UsageError(f"%svc {words[0]}: {exc}") from None


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%svc`` (``%load_ext svc_nb``)."""
    from IPython.core.error import UsageError
    from IPython.core.magic import Magics, line_magic, magics_class

    @magics_class
    class SvcMagics(Magics):
        @line_magic
        def svc(self, line: str) -> Any:
            namespace = self.shell.user_ns if self.shell is not None else {}
            try:
                return svc(line, namespace)
            except _UsageError as exc:
                raise UsageError(str(exc)) from None

    SvcMagics.svc.__doc__ = "svc_nb from a notebook.\n\n" + _USAGE
    ipython.register_magics(SvcMagics)
