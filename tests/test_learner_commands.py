"""The learner's commands: list, reset, hint after grade, did-you-mean; and the stub copy."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import run_grader
from rich.console import Console

from grader.classroom.grading import report_from_json
from grader.commands import hint as hints
from grader.commands import list as learner_list
from grader.commands import reset as learner_reset
from grader.feedback import progress
from grader.model import stubs
from grader.model.curriculum import Exercise
from grader.model.ids import suggestions, unknown_message
from grader.model.kit import Kit


def _console() -> Console:
    return Console(width=200, file=io.StringIO(), record=True, color_system=None)


@pytest.fixture
def own_kit(kit: Kit, tmp_path: Path) -> Kit:
    """A kit of its own (curriculum and stubs), so its state file is the test's."""
    root = tmp_path / "kit"
    shutil.copytree(kit.exercises, root / "exercises")
    return Kit(root)


def _graded(own_kit: Kit, submission: Path, tmp_path: Path, *only: str) -> None:
    """Grade `submission` for real, then remember it as if it were `own_kit`'s exercises."""
    out = tmp_path / "r.json"
    extra = ["--only", *only] if only else []
    completed = run_grader("--submission", str(submission), "--json", str(out), *extra)
    assert completed.returncode == 0, completed.stderr
    report = report_from_json(json.loads(out.read_text(encoding="utf-8")))
    report.submission = str(own_kit.exercises)
    total = len(own_kit.curriculum_file.read_text(encoding="utf-8").split("[[exercise]]")) - 1
    assert progress.remember(report, progress.progress_of(report, total), own_kit)


def test_stub_copy_matches_exercises(kit: Kit) -> None:
    assert stubs.collect(kit) == stubs._load(stubs.FILE), (
        "run python -m grader.model.stubs --update"
    )


def test_list_before_any_grading_says_so(own_kit: Kit) -> None:
    console = _console()
    assert learner_list.main([], kit=own_kit, console=console) == 0
    assert "Nothing graded yet" in console.export_text()


def test_list_shows_the_last_grading_without_regrading(
    own_kit: Kit, kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    _graded(own_kit, kit.solutions, tmp_path)
    console = _console()
    assert learner_list.main([], kit=own_kit, console=console) == 0
    text = console.export_text()
    counted = [e for e in curriculum if e.supported()]
    assert text.count(" passed") >= len(counted)
    assert "(changed since)" not in text
    for exercise in curriculum:
        assert exercise.id in text
    # A file edited after the grading: its result is marked as older than the file.
    (own_kit.exercises / curriculum[0].file).write_text("edited\n", encoding="utf-8")
    console = _console()
    learner_list.main([], kit=own_kit, console=console)
    assert console.export_text().count("(changed since)") == 1


def test_list_names_the_next_exercise_from_the_last_grading(
    own_kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    _graded(own_kit, own_kit.exercises, tmp_path)
    console = _console()
    learner_list.main([], kit=own_kit, console=console)
    text = console.export_text()
    assert f"Next: {curriculum[0].id}" in text
    assert "not started" in text


def test_hint_after_grade_gives_the_stronger_one_at_once(
    own_kit: Kit, kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    exercise = next(
        e
        for e in curriculum
        if e.strong_hint
        and "PREDICTION: list[str] = []" in (kit.exercises / e.file).read_text(encoding="utf-8")
    )
    submission = tmp_path / "sub"
    shutil.copytree(kit.exercises, submission)
    path = submission / exercise.file
    source = path.read_text(encoding="utf-8")
    source = source.replace("PREDICTION: list[str] = []", 'PREDICTION = ["surely wrong"]')
    path.write_text(source, encoding="utf-8")
    _graded(own_kit, submission, tmp_path, exercise.id)
    console = _console()
    assert hints.main([exercise.id], kit=own_kit, console=console) == 0
    text = console.export_text()
    assert exercise.strong_hint[:40] in text
    assert "seen hint 1 already" in text


def test_hint_with_everything_passing_says_so_and_exits_0(
    own_kit: Kit, kit: Kit, tmp_path: Path
) -> None:
    _graded(own_kit, kit.solutions, tmp_path)
    console = _console()
    assert hints.main([], kit=own_kit, console=console) == 0
    assert "Everything passes" in console.export_text()


def test_reset_restores_the_stub_and_keeps_a_backup(
    own_kit: Kit, curriculum: tuple[Exercise, ...]
) -> None:
    exercise = curriculum[1]
    path = own_kit.exercises / exercise.file
    original = path.read_bytes()
    path.write_text("my work\n", encoding="utf-8")
    console = _console()
    assert learner_reset.main([exercise.id], kit=own_kit, console=console) == 0
    assert path.read_bytes() == original
    backups = list((own_kit.root / learner_reset.BACKUPS).rglob("*"))
    kept = [b for b in backups if b.is_file()]
    assert [b.read_text(encoding="utf-8") for b in kept] == ["my work\n"]
    console = _console()
    assert learner_reset.main([exercise.id], kit=own_kit, console=console) == 0
    assert "already the stub" in console.export_text()


@pytest.mark.parametrize("command", [learner_reset.main, hints.main], ids=["reset", "hint"])
def test_unknown_ids_get_a_did_you_mean(own_kit: Kit, command: object) -> None:
    console = _console()
    assert callable(command)
    assert command(["basics-vocab"], kit=own_kit, console=console) == 2
    assert "Did you mean 'basics-vocabulary'?" in console.export_text()


def test_only_with_a_typo_gets_a_did_you_mean() -> None:
    completed = run_grader("--only", "sleep-interleav")
    assert completed.returncode == 2
    assert "Did you mean 'sleep-interleave'" in " ".join(completed.stdout.split())


def test_suggestions_find_typos_and_parts() -> None:
    ids = ["basics-vocabulary", "blocking-to-thread", "tasks-await"]
    assert suggestions("tasks-awiat", ids) == ["tasks-await"]
    assert suggestions("to-thread", ids) == ["blocking-to-thread"]
    assert "Did you mean" not in unknown_message("zzz", ids)
