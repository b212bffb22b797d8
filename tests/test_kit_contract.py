"""The kit's contract with itself: solutions score full marks, untouched stubs score zero."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from grader.model.curriculum import Exercise


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in report["exercises"]}


def test_report_lists_every_exercise_in_curriculum_order(
    solutions_report: dict[str, Any], curriculum: tuple[Exercise, ...]
) -> None:
    assert [entry["id"] for entry in solutions_report["exercises"]] == [e.id for e in curriculum]


def test_solutions_score_full_marks(
    solutions_report: dict[str, Any], curriculum: tuple[Exercise, ...]
) -> None:
    results = _by_id(solutions_report)
    for exercise in curriculum:
        entry = results[exercise.id]
        if exercise.supported():
            assert entry["status"] == "passed", (exercise.id, entry["feedback"])
            assert entry["score"] == entry["max_score"] == exercise.points
        else:
            assert entry["status"] == "skipped"
    assert solutions_report["score"] == solutions_report["max_score"] > 0


def test_untouched_stubs_score_zero(
    stubs_report: dict[str, Any], curriculum: tuple[Exercise, ...]
) -> None:
    results = _by_id(stubs_report)
    for exercise in curriculum:
        entry = results[exercise.id]
        assert entry["score"] == 0, (exercise.id, entry["feedback"])
        expected = {"not-submitted"} if exercise.kind == "predict" else {"failed"}
        if not exercise.supported():
            expected = {"skipped"}
        assert entry["status"] in expected, (exercise.id, entry["status"], entry["feedback"])
    assert stubs_report["score"] == 0


def test_exercises_too_new_for_this_python_do_not_count(
    solutions_report: dict[str, Any], curriculum: tuple[Exercise, ...]
) -> None:
    counted = sum(e.points for e in curriculum if e.supported(sys.version_info[:2]))
    assert solutions_report["max_score"] == counted


@pytest.mark.parametrize(
    "field", ["id", "file", "kind", "score", "max_score", "status", "feedback"]
)
def test_every_exercise_result_has_the_documented_fields(
    stubs_report: dict[str, Any], field: str
) -> None:
    assert all(field in entry for entry in stubs_report["exercises"])
