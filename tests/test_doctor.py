"""svc-nb doctor: JSON against the shipped schema, exit statuses, selection, silencing, JUnit, watch."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from svc_nb import Finding, Report, Status
from svc_nb.doctor import (
    DoctorConfigError,
    DoctorResult,
    Selection,
    Silence,
    changes,
    docs_link,
    load_config,
    schema,
    to_junit,
)
from tests._support import LOCAL_PG_URL, LOCAL_REDIS_URL, RedisServer

SVC_NB = [sys.executable, "-m", "svc_nb"]
# Variables svc-infra (and so the doctor) reads: the tests set only what they mean.
_READ_PREFIXES = (
    "SQL_",
    "DB_",
    "DATABASE_",
    "PRIVATE_SQL",
    "CACHE_",
    "REDIS_",
    "AUTH_",
    "JWT_",
    "WEBHOOK",
    "CORS_",
    "APP_ENV",
    "SESSION_",
    "ALEMBIC_",
    "SVC_NB_",
    "JOBS_",
)
HEALTHY = {"SQL_URL": LOCAL_PG_URL, "REDIS_URL": LOCAL_REDIS_URL}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_READ_PREFIXES)}
    return {**env, **(extra or {})}


def doctor(
    *args: str, env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SVC_NB, "doctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(env),
        cwd=cwd,
    )


def _validate(document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema()).validate(document)


# --------------------------------------------------------------------------- JSON and its schema


def test_json_is_only_json_and_matches_the_shipped_schema(tmp_path: Path) -> None:
    result = doctor("--json", "--timeout", "5", env=HEALTHY, cwd=tmp_path)
    document = json.loads(result.stdout)  # nothing but the document on stdout
    _validate(document)
    assert document["schema_version"].startswith("1.")
    assert result.returncode == document["exit_code"] == (0 if document["ok"] else 1)
    checks = {f["check"]: f for f in document["findings"]}
    assert checks["db.auth"]["status"] == "ok" and checks["db.auth"]["cause"] is None
    assert checks["cache.connect"]["status"] == "ok"
    from svc_nb import causes

    table = causes.markdown_table()
    for finding in document["findings"]:
        assert finding["docs"].startswith("docs/")
        if finding["status"] != "ok" and finding["cause"]:
            page, _, anchor = finding["docs"].partition("#")
            assert page == "docs/causes.md", finding
            # Every section the cause table lists gets an anchor that the docs really generate.
            if finding["section"] in causes.SECTIONS or finding["section"] in ("python", "loop"):
                assert f'<a id="{anchor}"></a>' in table, finding
        if finding["notebook"] is not None:
            assert finding["notebook"]["command"] == f"svc-nb open {finding['check']}"


def test_print_schema_prints_the_shipped_schema(tmp_path: Path) -> None:
    result = doctor("--print-schema", cwd=tmp_path)
    assert result.returncode == 0
    printed = json.loads(result.stdout)
    assert printed == schema()
    jsonschema.Draft202012Validator.check_schema(printed)
    shipped = Path(__file__).resolve().parent.parent / "svc_nb" / "schemas" / "doctor.schema.json"
    assert printed == json.loads(shipped.read_text())


def test_the_schema_rejects_what_it_should() -> None:
    finding = {
        "check": "db.auth",
        "section": "db",
        "status": "ok",
        "silenced": False,
        "silence_reason": None,
        "cause": "auth_failed",
        "summary": "",
        "detail": "",
        "fix": "",
        "docs": "docs/database.md",
        "notebook": None,
        "seconds": None,
        "data": {},
    }
    with pytest.raises(jsonschema.ValidationError):  # an ok finding never has a cause
        jsonschema.validate(finding, {**schema(), "$ref": "#/$defs/finding"})


def test_a_refused_database_fails_with_its_cause_docs_and_notebook(
    tmp_path: Path, refused_port: int
) -> None:
    env = {"SQL_URL": f"postgresql://postgres@127.0.0.1:{refused_port}/test"}
    result = doctor("--json", "--only", "db", "--timeout", "2", env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    _validate(document)
    failed = [f for f in document["findings"] if f["status"] == "fail"]
    assert failed and all(f["cause"] for f in failed)
    tcp = next(f for f in failed if f["check"] == "db.tcp")
    assert tcp["cause"] == "refused"
    assert tcp["docs"] in (
        f"docs/causes.md#db-{tcp['cause']}",
        f"docs/causes.md#transport-{tcp['cause']}",
    )
    assert tcp["notebook"] == {
        "file": "01_database.ipynb",
        "section": "2. The staged connection check",
        "command": "svc-nb open db.tcp",
    }


# --------------------------------------------------------------------------- exit statuses


def test_fail_on_warn_turns_a_warning_into_exit_1(tmp_path: Path) -> None:
    # No CACHE_URL/REDIS_URL: svc-infra caches in process memory, cache.backend warns.
    relaxed = doctor("--json", "--only", "cache.backend", cwd=tmp_path)
    strict = doctor("--json", "--only", "cache.backend", "--fail-on", "warn", cwd=tmp_path)
    assert [(f["status"], f["cause"]) for f in json.loads(relaxed.stdout)["findings"]] == [
        ("warn", "memory_backend")
    ]
    assert relaxed.returncode == 0
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["fail_on"] == "warn"


@pytest.mark.parametrize(
    "args",
    [
        ["--only", "nosuchsection"],
        ["--skip", "db..auth"],
        ["--json", "--format", "junit"],
        ["--watch", "0"],
        ["--watch", "nan"],
        ["--format", "junit", "--watch", "1"],
        ["--fail-on", "error"],
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str]) -> None:
    result = doctor(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "usage:" in result.stderr and result.stdout == ""


def test_an_unreadable_configuration_exits_3(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.svc-nb]\nsilence = "db.auth"\n')
    result = doctor("--json", cwd=tmp_path)
    assert result.returncode == 3
    assert "silence must be a list" in result.stderr and result.stdout == ""
    (tmp_path / "pyproject.toml").write_text("[tool.svc-nb\n")
    broken = doctor(cwd=tmp_path)
    assert broken.returncode == 3 and "not valid TOML" in broken.stderr


def test_an_env_file_that_is_not_utf8_exits_3_a_missing_one_2(tmp_path: Path) -> None:
    (tmp_path / "latin1.env").write_bytes(b"AUTH_JWT__SECRET=caf\xe9\n")
    assert doctor("--env-file", "latin1.env", cwd=tmp_path).returncode == 3
    missing = doctor("--env-file", "missing.env", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


# --------------------------------------------------------------------------- selection


def test_only_and_skip_take_sections_and_check_ids(tmp_path: Path) -> None:
    only_db = json.loads(doctor("--json", "--only", "db", env=HEALTHY, cwd=tmp_path).stdout)
    assert {f["section"] for f in only_db["findings"]} == {"db"}
    assert only_db["selection"]["only"] == ["db"]
    one = json.loads(
        doctor(
            "--json", "--only", "db.auth", "--only", "cache.connect", env=HEALTHY, cwd=tmp_path
        ).stdout
    )
    assert [f["check"] for f in one["findings"]] == ["db.auth", "cache.connect"]
    skipped = json.loads(
        doctor("--json", "--skip", "env", "--skip", "db.url", env=HEALTHY, cwd=tmp_path).stdout
    )
    checks = [f["check"] for f in skipped["findings"]]
    assert not [c for c in checks if c.startswith(("env.", "db.url"))]
    assert "db.auth" in checks


def test_selection_runs_only_the_builders_it_needs() -> None:
    selection = Selection.build(only=["webhooks.queue.dlq", "db"], skip=["db.url"])
    assert selection.runs("webhooks.queue") and selection.runs("db")
    assert not selection.runs("webhooks.endpoint") and not selection.runs("cache")
    assert selection.wants("db.auth") and not selection.wants("db.url.password")
    assert not selection.wants("webhooks.queue") and selection.wants("webhooks.queue.dlq")
    assert Selection.build(skip=["db"]).runs("cache") and not Selection.build(skip=["db"]).runs(
        "db"
    )


# --------------------------------------------------------------------------- silencing


def test_silenced_checks_are_listed_never_hidden_and_never_fail(
    tmp_path: Path, refused_port: int
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.svc-nb]\nsilence = ["db.tcp", { id = "db.auth", reason = "staging has no DB" }]\n'
    )
    env = {"SQL_URL": f"postgresql://postgres@127.0.0.1:{refused_port}/test"}
    result = doctor("--json", "--only", "db", "--timeout", "2", env=env, cwd=tmp_path)
    document = json.loads(result.stdout)
    _validate(document)
    by_check = {f["check"]: f for f in document["findings"]}
    assert by_check["db.tcp"]["silenced"] is True and by_check["db.tcp"]["status"] == "fail"
    assert by_check["db.tcp"]["cause"] == "refused"
    assert document["config"] == str(tmp_path / "pyproject.toml")
    assert {"pattern": "db.auth", "reason": "staging has no DB"} in document["selection"]["silence"]
    unsilenced_fails = [
        f for f in document["findings"] if f["status"] == "fail" and not f["silenced"]
    ]
    assert result.returncode == (1 if unsilenced_fails else 0)
    assert document["counts"]["silenced"] == sum(f["silenced"] for f in document["findings"]) >= 1

    text = doctor("--only", "db.tcp", "--timeout", "2", env=env, cwd=tmp_path)
    assert text.returncode == 0  # the only failing check is silenced
    assert re.search(r"^SILENCED\s+db\.tcp\s+\(fail\)", text.stdout, re.M)
    assert "1 silenced" in text.stdout


def test_a_silence_pattern_naming_no_section_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.svc-nb]\nsilence = ["dbx.auth"]\n')
    with pytest.raises(DoctorConfigError, match="no section 'dbx'"):
        load_config(path)
    path.write_text('[tool.svc-nb]\nsilence = [{ reason = "no id" }]\n')
    with pytest.raises(DoctorConfigError, match="each entry is a check id"):
        load_config(path)
    path.write_text('[project]\nname = "x"\n')
    assert load_config(path).silence == ()


# --------------------------------------------------------------------------- links


def test_every_cause_link_points_at_an_anchor_the_docs_generate() -> None:
    from svc_nb import causes

    table = causes.markdown_table()
    for row in causes.rows():
        link = docs_link(f"{row.section}.x", row.code)
        if row.section == "transport":
            continue
        anchor = link.split("#", 1)[1]
        assert f'<a id="{anchor}"></a>' in table, link
    assert docs_link("oauth.exchange", "timeout") == "docs/causes.md#transport-timeout"
    assert docs_link("webhooks.endpoint", "timeout") == "docs/causes.md#webhooks-timeout"
    assert (
        docs_link("python.packages", "svc_infra_missing") == "docs/causes.md#env-svc_infra_missing"
    )
    assert docs_link("db.auth", None, ok=True) == "docs/database.md"
    assert docs_link("db.auth", "not_a_code") == "docs/causes.md#db-causes"
    assert '<a id="db-causes"></a>' in table


def test_docs_links_become_site_urls_with_svc_nb_docs_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVC_NB_DOCS_URL", "https://docs.example/svc-nb/")
    assert docs_link("db.tcp", "refused") == "https://docs.example/svc-nb/causes/#db-refused"
    assert docs_link("cache.url", None, ok=True) == "https://docs.example/svc-nb/redis/"


# --------------------------------------------------------------------------- JUnit


def _result(
    *findings: Finding, silence: tuple[Silence, ...] = (), fail_on: str = "fail"
) -> DoctorResult:
    return DoctorResult.from_report(Report(findings), Selection(silence=silence), fail_on=fail_on)


def test_junit_report_from_a_real_run(tmp_path: Path, refused_port: int) -> None:
    env = {
        "SQL_URL": f"postgresql://postgres@127.0.0.1:{refused_port}/test",
        "REDIS_URL": LOCAL_REDIS_URL,
    }
    result = doctor(
        "--format",
        "junit",
        "--only",
        "db",
        "--only",
        "cache",
        "--timeout",
        "2",
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    root = ET.fromstring(result.stdout.encode())
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"db", "cache"}
    tcp = next(c for c in root.iter("testcase") if c.get("name") == "db.tcp")
    failure = tcp.find("failure")
    assert failure is not None and failure.get("type") == "refused"
    assert "svc-nb open db.tcp" in (failure.text or "") and "docs/causes.md#" in (
        failure.text or ""
    )
    total_failures = sum(int(s.get("failures", "0")) for s in suites.values())
    assert total_failures == int(root.get("failures", "-1")) >= 1
    assert suites["cache"].get("failures") == "0"


def test_junit_marks_warnings_skips_and_silenced_checks() -> None:
    result = _result(
        Finding("db.ssl", Status.WARN, "no TLS", cause="ssl_not_used"),
        Finding("cache.url", Status.SKIP, "no Redis", cause="not_configured"),
        Finding("db.auth", Status.FAIL, "bad\x1b[31m password\x00", cause="wrong_password"),
        silence=(Silence("db.auth", "known"),),
    )
    root = ET.fromstring(to_junit(result).encode())  # control characters do not break the XML
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert (
        cases["db.ssl"].find("system-out") is not None and cases["db.ssl"].find("failure") is None
    )
    assert cases["cache.url"].find("skipped") is not None
    assert (cases["db.auth"].find("skipped").get("message") or "").startswith("silenced: known")  # type: ignore[union-attr]
    assert root.get("failures") == "0"
    strict = ET.fromstring(
        to_junit(
            _result(Finding("db.ssl", Status.WARN, "w", cause="ssl_not_used"), fail_on="warn")
        ).encode()
    )
    assert strict.get("failures") == "1"


# --------------------------------------------------------------------------- watch


def test_changes_between_runs() -> None:
    before = _result(
        Finding("cache.connect", Status.FAIL, "refused", cause="refused"),
        Finding("db.auth", Status.OK, "ok"),
    )
    after = _result(
        Finding("cache.connect", Status.OK, "connected"),
        Finding("db.auth", Status.OK, "ok"),
        Finding("db.ssl", Status.WARN, "plain", cause="ssl_not_used"),
    )
    found = {c.check: c for c in changes(before, after)}
    assert set(found) == {"cache.connect", "db.ssl"}
    assert (found["cache.connect"].before, found["cache.connect"].after) == ("fail (refused)", "ok")
    assert found["db.ssl"].before is None and str(found["db.ssl"]).startswith(
        "db.ssl: (new) → warn"
    )
    assert changes(after, after) == []


def _read_json_lines(
    proc: subprocess.Popen[str], count: int, timeout: float
) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    lines: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            lines.append(json.loads(line))
    return lines


@pytest.mark.slow
def test_watch_shows_a_fix_landing_and_exits_with_the_last_status(tmp_path: Path) -> None:
    with RedisServer() as redis:
        env = _env({"REDIS_URL": redis.url})
        proc = subprocess.Popen(
            [
                *SVC_NB,
                "doctor",
                "--json",
                "--only",
                "cache.connect",
                "--watch",
                "0.3",
                "--timeout",
                "3",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        try:
            first = _read_json_lines(proc, 1, 60)
            assert first and "changes" not in first[0]
            assert first[0]["findings"][0]["status"] == "ok", first[0]["findings"]
            redis.kill()  # the incident starts
            seen: list[dict[str, Any]] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(d.get("changes") for d in seen):
                seen += _read_json_lines(proc, 1, 30)
            changed = next((d for d in seen if d.get("changes")), None)
            assert changed is not None, [d["findings"] for d in seen]
            _validate(changed)
            assert changed["changes"][0]["check"] == "cache.connect"
            assert changed["changes"][0]["before"] == "ok"
            assert changed["changes"][0]["after"].startswith("fail (")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
    assert proc.returncode == 1  # the last run saw Redis down


def test_watch_text_prints_the_report_then_one_line_per_run(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*SVC_NB, "doctor", "--only", "env.app_env", "--watch", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline()]
    while (
        not lines[-1].startswith("[") and len(lines) < 50
    ):  # the full report, then the first rerun
        lines.append(proc.stdout.readline())
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    assert lines[0].startswith("svc-nb doctor: OK")
    assert any(line.startswith("OK    env.app_env") for line in lines)
    assert re.match(r"\[\d\d:\d\d:\d\d\] no change — svc-nb doctor: OK", lines[-1]), lines
    assert proc.returncode == 0


# --------------------------------------------------------------------------- light and fast


_MODULES_AT_EXIT = """
import json, runpy, sys
sys.argv = ["svc-nb", *sys.argv[1:]]
try:
    runpy.run_module("svc_nb", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _modules_after(*args: str, cwd: Path) -> tuple[list[str], subprocess.CompletedProcess[str]]:
    """The modules loaded once ``python -m svc_nb ARGS`` has finished, and the run itself."""
    result = subprocess.run(
        [sys.executable, "-c", _MODULES_AT_EXIT, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(HEALTHY),
        cwd=cwd,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return report["modules"], result


def test_the_doctor_imports_no_pandas_matplotlib_or_ipywidgets(tmp_path: Path) -> None:
    modules, result = _modules_after("doctor", "--json", cwd=tmp_path)
    json.loads(result.stdout)
    assert {"svc_nb.doctor", "svc_nb.db", "svc_nb.cache", "svc_nb.webhooks"} <= set(modules)
    heavy = {
        name
        for name in modules
        if name.split(".")[0]
        in {"pandas", "matplotlib", "ipywidgets", "IPython", "nbformat", "nbclient"}
    }
    assert heavy == set()


def test_only_db_imports_only_the_db_section(tmp_path: Path) -> None:
    modules, result = _modules_after("doctor", "--only", "db", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "svc_nb.db" in modules
    assert not {"svc_nb.webhooks", "svc_nb.oauth", "svc_nb.cors", "svc_nb.tokens"} & set(modules)
