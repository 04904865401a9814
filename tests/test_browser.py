"""The bundled notebooks and widgets in a real browser: JupyterLab + headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from svc_nb._resources import notebook_paths
from svc_nb.cli import copy_notebooks
from tests._browser import CHROMIUM, CHROMIUM_ARGS, JupyterLab, LabPage, chromium_missing_reason, errors_in
from tests._support import LOCAL_PG_URL, LOCAL_REDIS_URL

pytestmark = [pytest.mark.browser]

_REASON = chromium_missing_reason()
if _REASON:  # never silently: the reason is printed in the summary (-ra)
    pytestmark.append(pytest.mark.skip(reason=_REASON))


@pytest.fixture(scope="module")
def lab() -> Iterator[JupyterLab]:
    server = JupyterLab(env={"SQL_URL": LOCAL_PG_URL, "REDIS_URL": LOCAL_REDIS_URL})
    copy_notebooks(server.root)
    with server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(lab: JupyterLab, browser: Any) -> Iterator[LabPage]:
    lab_page = LabPage(lab, browser)
    yield lab_page
    lab_page.close()


@pytest.mark.parametrize("name", [p.name for p in notebook_paths()])
def test_notebook_runs_in_jupyterlab_without_errors(page: LabPage, name: str) -> None:
    page.open(name)
    state = page.run_all()
    page.screenshot(name.removesuffix(".ipynb"))
    assert errors_in(state) == []
    code = [c for c in state["cells"] if c["type"] == "code"]
    assert code and all(c["count"] is not None for c in code)
