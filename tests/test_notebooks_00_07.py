"""Notebooks 00 (quick diagnostics) and 07 (getting help) run unattended in a real kernel."""

from __future__ import annotations

import importlib.util
import secrets

import pytest

from tests._support import (
    LOCAL_REDIS_URL,
    NOTEBOOKS,
    cell_text,
    execute_notebook,
    notebook_text_outputs,
)

pytestmark = pytest.mark.notebook


def _errors(nb: object) -> list[str]:
    return [
        f"{out['ename']}: {out['evalue']}"
        for cell in nb.cells  # type: ignore[attr-defined]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def test_notebook_00_quick_diagnostics() -> None:
    db_password = f"nbdbpw-{secrets.token_hex(16)}"
    jwt_secret = f"nbjwt-{secrets.token_hex(24)}"
    env = {
        # trust auth ignores the password, so the URL works and still carries a secret to hide
        "SQL_URL": f"postgresql://postgres:{db_password}@127.0.0.1:5432/test",
        "REDIS_URL": LOCAL_REDIS_URL,
        "AUTH_JWT__SECRET": jwt_secret,
        "SVC_NB_TIMEOUT": "3",
    }
    nb = execute_notebook(NOTEBOOKS / "00_quick_diagnostics.ipynb", env)
    assert not _errors(nb)
    text = notebook_text_outputs(nb)
    # The dashboard's run finished and reported; healthy local services: nothing failed.
    assert "worst: " in text and "failing checks: none" in text
    # The guide's snippet says "all set" ...
    assert "JWT_SECRET_KEY: set" in text and "DATABASE_URL: configured" in text
    # ... while check_env says what svc-infra really does with that environment.
    assert "MissingSecretError" in text
    assert "the running app reads only SQL_URL" in text
    assert "WEBHOOK_SECRET is set but svc-infra never reads it" in text
    # The user's own environment: the JWT secret is found under its real name, masked.
    assert "JWT secret from AUTH_JWT__SECRET" in text
    # The .env demo: comma-separated old secrets and a trailing-slash origin are caught.
    assert "is not a JSON list" in text and "trailing slash" in text
    # Python and loop checks in a kernel: %pip, patched loop.
    if importlib.util.find_spec("svc_infra") is None:
        assert "%pip install svc-infra" in text  # the kernel's own pip, not a terminal's
    assert "accepts nested runs (patched)" in text
    for secret in (db_password, jwt_secret):
        assert secret not in text
    # The dashboard cell displayed a widget view.
    dash_cell = next(
        c for c in nb.cells if c.cell_type == "code" and "widgets.dashboard" in c.source
    )
    assert any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in dash_cell.outputs
    )


def test_notebook_07_getting_help() -> None:
    demo_password = f"nbdemopw-{secrets.token_hex(16)}"
    nb = execute_notebook(
        NOTEBOOKS / "07_getting_help.ipynb", {"SVC_NB_DEMO_PASSWORD": demo_password}
    )
    assert not _errors(nb)
    text = notebook_text_outputs(nb)
    # Debug logging shows the records under the cell, scrubbed, once each; then stops.
    log_cell = next(
        c for c in nb.cells if c.cell_type == "code" and "enable_debug_logging(" in c.source
    )
    shown = cell_text(log_cell)
    assert (
        shown.count("svc_infra.webhooks: delivering to https://hooks:****@127.0.0.1:9/receive") == 1
    )
    assert "myservice: Authorization: ****" in shown  # the whole header value, scheme included
    assert "this line is not shown" not in text
    # The bug report from the refused connection, with real server versions.
    assert "# Bug report: ConnectionRefusedError" in text
    assert "| PostgreSQL | PostgreSQL 1" in text and "| Redis | Redis " in text
    assert "## Minimal reproduction" in text and "## Traceback" in text
    assert demo_password not in text
