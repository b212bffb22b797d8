"""Where the learner stands (progress, next step) and hints that get stronger when asked again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from grader.commands import hint as hints
from grader.feedback import progress
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.model.results import ExerciseResult, GradeReport
from grader.model.state import KitState

ROOT = Path(__file__).resolve().parent.parent


def _hint(argv: list[str], kit: Kit) -> tuple[int, str]:
    console = Console(width=2000, record=True, file=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    code = hints.main(argv, kit=kit, console=console)
    console.file.close()
    return code, console.export_text()


@pytest.fixture
def exercise(curriculum: tuple[Exercise, ...]) -> Exercise:
    """An exercise that has both hints."""
    return next(e for e in curriculum if e.strong_hint)


# --- hints --------------------------------------------------------------------------------------
def test_hint_then_a_stronger_one_then_it_stays_the_strongest(
    kit: Kit, exercise: Exercise, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    code, first = _hint([exercise.id, "--state", str(state)], kit)
    assert code == 0
    assert exercise.hint in first
    assert exercise.strong_hint not in first
    assert "Hint 1 of 2" in first
    _, second = _hint([exercise.id, "--state", str(state)], kit)
    assert exercise.strong_hint in second
    assert "Hint 2 of 2" in second
    _, third = _hint([exercise.id, "--state", str(state)], kit)
    assert exercise.strong_hint in third
    assert json.loads(state.read_text(encoding="utf-8"))["hints"][exercise.id] == 3


def test_hints_are_counted_per_exercise_and_can_start_over(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    first, second = [e for e in curriculum if e.strong_hint][:2]
    _hint([first.id, "--state", str(state)], kit)
    _, other = _hint([second.id, "--state", str(state)], kit)
    assert second.hint in other  # the first exercise's count does not carry over
    _hint([first.id, "--state", str(state)], kit)
    assert _hint([first.id, "--reset", "--state", str(state)], kit)[0] == 0
    _, again = _hint([first.id, "--state", str(state)], kit)
    assert first.hint in again


def test_an_exercise_with_one_hint_says_so() -> None:
    single = Exercise("x", "a/x.py", "X", "predict", 1, (), "Look at the await.", "Why.")
    assert hints.hint_text(single, 1)[1] == "Hint 1 of 1: Look at the await."
    assert hints.hint_text(single, 5)[1] == "Hint 1 of 1: Look at the await."


def test_unknown_or_missing_id_is_a_usage_error(kit: Kit, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    code, text = _hint(["no-such-exercise", "--state", str(state)], kit)
    assert code == 2
    assert "unknown exercise id" in text
    assert "Known ids:" in text
    code, text = _hint(["--state", str(state)], kit)
    assert code == 2
    assert "which exercise?" in text
    assert not state.exists()


def test_without_an_id_the_hint_is_for_the_exercise_to_do_next(
    kit: Kit, exercise: Exercise, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"next": exercise.id}), encoding="utf-8")
    code, text = _hint(["--state", str(state)], kit)
    assert code == 0
    assert exercise.hint in text


def test_a_damaged_state_file_is_started_afresh(
    kit: Kit, exercise: Exercise, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json", encoding="utf-8")
    code, text = _hint([exercise.id, "--state", str(state)], kit)
    assert code == 0
    assert exercise.hint in text
    assert json.loads(state.read_text(encoding="utf-8"))["hints"] == {exercise.id: 1}


def test_hint_is_a_grader_subcommand(exercise: Exercise, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    completed = subprocess.run(
        [sys.executable, "-m", "grader", "hint", exercise.id, "--state", str(state)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert exercise.hint[:40] in " ".join(completed.stdout.split())


# --- progress -----------------------------------------------------------------------------------
def _result(exercise_id: str, status: str, file: str | None = None) -> ExerciseResult:
    score = {"passed": 2.0, "partial": 1.0}.get(status, 0.0)
    return ExerciseResult(
        exercise_id,
        file or f"01_topic/{exercise_id}.py",
        "predict",
        exercise_id.title(),
        score,
        2.0,
        status,
        "",
    )


def test_progress_counts_and_points_to_the_first_exercise_not_passed(tmp_path: Path) -> None:
    report = GradeReport(
        str(tmp_path / "exercises"),
        [
            _result("one", "passed"),
            _result("two", "skipped"),
            _result("three", "partial"),
            _result("four", "failed"),
            _result("five", "not-submitted"),
            _result("six", "error"),
        ],
    )
    found = progress.progress_of(report)
    assert (found.solved, found.partly_solved, found.failing, found.not_started) == (1, 1, 2, 1)
    assert found.skipped == 1
    assert found.next_exercise is not None
    assert found.next_exercise.id == "three"
    assert found.next_path == str(tmp_path / "exercises" / "01_topic" / "three.py")
    lines = progress.summary_lines(found)
    assert lines[0].startswith("Progress: 1 solved, 1 partly solved, 2 not passing yet, 1 not")
    assert "nox -s grade -- --only three" in "\n".join(lines)
    assert "nox -s hint -- three" in "\n".join(lines)


def test_progress_when_everything_passes() -> None:
    report = GradeReport("/x", [_result("one", "passed"), _result("two", "passed")])
    found = progress.progress_of(report)
    assert found.next_exercise is None
    assert progress.summary_lines(found)[-1] == "Everything passes. Well done!"


def test_a_partial_grading_does_not_claim_everything_passes() -> None:
    report = GradeReport("/x", [_result("one", "passed")])
    found = progress.progress_of(report, total=5)
    assert not found.whole
    lines = progress.summary_lines(found)
    assert lines[0] == "Progress: 1 solved, 0 partly solved, 0 not started (of the 1 graded)."
    assert "Everything passes" not in "\n".join(lines)
    assert "whole kit" in lines[-1]


def test_full_grading_of_the_kits_exercises_remembers_what_is_next(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    small = Kit(tmp_path)
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "info.toml").write_bytes(kit.curriculum_file.read_bytes())
    total = len(curriculum)
    results = [_result(e.id, "passed") for e in curriculum]
    results[1] = _result(curriculum[1].id, "failed")
    whole = GradeReport(str(small.exercises), results)
    assert progress.remember(whole, progress.progress_of(whole, total), small)
    assert KitState.of(small).next_exercise == curriculum[1].id
    # Grading one exercise, or another folder, says nothing about the whole.
    part = GradeReport(str(small.exercises), results[:1])
    assert not progress.remember(part, progress.progress_of(part, total), small)
    elsewhere = GradeReport(str(tmp_path / "other"), results)
    assert not progress.remember(elsewhere, progress.progress_of(elsewhere, total), small)
    assert KitState.of(small).next_exercise == curriculum[1].id


def test_grade_ends_with_progress_and_the_next_file(kit: Kit, tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "grader", "--submission", str(kit.exercises)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "100", "HOME": str(tmp_path)},
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    tail = lines[next(i for i, line in enumerate(lines) if line.startswith("Progress:")) :]
    assert tail[0].startswith("Progress: 0 solved, 0 partly solved")
    assert "not started" in tail[0]
    next_line = next(i for i, line in enumerate(tail) if line.startswith("Next: "))
    opened = tail[next_line + 1].split("open", 1)[1].strip()
    assert (ROOT / opened).is_file() or Path(opened).is_file()
