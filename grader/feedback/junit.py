"""The grade as JUnit XML (`--junit PATH`), the format every CI system can show.

One `testcase` per exercise, in curriculum order, named by the exercise id and grouped by
topic folder (`classname`). An exercise below full marks carries a `failure` (an `error` when
its code could not run, `skipped` when it needs a newer Python) whose message gives the score
and whose text is the learner's feedback. Scores also go into properties, so a dashboard that
reads them can show points rather than only pass/fail.

The XML is written from the report alone, after grading: nothing learner code did can write
or rewrite it, and characters XML 1.0 cannot hold are dropped from learner text.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from grader.model.fsutil import atomic_write
from grader.model.results import ExerciseResult, GradeReport

SUITE_NAME = "asyncio-ordering-kit"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def _classname(result: ExerciseResult) -> str:
    folder = PurePosixPath(result.file).parent.as_posix()
    return f"{SUITE_NAME}.{folder}" if folder not in {"", "."} else SUITE_NAME


def _testcase(parent: ET.Element, result: ExerciseResult) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        {
            "classname": _classname(result),
            "name": result.id,
            "file": result.file,
            "time": "0",
        },
    )
    properties = ET.SubElement(case, "properties")
    for name, value in (
        ("score", _points(result.score)),
        ("max_score", _points(result.max_score)),
        ("status", result.status),
        ("kind", result.kind),
        ("title", result.title),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _xml_text(value)})
    message = f"{result.id}: {_points(result.score)}/{_points(result.max_score)} ({result.status})"
    feedback = _xml_text(result.feedback)
    if result.status == "skipped":
        ET.SubElement(case, "skipped", {"message": _xml_text(result.feedback)})
    elif result.status == "error":
        element = ET.SubElement(case, "error", {"message": message, "type": result.status})
        element.text = feedback
    elif result.status != "passed":
        element = ET.SubElement(case, "failure", {"message": message, "type": result.status})
        element.text = feedback
    else:
        ET.SubElement(case, "system-out").text = feedback


def junit_tree(report: GradeReport) -> ET.ElementTree[ET.Element]:
    """The report as a JUnit XML tree: `testsuites` > one `testsuite` > a testcase each."""
    counts = {
        "tests": len(report.exercises),
        "failures": sum(
            1 for r in report.exercises if r.status not in {"passed", "error", "skipped"}
        ),
        "errors": sum(1 for r in report.exercises if r.status == "error"),
        "skipped": sum(1 for r in report.exercises if r.status == "skipped"),
    }
    attributes = {key: str(value) for key, value in counts.items()}
    root = ET.Element("testsuites", {"name": SUITE_NAME, **attributes, "time": "0"})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": SUITE_NAME, **attributes, "time": "0", "hostname": "grader"},
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("score", _points(report.score)),
        ("max_score", _points(report.max_score)),
        ("python", report.python),
        ("isolation", report.isolation),
        ("submission", report.submission),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _xml_text(value)})
    for result in report.exercises:
        _testcase(suite, result)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(report: GradeReport, path: Path) -> None:
    """Write the JUnit XML atomically: a CI step never reads half a file."""
    out = io.BytesIO()
    junit_tree(report).write(out, encoding="utf-8", xml_declaration=True)
    atomic_write(path, out.getvalue())
