"""A throw-away Alembic project for notebook 06: a scratch database and a migrations folder.

The folder holds an async ``env.py`` (svc-infra's pattern, cut to the bone),
Alembic's ``script.py.mako`` (so ``alembic merge`` and ``revision`` work) and
three revisions ``a1 → b2 → c3`` (``a1`` creates a table). The database is
created next to the one the URL names and dropped again by :meth:`drop`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from svc_nb._validate import DEFAULT_TIMEOUT_S, check_timeout
from svc_nb.demo._errors import DemoError, require

__all__ = ["AlembicProject", "alembic_project", "write_revision"]

SCRIPT = '''"""{message}"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    pass
'''

# svc-infra's env.py is async (asyncpg); this is the same pattern.
ENV_PY = """
import asyncio
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

def do_run(connection):
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()

async def main():
    engine = create_async_engine(context.config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as connection:
        await connection.run_sync(do_run)
        await connection.commit()
    await engine.dispose()

asyncio.run(main())
"""

# Alembic renders new revisions (merge, revision) from this template.
MAKO = '''"""${message}"""
from alembic import op
import sqlalchemy as sa

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


def write_revision(
    versions: Path,
    number: int,
    rev: str,
    down: str | tuple[str, ...] | None,
    message: str,
    upgrade: str = "pass",
) -> Path:
    """Write ``versions/{number:03d}_{rev}.py`` revising ``down`` (a tuple: a merge)."""
    path = versions / f"{number:03d}_{rev}.py"
    path.write_text(SCRIPT.format(rev=rev, down=down, message=message, upgrade=upgrade))
    return path


INITIAL_REVISIONS = (
    (
        "a1",
        None,
        "create things",
        "op.create_table('things', sa.Column('id', sa.Integer, primary_key=True))",
    ),
    ("b2", "a1", "add name", "op.add_column('things', sa.Column('name', sa.Text))"),
    ("c3", "b2", "add index", "op.create_index('things_name', 'things', ['name'])"),
)


class AlembicProject:
    """A scratch database plus a migrations folder, and an Alembic ``Config`` for both."""

    def __init__(self, admin_url: str, database: str, workdir: Path, timeout: float) -> None:
        from alembic.config import Config

        from svc_nb.migrations import asyncpg_dsn

        self._admin_dsn = asyncpg_dsn(admin_url)
        self._timeout = timeout
        self.database = database
        self.workdir = workdir
        self.migrations = workdir / "migrations"
        parts = urllib.parse.urlsplit(self._admin_dsn)
        #: The scratch database's URL, as asyncpg and svc_nb.migrations.check take it.
        self.db_url = urllib.parse.urlunsplit(parts._replace(path="/" + database))
        self.config = Config()
        self.config.set_main_option("script_location", str(self.migrations))
        # ConfigParser treats % as interpolation: a percent-encoded password needs %% here.
        sa_url = self.db_url.replace("postgresql://", "postgresql+asyncpg://", 1)
        self.config.set_main_option("sqlalchemy.url", sa_url.replace("%", "%%"))

    def write_script(
        self, number: int, rev: str, down: str | None, message: str, upgrade: str = "pass"
    ) -> Path:
        """Write ``versions/{number:03d}_{rev}.py`` revising ``down``; returns its path."""
        return write_revision(self.migrations / "versions", number, rev, down, message, upgrade)

    def scripts(self) -> list[str]:
        """The revision files, by name."""
        return sorted(p.name for p in (self.migrations / "versions").glob("*.py"))

    def _write_folder(self) -> None:
        (self.migrations / "versions").mkdir(parents=True)
        (self.migrations / "env.py").write_text(ENV_PY)
        (self.migrations / "script.py.mako").write_text(MAKO)
        for number, (rev, down, message, upgrade) in enumerate(INITIAL_REVISIONS, start=1):
            self.write_script(number, rev, down, message, upgrade)

    async def _admin(self, statement: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._admin_dsn, timeout=self._timeout)
        try:
            await asyncio.wait_for(conn.execute(statement), self._timeout)
        finally:
            await conn.close()

    async def create(self) -> AlembicProject:
        self._write_folder()
        try:
            await self._admin(f'CREATE DATABASE "{self.database}"')
        except Exception as exc:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise DemoError(
                f"cannot create the scratch database {self.database}: {type(exc).__name__}: {exc}. "
                "Run svc_nb.db.check(SQL_URL) to see why."
            ) from None
        return self

    async def drop(self) -> None:
        """Drop the scratch database and remove the folder."""
        await self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.workdir, ignore_errors=True)

    async def __aenter__(self) -> AlembicProject:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.drop()

    def __repr__(self) -> str:
        return f"<AlembicProject database={self.database} migrations={self.migrations}>"


async def alembic_project(
    sql_url: str, *, prefix: str = "svcnb_scratch", timeout: float = DEFAULT_TIMEOUT_S
) -> AlembicProject:
    """Create a scratch database on the server of ``sql_url`` and a migrations folder.

    Returns an :class:`AlembicProject`; ``await project.drop()`` (or ``async with``)
    removes both.
    """
    require("alembic", "alembic")
    require("sqlalchemy", "sqlalchemy")
    timeout = check_timeout(timeout)
    if not prefix.replace("_", "").isalnum():
        raise DemoError(f"prefix must be letters, digits and '_', got {prefix[:40]!r}")
    database = f"{prefix}_{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="svcnb-alembic-"))
    return await AlembicProject(sql_url, database, workdir, timeout).create()
