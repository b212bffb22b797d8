"""Every predict exercise: the learner's PREDICTION against the pristine snippet's true order."""

from __future__ import annotations

import pytest

from grader.grading.predict import grade_prediction
from grader.grading.session import Credit, GradingSession
from grader.model.curriculum import Exercise, load
from grader.model.kit import Kit


def _predict_exercises() -> list[object]:
    kit = Kit.installed()
    return [
        pytest.param(
            exercise.id,
            id=exercise.id,
            marks=[pytest.mark.exercise(exercise.id), pytest.mark.points(exercise.points)],
        )
        for exercise in load(kit.curriculum_file)
        if exercise.kind == "predict"
    ]


@pytest.mark.parametrize("exercise_id", _predict_exercises())
def test_prediction(
    exercise_id: str, grading: GradingSession, exercise: Exercise, credit: Credit
) -> None:
    assert exercise.id == exercise_id
    grade_prediction(grading, exercise, credit)
