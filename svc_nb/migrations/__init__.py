"""Alembic state: the database's revision(s) against the scripts folder's graph.

The guide's advice for any Alembic trouble is ``alembic stamp head``. That is
right in one case only (the schema already matches head) and hides a real
problem in the others. :func:`check` reads both sides and says which case you
are in, with the exact ``svc-infra sql …`` and ``alembic …`` commands:

- the database: the rows of the version table (``alembic_version`` unless
  ``ALEMBIC_VERSION_TABLE`` / ``ALEMBIC_VERSION_SCHEMA`` rename it), read with
  asyncpg, bounded by ``timeout``;
- the scripts: ``revision`` / ``down_revision`` of every file in
  ``<script_location>/versions``, read with :mod:`ast` (nothing is executed) so
  that a broken graph (a ``down_revision`` pointing nowhere, a cycle) is
  diagnosed instead of crashing; when the graph is sound and Alembic is
  installed, Alembic's own ``ScriptDirectory`` reads it (it understands
  computed ids, ``depends_on``...), and any Alembic error becomes a finding.

Every non-ok finding carries a :class:`MigrationsCause` code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from svc_nb._diagnose import register_check
from svc_nb._lazy import lazy_package

if TYPE_CHECKING:
    from svc_nb._report import Finding, Report
    from svc_nb.migrations._causes import CMD, VERIFY_SCHEMA, MigrationsCause
    from svc_nb.migrations._check import check
    from svc_nb.migrations._database import asyncpg_dsn
    from svc_nb.migrations._graph import Revision, ScriptGraph
    from svc_nb.migrations._scripts import read_scripts, read_scripts_ast
    from svc_nb.migrations._verdict import DEFAULT_VERSION_TABLE

__all__ = [
    "CMD",
    "DEFAULT_VERSION_TABLE",
    "VERIFY_SCHEMA",
    "MigrationsCause",
    "Revision",
    "ScriptGraph",
    "asyncpg_dsn",
    "check",
    "read_scripts",
    "read_scripts_ast",
]

# A public name's private module (its TYPE_CHECKING import) is imported on first use.
__getattr__, __dir__ = lazy_package(__name__)


async def _diagnose(environ: Mapping[str, str], timeout: float) -> Report | Finding:
    from svc_nb.migrations._check import diagnose_migrations

    return await diagnose_migrations(environ, timeout)


register_check("migrations", _diagnose, order=25, waits=True)
