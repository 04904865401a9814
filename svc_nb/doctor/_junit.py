"""The doctor's result as a JUnit XML report, for CI systems that show test results.

One ``<testsuite>`` per section, one ``<testcase>`` per finding
(``classname="svc-nb.<section>"``, ``name=<check id>``). A finding that fails
the run at the chosen fail level is a ``<failure>`` whose ``type`` is its
cause; a skipped or silenced finding is ``<skipped>``; a warning below the
fail level passes with the warning in ``<system-out>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svc_nb._report import Status

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

    from svc_nb.doctor._result import DoctorResult, Entry

__all__ = ["to_junit"]

# XML 1.0 allows no C0 control character but tab, newline and carriage return.
_NOT_XML = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def _safe(text: str) -> str:
    return text.translate(_NOT_XML).replace("\ufffe", "").replace("\uffff", "")


def _text(entry: Entry) -> str:
    f = entry.finding
    lines = [f"{f.status.value.upper()}: {f.summary}"]
    if f.detail:
        lines.append(f"why: {f.detail}")
    if f.fix:
        lines.append(f"fix: {f.fix}")
    if f.cause:
        lines.append(f"cause: {f.cause}")
    lines.append(f"docs: {entry.docs}")
    ref = entry.notebook
    if ref:
        lines.append(f"notebook: {ref['command']} ({ref['file']}, {ref['section']})")
    return _safe("\n".join(lines))


def _case(suite: ET.Element, entry: Entry, failing: bool) -> tuple[int, int]:
    import xml.etree.ElementTree as ET

    f = entry.finding
    case = ET.SubElement(
        suite, "testcase", classname=_safe(f"svc-nb.{f.section}"), name=_safe(f.check)
    )
    case.set("time", f"{entry.seconds or 0.0:.3f}")
    if entry.silence is not None and f.status is not Status.OK:
        reason = entry.silence.reason or "silenced by [tool.svc-nb] silence"
        ET.SubElement(case, "skipped", message=_safe(f"silenced: {reason}")).text = _text(entry)
        return 0, 1
    if failing:
        ET.SubElement(
            case, "failure", message=_safe(f.summary), type=f.cause or f.status.value
        ).text = _text(entry)
        return 1, 0
    if f.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=_safe(f.summary)).text = _text(entry)
        return 0, 1
    if f.status is Status.WARN:
        ET.SubElement(case, "system-out").text = _text(entry)
    return 0, 0


def to_junit(result: DoctorResult) -> str:
    """The JUnit XML document (UTF-8 text with an XML declaration)."""
    import xml.etree.ElementTree as ET

    failing = {id(entry) for entry in result.failing}
    root = ET.Element("testsuites", name="svc-nb doctor")
    totals = [0, 0, 0, 0.0]  # tests, failures, skipped, time
    sections: dict[str, list[Entry]] = {}
    for entry in result.entries:
        sections.setdefault(entry.finding.section, []).append(entry)
    for section, entries in sections.items():
        suite = ET.SubElement(root, "testsuite", name=section, timestamp=result.generated_at)
        failures = skipped = 0
        for entry in entries:
            failed, skip = _case(suite, entry, id(entry) in failing)
            failures, skipped = failures + failed, skipped + skip
        seconds = max((e.seconds or 0.0 for e in entries), default=0.0)
        suite.set("tests", str(len(entries)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        suite.set("time", f"{seconds:.3f}")
        totals = [
            totals[0] + len(entries),
            totals[1] + failures,
            totals[2] + skipped,
            max(totals[3], seconds),
        ]
    root.set("tests", str(int(totals[0])))
    root.set("failures", str(int(totals[1])))
    root.set("errors", "0")
    root.set("skipped", str(int(totals[2])))
    root.set("time", f"{totals[3]:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
