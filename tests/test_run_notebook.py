"""svc-nb run and svc-nb open: parameters injected papermill's way, secrets never written."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
import pytest

from svc_nb._resources import notebook_paths
from svc_nb.runbook import (
    INJECTED_TAG,
    NOTEBOOK_SECTIONS,
    ParameterError,
    ParameterTypeError,
    UnknownCheckError,
    build_injection,
    declared_parameters,
    notebook_for,
    resolve_notebook,
)
from tests._support import LOCAL_PG_URL, free_port

SVC_NB = [sys.executable, "-m", "svc_nb"]
JWT_SECRET = "run-param-secret-7Qx2mZ9vK4pL8nB3cD6fG1hJ5"


def svc_nb(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SVC_NB, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "agg", **(env or {})},
    )


def _user_notebook(path: Path, parameters: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell(parameters)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A user runbook"),
        first,
        *(nbformat.v4.new_code_cell(c) for c in cells),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _all_forms(secret: str) -> list[str]:
    return [
        secret,
        urllib.parse.quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        base64.b64encode(secret.encode()).decode(),
    ]


def _outputs(folder: Path) -> tuple[Path, Path]:
    notebooks = sorted(folder.glob("*.ipynb"))
    htmls = sorted(folder.glob("*.html"))
    assert len(notebooks) == 1 and len(htmls) == 1, list(folder.iterdir())
    return notebooks[0], htmls[0]


# --------------------------------------------------------------------------- the notebook table


def test_every_row_names_a_bundled_notebook_and_a_heading_in_it() -> None:
    headings: dict[str, set[str]] = {}
    for path in notebook_paths():
        nb = nbformat.read(path, as_version=4)
        headings[path.name] = {
            line.lstrip("#").strip()
            for cell in nb.cells
            if cell.cell_type == "markdown"
            for line in cell.source.splitlines()
            if line.startswith("#")
        }
    for prefix, (notebook, section) in NOTEBOOK_SECTIONS.items():
        assert section in headings[notebook], f"{prefix}: {notebook} has no heading {section!r}"


def test_the_longest_prefix_wins_and_unknown_checks_are_refused() -> None:
    assert notebook_for("db.url.password").section.startswith("1. Validate the connection string")
    assert notebook_for("db.auth").section == "2. The staged connection check"
    assert notebook_for("webhooks.queue.dlq").notebook == "05_webhooks.ipynb"
    assert notebook_for("db.auth").anchor == "2.-The-staged-connection-check"
    assert notebook_for("db.auth").command == "svc-nb open db.auth"
    with pytest.raises(UnknownCheckError, match="check ids start with one of"):
        notebook_for("nosuch.check")
    with pytest.raises(UnknownCheckError, match="is not a check id"):
        notebook_for("db auth; rm -rf /")


# --------------------------------------------------------------------------- parameters


def test_bundled_notebooks_declare_typed_parameters() -> None:
    declared = {
        p.name: declared_parameters(nbformat.read(p, as_version=4)) for p in notebook_paths()
    }
    hooks = declared["05_webhooks.ipynb"]
    assert (hooks["QUEUE_DB"].kind, hooks["TIME_SCALE"].kind, hooks["SECRET"].kind) == (
        "int",
        "float",
        "str",
    )
    assert hooks["SECRET"].env == "WEBHOOK_DEMO_SECRET" and hooks["SECRET"].secret_name
    assert declared["03_oauth.ipynb"]["REGISTERED_REDIRECT_URIS"].kind == "list"
    assert declared["01_database.ipynb"]["SQL_URL"].env == "SQL_URL"
    assert all(declared.values()), "every bundled notebook has a parameters cell"


def test_injection_types_values_and_keeps_secrets_out_of_the_source() -> None:
    nb = nbformat.read(resolve_notebook("05")[0], as_version=4)
    declared = declared_parameters(nb)
    injection = build_injection(
        declared,
        [("QUEUE_DB", "7"), ("TIME_SCALE", "0.5"), ("SECRET", "whsec-abc-123-xyz-very-secret")],
    )
    assert "QUEUE_DB = 7\n" in injection.source and "TIME_SCALE = 0.5\n" in injection.source
    assert "whsec-abc" not in injection.source
    assert "SECRET = os.environ['SVC_NB_PARAM_SECRET']" in injection.source
    assert injection.kernel_env == {"SVC_NB_PARAM_SECRET": "whsec-abc-123-xyz-very-secret"}
    with pytest.raises(ParameterTypeError, match="QUEUE_DB takes an integer"):
        build_injection(declared, [("QUEUE_DB", "fifteen")])
    with pytest.raises(ParameterTypeError, match="finite"):
        build_injection(declared, [("TIME_SCALE", "nan")])
    with pytest.raises(ParameterError, match=r"declares no parameter 'NOPE'.*QUEUE_DB"):
        build_injection(declared, [("NOPE", "1")])
    # A URL holding a password is a secret by value, whatever its name.
    url = build_injection(declared, [("REDIS_URL", "redis://:hunter2-pass@127.0.0.1:6379/0")])
    assert "hunter2" not in url.source and url.kernel_env["SVC_NB_PARAM_REDIS_URL"].endswith(
        "6379/0"
    )


def test_wrong_type_message_never_shows_a_secret_value() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("API_TOKEN: int = 0")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    with pytest.raises(ParameterTypeError) as caught:
        build_injection(declared_parameters(nb), [("API_TOKEN", "tok-sEcReT-value")])
    assert "sEcReT" not in str(caught.value) and "not shown" in str(caught.value)


# --------------------------------------------------------------------------- svc-nb run


@pytest.mark.slow
@pytest.mark.notebook
def test_run_a_bundled_notebook_with_a_secret_parameter(tmp_path: Path) -> None:
    result = svc_nb("run", "04", "-p", "JWT_SECRET", JWT_SECRET, "--out", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    executed, html = _outputs(tmp_path / "runs")
    assert f"executed notebook: {Path('runs') / executed.name}" in result.stdout
    # Per-cell progress on stderr, one line per code cell.
    nb = nbformat.read(executed, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == len(code_cells) and all(" ok " in line for line in progress)
    # The injected cell sits right after the parameters cell and reads the secret from the environment.
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    injected = next(i for i, t in enumerate(tags) if INJECTED_TAG in t)
    assert "parameters" in tags[injected - 1]
    assert (
        nb.cells[injected].source.splitlines()[-1]
        == "JWT_SECRET = os.environ['SVC_NB_PARAM_JWT_SECRET']"
    )
    run = nb.metadata["svc_nb"]["run"]
    assert run["parameters"] == {"JWT_SECRET": "(secret, from $SVC_NB_PARAM_JWT_SECRET)"}
    assert run["failed_cell"] is None and run["cells_run"] == len(code_cells)
    for path in (executed, html):
        data = path.read_text(encoding="utf-8")
        for form in _all_forms(JWT_SECRET):
            assert form not in data, f"{path.name} holds the secret ({form[:6]}…)"
        assert not path.stat().st_mode & (
            stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        )  # read-only record
    page = html.read_text(encoding="utf-8")
    assert 'class="svcnb-run-report" data-status="ok"' in page
    assert "application/vnd.jupyter.widget-state+json" in page and "svcnb-widget-snapshot" in page


@pytest.mark.notebook
def test_a_secret_printed_by_a_cell_is_masked_in_every_output(tmp_path: Path) -> None:
    nb_path = _user_notebook(
        tmp_path / "leaky.ipynb",
        'DSN = "postgresql://postgres@127.0.0.1/test"',
        "print(DSN)",
        "DSN",
    )
    dsn = "postgresql://postgres:pw-Leak-9f8e7d@127.0.0.1:5432/test"
    result = svc_nb(
        "run",
        str(nb_path),
        "-p",
        "DSN",
        dsn,
        "--out",
        "out",
        "--html",
        "report.html",
        cwd=tmp_path,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    [executed] = list((tmp_path / "out").glob("*.ipynb"))  # the report went to --html
    assert not list((tmp_path / "out").glob("*.html"))
    for path in (executed, tmp_path / "report.html"):
        text = path.read_text(encoding="utf-8")
        assert "pw-Leak-9f8e7d" not in text
    outputs = [o for c in nbformat.read(executed, as_version=4).cells for o in c.get("outputs", [])]
    assert any(
        "postgresql://postgres:" in str(o) for o in outputs
    )  # the cell ran, the password masked


@pytest.mark.notebook
def test_a_failing_cell_exits_1_names_the_cell_and_still_writes_the_report(tmp_path: Path) -> None:
    nb_path = _user_notebook(
        tmp_path / "fails.ipynb",
        "LIMIT = 3",
        "x = LIMIT * 2",
        "raise RuntimeError(f'limit {LIMIT} too low')",
        "never = 1",
    )
    result = svc_nb(
        "run", str(nb_path), "-p", "LIMIT", "5", "--out", "out", cwd=tmp_path, timeout=180
    )
    assert result.returncode == 1
    assert "cell 4 (A user runbook) failed: RuntimeError: limit 5 too low" in result.stderr
    executed, html = _outputs(tmp_path / "out")
    run = nbformat.read(executed, as_version=4).metadata["svc_nb"]["run"]
    assert run["failed_cell"]["index"] == 4 and run["cells_run"] == 3
    assert 'data-status="failed"' in html.read_text(encoding="utf-8")
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert [line.split()[3] for line in progress] == ["ok", "ok", "ok", "FAIL"]  # cell 5 never ran


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nosuch"], "unknown notebook 'nosuch'"),
        (["run", "04", "-p", "NOPE", "1"], "declares no parameter 'NOPE'"),
        (["run", "05", "-p", "QUEUE_DB", "fifteen"], "QUEUE_DB takes an integer"),
        (["run", "missing/file.ipynb"], "no such notebook file"),
        (["open", "nosuch.check"], "no bundled notebook investigates"),
        (
            ["open", "db.auth", "-p", "TIMEOUT", "3", "-p", "NOPE", "x", "--print-command"],
            "declares no parameter",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = svc_nb(*args, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "svc-nb-runs").exists() or not list((tmp_path / "svc-nb-runs").iterdir())


def test_run_never_overwrites_a_report(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text("yesterday's incident")
    result = svc_nb("run", "04", "--html", "report.html", cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "exists already" in result.stderr
    assert (tmp_path / "report.html").read_text() == "yesterday's incident"


@pytest.mark.slow
@pytest.mark.notebook
def test_papermill_runs_a_bundled_notebook(tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "pm.ipynb"
    papermill.execute_notebook(
        str(resolve_notebook("04")[0]),
        str(out),
        parameters={"TOKEN": ""},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    nb = nbformat.read(out, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    injected = tags.index(["injected-parameters"])
    assert "parameters" in tags[injected - 1]
    assert not [
        o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]


# --------------------------------------------------------------------------- svc-nb open


def test_open_fills_the_parameters_and_prints_the_lab_command(tmp_path: Path) -> None:
    env = {"SQL_URL": LOCAL_PG_URL, "SVC_NB_TIMEOUT": "4"}
    result = svc_nb(
        "open",
        "db.auth",
        "--dest",
        "nbs",
        "-p",
        "TIMEOUT",
        "2",
        "--print-command",
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "section “2. The staged connection check”" in result.stdout
    assert "lab/tree/01_database.ipynb#2.-The-staged-connection-check" in result.stdout
    assert (
        result.stdout.strip()
        .splitlines()[-1]
        .endswith(str((tmp_path / "nbs" / "01_database.ipynb").resolve()))
    )
    nb = nbformat.read(tmp_path / "nbs" / "01_database.ipynb", as_version=4)
    injected = next(c for c in nb.cells if INJECTED_TAG in c.metadata.get("tags", []))
    assert f"SQL_URL = {LOCAL_PG_URL!r}" in injected.source  # from the environment
    assert "TIMEOUT = '2'" in injected.source  # the flag wins over SVC_NB_TIMEOUT
    # The copy stays svc_nb's: a later `svc-nb notebooks` refreshes it instead of keeping it.
    again = svc_nb("notebooks", "nbs", cwd=tmp_path, timeout=60)
    assert "updated" in again.stdout and "kept" not in again.stdout


def test_open_keeps_a_notebook_the_user_edited(tmp_path: Path) -> None:
    svc_nb("notebooks", "nbs", cwd=tmp_path, timeout=60)
    path = tmp_path / "nbs" / "04_jwt.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("my incident notes"))
    nbformat.write(nb, path)
    secret_env = {"AUTH_JWT__SECRET": "open-env-secret-Zk29xQ-long-enough-value"}
    result = svc_nb(
        "open",
        "tokens.exp",
        "--dest",
        "nbs",
        "--print-command",
        cwd=tmp_path,
        env=secret_env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    text = path.read_text()
    assert "my incident notes" in text
    assert "open-env-secret" not in text and "open-env-secret" not in result.stdout
    assert "JWT_SECRET = os.environ['AUTH_JWT__SECRET']" in text


@pytest.mark.slow
def test_open_starts_jupyterlab_on_the_filled_notebook(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            *SVC_NB,
            "open",
            "cache.connect",
            "--dest",
            "nbs",
            "--no-browser",
            "-p",
            "TIMEOUT",
            "2",
            "--",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.allow_root=True",
            "--LabApp.news_url=None",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")},
    )
    try:
        model = _wait_for_contents(f"http://127.0.0.1:{port}/api/contents/02_redis.ipynb", proc)
        cells = model["content"]["cells"]
        injected = next(c for c in cells if INJECTED_TAG in c["metadata"].get("tags", []))
        assert "TIMEOUT = '2'" in injected["source"]
    finally:
        proc.terminate()
        proc.wait(30)


def _wait_for_contents(url: str, proc: subprocess.Popen[str], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"svc-nb open exited early: {proc.stdout.read() if proc.stdout else ''}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"JupyterLab did not serve {url} within {timeout}s")


def test_user_text_is_handled_in_linear_time() -> None:
    from svc_nb.doctor._select import check_pattern
    from svc_nb.runbook._execute import mask_values
    from svc_nb.runbook._params import Parameter, convert

    big = "a" * 1_000_000
    started = time.perf_counter()
    for text in (big + "!", "a." * 500_000 + "!", big):
        with pytest.raises(ValueError):
            notebook_for(text) if not text.endswith("a") else check_pattern(text)
    with pytest.raises(ParameterTypeError):
        convert(Parameter("LIMIT", "int", "3"), "9" * 1_000_000 + "x")
    masked = mask_values({"outputs": [big + "s3cret" + big]}, ["s3cret"])
    assert masked["outputs"][0].count("s3cret") == 0
    assert time.perf_counter() - started < 2.0


def test_parameters_for_a_notebook_without_a_parameters_cell_are_refused() -> None:
    with pytest.raises(ParameterError, match="it has no cell tagged 'parameters'"):
        build_injection({}, [("X", "1")])
