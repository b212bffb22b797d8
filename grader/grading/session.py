"""One grading run's state: what is graded, what each hidden test found, the report it adds up to.

Hidden tests live in `grader/grading/hidden/`. Each is tied to an exercise by
`@pytest.mark.exercise(ID)` and worth `@pytest.mark.points(N)`; a test may award partial credit
through the `credit` fixture (`plugin.py`). A `GradingSession` is registered with pytest as a
plugin object: it collects only the exercises asked for, classifies each test's outcome (passed,
failed, learner code error, not submitted, needs a newer Python) and at the end assembles a
`GradeReport` in curriculum order. pytest runs in the grader's own process; learner code only
ever runs in the sandbox children that the tests start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from grader.feedback.compose import compose, program_attempted
from grader.feedback.text import MESSAGE_LIMIT, cap, render
from grader.model import stubs
from grader.model.curriculum import Exercise
from grader.model.errors import LearnerCodeError
from grader.model.kit import Kit, KitError
from grader.model.parts import Comparison, ExerciseFeedback, comparison_json
from grader.model.results import ExerciseResult, GradeReport, ItemResult
from grader.sandbox.intake import read_submission_file
from grader.sandbox.isolation import probe

SESSION_KEY = pytest.StashKey["GradingSession"]()
CREDIT_KEY = pytest.StashKey["Credit"]()


#: A hidden module tied to one exercise says so once, at its top: `pytestmark = ...exercise("ID")`.
_MODULE_MARK = re.compile(rb"""\bmark\.exercise\(\s*["']([^"']+)["']\s*\)""")
_ANY_MARK = re.compile(rb"\bmark\.exercise\(")

#: The report's `isolation` when no code ran in a sandbox (every truth came from the disk cache).
NO_CHILD_RAN = "none"


class NotSubmittedError(Exception):
    """The exercise's file is missing, or its answer is still the stub's blank."""


class OrderMismatchError(pytest.fail.Exception):  # type: ignore[misc, name-defined]
    """A check failed on the order of printed lines; carries the comparison as data."""

    def __init__(self, message: str, comparison: Comparison) -> None:
        super().__init__(message, pytrace=False)
        self.comparison = comparison


@dataclass
class Credit:
    """Partial credit a test awards (a fraction of its points) and what it says about it."""

    fraction: float | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def award(self, fraction: float, message: str, **details: Any) -> None:
        """Give `fraction` (0..1) of this test's points, with a message for the learner."""
        self.fraction = max(0.0, min(1.0, fraction))
        self.message = message
        self.details.update(details)


@dataclass
class Submission:
    """A folder laid out like `exercises/`."""

    root: Path
    max_bytes: int = 256 * 1024

    def source(self, exercise: Exercise) -> bytes:
        """The learner's file for an exercise; NotSubmittedError if there is none."""
        # Links, hard links, FIFOs and path tricks are refused with a clear message (intake).
        data = read_submission_file(self.root, exercise.file, self.max_bytes)
        if data is None:
            msg = f"{exercise.file} is not in the submission"
            raise NotSubmittedError(msg)
        return data


