"""The svc-nb command: doctor, notebooks, lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from svc_nb.cli import copy_notebooks, main

SVC_NB = [sys.executable, "-m", "svc_nb"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SVC_NB, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_doctor_prints_a_report_and_exits_by_worst_status(tmp_path: Path) -> None:
    healthy = {"SQL_URL": "postgresql://postgres@127.0.0.1:5432/test", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    result = _run("doctor", "--timeout", "5", env=healthy)
    assert "svc_nb diagnose" in result.stdout
    assert result.returncode in (0, 1)
    as_json = _run("doctor", "--json", env=healthy)
    data = json.loads(as_json.stdout)
    assert as_json.returncode == (0 if data["ok"] else 1)
    assert {"findings", "worst", "ok"} <= set(data)


def test_doctor_fails_when_a_check_fails(refused_port: int) -> None:
    env = {"SQL_URL": f"postgresql://postgres@127.0.0.1:{refused_port}/test", "APP_ENV": "prod"}
    result = _run("doctor", "--json", "--timeout", "2", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert json.loads(result.stdout)["ok"] is False


def test_doctor_reads_an_env_file_without_leaking_it(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("AUTH_JWT__SECRET=env-file-secret-value-4f1c9d2e8b7a6c5d\n")
    result = _run("doctor", "--json", "--env-file", str(env_file))
    assert "env-file-secret-value" not in result.stdout + result.stderr
    assert result.returncode in (0, 1)


@pytest.mark.parametrize("args", [["doctor", "--timeout", "abc"], ["doctor", "--timeout", "-1"], ["frobnicate"], []])
def test_bad_usage_exits_2(args: list[str]) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_missing_env_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _run("doctor", "--env-file", str(tmp_path / "missing.env"))
    assert result.returncode != 0 and "does not exist" in result.stderr


def test_notebooks_copies_and_keeps_user_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "nbs"
    assert main(["notebooks", str(dest)]) == 0
    written = sorted(p.name for p in dest.glob("*.ipynb"))
    assert written and written[0].startswith("00_")
    assert "written" in capsys.readouterr().out

    edited = dest / written[0]
    edited.write_text(edited.read_text().replace('"cells"', '"cells"', 1) + "\n")
    assert main(["notebooks", str(dest)]) == 0
    assert "kept" in capsys.readouterr().out
    assert edited.read_text().endswith("\n\n") or edited.read_text().endswith("}\n")
    user_content = edited.read_text()
    actions = dict((p.name, a) for p, a in copy_notebooks(dest))
    assert actions[written[0]].startswith("kept") and edited.read_text() == user_content
    actions = dict((p.name, a) for p, a in copy_notebooks(dest, force=True))
    assert actions[written[0]] == "updated"
    assert dict((p.name, a) for p, a in copy_notebooks(dest))[written[0]] == "unchanged"


def test_notebooks_never_overwrites_a_foreign_file(tmp_path: Path) -> None:
    from svc_nb._resources import notebook_paths

    name = notebook_paths()[0].name
    (tmp_path / name).write_text("my own notes")
    actions = dict((p.name, a) for p, a in copy_notebooks(tmp_path))
    assert actions[name].startswith("kept")
    assert (tmp_path / name).read_text() == "my own notes"


def test_lab_help() -> None:
    result = _run("lab", "--help")
    assert result.returncode == 0 and "JupyterLab" in result.stdout
