"""The runbook paths in a real browser: an `svc-nb open` notebook with its parameters filled,
`%svc doctor` rendered in JupyterLab, and the HTML report of `svc-nb run` read without a kernel.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._browser import (
    SCREENSHOTS,
    JupyterLab,
    LabPage,
    chromium_missing_reason,
    errors_in,
    launch_chromium,
    open_lab_page,
    pw_expect,
)
from tests._support import LOCAL_PG_URL, LOCAL_REDIS_URL

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_REASON = chromium_missing_reason()
if _REASON:
    pytestmark.append(pytest.mark.skip(reason=_REASON))

JWT_SECRET = "browser-open-secret-Hq4Zr8Wm2Xc6Vb0Nk3Lp"


@pytest.fixture(scope="module")
def lab() -> Iterator[JupyterLab]:
    from svc_nb.runbook import prepare_open

    env = {"SQL_URL": LOCAL_PG_URL, "REDIS_URL": LOCAL_REDIS_URL, "AUTH_JWT__SECRET": JWT_SECRET}
    server = JupyterLab(env=env)
    plan = prepare_open("tokens.exp", server.root, [("TOKEN", "")], environ=env)
    server.env.update(plan.env)  # what `svc-nb open` hands JupyterLab (secret -p values)
    (server.root / "pyproject.toml").write_text('[tool.svc-nb]\nsilence = ["db.ssl"]\n')
    with server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def page(lab: JupyterLab, browser: Any) -> Iterator[LabPage]:
    yield from open_lab_page(lab, browser)


def test_an_opened_notebook_runs_with_its_parameters_filled(page: LabPage) -> None:
    path = "04_jwt.ipynb"
    page.open(path)
    try:
        state = page.run_all(path)
        assert errors_in(state) == []
        sources = [c["source"] for c in state["cells"]]
        injected = next(i for i, s in enumerate(sources) if s.startswith("# Parameters\n"))
        assert "JWT_SECRET = os.environ['AUTH_JWT__SECRET']" in sources[injected]
        assert "TOKEN = ''" in sources[injected]
        cell = page.cell(injected)
        pw_expect()(cell).to_contain_text("os.environ['AUTH_JWT__SECRET']")
        assert JWT_SECRET not in page.page.content()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot("svc_nb_open_parameters", cell)
    finally:
        page.close(path)


def test_svc_doctor_magic_renders_in_jupyterlab(lab: JupyterLab, page: LabPage) -> None:
    path = lab.add_notebook(
        "magic_doctor.ipynb",
        [
            "%load_ext svc_nb.magics",
            "%svc doctor --only db --only cache",
        ],
    )
    page.open(path)
    try:
        state = page.run_all(path)
        assert errors_in(state) == []
        table = page.cell(1).locator(".svcnb-doctor")
        expect = pw_expect()
        expect(table).to_be_visible()
        expect(table.locator('tr[data-check="db.auth"][data-status="ok"]')).to_have_count(1)
        muted = table.locator('tr[data-check="db.ssl"][data-silenced="true"]')
        expect(muted).to_contain_text("silenced")
        # JupyterLab serves the relative docs path through its /files/ route; the anchor stays.
        link = muted.locator(".svcnb-links a")
        expect(link).to_have_attribute("href", re.compile(r"docs/causes\.md.*#db-[a-z_]+$"))
        expect(muted).to_contain_text("svc-nb open db.ssl")
        page.screenshot("svc_doctor_magic", table)
    finally:
        page.close(path)


def test_run_report_html_reads_without_a_kernel_or_network(browser: Any, tmp_path: Path) -> None:
    import nbformat

    from svc_nb import tokens
    from svc_nb.runbook import run_notebook

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('KEY = "placeholder"\nLEEWAY = 0')
    params.metadata["tags"] = ["parameters"]
    token = tokens.make(secret=JWT_SECRET, lifetime=900, now=time.time() - 7200)
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Token incident"),
        params,
        nbformat.v4.new_code_cell(
            f"from svc_nb import widgets\nwidgets.jwt_inspector({token!r}, KEY)"
        ),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "incident.ipynb")
    result = run_notebook(
        str(tmp_path / "incident.ipynb"),
        [("KEY", JWT_SECRET), ("LEEWAY", "5")],
        out=tmp_path / "runs",
    )
    assert result.ok, result.failure

    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    tab.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort()
        ),
    )
    try:
        tab.goto(result.html.as_uri())
        expect = pw_expect()
        banner = tab.locator(".svcnb-run-report")
        expect(banner).to_have_attribute("data-status", "ok")
        expect(banner).to_contain_text("incident.ipynb")
        expect(banner).to_contain_text("(secret, from $SVC_NB_PARAM_KEY)")
        expect(banner).to_contain_text("LEEWAY")
        snapshot = tab.locator(".svcnb-widget-snapshot")
        expect(snapshot).to_have_count(1)
        expect(snapshot.locator(".svcnb-verdict")).to_contain_text("expired")
        assert JWT_SECRET not in tab.content()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / "svc_nb_run_report.png"), full_page=False)
    finally:
        tab.close()
