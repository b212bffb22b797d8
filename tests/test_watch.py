"""Watch mode: a saved exercise file is graded again (warm, in-process), and nothing else is.

Learner code still runs in a fresh sandboxed child per attempt; `--fresh` grades in a new
process per save.
"""

from __future__ import annotations

import ast
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.commands import watch
from grader.model.curriculum import Exercise
from grader.model.kit import Kit


@pytest.fixture
def folder(kit: Kit, tmp_path: Path) -> Path:
    """A copy of the kit's exercises that the test can edit."""
    copy = tmp_path / "exercises"
    shutil.copytree(kit.exercises, copy)
    return copy


def _is_prediction(node: ast.stmt) -> bool:
    if isinstance(node, ast.AnnAssign):
        return ast.unparse(node.target) == "PREDICTION" and node.value is not None
    return isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "PREDICTION"


def _solved_prediction(kit: Kit, exercise: Exercise) -> object:
    tree = ast.parse((kit.solutions / exercise.file).read_bytes())
    node = next(n for n in tree.body if _is_prediction(n))
    assert isinstance(node, ast.AnnAssign | ast.Assign)
    assert node.value is not None
    return ast.literal_eval(node.value)


@pytest.fixture
def predict_exercise(kit: Kit, curriculum: tuple[Exercise, ...]) -> Exercise:
    """The first predict exercise whose answer is a list of lines."""
    return next(
        e
        for e in curriculum
        if e.kind == "predict" and e.supported() and isinstance(_solved_prediction(kit, e), list)
    )


def _edit(path: Path, text: str) -> None:
    """Save a file as an editor would; make sure its time moves even on a coarse clock."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def _with_prediction(source: str, lines: list[str]) -> str:
    node = next(n for n in ast.parse(source).body if _is_prediction(n))
    rows = source.splitlines(keepends=True)
    rows[node.lineno - 1 : node.end_lineno] = [f"PREDICTION = {lines!r}\n"]
    return "".join(rows)


def _editor(steps: list[Callable[[], None]]) -> Callable[[float], None]:
    """A stand-in for time.sleep that makes one edit per poll (then does nothing)."""
    pending = list(steps)

    def sleep(_seconds: float) -> None:
        if pending:
            pending.pop(0)()

    return sleep


def test_snapshot_sees_new_and_changed_files(tmp_path: Path) -> None:
    first = tmp_path / "a.py"
    first.write_text("x = 1\n", encoding="utf-8")
    before = watch.snapshot(tmp_path)
    _edit(first, "x = 22\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not python", encoding="utf-8")
    assert watch.changed(before, watch.snapshot(tmp_path)) == [first, tmp_path / "sub" / "b.py"]
    after = watch.snapshot(tmp_path)
    assert watch.changed(after, watch.snapshot(tmp_path)) == []


def test_each_saved_exercise_is_graded_once_per_save(
    kit: Kit, folder: Path, curriculum: tuple[Exercise, ...]
) -> None:
    one, two = curriculum[0], curriculum[1]
    graded: list[str] = []
    output: list[str] = []

    def fake_grade(_kit: Kit, where: Path, exercise_id: str) -> str:
        assert where == folder
        graded.append(exercise_id)
        return f"graded {exercise_id}"

    def save(exercise: Exercise, text: str) -> Callable[[], None]:
        return lambda: _edit(folder / exercise.file, text)

    def stray() -> None:
        (folder / "scratch.py").write_text("print('not an exercise')\n", encoding="utf-8")

    sleep = _editor(
        [
            save(one, "# first save\n"),
            lambda: None,  # nothing saved: nothing graded
            lambda: (save(one, "# again\n")(), save(two, "# and another\n")()),
            stray,
        ]
    )
    runs = watch.watch(
        kit, folder, interval=0, iterations=4, sleep=sleep, out=output.append, grade=fake_grade
    )
    assert graded == [one.id, one.id, two.id]
    assert runs == 3
    assert f"graded {one.id}" in output
    assert output[0].startswith(f"Watching {folder}")


@pytest.mark.parametrize("grade", [watch.grade_in_process, watch.run_grade], ids=["warm", "fresh"])
def test_watch_regrades_the_edited_exercise(
    kit: Kit,
    folder: Path,
    predict_exercise: Exercise,
    grade: Callable[[Kit, Path, str], str],
) -> None:
    path = folder / predict_exercise.file
    stub = path.read_text(encoding="utf-8")
    right = _solved_prediction(kit, predict_exercise)
    assert isinstance(right, list)
    assert len(right) >= 2
    wrong = [*reversed(right), "a line asyncio never prints"]
    output: list[str] = []
    sleep = _editor(
        [
            lambda: _edit(path, _with_prediction(stub, right)),
            lambda: _edit(path, _with_prediction(stub, wrong)),
        ]
    )
    runs = watch.watch(
        kit, folder, interval=0, iterations=2, sleep=sleep, out=output.append, grade=grade
    )
    assert runs == 2
    text = "\n".join(output)
    first, second = text.split(f"changed: grading {predict_exercise.id}")[1:]
    assert "passed" in first
    if grade is watch.grade_in_process:
        assert "Next: " in first  # a pass points at the exercise after it
    assert "partial" in second or "failed" in second
    assert "What asyncio ran" in second  # the feedback of the fresh grading, timelines and all
    assert "Traceback" not in text


def test_watch_main_refuses_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert watch.main(["--submission", str(tmp_path / "missing")]) == 2
    assert "folder not found" in capsys.readouterr().err


def test_warm_watch_runs_each_attempt_in_a_fresh_child(kit: Kit, folder: Path) -> None:
    """State a learner's module leaves in its interpreter never reaches the next attempt."""
    path = folder / "03_sleep" / "04_take_turns.py"
    # A count kept in the process environment (allowed to learner code): a fresh interpreter
    # always starts it at 1; a reused one would show 2. The error message carries it to the
    # feedback.
    counting = (
        path.read_text(encoding="utf-8")
        .replace(
            "    for step in range(steps):",
            '    raise RuntimeError(f"seen in run{SEEN}")\n    for step in range(steps):',
        )
        .replace(
            "import asyncio\n",
            "import asyncio\nimport os\n\n"
            "SEEN = int(os.environ.get('KIT_SEEN', '0')) + 1\n"
            "os.environ['KIT_SEEN'] = str(SEEN)\n",
            1,
        )
    )
    assert "seen in run{SEEN}" in counting
    output: list[str] = []
    sleep = _editor([lambda: _edit(path, counting), lambda: _edit(path, counting + "\n")])
    runs = watch.watch(kit, folder, interval=0, iterations=2, sleep=sleep, out=output.append)
    assert runs == 2
    text = "\n".join(output)
    assert text.count("seen in run1") >= 2  # both attempts, each in a fresh interpreter
    assert "seen in run2" not in text
