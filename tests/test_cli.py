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
    return subprocess.run(
        [*SVC_NB, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_doctor_prints_a_report_and_exits_by_worst_status(tmp_path: Path) -> None:
    healthy = {
        "SQL_URL": "postgresql://postgres@127.0.0.1:5432/test",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    result = _run("doctor", "--timeout", "5", env=healthy)
    assert result.stdout.startswith("svc-nb doctor: ")
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


@pytest.mark.parametrize(
    "args", [["doctor", "--timeout", "abc"], ["doctor", "--timeout", "-1"], ["frobnicate"], []]
)
def test_bad_usage_exits_2(args: list[str]) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_missing_env_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _run("doctor", "--env-file", str(tmp_path / "missing.env"))
    assert result.returncode != 0 and "does not exist" in result.stderr


def test_notebooks_copies_and_keeps_user_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
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


def _notebook_names() -> list[str]:
    from svc_nb._resources import notebook_paths

    return [p.name for p in notebook_paths()]


@pytest.mark.parametrize("link_name", ["manifest", "notebook"])
def test_notebooks_never_write_through_a_symlink(
    tmp_path: Path, link_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "nbs"
    dest.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    name = ".svc-nb-manifest.json" if link_name == "manifest" else _notebook_names()[0]
    (dest / name).symlink_to(victim)
    for force in ([], ["--force"]):
        assert main(["notebooks", str(dest), *force]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "symbolic link" in err and name in err
        assert "Traceback" not in err
    assert victim.read_text() == "precious"
    assert (dest / name).is_symlink()
    assert [p.name for p in dest.iterdir()] == [name]  # nothing written before refusing


def test_notebooks_refuse_a_fifo_named_like_a_notebook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / _notebook_names()[0])
    assert main(["notebooks", str(tmp_path)]) == 2  # reading it would block forever
    assert "not a regular file" in capsys.readouterr().err


def test_notebooks_write_via_a_temporary_file_in_dest(tmp_path: Path) -> None:
    # A hard link to the destination name must not see the new content: the name is replaced.
    name = _notebook_names()[0]
    (tmp_path / name).write_text("user notes")
    other = tmp_path / "other-name"
    os.link(tmp_path / name, other)
    copy_notebooks(tmp_path, force=True)
    assert other.read_text() == "user notes"
    assert (tmp_path / name).read_text() != "user notes"
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("where", ["file", "/proc/x", "/sys/x", "/proc"])
def test_notebooks_into_a_file_or_virtual_fs_is_a_usage_error(tmp_path: Path, where: str) -> None:
    if where == "file":
        target = tmp_path / "a-file"
        target.write_text("not a folder")
        where = str(target)
    for command in ("notebooks", "lab"):
        result = _run(command, where)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("svc-nb: ")
        assert "Traceback" not in result.stderr
        assert (
            "a file, not a folder" if where.endswith("a-file") else "virtual file system"
        ) in result.stderr
        assert result.stdout == ""


def test_notebooks_where_no_folder_can_be_made_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    result = _run("notebooks", str(tmp_path / "a-file" / "sub"))
    assert result.returncode == 2 and "cannot create the folder" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_linked_destination_folder_is_followed(tmp_path: Path) -> None:
    # DEST itself may be a link the user made (~/nbs -> /data/nbs); links *inside* it are refused.
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "nbs").symlink_to(real, target_is_directory=True)
    assert main(["notebooks", str(tmp_path / "nbs")]) == 0
    assert sorted(p.name for p in real.glob("*.ipynb")) == _notebook_names()


def test_notebooks_keep_a_corrupt_manifest_harmless(tmp_path: Path) -> None:
    (tmp_path / ".svc-nb-manifest.json").write_text("[1, 2")
    actions = dict((p.name, a) for p, a in copy_notebooks(tmp_path))
    assert set(actions.values()) == {"written"}
    assert json.loads((tmp_path / ".svc-nb-manifest.json").read_text()).keys() == actions.keys()


def test_help_lists_every_command_and_the_doctor_exit_statuses() -> None:
    top = _run("--help")
    for command in ("doctor", "run", "open", "notebooks", "lab"):
        assert command in top.stdout
    doctor = _run("doctor", "--help")
    assert "3 could not run" in " ".join(doctor.stdout.split())
    for flag in ("--only", "--skip", "--fail-on", "--watch", "--format", "--print-schema"):
        assert flag in doctor.stdout
    assert "-- JUPYTER_LAB_ARGS" in _run("open", "--help").stdout
    assert "-p NAME VALUE" in _run("run", "--help").stdout


def test_doctor_json_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    reader = subprocess.Popen(
        ["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    result = subprocess.run(
        [*SVC_NB, "doctor", "--json"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert reader.stdin is not None
    reader.stdin.close()
    reader.wait(10)
    assert "Traceback" not in result.stderr


def test_open_passes_arguments_after_double_dash_to_jupyter_lab(tmp_path: Path) -> None:
    result = _run(
        "open",
        "db",
        "--dest",
        str(tmp_path / "nbs"),
        "--print-command",
        "--",
        "--port",
        "8899",
        "--no-browser",
    )
    assert result.returncode == 0, result.stderr
    command = result.stdout.strip().splitlines()[-1]
    assert "--port 8899 --no-browser" in command and command.endswith("01_database.ipynb")
    assert f"--ServerApp.root_dir={(tmp_path / 'nbs').resolve()}" in command
