"""GitHub Classroom: grade a student repository and emit the autograding reporter's JSON.

    python -m grader.classroom.github_classroom --submission DIR [--output PATH]

GitHub Classroom's `classroom-resources/autograding-grading-reporter` action reads, for each
runner id listed in its `runners` input, the environment variable `<ID>_RESULTS`: a base64
encoded JSON object with a top-level `version`, `status` (`pass`, `fail` or `error`),
`max_score` and `tests`, each test with `name`, `status`, `score`, `message` (and, as the
classroom graders write them, `test_code`, `filename`, `line_no`, `duration`). The reporter
adds up the tests' `score` against `max_score` and posts the points to the classroom.

This module grades the submission (found anywhere in the checked-out repository), prints the
score table to the job log, writes that JSON to `--output`, and, inside GitHub Actions, sets the
step output `result` to its base64 form, which the workflow hands to the reporter.
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

from grader.classroom import intake
from grader.classroom.grading import GradingError, grade_one
from grader.feedback.terminal import print_report
from grader.model import curriculum as curriculum_module
from grader.model.kit import Kit, KitError
from grader.model.results import GradeReport

VERSION = 1


def _status(status: str) -> str:
    if status == "passed":
        return "pass"
    return "error" if status == "error" else "fail"


def runner_json(report: GradeReport) -> dict[str, Any]:
    """The report as one runner's results for the autograding reporter (skipped left out)."""
    tests = [
        {
            "name": f"{result.id}: {result.title}",
            "status": _status(result.status),
            "score": round(result.score, 2),
            "message": f"{result.score:g}/{result.max_score:g} ({result.status})\n"
            + result.feedback,
            "test_code": f"python -m grader --only {result.id}",
            "filename": f"exercises/{result.file}",
            "line_no": 0,
            "duration": 0,
        }
        for result in report.exercises
        if result.status != "skipped"
    ]
    statuses = {test["status"] for test in tests}
    overall = "pass" if statuses <= {"pass"} else ("fail" if "fail" in statuses else "error")
    return {"version": VERSION, "status": overall, "max_score": report.max_score, "tests": tests}


def error_json(reason: str, max_score: float) -> dict[str, Any]:
    """Runner results for a submission that could not be graded at all."""
    test = {
        "name": "asyncio ordering kit",
        "status": "error",
        "score": 0,
        "message": reason,
        "test_code": "python -m grader",
        "filename": "",
        "line_no": 0,
        "duration": 0,
    }
    return {"version": VERSION, "status": "error", "max_score": max_score, "tests": [test]}


def encode(data: dict[str, Any]) -> str:
    """The base64 form the reporter decodes from `<ID>_RESULTS`."""
    return base64.b64encode(json.dumps(data).encode("utf-8")).decode("ascii")


def main(argv: list[str] | None = None) -> int:
    """Grade, print, write the runner JSON; 0 once grading ran (the reporter decides pass/fail)."""
    parser = argparse.ArgumentParser(prog="python -m grader.classroom.github_classroom")
    parser.add_argument("--submission", type=Path, default=Path())
    parser.add_argument("--output", type=Path, default=Path("autograding-result.json"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    console = Console()
    kit = Kit.installed()
    try:
        curriculum = curriculum_module.load(kit.curriculum_file)
    except KitError as exc:
        console.print(f"the kit is broken: {exc}", markup=False, style="red")
        return 3
    maximum = float(sum(e.points for e in curriculum if e.supported()))
    with tempfile.TemporaryDirectory(prefix="asyncio-kit-classroom-") as work:
        try:
            found = intake.materialize(
                args.submission, [e.file for e in curriculum], Path(work) / "submission"
            )
            report = grade_one(found.folder, kit=kit)
        except (intake.IntakeError, GradingError) as exc:
            console.print(f"not graded: {exc}", markup=False, style="red")
            data = error_json(str(exc), maximum)
        else:
            print_report(report, console, verbose=False)
            data = runner_json(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        with Path(github_output).open("a", encoding="utf-8") as out:
            out.write(f"result={encode(data)}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
