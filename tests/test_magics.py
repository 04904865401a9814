"""%svc magics, in a real kernel: doctor, jwt, verify, open, and their help."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests._support import LOCAL_PG_URL, LOCAL_REDIS_URL, cell_text, execute_cells

pytestmark = pytest.mark.notebook

SECRET = "magic-webhook-secret-4Rt7yU1oP9"
JWT_KEY = "magic-jwt-key-0123456789-abcdefghijklmnop"


def _html(cell: Any) -> str:
    return "".join(str(o.get("data", {}).get("text/html", "")) for o in cell.get("outputs", []))


def _errors(nb: Any) -> list[str]:
    return [
        f"{o['ename']}: {o['evalue']}"
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]


@pytest.fixture(scope="module")
def kernel_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One kernel session running every magic (starting kernels is the slow part)."""
    workdir = tmp_path_factory.mktemp("magics")
    (workdir / "pyproject.toml").write_text('[tool.svc-nb]\nsilence = ["db.ssl"]\n')
    cells = [
        f"import os\nos.chdir({str(workdir)!r})\n%load_ext svc_nb.magics",
        "r = %svc doctor --only db --only cache\nr",
        "print(r.exit_code, sorted({e.finding.section for e in r.entries}))",
        "%svc doctor --only nosuchsection",
        "from svc_nb import tokens\n"
        f"token = tokens.make(secret={JWT_KEY!r}, lifetime=60, now=1_000_000)\n"
        f"key = {JWT_KEY!r}\n"
        "inspector = %svc jwt token --key key\ninspector",
        "print(inspector.report['tokens.exp'].status.value, inspector.report.header['alg'])",
        "from svc_nb import webhooks\n"
        "body = b'{\"id\": 1}'\n"
        f"headers = webhooks.sign(body, {SECRET!r}, scheme='stripe', timestamp=1_700_000_000)\n"
        f"secret = {SECRET!r}\n"
        "%svc verify --tolerance 1e12",
        "wrong = 'not-the-secret'\nv = %svc verify body headers wrong --tolerance 1e12\n"
        "print(v['webhooks.signature'].status.value, v['webhooks.signature'].cause)",
        "%svc verify nobody headers secret",
        "link = %svc open db.auth --dest nbs\nlink",
        "%svc frobnicate",
        "%svc?",
        # What `%svc?` shows (its pager text does not reach a notebook's outputs).
        "print(get_ipython().object_inspect_text('%svc'))",
    ]
    env = {"SQL_URL": LOCAL_PG_URL, "REDIS_URL": LOCAL_REDIS_URL}
    return execute_cells(cells, env=env), workdir


def test_svc_doctor_renders_the_report_with_silenced_checks(kernel_run: Any) -> None:
    nb, _ = kernel_run
    html = _html(nb.cells[1])
    assert 'class="svcnb-doctor"' in html and 'data-check="db.auth"' in html
    assert 'data-check="db.ssl" data-status="warn" data-silenced="true"' in html
    assert "svc-nb open db.ssl" in html and "docs/causes.md#db-" in html
    exit_code, sections = cell_text(nb.cells[2]).strip().split(" ", 1)
    assert exit_code == "0" and sections == "['cache', 'db']"


def test_svc_doctor_usage_errors_are_one_line_not_tracebacks(kernel_run: Any) -> None:
    nb, _ = kernel_run
    text = cell_text(nb.cells[3])
    assert "UsageError" in text and "no section 'nosuchsection'" in text


def test_svc_jwt_opens_the_inspector_on_a_variable(kernel_run: Any) -> None:
    nb, _ = kernel_run
    assert any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in nb.cells[4].outputs
    )
    assert cell_text(nb.cells[5]).split() == ["fail", "HS256"]  # issued in 1970 + 11 days: expired
    assert JWT_KEY not in json.dumps(nb.cells[4].outputs)


def test_svc_verify_checks_a_signature_from_variables(kernel_run: Any) -> None:
    nb, _ = kernel_run
    assert "webhook signature: OK" in cell_text(nb.cells[6])
    status, cause = cell_text(nb.cells[7]).split()
    assert status == "fail" and cause
    missing = cell_text(nb.cells[8])
    assert "UsageError" in missing and "no variable nobody" in missing


def test_svc_open_links_the_notebook_section(kernel_run: Any) -> None:
    nb, workdir = kernel_run
    html = _html(nb.cells[9])
    assert 'href="nbs/01_database.ipynb#2.-The-staged-connection-check"' in html
    assert "svc-nb open db.auth" in html
    assert (Path(workdir) / "nbs" / "01_database.ipynb").is_file()


def test_svc_help_documents_every_subcommand(kernel_run: Any) -> None:
    nb, _ = kernel_run
    assert "takes a subcommand: doctor, jwt, verify or open" in cell_text(nb.cells[10])
    assert not nb.cells[11].outputs  # `%svc?` goes to the pager: no error, no output
    doc = cell_text(nb.cells[12])
    for usage in ("%svc doctor", "%svc jwt", "%svc verify", "%svc open"):
        assert usage in doc
    assert not [e for e in _errors(nb) if "UsageError" not in e]


def test_load_ext_svc_nb_registers_the_magics(tmp_path: Path) -> None:
    nb = execute_cells(["%load_ext svc_nb", f"%svc open cache --dest {tmp_path / 'nbs'}"])
    assert _errors(nb) == []
    assert "02_redis.ipynb" in cell_text(nb.cells[1])
