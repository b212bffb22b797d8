"""Grades one submission folder in this process: the hidden tests run by pytest, a report out.

Every way of grading goes through `grade`: `python -m grader`, the batch worker that grades a
class one submission after another, the benchmark. Learner code still runs only in the sandbox
children the hidden tests start.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.grading.session import GradingSession
from grader.model import kit_schema
from grader.model.kit import Kit, KitError, UsageError
from grader.model.results import GradeReport


def grade(kit: Kit, submission: Path, only: set[str] | None) -> GradeReport:
    """Run the hidden tests against `submission` in this process and return the report."""
    if not submission.is_dir():
        msg = f"submission folder not found: {submission}"
        raise UsageError(msg)
    exercises = kit_schema.check_schema(kit)  # a broken kit stops before anything is graded
    known = {exercise.id for exercise in exercises}
    unknown = sorted((only or set()) - known)
    if unknown:
        msg = f"unknown exercise id(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        raise UsageError(msg)
    session = GradingSession(kit, exercises, submission.resolve(), only)
    # Only the plugins the grader names: nothing from the environment or site-packages.
    for variable in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        os.environ.pop(variable, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    hidden = kit.hidden_tests
    args = [
        str(hidden),
        "-c",
        str(hidden / "grading.ini"),
        "--rootdir",
        str(hidden),
        "-p",
        "no:terminal",
        "-p",
        "pytest_timeout",
        "-p",
        "grader.grading.plugin",
    ]
    code = pytest.main(args, plugins=[session])
    if session.report is None:
        msg = f"the hidden tests did not run (pytest exit status {code})"
        raise KitError(msg)
    if session.kit_errors:
        raise KitError(session.kit_errors[0])
    return session.report
