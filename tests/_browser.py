"""JupyterLab on loopback driven by Debian's headless Chromium through Playwright.

``JupyterLab`` starts a real server in a temporary folder (isolated settings,
workspaces and config: nothing from the user's own JupyterLab leaks in).
``LabPage`` is one browser tab on it: it opens notebooks one after the other in
the same tab (loading JupyterLab once), runs every cell through JupyterLab's
own command (the app is exposed to the page with ``expose_app_in_browser``),
waits until the kernel is idle, every code cell has run and the outputs have
stopped changing, and reads the cells back from the notebook model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests._support import free_port


def find_chromium() -> str | None:
    """The Chromium to drive: $SVC_NB_CHROMIUM, Debian's, or one Playwright downloaded earlier."""
    explicit = os.environ.get("SVC_NB_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    cache = Path(
        os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache" / "ms-playwright")
    )
    managed = sorted(cache.glob("chromium-*/chrome-linux*/chrome"))
    return str(managed[-1]) if managed else None


CHROMIUM = find_chromium() or os.environ.get("SVC_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"

# JupyterLab user settings for the test server: every cell stays in the DOM (the
# default windowing detaches off-screen cells, which locators could not find) and
# no news/update toast covers the screenshots.
_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return (
            f"no Chromium found (looked for $SVC_NB_CHROMIUM, chromium, chromium-browser, google-chrome "
            f"and Playwright's download; {CHROMIUM} does not exist): install it with "
            "`apt-get install chromium` (scripts/bootstrap.sh does) or set SVC_NB_CHROMIUM"
        )
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Python Playwright is missing: pip install -e '.[dev]'"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is missing: pip install -e '.[lab]'"
    return None


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 serving a temporary folder."""

    def __init__(self, root: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="svcnb-lab-"))
        self.port = free_port()
        self.env = {
            **os.environ,
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        # Server state lives beside (not inside) the served folder, so the file
        # browser in the screenshots shows only the notebooks.
        self.state_dir = Path(tempfile.mkdtemp(prefix="svcnb-labstate-"))
        self.log = self.state_dir / "lab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> JupyterLab:
        config_dir = self.state_dir / "config"
        (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
        (config_dir / "labconfig" / "page_config.json").write_text(
            json.dumps(
                {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
            )
        )
        settings_dir = self.state_dir / "settings"
        for rel, value in _SETTINGS.items():
            path = settings_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        self.env["JUPYTER_CONFIG_DIR"] = str(config_dir)
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.user_settings_dir={settings_dir}",
            f"--LabApp.workspaces_dir={self.state_dir / 'workspaces'}",
            "--ServerApp.allow_root=True",
        ]
        with self.log.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                cmd, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"JupyterLab did not start within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log (kernel tracebacks land here)."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def add_notebook(self, name: str, sources: list[str]) -> str:
        """Write a notebook of code cells into the served folder; returns its path there."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, self.root / name)
        return name

    def __enter__(self) -> JupyterLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)


# The notebook panel showing `path` (not merely the current widget: a restored
# workspace or a late focus change must not make us drive the wrong notebook).
_FIND_PANEL_JS = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
};
"""

_READY_JS = (
    _FIND_PANEL_JS
    + """
(path) => {
  const panel = findPanel(path);
  if (!panel || !panel.context.isReady) return false;
  const session = panel.sessionContext.session;
  return !!(session && session.kernel && session.kernel.status === 'idle');
}
"""
)

_OPEN_JS = """
async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); return true; }
"""

_RUN_ALL_JS = (
    _FIND_PANEL_JS
    + """
async (path) => {
  const app = window.jupyterapp;
  const panel = findPanel(path);
  if (!panel) throw new Error('notebook ' + path + ' is not open');
  await panel.context.ready;
  await panel.sessionContext.ready;
  app.shell.activateById(panel.id);
  if (app.shell.currentWidget !== panel) throw new Error('could not activate ' + path);
  // Not awaited: the Python side polls, so a hung cell becomes a readable timeout.
  app.commands.execute('notebook:run-all-cells').catch(() => {});
  return true;
}
"""
)

_STATE_JS = (
    _FIND_PANEL_JS
    + """
(path) => {
  const panel = findPanel(path);
  if (!panel) return null;
  const session = panel.sessionContext.session;
  const kernel = session && session.kernel;
  const cells = [];
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const json = cell.toJSON();
    const source = Array.isArray(json.source) ? json.source.join('') : (json.source || '');
    cells.push({type: json.cell_type, count: json.execution_count ?? null, outputs: json.outputs || [],
                running: cell.executionState === 'running', source: source.slice(0, 200)});
  }
  return {status: kernel ? kernel.status : 'none', cells};
}
"""
)

_EXECUTE_JS = (
    _FIND_PANEL_JS
    + """
