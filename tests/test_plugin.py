"""The grading plugin: markers, partial credit, and how each outcome becomes a status."""

from __future__ import annotations

import pytest

from grader.grading.session import GradingSession
from grader.model.curriculum import Exercise
from grader.model.kit import Kit

HIDDEN = """
import pytest
from grader.grading.session import NotSubmittedError
from grader.model.errors import FailureKind, LearnerCodeError

@pytest.mark.exercise("alpha")
@pytest.mark.points(2)
def test_alpha_partial(credit):
    credit.award(0.25, "a quarter right")

@pytest.mark.exercise("alpha")
@pytest.mark.points(2)
def test_alpha_full():
    pass

@pytest.mark.exercise("beta")
@pytest.mark.points(3)
def test_beta_wrong():
    assert False, "the order is not the one required"

@pytest.mark.exercise("gamma")
@pytest.mark.points(1)
def test_gamma_crashes():
    raise LearnerCodeError("ex.py raised ValueError: boom", FailureKind.EXCEPTION)

@pytest.mark.exercise("delta")
@pytest.mark.points(1)
def test_delta_missing():
    raise NotSubmittedError("delta.py is not in the submission")
"""


def _exercise(exercise_id: str, points: int) -> Exercise:
    return Exercise(
        id=exercise_id,
        file=f"{exercise_id}.py",
        title=exercise_id.title(),
        kind="produce",
        points=points,
        topics=(),
        hint=f"hint for {exercise_id}",
        explanation=f"why {exercise_id}",
    )


CURRICULUM = (
    _exercise("alpha", 4),
    _exercise("beta", 3),
    _exercise("gamma", 1),
    _exercise("delta", 1),
    _exercise("epsilon", 2),
)


def _grade(pytester: pytest.Pytester, only: set[str] | None = None) -> GradingSession:
    pytester.makepyfile(test_hidden=HIDDEN)
    session = GradingSession(Kit(pytester.path), CURRICULUM, pytester.path, only)
    pytester.runpytest_inprocess(
        "-p", "no:asyncio", "-p", "grader.grading.plugin", plugins=[session]
    )
    assert session.report is not None
    return session


def test_each_outcome_becomes_the_right_status_and_score(pytester: pytest.Pytester) -> None:
    report = _grade(pytester).report
    assert report is not None
    got = {e.id: (e.status, e.score, e.max_score) for e in report.exercises}
    assert got == {
        "alpha": ("partial", 2.5, 4.0),
        "beta": ("failed", 0.0, 3.0),
        "gamma": ("error", 0.0, 1.0),
        "delta": ("not-submitted", 0.0, 1.0),
        "epsilon": ("not-submitted", 0.0, 2.0),
    }
    assert report.score == 2.5
    assert report.max_score == 11.0


def test_feedback_carries_the_reason_the_hint_and_after_an_attempt_the_why(
    pytester: pytest.Pytester,
) -> None:
    report = _grade(pytester).report
    assert report is not None
    feedback = {e.id: e.feedback for e in report.exercises}
    assert "a quarter right" in feedback["alpha"]
    assert "hint for alpha" in feedback["alpha"]
    assert "why alpha" in feedback["alpha"]
    assert "the order is not the one required" in feedback["beta"]
    assert "ValueError: boom" in feedback["gamma"]
    assert "not in the submission" in feedback["delta"]
    assert "hint for delta" in feedback["delta"]
    assert "why delta" not in feedback["delta"]


def test_only_grades_the_exercises_asked_for(pytester: pytest.Pytester) -> None:
    report = _grade(pytester, only={"beta"}).report
    assert report is not None
    assert [e.id for e in report.exercises] == ["beta"]


@pytest.mark.parametrize(
    ("test_source", "complaint"),
    [
        ("import pytest\n@pytest.mark.points(1)\ndef test_x(): pass\n", "no @pytest.mark.exercise"),
        (
            "import pytest\n@pytest.mark.exercise('alpha')\ndef test_x(): pass\n",
            "no @pytest.mark.points",
        ),
        (
            (
                "import pytest\n@pytest.mark.exercise('zeta')\n@pytest.mark.points(1)\n"
                "def test_x(): pass\n"
            ),
            "unknown exercise 'zeta'",
        ),
    ],
    ids=["no-exercise-marker", "no-points-marker", "unknown-exercise"],
)
def test_a_malformed_hidden_test_is_a_usage_error(
    pytester: pytest.Pytester, test_source: str, complaint: str
) -> None:
    pytester.makepyfile(test_hidden=test_source)
    session = GradingSession(Kit(pytester.path), CURRICULUM, pytester.path)
    result = pytester.runpytest_inprocess(
        "-p", "no:asyncio", "-p", "grader.grading.plugin", plugins=[session]
    )
    assert result.ret in {pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR}
    assert complaint in result.stderr.str() + result.stdout.str()