class GradingSession:
    """Registered as a pytest plugin object; holds the run's inputs and gathers its results."""

    def __init__(
        self,
        kit: Kit,
        curriculum: tuple[Exercise, ...],
        submission: Path,
        only: set[str] | None = None,
    ) -> None:
        self.kit = kit
        self.curriculum = curriculum
        self.exercises = {exercise.id: exercise for exercise in curriculum}
        self.submission = Submission(submission)
        self.only = only
        self.items: dict[str, list[ItemResult]] = {}
        self.details: dict[str, dict[str, Any]] = {}
        self.report: GradeReport | None = None
        self.internal_errors: list[str] = []
        self.kit_errors: list[str] = []
        #: Per exercise, why its runs ran out of time (see produce.HANGS_ALLOWED).
        self.hangs: dict[str, list[str]] = {}

    # --- configuration and collection ------------------------------------------------------
    def hidden_files(self, hidden: Path) -> list[str]:
        """What pytest should collect: the hidden folder, or only the modules `only` needs.

        A module whose only `mark.exercise(...)` is one literal id of another exercise is left
        out unimported (importing and collecting it costs more than grading a prediction). Any
        other module, and any sub-folder, is collected, and its tests are then kept or
        deselected by their markers as always.
        """
        if self.only is None:
            return [str(hidden)]
        kept = [
            str(path)
            for path in sorted(hidden.iterdir())
            if path.is_dir() and path.name != "__pycache__"
        ]
        for path in sorted(hidden.glob("test_*.py")):
            try:
                text = path.read_bytes()
            except OSError:
                kept.append(str(path))  # let pytest report it
                continue
            named = _MODULE_MARK.findall(text)
            alone = len(named) == 1 and len(_ANY_MARK.findall(text)) == 1
            if not alone or named[0].decode() in self.only:
                kept.append(str(path))
        return kept or [str(hidden)]

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[SESSION_KEY] = self
        config.addinivalue_line("markers", "exercise(id): the exercise a hidden test grades")
        config.addinivalue_line("markers", "points(n): what a hidden test is worth")

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        keep: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        order = {exercise.id: index for index, exercise in enumerate(self.curriculum)}
        for item in items:
            exercise_id = exercise_of(item)
            if exercise_id not in self.exercises:
                msg = f"hidden test {item.nodeid} names unknown exercise {exercise_id!r}"
                raise pytest.UsageError(msg)
            if self.only is not None and exercise_id not in self.only:
                deselected.append(item)
            else:
                keep.append(item)
        keep.sort(key=lambda item: order[exercise_of(item)])
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = keep

    # --- outcomes --------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> pytest.TestReport:
        """Record the outcome, and make pytest's report without its traceback rendering.

        Nobody reads pytest's report here (the grade comes from `_record`), and rendering a
        long traceback parses the test's source for every failure: most of the grading
        time of a class whose tests fail.
        """
        if call.when == "call" or (call.when == "setup" and call.excinfo is not None):
            self._record(item, call)
        excinfo = call.excinfo
        outcome: Literal["passed", "failed", "skipped"] = "passed"
        longrepr: Any = None
        if excinfo is not None and excinfo.errisinstance(pytest.skip.Exception):
            outcome = "skipped"
            longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {excinfo.value}")
        elif excinfo is not None:
            outcome = "failed"
            longrepr = f"{excinfo.typename}: {excinfo.value}"
        when: Literal["setup", "call", "teardown"] = (
            "setup" if call.when == "setup" else "teardown" if call.when == "teardown" else "call"
        )
        return pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            outcome,
            longrepr,
            when,
            duration=call.duration,
            start=call.start,
            stop=call.stop,
            user_properties=item.user_properties,
        )

    def _record(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
        exercise_id = exercise_of(item)
        points = points_of(item)
        credit = item.stash.get(CREDIT_KEY, None)
        name = item.name
        excinfo = call.excinfo
        if excinfo is None:
            fraction = 1.0 if credit is None or credit.fraction is None else credit.fraction
            outcome = "passed" if fraction >= 1.0 else ("partial" if fraction > 0 else "failed")
            message = credit.message if credit else ""
            result = ItemResult(name, points, points * fraction, outcome, message)
        else:
            error = excinfo.value
            if isinstance(error, NotSubmittedError):
                result = ItemResult(name, points, 0.0, "not-submitted", str(error))
            elif isinstance(error, KitError):
                self.kit_errors.append(str(error))
                result = ItemResult(name, points, 0.0, "error", f"the kit is broken: {error}")
            elif isinstance(error, LearnerCodeError):
                result = ItemResult(name, points, 0.0, "error", error.message)
            elif excinfo.errisinstance(pytest.skip.Exception):
                reason = str(getattr(error, "msg", error))
                result = ItemResult(name, points, 0.0, "skipped", reason)
            elif excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
                message = getattr(error, "msg", None) or str(error)
                result = ItemResult(name, points, 0.0, "failed", message.strip())
                if isinstance(error, OrderMismatchError):
                    found = self.details.setdefault(exercise_id, {}).setdefault("comparisons", {})
                    found[name] = comparison_json(error.comparison)
            else:
                summary = f"{type(error).__name__}: {error}"
                self.internal_errors.append(f"{item.nodeid}: {summary}")
                result = ItemResult(
                    name,
                    points,
                    0.0,
                    "error",
                    f"internal grader error ({summary}); please report it",
                )
        if credit is not None and credit.details:
            self.details.setdefault(exercise_id, {}).update(credit.details)
        # A hidden test's message may quote what learner code returned (at the result caps,
        # megabytes): capped once here, with a note, for the results file and every output.
        result.message = cap(result.message, MESSAGE_LIMIT)
        self.items.setdefault(exercise_id, []).append(result)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.report = self.build_report()

    # --- the report --------------------------------------------------------------------------
    def build_report(self) -> GradeReport:
        """Assemble every requested exercise's result, in curriculum order."""
        results = [
            self._exercise_result(exercise)
            for exercise in self.curriculum
            if self.only is None or exercise.id in self.only
        ]
        layer = probe.probed()
        return GradeReport(
            submission=str(self.submission.root),
            exercises=results,
            isolation=layer.name if layer is not None else NO_CHILD_RAN,
        )

    def _exercise_result(self, exercise: Exercise) -> ExerciseResult:
        items = self.items.get(exercise.id, [])
        max_score = float(sum(item.points for item in items)) or float(exercise.points)
        score = round(sum(item.earned for item in items), 2)
        outcomes = {item.outcome for item in items}
        if not exercise.supported():
            status = "skipped"
            score = 0.0
        elif not items or outcomes == {"not-submitted"} or "not-submitted" in outcomes:
            status = "not-submitted"
        elif score >= max_score:
            status = "passed"
        elif "error" in outcomes:
            status = "error"
        elif score > 0:
            status = "partial"
        else:
            status = "failed"
        details = self.details.get(exercise.id, {})
        parts = compose_feedback(self, exercise, status, items, details, score, max_score)
        details["feedback"] = parts.to_json()
        return ExerciseResult(
            id=exercise.id,
            file=exercise.file,
            kind=exercise.kind,
            title=exercise.title,
            score=score,
            max_score=max_score,
            status=status,
            feedback=render(parts),
            items=items,
            details=details,
        )


def compose_feedback(  # noqa: PLR0917 - the whole outcome of one exercise
    session: GradingSession,
    exercise: Exercise,
    status: str,
    items: list[ItemResult],
    details: dict[str, Any],
    score: float,
    max_score: float,
) -> ExerciseFeedback:
    """The learner's feedback as parts: what went wrong, the hint, and (after an attempt) why."""
    if exercise.kind == "predict":
        attempted = details.get("attempted") is True
    else:
        try:
            source: bytes | None = session.submission.source(exercise)
        except (NotSubmittedError, LearnerCodeError, OSError):
            source = None
        # No file to read, yet checks ran: they did not need it (nothing says it is a stub).
        attempted = (
            program_attempted(source, stubs.stub(session.kit, exercise.file))
            if source is not None
            else status not in {"not-submitted", "skipped"}
        )
    return compose(
        exercise,
        status,
        items,
        details,
        score=score,
        max_score=max_score,
        attempted=attempted,
    )


def exercise_of(item: pytest.Item) -> str:
    """The exercise id a hidden test is tied to (its `exercise` marker)."""
    marker = item.get_closest_marker("exercise")
    if marker is None or not marker.args:
        msg = f"hidden test {item.nodeid} has no @pytest.mark.exercise(ID)"
        raise pytest.UsageError(msg)
    return str(marker.args[0])


def points_of(item: pytest.Item) -> float:
    """What a hidden test is worth (its `points` marker)."""
    marker = item.get_closest_marker("points")
    if marker is None or not marker.args:
        msg = f"hidden test {item.nodeid} has no @pytest.mark.points(N)"
        raise pytest.UsageError(msg)
    return float(marker.args[0])
