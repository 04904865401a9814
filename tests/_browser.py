"""JupyterLab on loopback driven by Debian's headless Chromium through Playwright.

``JupyterLab`` starts a real server in a temporary folder; ``LabPage`` opens a
notebook, runs every cell through JupyterLab's own commands (the app is exposed
to the page with ``expose_app_in_browser``), waits for the kernel to go idle and
reads the cells' outputs back from the notebook model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests._support import free_port

CHROMIUM = os.environ.get("SVC_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` (scripts/bootstrap.sh does)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Python Playwright is missing: pip install -e '.[dev]'"
    return None


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 serving a temporary folder."""

    def __init__(self, root: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="svcnb-lab-"))
        self.port = free_port()
        self.env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.root / ".lab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> JupyterLab:
        # An isolated config dir: no user settings leak in, and the news
        # announcement toast (it would cover the screenshots) is disabled.
        config_dir = self.root / ".jupyter-config"
        (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
        (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
        ))
        self.env["JUPYTER_CONFIG_DIR"] = str(config_dir)
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=", "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--ServerApp.allow_root=True",
        ]
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env,
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"JupyterLab did not start within {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def add_notebook(self, name: str, sources: list[str]) -> str:
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, self.root / name)
        return name

    def __enter__(self) -> JupyterLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


_RUN_ALL_JS = """
async (name) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  await app.commands.execute('notebook:run-all-cells');
  return true;
}
"""

_STATE_JS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const json = cell.toJSON();
    cells.push({type: json.cell_type, count: json.execution_count ?? null, outputs: json.outputs || []});
  }
  return {status: kernel ? kernel.status : 'none', cells};
}
"""


class LabPage:
    """One browser page on a running JupyterLab."""

    def __init__(self, lab: JupyterLab, browser: Any) -> None:
        self.lab = lab
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})

    def open(self, name: str, timeout_ms: int = 60_000) -> None:
        self.page.goto(f"{self.lab.url}/lab/tree/{name}", timeout=timeout_ms)
        self.page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
            "window.jupyterapp.shell.currentWidget.sessionContext && "
            "window.jupyterapp.shell.currentWidget.sessionContext.session && "
            "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel && "
            "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=timeout_ms,
        )

    def state(self) -> dict[str, Any]:
        return self.page.evaluate(_STATE_JS)  # type: ignore[no-any-return]

    def run_all(self, timeout_s: float = 240) -> dict[str, Any]:
        """Run every cell and wait until each code cell has run and the kernel is idle."""
        self.page.evaluate(_RUN_ALL_JS, "")
        deadline = time.monotonic() + timeout_s
        idle_since: float | None = None
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = self.state()
            code = [c for c in state["cells"] if c["type"] == "code"]
            errored = any(o.get("output_type") == "error" for c in code for o in c["outputs"])
            finished = all(c["count"] is not None for c in code) or errored
            if finished and state["status"] == "idle":
                idle_since = idle_since or time.monotonic()
                # Let widget-triggered background work and displays settle.
                if time.monotonic() - idle_since > 1.0:
                    return state
            else:
                idle_since = None
            time.sleep(0.25)
        raise TimeoutError(f"cells still running after {timeout_s}s: {json.dumps(state)[:2000]}")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def close(self) -> None:
        self.page.close()


def errors_in(state: dict[str, Any]) -> list[str]:
    """The error outputs of every cell, as 'ename: evalue'."""
    return [
        f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, c in enumerate(state["cells"])
        for o in c["outputs"]
        if o.get("output_type") == "error"
    ]
