"""svc_nb.migrations against the real local PostgreSQL and generated script folders."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import asyncpg
import pytest

import svc_nb
from svc_nb import Finding, Report, Status
from svc_nb import migrations as mig
from svc_nb.demo._alembic import write_revision
from tests._support import LOCAL_PG_URL

ENV_PY = """
from alembic import context
from sqlalchemy import create_engine

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""


def make_scripts(
    root: Path,
    graph: Mapping[str, str | Sequence[str] | None],
    *,
    upgrades: Mapping[str, str] | None = None,
) -> Path:
    """A migrations folder with one script per revision: {revision: down_revision}."""
    location = root / "migrations"
    (location / "versions").mkdir(parents=True)
    (location / "env.py").write_text(ENV_PY)
    for i, (rev, down) in enumerate(graph.items()):
        down_value = tuple(down) if isinstance(down, list | tuple) else down
        body = (upgrades or {}).get(rev, "pass")
        write_revision(location / "versions", i, rev, down_value, f"step {rev}", body)
    return location


@pytest.fixture(autouse=True)
def _every_problem_names_its_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a test checks, each non-ok finding of every report carries a cause, each ok none."""
    original = mig.check

    async def checked(*args: object, **kwargs: object) -> Report:
        report = await original(*args, **kwargs)  # type: ignore[arg-type]
        for finding in report:
            assert (finding.cause is None) == (finding.status is Status.OK), finding
            assert finding.cause is None or finding.cause in set(mig.MigrationsCause), finding
        return report

    monkeypatch.setattr(mig, "check", checked)


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


async def stamp(
    url: str, *revs: str, table: str = "alembic_version", schema: str | None = None
) -> None:
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
    assert state.cause is None
    assert "up to date at c3" in state.summary
    assert report["migrations.scripts"].data["reader"] == "alembic"
    assert report["migrations.scripts"].data["heads"] == ["c3"]
    assert report.ok


async def test_behind_lists_pending_in_order(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    await stamp(db_url, "a1")
    report = await mig.check(db_url, loc)
    state = report["migrations.state"]
    assert state.status is Status.WARN and state.cause == "pending_revisions"
    assert state.data["pending"] == ["b2", "c3"]
    assert "b2 (step b2), c3 (step c3)" in state.detail
    assert "svc-infra sql upgrade head" in state.fix and "alembic upgrade head" in state.fix


async def test_empty_version_table_means_everything_pending(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    await stamp(db_url)
    state = (await mig.check(db_url, loc))["migrations.state"]
    assert state.status is Status.WARN and state.cause == "version_table_empty"
    assert state.data["pending"] == ["a1", "b2", "c3"]
    assert "empty" in state.summary


async def test_never_migrated_fresh_database(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    report = await mig.check(db_url, loc)
    finding = report["migrations.version_table"]
    assert finding.status is Status.FAIL and finding.cause == "never_migrated"
    assert "never migrated" in finding.summary
    assert "alembic upgrade head" in finding.fix and "stamp" not in finding.fix


async def test_tables_without_version_table_suggest_verified_stamp(
    tmp_path: Path, db_url: str
) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    conn = await asyncpg.connect(db_url)
    await conn.execute("CREATE TABLE users (id int)")
    await conn.close()
    finding = (await mig.check(db_url, loc))["migrations.version_table"]
    assert finding.status is Status.FAIL and finding.cause == "unversioned_schema"
    assert finding.data["user_tables"] == 1
    assert "relation already exists" in finding.detail
    assert "alembic check" in finding.fix and "svc-infra sql stamp head" in finding.fix


async def test_unknown_revision_is_out_of_sync(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    await stamp(db_url, "deadbeef")
    state = (await mig.check(db_url, loc))["migrations.state"]
    assert state.status is Status.FAIL and state.cause == "unknown_revision"
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
    assert heads.status is Status.FAIL and heads.cause == "multiple_heads"
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
    assert graph.status is Status.FAIL and graph.cause == "dangling_down_revision"
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
    assert graph.status is Status.FAIL and graph.cause == "revision_cycle"
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
    assert {p.cause for p in graph.problems} == {"script_syntax_error", "revision_missing"}
    assert list(graph.revisions) == ["a1"]


def test_unusable_ids_and_duplicates_are_findings(tmp_path: Path) -> None:
    loc = make_scripts(tmp_path, {"a1": None, "b2": "a1"})
    versions = loc / "versions"
    (versions / "computed.py").write_text("revision = make_id()\ndown_revision = None\n")
    (versions / "baddown.py").write_text("revision = 'c3'\ndown_revision = 42\n")
    (versions / "copy.py").write_text("revision = 'b2'\ndown_revision = 'a1'\n")
    (versions / "latin1.py").write_bytes(b"revision = '\xe9'\n")
    causes = {p.cause: p for p in mig.read_scripts_ast(loc).problems}
    assert set(causes) == {
        "revision_not_literal",
        "down_revision_invalid",
        "duplicate_revision",
        "script_unreadable",
    }
    assert "defined twice" in causes["duplicate_revision"].summary
    assert "fresh id" in causes["duplicate_revision"].fix


def test_graph_order_is_linear_on_a_long_chain(tmp_path: Path) -> None:
    # 3000 revisions in one chain plus 3000 independent bases: no quadratic re-sorting.
    graph = mig.ScriptGraph(str(tmp_path), "ast")
    for i in range(3000):
        graph.revisions[f"r{i}"] = mig.Revision(f"r{i}", (f"r{i - 1}",) if i else (), f"{i:05d}.py")
        graph.revisions[f"b{i}"] = mig.Revision(f"b{i}", (), f"b{i:05d}.py")
    started = time.perf_counter()
    order = graph.order()
    assert time.perf_counter() - started < 1.0
    assert order.index("r0") < order.index("r1") < order.index("r2999")
    assert len(graph.heads) == 3001


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
    assert [p.cause for p in graph.problems] == ["alembic_load_failed"]
    assert "exception" not in graph.problems[0].data
    assert any("svc_nb_no_such_module" in p.summary for p in graph.problems)


async def test_missing_folder_still_reads_the_database(tmp_path: Path, db_url: str) -> None:
    await stamp(db_url, "a1")
    report = await mig.check(db_url, tmp_path / "nowhere")
    scripts = report["migrations.scripts"]
    assert scripts.status is Status.FAIL and "does not exist" in scripts.summary
    assert scripts.cause == "scripts_missing"
    assert "alembic init migrations" in scripts.fix
    assert report["migrations.state"].status is Status.SKIP
    assert report["migrations.state"].cause == "scripts_unavailable"
    assert report["migrations.state"].data["current"] == ["a1"]


async def test_versions_folder_missing(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "migrations").mkdir()
    report = await mig.check(db_url, tmp_path / "migrations")
    assert "no versions/ folder" in report["migrations.scripts"].summary
    assert report["migrations.scripts"].cause == "versions_missing"
    assert report["migrations.version_table"].status is Status.FAIL
    (tmp_path / "afile").write_text("x")
    as_file = await mig.check(db_url, tmp_path / "afile")
    assert as_file["migrations.scripts"].cause == "scripts_not_a_folder"


async def test_empty_versions_folder_warns(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, {})
    scripts = (await mig.check(db_url, loc))["migrations.scripts"]
    assert scripts.status is Status.WARN and scripts.cause == "no_revisions"
    assert "alembic revision --autogenerate" in scripts.fix


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
    assert finding.cause == "not_postgres_url"
    assert "hunter2secret" not in str(bad)


def test_asyncpg_dsn() -> None:
    assert (
        mig.asyncpg_dsn("postgresql+asyncpg://u:p@h:5/d?ssl=require")
        == "postgresql://u:p@h:5/d?sslmode=require"
    )
    assert mig.asyncpg_dsn("postgres://u@h/d") == "postgresql://u@h/d"
    assert mig.asyncpg_dsn("postgresql+psycopg://h/d") == "postgresql://h/d"
    for bad in ("mysql://h/d", "no url at all"):
        with pytest.raises(svc_nb.SvcNbError) as info:
            mig.asyncpg_dsn(bad)
        assert isinstance(info.value, ValueError)
    with pytest.raises(TypeError):
        mig.asyncpg_dsn(None)  # type: ignore[arg-type]
    huge = "postgresql://u@h/d?" + "a=b&" * 250_000
    started = time.perf_counter()
    mig.asyncpg_dsn(huge)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0, -1, None, "3", True])
async def test_bad_timeout_is_refused_at_once(tmp_path: Path, timeout: object) -> None:
    started = time.perf_counter()
    with pytest.raises(svc_nb.SvcNbError, match="timeout"):
        await mig.check("postgresql://postgres@127.0.0.1:5432/test", tmp_path, timeout=timeout)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 0.5


async def test_bad_arguments_raise_section_errors(tmp_path: Path) -> None:
    with pytest.raises(svc_nb.SvcNbError) as info:
        await mig.check(None, tmp_path)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    with pytest.raises(svc_nb.SvcNbError, match="script_location"):
        await mig.check("postgresql://h/d", 42)  # type: ignore[arg-type]


async def test_unknown_database_and_denied_table(tmp_path: Path, db_url: str) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    missing = db_url.rsplit("/", 1)[0] + "/svcnb_no_such_database"
    finding = (await mig.check(missing, loc))["migrations.database"]
    assert finding.cause == "unknown_database" and "does not exist" in finding.summary
    assert finding.data["exception_type"] == "InvalidCatalogNameError"
    await stamp(db_url, "c3")
    role = f"svcnb_reader_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(f'CREATE ROLE "{role}" LOGIN')
        as_role = db_url.replace("postgres@", f"{role}@", 1)
        denied = (await mig.check(as_role, loc))["migrations.database"]
        assert denied.cause == "permission_denied"
        assert "GRANT SELECT ON alembic_version" in denied.fix
    finally:
        await conn.execute(f'DROP OWNED BY "{role}"')
        await conn.execute(f'DROP ROLE "{role}"')
        await conn.close()


async def test_refused_and_hung_database(
    tmp_path: Path, refused_port: int, silent_server: object
) -> None:
    loc = make_scripts(tmp_path, LINEAR)
    refused = await mig.check(
        f"postgresql://postgres:s3cretpw@127.0.0.1:{refused_port}/x", loc, timeout=2
    )
    finding = refused["migrations.database"]
    assert finding.status is Status.FAIL and "svc_nb.db.check" in finding.fix
    assert finding.cause == "connect_failed" and "exception" not in finding.data
    assert "s3cretpw" not in str(refused)
    port = silent_server.port  # type: ignore[attr-defined]
    started = time.perf_counter()
    hung = await mig.check(f"postgresql://postgres@127.0.0.1:{port}/x", loc, timeout=0.8)
    assert time.perf_counter() - started < 0.8 + 0.3
    assert "did not answer within 0.8 s" in hung["migrations.database"].summary
    assert hung["migrations.database"].cause == "timeout"
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
    assert no_url.cause == "not_configured"
    assert "no database URL" in no_url.summary
    no_dir = await builder({"SQL_URL": db_url}, 2.0)
    assert isinstance(no_dir, Finding) and "no scripts folder" in no_dir.summary
    assert no_dir.cause == "scripts_missing"
    loc = make_scripts(tmp_path / "x", LINEAR)
    await stamp(db_url, "c3")
    ran = await builder({"SQL_URL": db_url, "SVC_NB_MIGRATIONS": str(loc)}, 2.0)
    assert isinstance(ran, Report) and ran["migrations.state"].status is Status.OK
    from svc_nb._diagnose import registered_checks

    assert "migrations" in registered_checks()


def test_every_cause_has_a_meaning_and_an_explanation() -> None:
    from svc_nb.migrations._causes import EXPLAIN

    for cause in mig.MigrationsCause:
        assert cause.description, cause
        assert cause in EXPLAIN, cause
