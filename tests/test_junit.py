"""`--junit PATH`: one test case per exercise, failures carrying the feedback, read by junitparser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_grader
from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from grader.feedback.junit import write_junit
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.model.results import ExerciseResult, GradeReport


def _cases(path: Path) -> list[TestCase]:
    xml = JUnitXml.fromfile(str(path))
    suites = [suite for suite in xml if isinstance(suite, TestSuite)]
    assert len(suites) == 1
    return list(suites[0])


@pytest.fixture(scope="module")
def graded_solutions(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("junit-solutions")
    completed = run_grader(
        "--submission",
        str(kit.solutions),
        "--junit",
        str(folder / "junit.xml"),
        "--json",
        str(folder / "results.json"),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return folder / "junit.xml", json.loads((folder / "results.json").read_text("utf-8"))


def test_solutions_give_one_passing_case_per_exercise(
    graded_solutions: tuple[Path, dict], curriculum: tuple[Exercise, ...]
) -> None:
    path, _ = graded_solutions
    cases = _cases(path)
    assert [case.name for case in cases] == [e.id for e in curriculum]
    for case, exercise in zip(cases, curriculum, strict=True):
        kinds = {type(result) for result in case.result}
        assert kinds == (set() if exercise.supported() else {Skipped}), exercise.id
        assert case.classname.endswith(exercise.file.rsplit("/", 1)[0])


def test_suite_counts_and_score_properties(graded_solutions: tuple[Path, dict]) -> None:
    path, results = graded_solutions
    xml = JUnitXml.fromfile(str(path))
    (suite,) = list(xml)
    assert suite.tests == len(results["exercises"])
    assert suite.failures == 0
    assert suite.errors == 0
    assert suite.skipped == sum(1 for e in results["exercises"] if e["status"] == "skipped")
    properties = {prop.name: prop.value for prop in suite.properties()}
    assert float(properties["score"]) == results["score"]
    assert float(properties["max_score"]) == results["max_score"]


def test_unfinished_work_fails_with_the_feedback(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    completed = run_grader(
        "--submission",
        str(kit.exercises),
        "--junit",
        str(tmp_path / "junit.xml"),
        "--json",
        str(tmp_path / "results.json"),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = {e["id"]: e for e in json.loads((tmp_path / "results.json").read_text())["exercises"]}
    for case in _cases(tmp_path / "junit.xml"):
        entry = results[case.name]
        if entry["status"] == "skipped":
            continue
        (failure,) = case.result
        assert isinstance(failure, Failure)
        assert failure.type == entry["status"]
        assert f"0/{entry['max_score']:g}" in failure.message
        assert failure.text == entry["feedback"]


def _result(status: str, feedback: str, score: float = 0.0) -> ExerciseResult:
    return ExerciseResult(
        id=f"ex-{status}",
        file=f"01_topic/{status}.py",
        kind="produce",
        title=f"An exercise that is {status}",
        score=score,
        max_score=2.0,
        status=status,
        feedback=feedback,
    )


def test_every_status_maps_to_a_junit_outcome_and_control_characters_are_dropped(
    tmp_path: Path,
) -> None:
    report = GradeReport(
        submission="s",
        exercises=[
            _result("passed", "fine", 2.0),
            _result("partial", "half right\x1b[31m <b>&", 1.0),
            _result("failed", "wrong order\x00"),
            _result("error", "killed by signal 9"),
            _result("not-submitted", "blank"),
            _result("skipped", "needs 3.14"),
        ],
    )
    path = tmp_path / "deep" / "junit.xml"
    write_junit(report, path)
    cases = {case.name: case for case in _cases(path)}
    assert cases["ex-passed"].is_passed
    (partial,) = cases["ex-partial"].result
    assert isinstance(partial, Failure)
    assert partial.text == "half right[31m <b>&"
    assert "1/2" in partial.message
    (failed,) = cases["ex-failed"].result
    assert isinstance(failed, Failure)
    assert failed.text == "wrong order"
    (error,) = cases["ex-error"].result
    assert isinstance(error, Error)
    assert error.text == "killed by signal 9"
    assert isinstance(cases["ex-not-submitted"].result[0], Failure)
    assert isinstance(cases["ex-skipped"].result[0], Skipped)
    (suite,) = list(JUnitXml.fromfile(str(path)))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (6, 3, 1, 1)