async ([path, code]) => {
  const kernel = findPanel(path).sessionContext.session.kernel;
  const future = kernel.requestExecute({code, store_history: false});
  const texts = [];
  future.onIOPub = (msg) => {
    const c = msg.content;
    if (msg.header.msg_type === 'stream') texts.push(c.text);
    if (msg.header.msg_type === 'error') texts.push(c.ename + ': ' + c.evalue);
  };
  const reply = await future.done;
  return {status: reply.content.status, text: texts.join('')};
}
"""
)

_CLOSE_JS = (
    _FIND_PANEL_JS
    + """
async (path) => {
  const panel = findPanel(path);
  if (!panel) return false;
  panel.context.model.dirty = false;  // no "save changes?" dialog
  try { await panel.sessionContext.shutdown(); } catch (e) {}
  panel.dispose();
  return true;
}
"""
)


def pw_expect() -> Any:
    """Playwright's ``expect`` (imported when a browser test runs, not when collected)."""
    from playwright.sync_api import expect

    return expect


def launch_chromium() -> Iterator[Any]:
    """A headless Chromium for one test module (``yield from`` it in a fixture)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Generous waits: the suite shares two cores with everything else.
        pw_expect().set_options(timeout=20_000)
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


def open_lab_page(lab: JupyterLab, browser: Any) -> Iterator[LabPage]:
    """One JupyterLab tab for a test module, closed at its end (``yield from`` it)."""
    lab_page = LabPage(lab, browser)
    lab_page.page.set_default_timeout(30_000)
    yield lab_page
    lab_page.close_page()


class NotebookTimeout(TimeoutError):
    """A notebook did not finish in time; the message names the notebook and the cells."""


class LabPage:
    """One browser tab on a running JupyterLab, reused for many notebooks."""

    def __init__(
        self, lab: JupyterLab, browser: Any, *, width: int = 1400, height: int = 1000
    ) -> None:
        self.lab = lab
        self.page = browser.new_page(viewport={"width": width, "height": height})
        # A workspace of our own, reset on load: no notebook from an earlier tab is restored.
        self.workspace = f"svcnb-{uuid.uuid4().hex[:8]}"
        self.loaded = False
        self.console: list[str] = []
        # Loopback only: any other request is aborted before a name is even resolved.
        self.blocked: list[str] = []
        self.page.route("**/*", self._only_loopback)
        self.page.on(
            "console",
            lambda m: (
                self.console.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )

    def _only_loopback(self, route: Any) -> None:
        url = route.request.url
        host = urllib.parse.urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost", "::1"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def open(self, path: str, timeout_ms: int = 60_000) -> None:
        """Open ``path`` (relative to the lab root) and wait until its kernel is idle."""
        self._dismiss_dialogs()
        if not self.loaded:
            self.page.goto(
                f"{self.lab.url}/lab/workspaces/{self.workspace}/tree/{path}?reset",
                timeout=timeout_ms,
            )
            self.page.wait_for_function(
                "() => !!(window.jupyterapp && window.jupyterapp.commands.hasCommand('docmanager:open'))",
                timeout=timeout_ms,
            )
            self.page.evaluate("async () => { await window.jupyterapp.restored; }")
            self.loaded = True
        self.page.evaluate(_OPEN_JS, path)
        try:
            self.page.wait_for_function(_READY_JS, arg=path, timeout=timeout_ms, polling=250)
        except Exception as exc:
            raise NotebookTimeout(
                f"{path}: not open with an idle kernel after {timeout_ms / 1000:g}s "
                f"({exc.__class__.__name__}); server log:\n{self.lab.log_tail(1500)}"
            ) from exc

    def state(self, path: str) -> dict[str, Any]:
        """Kernel status and every cell (type, execution count, outputs, running, source)."""
        state = self.page.evaluate(_STATE_JS, path)
        if state is None:
            raise RuntimeError(f"{path} is not open in the page")
        return state

    def run_all(self, path: str, timeout_s: float = 120, settle_s: float = 1.0) -> dict[str, Any]:
        """Run every cell of ``path``; return its state once it has finished and settled.

        Finished means: the kernel is idle, no cell is running, and every code
        cell has an execution count (or one shows an error: JupyterLab stops a
        run-all there). Settled means the outputs did not change for ``settle_s``.
        """
        self.page.evaluate(_RUN_ALL_JS, path)
        started = time.monotonic()
        deadline = started + timeout_s
        stable_since: float | None = None
        last_digest = ""
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = self.state(path)
            code = [c for c in state["cells"] if c["type"] == "code"]
            errored = any(o.get("output_type") == "error" for c in code for o in c["outputs"])
            finished = (all(c["count"] is not None for c in code) or errored) and not any(
                c["running"] for c in code
            )
            digest = hashlib.sha1(
                json.dumps([c["outputs"] for c in code], sort_keys=True).encode()
            ).hexdigest()
            if finished and state["status"] == "idle" and digest == last_digest:
                stable_since = stable_since or time.monotonic()
                if time.monotonic() - stable_since >= settle_s:
                    return state
            else:
                stable_since = None
            if (
                not finished
                and state["status"] == "idle"
                and time.monotonic() - started > 15
                and not any(c["count"] is not None or c["running"] for c in code)
            ):
                raise NotebookTimeout(
                    f"{path}: run-all did not start any cell within 15s (kernel {state['status']})"
                )
            last_digest = digest
            time.sleep(0.25)
        raise NotebookTimeout(self._describe_timeout(path, state, timeout_s))

    def _describe_timeout(self, path: str, state: dict[str, Any], timeout_s: float) -> str:
        lines = [f"{path}: not finished after {timeout_s:g}s (kernel {state.get('status', '?')})"]
        executing_seen = False
        for index, cell in enumerate(state.get("cells", [])):
            if cell["type"] != "code":
                continue
            if cell["running"] or cell["count"] is None:
                # JupyterLab marks queued cells 'running' too; the first one is executing.
                if cell["running"]:
                    what = "queued" if executing_seen else "still running"
                    executing_seen = True
                else:
                    what = "never ran"
                first = cell["source"].strip().splitlines()[0] if cell["source"].strip() else ""
                lines.append(f"  cell {index} {what}: {first[:100]}")
        return "\n".join(lines)

    def execute(self, path: str, code: str) -> dict[str, str]:
        """Run ``code`` in the kernel of open notebook ``path`` (not added to the notebook)."""
        return self.page.evaluate(_EXECUTE_JS, [path, code])

    def close(self, path: str) -> None:
        """Close notebook ``path`` and shut its kernel down (frees memory for the next one)."""
        self.page.evaluate(_CLOSE_JS, path)

    def cell(self, index: int) -> Any:
        """A locator for cell ``index`` of the notebook shown now (one is open at a time)."""
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)

    def screenshot(self, name: str, locator: Any = None, *, max_height: int | None = None) -> Path:
        """Save the viewport, or just ``locator`` (its top ``max_height`` px), as build/screenshots/<name>.png.

        JupyterLab scrolls inside the notebook panel, so an output taller than the
        panel would come out cut and grey: the viewport grows to fit it first.
        """
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        if locator is None:
            self.page.screenshot(path=str(path), full_page=False)
            return path
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        if box is None:
            raise AssertionError(f"screenshot {name}: the element is not visible")
        height = box["height"] if max_height is None else min(box["height"], max_height)
        original = self.page.viewport_size or {"width": 1400, "height": 1000}
        # Room for JupyterLab's menu, tab, toolbar and status bars around the notebook.
        wanted = int(height) + 400
        if wanted > original["height"]:
            self.page.set_viewport_size({"width": original["width"], "height": wanted})
        try:
            locator.evaluate("e => e.scrollIntoView({block: 'start'})")
            self.page.wait_for_timeout(200)  # let the resized panel lay out
            box = locator.bounding_box()
            assert box is not None
            self.page.screenshot(
                path=str(path),
                clip={
                    "x": box["x"],
                    "y": box["y"],
                    "width": box["width"],
                    "height": min(height, box["height"]),
                },
            )
        finally:
            if wanted > original["height"]:
                self.page.set_viewport_size(original)
        return path

    def screenshot_notebook(self, name: str, max_height: int = 9000) -> Path:
        """The whole open notebook in one picture: the viewport grows to its height (capped)."""
        original = self.page.viewport_size or {"width": 1400, "height": 1000}
        scroller = self.page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer").first
        content = (
            scroller.evaluate("e => e.scrollHeight") if scroller.count() else original["height"]
        )
        # Room for JupyterLab's menu, tab, toolbar and status bars around the notebook.
        height = max(original["height"], min(int(content) + 150, max_height))
        self.page.set_viewport_size({"width": original["width"], "height": height})
        try:
            if scroller.count():
                scroller.evaluate("e => { e.scrollTop = 0; }")
            self.page.wait_for_timeout(300)  # let the resized panel lay out
            return self.screenshot(name)
        finally:
            self.page.set_viewport_size(original)

    def _dismiss_dialogs(self) -> None:
        # A dialog left by an earlier notebook (kernel died, save conflict) would block this one.
        for _ in range(3):
            if self.page.locator(".jp-Dialog").count() == 0:
                return
            self.page.keyboard.press("Escape")
            time.sleep(0.2)

    def close_page(self) -> None:
        self.page.close()


def errors_in(state: dict[str, Any]) -> list[str]:
    """The error outputs of every cell, as 'cell N: ename: evalue'."""
    return [
        f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, c in enumerate(state["cells"])
        for o in c["outputs"]
        if o.get("output_type") == "error"
    ]
