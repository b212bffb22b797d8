"""Grades one submission folder in this process: the hidden tests run by pytest, a report out.

Every way of grading goes through `grade`: `python -m grader`, the batch worker that grades a
class one submission after another, the benchmark. Learner code still runs only in the sandbox
children the hidden tests start.

Start-up is part of every one-shot grade, so this module imports pytest (and the session, which
imports it) only once the command line has been checked, after it has started the fork server
that the selected exercises will need: the server boots on another core while pytest loads and
collects. pytest's own plugins that grading never uses are switched off on the command line,
where that keeps them from being imported at all (in `grading.ini` they would be imported first
and switched off afterwards).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from grader.model import kit_schema
from grader.model.curriculum import Exercise
from grader.model.ids import unknown_message
from grader.model.kit import Kit, KitError, UsageError
from grader.model.results import GradeReport
from grader.sandbox import forkserver, spawn
from grader.sandbox.isolation import probe
from grader.sandbox.limits import default_limits

#: pytest plugins no hidden test needs (grading.ini's `addopts` lists them too, for anyone who
#: runs the hidden tests by hand). Kept: the fixtures, skipping, capture and warnings plugins,
#: which shape what a test sees and what reaches the terminal.
UNUSED_PLUGINS = (
    "cacheprovider",
    "randomly",
    "unraisableexception",
    "threadexception",
    "logging",
    "pastebin",
    "junitxml",
    "doctest",
    "legacypath",
    "stepwise",
    "faulthandler",
    "setuponly",
    "setupplan",
    "debugging",
    "unittest",
    "subtests",
    "tmpdir",
    "monkeypatch",
    "recwarn",
    "terminal",
)


def grade(kit: Kit, submission: Path, only: set[str] | None) -> GradeReport:
    """Run the hidden tests against `submission` in this process and return the report."""
    if not submission.is_dir():
        msg = f"submission folder not found: {submission}"
        raise UsageError(msg)
    exercises = kit_schema.check_schema(kit)  # a broken kit stops before anything is graded
    known = {exercise.id for exercise in exercises}
    unknown = sorted((only or set()) - known)
    if unknown:
        ids = [exercise.id for exercise in exercises]
        msg = " ".join(unknown_message(wanted, ids) for wanted in unknown)
        raise UsageError(msg)
    launch_sandbox(exercise for exercise in exercises if only is None or exercise.id in only)

    import pytest  # noqa: PLC0415 - after the fork server was started (see the docstring)

    from grader.grading.session import GradingSession  # noqa: PLC0415 - imports pytest

    session = GradingSession(kit, exercises, submission.resolve(), only)
    # Only the plugins the grader names: nothing from the environment or site-packages.
    for variable in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        os.environ.pop(variable, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    hidden = kit.hidden_tests
    args = [
        *session.hidden_files(hidden),
        "-c",
        str(hidden / "grading.ini"),
        "--rootdir",
        str(hidden),
    ]
    for plugin in UNUSED_PLUGINS:
        args += ["-p", f"no:{plugin}"]
    args += ["-p", "pytest_timeout", "-p", "grader.grading.plugin"]
    code = pytest.main(args, plugins=[session])
    if session.report is None:
        msg = f"the hidden tests did not run (pytest exit status {code})"
        raise KitError(msg)
    if session.kit_errors:
        raise KitError(session.kit_errors[0])
    return session.report


def launch_sandbox(selected: Iterable[Exercise]) -> None:
    """Start the fork server now if a selected exercise runs learner code (see the docstring).

    Every `produce` exercise does; a prediction needs a child only for a truth the disk cache
    does not hold, and then the first run starts the server as it always did.
    """
    wanted = any(exercise.kind == "produce" and exercise.supported() for exercise in selected)
    if not wanted or not forkserver.enabled():
        return
    layer = probe.current()
    if forkserver.supports(layer):
        forkserver.POOL.launch(layer, spawn.runtime_dir(), default_limits())
