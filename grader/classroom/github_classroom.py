"""GitHub Classroom: grade a student repository and hand the points to the autograding reporter.

    python -m grader.classroom.github_classroom --submission DIR [--output PATH]

GitHub Classroom's `classroom-resources/autograding-grading-reporter` action (src/main.js)
reads, for each runner id in its `runners` input, the environment variable `<ID>_RESULTS`:
base64 of a JSON object with `version`, `status` (`pass`, `fail` or `error`), `max_score` and
`tests`, each test with `name`, `status`, `score` (and optionally `message`, `test_code`,
`line_no`, which it prints). It posts the sum of the tests' `score` against the sum of
`max_score` to the classroom (src/notify-classroom.js).

That variable is one environment variable, and Linux refuses to start a process with a
variable over 128 KiB (MAX_ARG_STRLEN): feedback that quotes long predictions made it 500 KB
and the reporter never started, so no points were posted. So the reporter gets a compact
input - points, statuses and short names only, a few KiB whatever the submission - and the
detailed feedback goes elsewhere: the job log (printed in full here) and `--output`, a JSON
file the workflow uploads as an artifact.

The runner JSON also carries `python` (what graded) and `class_python` (the class's declared
Python); the reporter ignores keys it does not know.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from grader.classroom import intake, outputs
from grader.classroom.gradebook import max_points
from grader.classroom.grading import GradingError, grade_one
from grader.feedback.terminal import print_report
from grader.model import curriculum as curriculum_module
from grader.model import kit_schema
from grader.model.kit import Kit, KitError
from grader.model.results import GradeReport

VERSION = 1


#: The reporter's input stays far below Linux's 128 KiB per variable (MAX_ARG_STRLEN).
ENCODED_BUDGET = 32 * 1024
#: An error test's message is shown by the reporter; it is cut to this many characters.
MESSAGE_CHARS = 300


def _status(status: str) -> str:
    if status == "passed":
        return "pass"
    return "error" if status == "error" else "fail"


def _overall(tests: list[dict[str, Any]]) -> str:
    statuses = {test["status"] for test in tests}
    return "pass" if statuses <= {"pass"} else ("fail" if "fail" in statuses else "error")


def detailed_json(report: GradeReport, max_score: float) -> dict[str, Any]:
    """Everything, feedback included: the artifact file, never the reporter's variable."""
    tests = [
        {
            "name": f"{result.id}: {result.title}",
            "status": _status(result.status),
            "score": round(result.score, 2),
            "max_score": round(result.max_score, 2),
            "message": f"{result.score:g}/{result.max_score:g} ({result.status})\n"
            + result.feedback,
            "test_code": f"python -m grader --only {result.id}",
            "filename": f"exercises/{result.file}",
            "line_no": 0,
        }
        for result in report.exercises
        if result.status != "skipped"
    ]
    return {
        "version": VERSION,
        "status": _overall(tests),
        "max_score": max_score,
        "python": report.python,
        "tests": tests,
    }


def runner_json(
    report: GradeReport, max_score: float | None = None, class_python: str = ""
) -> dict[str, Any]:
    """The reporter's input: points, statuses and ids only (skipped exercises left out)."""
    tests: list[dict[str, Any]] = []
    for result in report.exercises:
        if result.status == "skipped":
            continue
        test: dict[str, Any] = {
            "name": result.id,
            "status": _status(result.status),
            "score": round(result.score, 2),
            "line_no": 0,
        }
        if test["status"] == "error":
            test["message"] = " ".join(result.feedback.split())[:MESSAGE_CHARS]
        tests.append(test)
    data: dict[str, Any] = {
        "version": VERSION,
        "status": _overall(tests),
        "max_score": report.max_score if max_score is None else max_score,
        "tests": tests,
        "python": report.python,
        "class_python": class_python,
    }
    if len(encode(data)) > ENCODED_BUDGET:  # a curriculum of thousands of exercises
        total = round(sum(test["score"] for test in tests), 2)
        data["tests"] = [{"name": "total", "status": data["status"], "score": total, "line_no": 0}]
    return data


def error_json(reason: str, max_score: float, class_python: str = "") -> dict[str, Any]:
    """Runner results for a submission that could not be graded at all."""
    test = {
        "name": "asyncio ordering kit",
        "status": "error",
        "score": 0,
        "message": reason[:MESSAGE_CHARS],
        "line_no": 0,
    }
    return {
        "version": VERSION,
        "status": "error",
        "max_score": max_score,
        "tests": [test],
        "class_python": class_python,
    }


def encode(data: dict[str, Any]) -> str:
    """The base64 form the reporter decodes from `<ID>_RESULTS`."""
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode("utf-8")).decode("ascii")


def main(argv: list[str] | None = None) -> int:
    """Grade, print, write the outputs; 0 once grading ran (the reporter decides pass/fail)."""
    parser = argparse.ArgumentParser(prog="python -m grader.classroom.github_classroom")
    parser.add_argument("--submission", type=Path, default=Path())
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("autograding-result.json"),
        help="detailed results with feedback (upload it as an artifact)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    console = Console()
    kit = Kit.installed()
    try:
        curriculum = kit_schema.check_schema(kit)
        course = curriculum_module.course(kit.curriculum_file)
    except KitError as exc:
        console.print(f"the kit is broken: {exc}", markup=False, style="red", soft_wrap=True)
        return 3
    maximum = max_points(curriculum, course)
    class_python = course.python_label if course.python else ""
    detailed: dict[str, Any]
    with tempfile.TemporaryDirectory(prefix="asyncio-kit-classroom-") as work:
        try:
            found = intake.materialize(
                args.submission, [e.file for e in curriculum], Path(work) / "submission"
            )
            report = grade_one(found.folder, kit=kit)
        except (intake.IntakeError, GradingError) as exc:
            console.print(f"not graded: {exc}", markup=False, style="red")
            data = detailed = error_json(str(exc), maximum, class_python)
        else:
            # The job log gets the whole feedback: it is where a student reads it.
            print_report(report, console, verbose=True)
            data = runner_json(report, maximum, class_python)
            detailed = detailed_json(report, maximum)
    detailed["class_python"] = class_python
    try:
        outputs.atomic_write(args.output, json.dumps(detailed, indent=2) + "\n")
    except OSError as exc:
        console.print(f"warning: {exc}", markup=False, style="yellow")
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        with Path(github_output).open("a", encoding="utf-8") as out:
            out.write(f"result={encode(data)}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
