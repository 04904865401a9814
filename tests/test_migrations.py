"""svc_nb.migrations against the real local PostgreSQL and generated script folders."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import asyncpg
import pytest

from svc_nb import Finding, Report, Status
from svc_nb import migrations as mig
from tests._support import LOCAL_PG_URL

SCRIPT = '''"""{message}

Revision ID: {rev}
"""
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

ENV_PY = '''
from alembic import context
from sqlalchemy import create_engine

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''


def make_scripts(
    root: Path, graph: Mapping[str, str | Sequence[str] | None], *, upgrades: Mapping[str, str] | None = None
) -> Path:
    """A migrations folder with one script per revision: {revision: down_revision}."""
    location = root / "migrations"
    (location / "versions").mkdir(parents=True)
    (location / "env.py").write_text(ENV_PY)
    for i, (rev, down) in enumerate(graph.items()):
        down_value = tuple(down) if isinstance(down, list | tuple) else down
        body = (upgrades or {}).get(rev, "pass")
        (location / "versions" / f"{i:03d}_{rev}.py").write_text(
            SCRIPT.format(rev=rev, down=down_value, message=f"step {rev}", upgrade=body)
        )
    return location


LINEAR = {"a1": None, "b2": "a1", "c3": "b2"}
BRANCHED = {"a1": None, "b2": "a1", "x9": "a1"}
MERGED = {"a1": None, "b2": "a1", "x9": "a1", "m4": ["b2", "x9"]}


@pytest.fixture
async def db_url() -> AsyncIterator[str]:
    """A fresh database for one test, dropped afterwards."""
    name = f"svcnb_mig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(LOCAL_PG_URL.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield LOCAL_PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def stamp(url: str, *revs: str, table: str = "alembic_version", schema: str | None = None) -> None:
    """Write the version table the way Alembic does (no real migration needed)."""
    conn = await asyncpg.connect(url)
    try:
        qualified = f'"{schema}"."{table}"' if schema else f'"{table}"'
        if schema:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f"CREATE TABLE {qualified} (version_num varchar(32) NOT NULL PRIMARY KEY)"
        )
        for rev in revs:
            await conn.execute(f"INSERT INTO {qualified} VALUES ($1)", rev)
    finally:
        await conn.close()


async def test_up_to_date(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    await stamp(db_url, "c3")
    report = await mig.check(db_url, loc)
    state = report["migrations.state"]
    assert state.status is Status.OK, report
    assert "up to date at c3" in state.summary
    assert report["migrations.scripts"].data["reader"] == "alembic"
    assert report["migrations.scripts"].data["heads"] == ["c3"]
    assert report.ok


async def test_behind_lists_pending_in_order(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    await stamp(db_url, "a1")
    report = await mig.check(db_url, loc)
    state = report["migrations.state"]
    assert state.status is Status.WARN
    assert state.data["pending"] == ["b2", "c3"]
    assert "b2 (step b2), c3 (step c3)" in state.detail
    assert "svc-infra sql upgrade head" in state.fix and "alembic upgrade head" in state.fix


async def test_empty_version_table_means_everything_pending(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    await stamp(db_url)
    state = (await mig.check(db_url, loc))["migrations.state"]
    assert state.status is Status.WARN
    assert state.data["pending"] == ["a1", "b2", "c3"]
    assert "empty" in state.summary


async def test_never_migrated_fresh_database(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    report = await mig.check(db_url, loc)
    finding = report["migrations.version_table"]
    assert finding.status is Status.FAIL
    assert "never migrated" in finding.summary
    assert "alembic upgrade head" in finding.fix and "stamp" not in finding.fix


async def test_tables_without_version_table_suggest_verified_stamp(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    conn = await asyncpg.connect(db_url)
    await conn.execute("CREATE TABLE users (id int)")
    await conn.close()
    finding = (await mig.check(db_url, loc))["migrations.version_table"]
    assert finding.status is Status.FAIL
    assert finding.data["user_tables"] == 1
    assert "relation already exists" in finding.detail
    assert "alembic check" in finding.fix and "svc-infra sql stamp head" in finding.fix


async def test_unknown_revision_is_out_of_sync(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    await stamp(db_url, "deadbeef")
    state = (await mig.check(db_url, loc))["migrations.state"]
    assert state.status is Status.FAIL
    assert "out of sync" in state.summary
    assert state.data["unknown"] == ["deadbeef"]
    # stamp head is offered only with its precondition and the risk spelled out
    assert "alembic stamp head" in state.fix and "alembic check" in state.fix
    assert "hides" in state.detail and "runs no DDL" in state.detail


async def test_two_heads_need_a_merge(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, BRANCHED)
    await stamp(db_url, "a1")
    report = await mig.check(db_url, loc)
    heads = report["migrations.heads"]
    assert heads.status is Status.FAIL
    assert sorted(heads.data["heads"]) == ["b2", "x9"]
    assert "svc-infra sql merge-heads" in heads.fix and "alembic merge heads" in heads.fix
    assert sorted(report["migrations.state"].data["pending"]) == ["b2", "x9"]


async def test_merged_graph_with_db_on_both_branches(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, MERGED)
    await stamp(db_url, "b2", "x9")
    report = await mig.check(db_url, loc)
    assert report.get("migrations.heads") is None
    assert report["migrations.scripts"].data["heads"] == ["m4"]
    state = report["migrations.state"]
    assert state.status is Status.WARN and state.data["pending"] == ["m4"]
    await stamp_replace(db_url, "m4")
    assert (await mig.check(db_url, loc))["migrations.state"].status is Status.OK


async def stamp_replace(url: str, rev: str) -> None:
    conn = await asyncpg.connect(url)
    await conn.execute("DELETE FROM alembic_version")
    await conn.execute("INSERT INTO alembic_version VALUES ($1)", rev)
    await conn.close()


async def test_dangling_down_revision(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, {"a1": None, "b2": "zz"})
    await stamp(db_url, "a1")
    report = await mig.check(db_url, loc)
    graph = report["migrations.graph"]
    assert graph.status is Status.FAIL
    assert graph.data["missing"] == "zz" and graph.data["revision"] == "b2"
    assert report["migrations.scripts"].data["reader"] == "ast"
    # Alembic itself raises on this folder; that is why svc_nb reads it with ast.
    import warnings

    from alembic.script import ScriptDirectory

    with warnings.catch_warnings(), pytest.raises(Exception, match="zz"):
        warnings.simplefilter("ignore")
        list(ScriptDirectory(str(loc)).walk_revisions())


async def test_cycle(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, {"a1": None, "b2": "c3", "c3": "b2"})
    report = await mig.check(db_url, loc)
    graph = report["migrations.graph"]
    assert graph.status is Status.FAIL
    assert "cycle" in graph.summary
    assert sorted(graph.data["cycle"]) == ["b2", "c3"]


def test_syntax_error_and_missing_revision_are_findings(tmp_path: Path) -> None:
    loc = make_scripts(tmp_path, {"a1": None})
    (loc / "versions" / "broken.py").write_text("revision = 'b2'\ndown_revision = (\n")
    (loc / "versions" / "helper.py").write_text("X = 1\n")
    graph = mig.read_scripts(loc)
    text = " | ".join(p.summary for p in graph.problems)
    assert "broken.py is not valid Python" in text
    assert "helper.py declares no `revision" in text
    assert list(graph.revisions) == ["a1"]


def test_ast_reader_never_executes_scripts(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    loc = make_scripts(tmp_path, {"a1": None})
    script = next((loc / "versions").glob("*.py"))
    script.write_text(f"open({str(marker)!r}, 'w').close()\n" + script.read_text())
    graph = mig.read_scripts_ast(loc)
    assert list(graph.revisions) == ["a1"] and not marker.exists()


def test_alembic_import_error_becomes_a_finding(tmp_path: Path) -> None:
    loc = make_scripts(tmp_path, {"a1": None})
    script = next((loc / "versions").glob("*.py"))
    script.write_text("import svc_nb_no_such_module\n" + script.read_text())
    graph = mig.read_scripts(loc)
    assert any("Alembic cannot load the scripts" in p.summary for p in graph.problems)
    assert any("svc_nb_no_such_module" in p.summary for p in graph.problems)


async def test_missing_folder_still_reads_the_database(tmp_path: Path, db_url: str) -> None:
    await stamp(db_url, "a1")
    report = await mig.check(db_url, tmp_path / "nowhere")
    scripts = report["migrations.scripts"]
    assert scripts.status is Status.FAIL and "does not exist" in scripts.summary
    assert "alembic init migrations" in scripts.fix
    assert report["migrations.state"].status is Status.SKIP
    assert report["migrations.state"].data["current"] == ["a1"]


async def test_versions_folder_missing(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "migrations").mkdir()
    report = await mig.check(db_url, tmp_path / "migrations")
    assert "no versions/ folder" in report["migrations.scripts"].summary
    assert report["migrations.version_table"].status is Status.FAIL


async def test_renamed_version_table_from_env(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    await stamp(db_url, "c3", table="svc_versions", schema="meta")
    env = {"ALEMBIC_VERSION_TABLE": "svc_versions", "ALEMBIC_VERSION_SCHEMA": "meta"}
    # explicit default keyword: looks for alembic_version and finds none
    default = await mig.check(db_url, loc, environ=env)
    assert default["migrations.version_table"].status is Status.FAIL
    report = await mig.check(db_url, loc, version_table=None, version_schema=None, environ=env)
    state = report["migrations.state"]
    assert state.status is Status.OK and state.data["version_table"] == "meta.svc_versions"
    assert "ALEMBIC_VERSION_TABLE" in state.detail
    explicit = await mig.check(db_url, loc, version_table="svc_versions", version_schema="meta")
    assert explicit["migrations.state"].status is Status.OK


async def test_sqlalchemy_url_forms(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    await stamp(db_url, "c3")
    sa_url = db_url.replace("postgresql://", "postgresql+asyncpg://")
    assert (await mig.check(sa_url, loc))["migrations.state"].status is Status.OK
    bad = await mig.check("mysql://u:hunter2secret@127.0.0.1/x", loc)
    finding = bad["migrations.database"]
    assert finding.status is Status.FAIL and "not PostgreSQL" in finding.summary
    assert "hunter2secret" not in str(bad)


async def test_refused_and_hung_database(tmp_path: Path, refused_port: int, silent_server: object) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    refused = await mig.check(f"postgresql://postgres:s3cretpw@127.0.0.1:{refused_port}/x", loc, timeout=2)
    finding = refused["migrations.database"]
    assert finding.status is Status.FAIL and "svc_nb.db.check" in finding.fix
    assert "s3cretpw" not in str(refused)
    port = silent_server.port  # type: ignore[attr-defined]
    started = time.perf_counter()
    hung = await mig.check(f"postgresql://postgres@127.0.0.1:{port}/x", loc, timeout=0.8)
    assert time.perf_counter() - started < 0.8 + 0.3
    assert "did not answer within 0.8 s" in hung["migrations.database"].summary
    # the scripts side is still reported
    assert hung["migrations.scripts"].status is Status.OK


async def test_real_alembic_upgrade_then_check(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(
        tmp_path,
        LINEAR,
        upgrades={"a1": "op.create_table('things', sa.Column('id', sa.Integer, primary_key=True))"},
    )
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(loc))
    cfg.set_main_option("sqlalchemy.url", db_url.replace("postgresql://", "postgresql+psycopg://"))
    await asyncio.to_thread(command.upgrade, cfg, "b2")
    behind = (await mig.check(db_url, loc))["migrations.state"]
    assert behind.status is Status.WARN and behind.data["pending"] == ["c3"]
    await asyncio.to_thread(command.upgrade, cfg, "head")
    report = await mig.check(db_url, loc)
    assert report["migrations.state"].status is Status.OK
    assert report["migrations.state"].data["current"] == ["c3"]


async def test_diagnose_builder_skips_and_runs(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    builder = mig._diagnose
    no_url = await builder({}, 2.0)
    assert isinstance(no_url, Finding) and no_url.status is Status.SKIP
    assert "no database URL" in no_url.summary
    no_dir = await builder({"SQL_URL": db_url}, 2.0)
    assert isinstance(no_dir, Finding) and "no scripts folder" in no_dir.summary
    loc = make_scripts(tmp_path / "x", LINEAR)
    await stamp(db_url, "c3")
    ran = await builder({"SQL_URL": db_url, "SVC_NB_MIGRATIONS": str(loc)}, 2.0)
    assert isinstance(ran, Report) and ran["migrations.state"].status is Status.OK
    from svc_nb._diagnose import registered_checks

    assert "migrations" in registered_checks()
