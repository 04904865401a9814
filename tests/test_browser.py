"""The bundled notebooks and widgets in a real browser: JupyterLab + headless Chromium.

One JupyterLab server and one Chromium tab serve the whole module: each test
opens its notebook in that tab, runs it and closes it (shutting its kernel
down). Widget tests write small notebooks into the lab root, run them, then
type, paste and click in the rendered widgets with Playwright and assert on
what the page shows. Every state is screenshotted into build/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from svc_nb._resources import notebook_paths
from svc_nb.cli import copy_notebooks
from tests._browser import (
    SCREENSHOTS,
    JupyterLab,
    LabPage,
    NotebookTimeout,
    chromium_missing_reason,
    errors_in,
    launch_chromium,
    open_lab_page,
    pw_expect,
)
from tests._support import LOCAL_PG_URL, LOCAL_REDIS_URL, closed_port

pytestmark = [pytest.mark.browser]

_REASON = chromium_missing_reason()
if _REASON:  # never silently: the reason is printed in the summary (-ra)
    pytestmark.append(pytest.mark.skip(reason=_REASON))

# SVC_NB_UPDATE_DOCS_SCREENSHOTS=1 also refreshes the README's committed PNGs.
DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
_DOCS_MAX_WIDTH = 900


def _publish(shot: Path, name: str) -> None:
    """Copy a screenshot into docs/screenshots (downscaled, palette PNG) when asked to."""
    if not os.environ.get("SVC_NB_UPDATE_DOCS_SCREENSHOTS"):
        return
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = DOCS_SCREENSHOTS / f"{name}.png"
    try:
        from PIL import Image
    except ImportError:
        shutil.copyfile(shot, target)
        return
    with Image.open(shot) as image:
        img = image.convert("RGB")
        if img.width > _DOCS_MAX_WIDTH:
            img = img.resize(
                (_DOCS_MAX_WIDTH, round(img.height * _DOCS_MAX_WIDTH / img.width)),
                Image.Resampling.LANCZOS,
            )
        # 128 colours keep text crisp and the file well under 150 KB.
        img.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lab() -> Iterator[JupyterLab]:
    server = JupyterLab(env={"SQL_URL": LOCAL_PG_URL, "REDIS_URL": LOCAL_REDIS_URL})
    copy_notebooks(server.root)
    with server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def page(lab: JupyterLab, browser: Any) -> Iterator[LabPage]:
    yield from open_lab_page(lab, browser)


@pytest.fixture
def run_notebook(page: LabPage) -> Iterator[Callable[[str], dict[str, Any]]]:
    """Open a notebook in the shared tab, run it all; it is closed after the test."""
    opened: list[str] = []

    def run(path: str) -> dict[str, Any]:
        opened.append(path)
        page.open(path)
        return page.run_all(path)

    yield run
    for path in opened:
        page.close(path)


# --------------------------------------------------------------------------- every bundled notebook


def _widget_cells(state: dict[str, Any]) -> list[int]:
    return [
        i
        for i, c in enumerate(state["cells"])
        if any(
            "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c["outputs"]
        )
    ]


def _check_timeline_chart(page: LabPage, state: dict[str, Any]) -> None:
    """05: the webhook attempt timeline is an image/png output shown as a data: URL <img>."""
    cells = [i for i, c in enumerate(state["cells"]) if "plots.attempt_timeline(" in c["source"]]
    assert cells, "05_webhooks.ipynb no longer draws plots.attempt_timeline(...)"
    for index in cells:
        assert any("image/png" in o.get("data", {}) for o in state["cells"][index]["outputs"]), (
            f"cell {index} (attempt_timeline) has no image/png output: "
            f"{[list(o.get('data', {})) for o in state['cells'][index]['outputs']]}"
        )
        image = page.cell(index).locator('.jp-OutputArea-output img[src^="data:image/png"]')
        pw_expect()(image).to_be_visible()
        box = image.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 150, f"chart image too small: {box}"
        natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert natural[0] > 300 and natural[1] > 150, (
            f"the PNG did not decode: natural size {natural}"
        )
    # The last timeline (many deliveries, retries, give-ups) is the telling one.
    _publish(page.screenshot("webhook_timeline", image), "webhook_timeline")


def _check_dashboard_table(page: LabPage, state: dict[str, Any]) -> None:
    """00: the dashboard finished in the page: a light per check and the findings table."""
    index = _widget_cells(state)[0]
    area = page.cell(index).locator(".jp-OutputArea")
    pw_expect()(area.locator("tr[data-status]").first).to_be_visible(timeout=20_000)
    pw_expect()(area.locator(".widget-html").first).not_to_contain_text("running", timeout=20_000)
    assert area.locator("code", has_text="cache.connect").count() >= 1
    _publish(page.screenshot("dashboard", area, max_height=640), "dashboard")


_EXTRA_CHECKS: dict[str, Callable[[LabPage, dict[str, Any]], None]] = {
    "00_quick_diagnostics.ipynb": _check_dashboard_table,
    "05_webhooks.ipynb": _check_timeline_chart,
}


@pytest.mark.parametrize("name", [p.name for p in notebook_paths()])
def test_notebook_runs_in_jupyterlab_without_errors(
    page: LabPage, run_notebook: Callable[[str], dict[str, Any]], name: str
) -> None:
    state = run_notebook(name)
    page.screenshot_notebook(name.removesuffix(".ipynb"))
    assert errors_in(state) == []
    code = [c for c in state["cells"] if c["type"] == "code"]
    assert code and all(c["count"] is not None for c in code)
    # Widgets really render (the jupyter-widgets extension is active), none failed to display.
    for index in _widget_cells(state):
        pw_expect()(
            page.cell(index).locator(".jp-OutputArea .jupyter-widgets").first
        ).to_be_visible()
    assert page.page.get_by_text("Error displaying widget").count() == 0
    if name in _EXTRA_CHECKS:
        _EXTRA_CHECKS[name](page, state)


# --------------------------------------------------------------------------- widgets, driven by hand

_JWT_KEY = "browser-jwt-secret-" + "k" * 24


def test_jwt_inspector_shows_expired_verdict_and_timeline(
    lab: JupyterLab, page: LabPage, run_notebook: Callable[[str], dict[str, Any]]
) -> None:
    from svc_nb import tokens

    expect = pw_expect()
    # Expired 120 s ago: within the leeway slider's range, so the slider can rescue it.
    token = tokens.make(secret=_JWT_KEY, lifetime=900, now=time.time() - 1020)
    path = lab.add_notebook(
        "widget_jwt.ipynb",
        [
            "from svc_nb import widgets\ninspector = widgets.jwt_inspector()\ninspector",
        ],
    )
    assert errors_in(run_notebook(path)) == []
    area = page.cell(0).locator(".jp-OutputArea")
    expect(area.locator("textarea")).to_be_visible()
    expect(area).to_contain_text("Paste a token above")

    area.locator("textarea").fill("Bearer " + token)
    verdict = area.locator(".svcnb-verdict")
    expect(verdict).to_have_attribute("data-verdict", "invalid")
    expect(verdict).to_contain_text("INVALID")
    expect(verdict).to_contain_text(re.compile(r"expired [\d.]+ min ago"))
    # The timeline: exp drawn left of now, the validity window red.
    timeline = area.locator("svg.svcnb-timeline")
    expect(timeline).to_be_visible()
    expect(timeline.locator('g.svcnb-mark[data-mark="exp"]')).to_contain_text("exp ")
    exp_x = float(
        timeline.locator('g.svcnb-mark[data-mark="exp"] line').get_attribute("x1") or "nan"
    )
    now_x = float(
        timeline.locator('g.svcnb-mark[data-mark="now"] line').get_attribute("x1") or "nan"
    )
    assert exp_x < now_x, f"exp ({exp_x}) should be drawn before now ({now_x})"
    assert timeline.locator("line.svcnb-valid-window").get_attribute("stroke") == "#cf222e"
    expect(area.locator("table.svcnb-claims")).to_contain_text("exp")
    _publish(page.screenshot("widget_jwt_expired", area, max_height=660), "jwt_inspector_expired")

    # The key applies on Enter; it verifies the signature and is never shown.
    key = area.locator("input[type=password]")
    key.fill(_JWT_KEY)
    key.press("Enter")
    expect(key).to_have_value("")  # emptied once read: the kernel keeps the key
    expect(
        area.locator(
            "tr[data-status=ok]", has=page.page.locator("code", has_text="tokens.signature")
        )
    ).to_be_visible()
    expect(verdict).to_have_attribute("data-verdict", "invalid")
    assert _JWT_KEY not in area.inner_text()

    # Leeway 300 s covers the 120 s: the verdict turns valid, exp becomes a warning.
    readout = area.locator(".widget-readout").first
    readout.click()
    page.page.keyboard.press("Control+A")
    page.page.keyboard.type("300")
    page.page.keyboard.press("Enter")
    expect(verdict).to_have_attribute("data-verdict", "valid")
    expect(
        area.locator("tr[data-status=warn]", has=page.page.locator("code", has_text="tokens.exp"))
    ).to_contain_text("leeway")
    page.screenshot("widget_jwt_leeway", area)


def test_signature_checker_explains_wrong_secret(
    lab: JupyterLab, page: LabPage, run_notebook: Callable[[str], dict[str, Any]]
) -> None:
    from svc_nb.webhooks import sign

    expect = pw_expect()
    body = '{"order_id": 42, "amount": "19.90", "topic": "order.paid"}'
    right, wrong = "whsec-right-" + "r" * 20, "whsec-wrong-" + "w" * 20
    headers = "\n".join(f"{k}: {v}" for k, v in sign(body, right).items())
    path = lab.add_notebook(
        "widget_signature.ipynb",
        [
            "from svc_nb import widgets\nchecker = widgets.signature_checker()\nchecker",
        ],
    )
    assert errors_in(run_notebook(path)) == []
    area = page.cell(0).locator(".jp-OutputArea")
    boxes = area.locator("textarea")
    expect(boxes).to_have_count(2)
    boxes.nth(0).fill(body)
    boxes.nth(1).fill(headers)
    expect(area).to_contain_text("Detected scheme: svc-infra")
    expect(area).to_contain_text("Type the secret")

    # The secret applies on Enter; the field is emptied then (the kernel keeps the secret).
    secret = area.locator("input[type=password]")
    secret.fill(wrong)
    secret.press("Enter")
    expect(secret).to_have_value("")
    verdict = area.locator("[data-verdict]")
    expect(verdict).to_have_attribute("data-verdict", "rejected")
    expect(verdict).to_have_attribute("data-cause", "wrong_secret")
    expect(verdict).to_contain_text("does not match")
    failed = area.locator(
        "tr[data-status=fail]", has=page.page.locator("code", has_text="webhooks.signature")
    )
    expect(failed).to_be_visible()
    expect(failed.locator(".svcnb-fix")).to_be_visible()  # the explanation comes with a fix
    text = area.inner_text()
    assert wrong not in text and right not in text, "a secret was echoed into the page"
    page.screenshot("widget_signature_mismatch", area)

    # The same inputs with the right secret verify: the verdict really depends on the secret.
    secret.fill(right)
    secret.press("Enter")
    expect(verdict).to_have_attribute("data-verdict", "valid")
    page.screenshot("widget_signature_valid", area)


_RECORD_HEADER_JS = """
(el) => {
  window.__svcnbHeaders = [el.textContent];
  new MutationObserver(() => window.__svcnbHeaders.push(el.textContent))
    .observe(el, {subtree: true, childList: true, characterData: true});
}
"""


def test_dashboard_rerun_button_refreshes_the_table(
    lab: JupyterLab, page: LabPage, run_notebook: Callable[[str], dict[str, Any]]
) -> None:
    expect = pw_expect()
    path = lab.add_notebook(
        "widget_dashboard.ipynb",
        [
            f"import os\nos.environ['REDIS_URL'] = {LOCAL_REDIS_URL!r}\nos.environ['SQL_URL'] = {LOCAL_PG_URL!r}\n"
            "from svc_nb import widgets\ndash = widgets.dashboard(timeout=3)\ndash",
            "await dash.until_done(timeout=30)\nprint('first run done')",
        ],
    )
    assert errors_in(run_notebook(path)) == []
    area = page.cell(0).locator(".jp-OutputArea")
    cache_row = area.locator(
        "tr[data-status]", has=page.page.locator("code", has_text="cache.connect")
    )
    expect(cache_row).to_have_attribute("data-status", "ok", timeout=20_000)
    button = area.locator("button.widget-button", has_text="Re-run")
    expect(button).to_be_enabled()
    page.screenshot("widget_dashboard_before", area)

    # Break Redis for this kernel, then press the button in the page.
    port = closed_port()
    reply = page.execute(path, f"os.environ['REDIS_URL'] = 'redis://127.0.0.1:{port}/0'")
    assert reply["status"] == "ok", reply
    header = area.locator(".widget-hbox .widget-html").first
    header.evaluate(_RECORD_HEADER_JS)
    button.click()
    expect(cache_row).to_have_attribute("data-status", "fail", timeout=20_000)
    expect(cache_row).to_contain_text(str(port))
    expect(header).to_contain_text("FAIL")
    expect(button).to_be_enabled()
    seen = page.page.evaluate("() => window.__svcnbHeaders")
    assert any("running" in text for text in seen), (
        f"no 'running' state shown after the click: {seen}"
    )
    page.screenshot("widget_dashboard_after_rerun", area)
    assert SCREENSHOTS.joinpath("widget_dashboard_after_rerun.png").stat().st_size > 1000


# --------------------------------------------------------------------------- the harness can fail


def test_harness_reports_error_outputs_and_stops_there(
    lab: JupyterLab, run_notebook: Callable[[str], dict[str, Any]]
) -> None:
    path = lab.add_notebook(
        "harness_error.ipynb",
        [
            "x = 1",
            "raise ValueError('boom in the browser')",
            "y = 2",
        ],
    )
    state = run_notebook(path)
    assert errors_in(state) == ["cell 1: ValueError: boom in the browser"]
    assert state["cells"][0]["count"] is not None
    assert state["cells"][2]["count"] is None  # JupyterLab's run-all stops at the error


def test_harness_timeout_names_the_notebook_and_the_cells(lab: JupyterLab, page: LabPage) -> None:
    path = lab.add_notebook("harness_hang.ipynb", ["import time\ntime.sleep(60)", "z = 3"])
    page.open(path)
    try:
        with pytest.raises(NotebookTimeout) as caught:
            page.run_all(path, timeout_s=4)
    finally:
        page.close(path)  # shuts the busy kernel down
    message = str(caught.value)
    assert message.startswith("harness_hang.ipynb: not finished after 4s")
    assert "cell 0 still running: import time" in message
    assert "cell 1 queued: z = 3" in message


# --------------------------------------------------------------------------- executed HTML, offline


def test_executed_html_shows_the_widgets_without_kernel_or_network(
    browser: Any, tmp_path: Path
) -> None:
    """The main job's HTML (scripts/run_notebooks.py) read in Chromium with the network cut off."""
    import importlib.util

    import nbformat

    from svc_nb import tokens

    spec = importlib.util.spec_from_file_location(
        "run_notebooks", Path(__file__).resolve().parent.parent / "scripts" / "run_notebooks.py"
    )
    assert spec and spec.loader
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    token = tokens.make(secret=_JWT_KEY, lifetime=900, now=time.time() - 7200)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"from svc_nb import widgets\nwidgets.jwt_inspector({token!r})")
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "offline.ipynb")
    ok, _, message = runner.execute(tmp_path / "offline.ipynb", tmp_path, 60)
    assert ok, message

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requested: list[str] = []

    def only_files(route: Any) -> None:
        requested.append(route.request.url)
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            route.abort()  # the CDN widget renderer: unreachable, as on an offline laptop

    page.route("**/*", only_files)
    try:
        page.goto((tmp_path / "offline.html").as_uri())
        snapshot = page.locator(".svcnb-widget-snapshot")
        pw_expect()(snapshot).to_have_count(1)
        pw_expect()(snapshot.locator(".svcnb-verdict")).to_have_attribute("data-verdict", "invalid")
        pw_expect()(snapshot.locator(".svcnb-verdict")).to_contain_text("expired")
        pw_expect()(snapshot.locator("svg.svcnb-timeline")).to_be_visible()
        assert any("unpkg.com/@jupyter-widgets/html-manager" in url for url in requested)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        snapshot.screenshot(path=str(SCREENSHOTS / "offline_html_jwt_inspector.png"))
    finally:
        page.close()


def test_no_request_left_loopback(page: LabPage) -> None:
    """Everything JupyterLab and the widgets loaded came from 127.0.0.1 (runs after the others)."""
    assert page.blocked == []
