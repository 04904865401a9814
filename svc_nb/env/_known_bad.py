"""Installed versions known to break svc-infra, and the svc-infra version svc_nb was proved on.

Each entry names a combination that fails in a way a user meets as a confusing
traceback; the checks read installed files and package metadata only (svc-infra is
never imported: that would load its settings from this process's environment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from svc_nb._explain import Explanation, explain
from svc_nb._report import Finding, Status
from svc_nb.env._causes import EnvCause
from svc_nb.env._svc_infra_model import svc_infra_file

__all__ = ["PROVED_SVC_INFRA_VERSION", "known_bad_findings", "version_tuple"]

C = EnvCause
#: The svc-infra release every svc-infra claim of svc_nb was proved against (tests/fidelity).
PROVED_SVC_INFRA_VERSION = "1.22.2"
_TYPER_BREAKS_AT = (0, 29)
_SYNC_TEMPLATE = ("db", "sql", "templates", "setup", "env_sync.py.tmpl")
_LEADING_NUMBERS = re.compile(r"\d+(?:\.\d+)*")

EXPLAIN: dict[EnvCause, Explanation] = {
    C.KNOWN_BAD_COMBINATION: Explanation(Status.WARN, "{summary}", "{why}", "{fix}"),
    C.SVC_INFRA_NEWER: Explanation(
        Status.WARN,
        "svc-infra {installed} is newer than {proved}, the release svc_nb's claims were proved on",
        "svc_nb reads the environment, database, Redis and tokens the way svc-infra {proved} "
        "does; a newer release may have changed a default, a variable name or a format. "
        "svc_nb.env.rehearse() starts the installed svc-infra itself.",
        "Trust rehearse() where it disagrees; pin svc-infra=={proved} to match svc_nb exactly, "
        "or upgrade svc_nb.",
    ),
}


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    """The leading release numbers of a version string ('0.29.0rc1' -> (0, 29, 0))."""
    match = _LEADING_NUMBERS.match(text or "")
    return tuple(int(part) for part in match.group().split(".")) if match else None


def _typer(versions: Mapping[str, str | None]) -> Finding | None:
    typer = version_tuple(versions.get("typer"))
    if not versions.get("svc-infra") or typer is None or typer[:2] < _TYPER_BREAKS_AT:
        return None
    return explain(
        "python.known_bad",
        C.KNOWN_BAD_COMBINATION,
        EXPLAIN,
        summary=f"typer {versions['typer']} breaks svc-infra's CLI at import",
        why="svc-infra's command-line tool (svc-infra sql upgrade, ...) passes click_type= to "
        "typer.Option, which typer 0.29 removed: TypeError: Option() got an unexpected keyword "
        "argument 'click_type'. The running service is not affected.",
        fix="pip install 'typer<0.29'",
        data={"typer": versions["typer"], "svc_infra": versions["svc-infra"]},
    )


def _sync_alembic_template() -> Finding | None:
    """svc-infra's sync Alembic env.py template calls a helper it never imports."""
    path = svc_infra_file(*_SYNC_TEMPLATE)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    calls = "_coerce_sync_driver(" in text
    imported = re.search(r"import[^\n]*_coerce_sync_driver|^\s+_coerce_sync_driver,", text, re.M)
    defined = "def _coerce_sync_driver" in text
    if not calls or imported or defined:
        return None
    return explain(
        "python.known_bad",
        C.KNOWN_BAD_COMBINATION,
        EXPLAIN,
        summary="svc-infra's sync Alembic env.py template raises NameError: _coerce_sync_driver",
        why=f"{path.name} calls _coerce_sync_driver() without importing it, so a migrations "
        "folder created by `svc-infra sql init` for a sync URL (psycopg) fails on every "
        "Alembic command. The async template is not affected.",
        fix="In migrations/env.py add: from svc_infra.db.sql.utils import _coerce_sync_driver "
        "(or create the project with an async URL: postgresql+asyncpg://...)",
        data={"template": str(path)},
    )


def _newer(versions: Mapping[str, str | None]) -> Finding | None:
    installed = version_tuple(versions.get("svc-infra"))
    proved = version_tuple(PROVED_SVC_INFRA_VERSION)
    if installed is None or proved is None or installed <= proved:
        return None
    return explain(
        "python.svc_infra_version",
        C.SVC_INFRA_NEWER,
        EXPLAIN,
        installed=versions["svc-infra"],
        proved=PROVED_SVC_INFRA_VERSION,
        data={"installed": versions["svc-infra"], "proved": PROVED_SVC_INFRA_VERSION},
    )


def known_bad_findings(versions: Mapping[str, str | None]) -> list[Finding]:
    """Warnings for installed combinations known to break svc-infra."""
    found = [_typer(versions), _newer(versions)]
    if versions.get("svc-infra"):
        found.append(_sync_alembic_template())
    return [f for f in found if f is not None]
