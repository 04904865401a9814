"""Status, Finding and Report: ordering, views and the guarantees users rely on."""

from __future__ import annotations

import json

import pytest

from svc_nb import Finding, Report, Status


def _report() -> Report:
    return Report(
        [
            Finding("db.tcp", "ok", "127.0.0.1:5432 accepts connections", data={"latency_ms": 0.4}),
            Finding(
                "db.auth",
                Status.FAIL,
                "password authentication failed for user app",
                detail="The server rejected the password.",
                fix="Set SQL_URL with the right password.",
            ),
            Finding("cache.ping", "warn", "PING took 250 ms"),
            Finding("tokens.secret", "skip", "no JWT secret configured"),
        ],
        title="t",
    )


def test_worst_and_ok() -> None:
    report = _report()
    assert report.worst is Status.FAIL
    assert not report.ok
    assert Report([Finding("a.b", "warn", "x")]).ok
    assert Report().worst is Status.SKIP


def test_status_is_coerced_and_validated() -> None:
    assert Finding("a.b", "OK", "x").status is Status.OK
    with pytest.raises(ValueError, match="ok, warn, fail, skip"):
        Finding("a.b", "bad", "x")
    with pytest.raises(TypeError, match="dotted id"):
        Finding("", "ok", "x")


def test_finding_is_frozen_including_data() -> None:
    finding = Finding("a.b", "ok", "x", data={"n": 1})
    with pytest.raises(AttributeError):
        finding.summary = "y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        finding.data["n"] = 2  # type: ignore[index]


def test_lookup_and_select() -> None:
    report = _report()
    assert report["db.auth"].status is Status.FAIL
    assert report[0].check == "db.tcp"
    assert report.select("db").checks == ["db.tcp", "db.auth"]
    with pytest.raises(KeyError, match="checks present"):
        report["nope"]


def test_text_view_is_aligned_and_shows_fix() -> None:
    text = str(_report())
    assert "FAIL" in text and "db.auth" in text
    assert "fix: Set SQL_URL with the right password." in text
    assert "why: The server rejected the password." in text
    assert "\x1b[" not in text  # str() never colours
    assert "\x1b[31m" in _report().render_text(colour=True)


def test_html_view_is_a_traffic_light_table_and_escapes() -> None:
    report = Report([Finding("x.y", "fail", "<script>alert(1)</script>", fix="do <b>this</b>")])
    bundle = report._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    html = bundle["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'data-status="fail"' in html and "Fix:" in html


def test_frame_and_dict_views() -> None:
    report = _report()
    frame = report.to_frame()
    assert list(frame.columns) == ["check", "status", "summary", "detail", "fix", "cause", "data"]
    assert frame.loc[frame.check == "db.auth", "status"].item() == "fail"
    as_dict = json.loads(report.to_json())
    assert as_dict["worst"] == "fail" and as_dict["counts"] == {
        "ok": 1,
        "warn": 1,
        "fail": 1,
        "skip": 1,
    }
    assert as_dict["findings"][0]["data"] == {"latency_ms": 0.4}


def test_report_rejects_non_findings() -> None:
    with pytest.raises(TypeError, match=r"svc_nb.Finding"):
        Report(["not a finding"])  # type: ignore[list-item]


def test_findings_scrub_secrets_they_are_given() -> None:
    finding = Finding(
        "db.url",
        "fail",
        "cannot reach postgresql://app:s3cr3t-pw@db:5432/app",
        data={"url": "redis://:hunter2hunter2@cache:6379/0"},
    )
    assert "s3cr3t-pw" not in str(finding) and "s3cr3t-pw" not in finding.to_dict()["summary"]
    assert "hunter2hunter2" not in json.dumps(finding.to_dict())
