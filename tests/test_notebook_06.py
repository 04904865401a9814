"""Notebook 06 runs top to bottom in a real kernel against the local PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests._support import (
    LOCAL_PG_URL,
    NOTEBOOKS,
    cell_text,
    execute_notebook,
    notebook_text_outputs,
)

NOTEBOOK = NOTEBOOKS / "06_environment.ipynb"
PASSWORD = "nb06-s3cret-pw"  # trust auth ignores it; it must never show up in an output


async def _scratch_databases() -> set[str]:
    conn = await asyncpg.connect(LOCAL_PG_URL)
    try:
        rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'svcnb_nb06_%'")
    finally:
        await conn.close()
    return {r[0] for r in rows}


def test_notebook_is_stripped() -> None:
    import nbformat

    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.notebook
def test_notebook_06_runs() -> None:
    before = asyncio.run(_scratch_databases())
    url = LOCAL_PG_URL.replace("postgres@", f"postgres:{PASSWORD}@")
    nb = execute_notebook(NOTEBOOK, {"SQL_URL": url, "SVC_NB_FRONT_END": "http://localhost:3000"})
    text = notebook_text_outputs(nb)
    # 0/3: the guide's asyncio.run() fails in the kernel before svc_nb, and works after it
    assert "cannot be called from a running event loop" in text
    assert "asyncio.run (now)  -> main() finished" in text
    assert "svc_nb.run         -> main() finished" in text
    # 1: which interpreter, and whether svc_infra imports here
    assert "python.svc_infra" in text
    # 2: every Alembic state, in the order the notebook creates them
    for expected in (
        "the database was never migrated",
        "pending: ['c3']",
        "database is up to date at c3",
        "which no script defines (out of sync)",
        "2 heads: d4",
        "merge revision: m5",
        "database is up to date at m5",
        "revises gone42, which no script defines",
        "revision graph has a cycle",
    ):
        assert expected in text, expected
    # 4: CORS against the local Starlette app
    assert "preflight: yes  Content-Type 'application/json'" in text
    assert "method PUT not in Access-Control-Allow-Methods" in text
    assert "header(s) not allowed: authorization" in text
    assert "all clear: True" in text
    # no error output, no secret, the bearer token's signature hidden
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    assert PASSWORD not in text
    assert "c2lnbmF0dXJl" not in text
    # the scratch database was dropped again
    assert asyncio.run(_scratch_databases()) == before
    assert any("API stopped" in cell_text(c) for c in nb.cells)
