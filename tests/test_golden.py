"""Golden tests: the learner-facing feedback of a few cases, at 80 columns, word for word.

Each case is a submission a learner could make (a wrong prediction, a facts quiz, a produce
failure with Python's warning, a syntax error, a malformed prediction, a shutdown group, an
untouched stub, a near miss). The submission is graded for real through the CLI, and each
case's feedback, as the terminal draws it at 80 columns, must equal `tests/golden/<case>.txt`.
Any change of wording or layout shows in review as a diff of those files; after a deliberate
change, `UPDATE_GOLDEN=1` rewrites them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_grader

from grader.classroom.grading import report_from_json
from grader.commands.docs_samples import terminal_text
from grader.feedback.terminal import print_parts
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.model.results import GradeReport

GOLDEN = Path(__file__).resolve().parent / "golden"
#: Cases whose text depends on an order asyncio leaves open (a set's iteration order), which
#: differs between Pythons: each order seen gets its own file. After a wording change, delete
#: `tests/golden/<case>*.txt` and run with UPDATE_GOLDEN=1 on each Python.
OPEN_ORDER = frozenset({"shutdown-group"})
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _set_prediction(text: str, literal: str) -> str:
    """`text` with its `PREDICTION = ...` statement (up to `# END TODO`) replaced."""
    return re.sub(
        r"^PREDICTION(: [^=]+)? = .*?(?=^# END TODO)",
        f"PREDICTION = {literal}\n",
        text,
        count=1,
        flags=re.DOTALL | re.MULTILINE,
    )


def _solution(kit: Kit, exercise: Exercise) -> str:
    return (kit.solutions / exercise.file).read_text(encoding="utf-8")


def _stub(kit: Kit, exercise: Exercise) -> str:
    return (kit.exercises / exercise.file).read_text(encoding="utf-8")


F1_THEN_F2 = [
    "Running f1",
    "Running from f1: 0",
    "Running from f1: 1",
    "Running from f1: 2",
    "Running f2",
    "Running from f2: 0",
    "Running from f2: 1",
    "Running from f2: 2",
]


def _wrong_prediction(kit: Kit, exercise: Exercise) -> str:
    return _set_prediction(_solution(kit, exercise), repr(F1_THEN_F2))


def _facts_quiz(kit: Kit, exercise: Exercise) -> str:
    text = _solution(kit, exercise)
    text = text.replace('"iscoroutine(task)": False', '"iscoroutine(task)": True')
    return text.replace('"callable(coroutine)": False', '"callable(coroutine)": ...')


def _produce_failure(kit: Kit, exercise: Exercise) -> str:
    # The classic bug: `asyncio.sleep(0)` without `await` - Python warns, nothing gives way.
    marker = "        # END TODO"
    return _stub(kit, exercise).replace(marker, "        asyncio.sleep(0)\n" + marker, 1)


def _syntax_error(kit: Kit, exercise: Exercise) -> str:
    return _set_prediction(_stub(kit, exercise), '["Starting expensive task",')


def _malformed(kit: Kit, exercise: Exercise) -> str:
    return _set_prediction(_stub(kit, exercise), '[print("Hello, World!")]')


def _shutdown_group(kit: Kit, exercise: Exercise) -> str:
    lines = [
        "A: started",
        "B: started",
        "C: started",
        "A: finished",
        "main: returning, 2 tasks still running",
        "B: cancelled",
        "B: cleanup",
        "C: cancelled",
        "C: cleanup",
    ]
    return _set_prediction(_solution(kit, exercise), repr(lines))


def _untouched(kit: Kit, exercise: Exercise) -> str:
    return _stub(kit, exercise)


def _near_miss(kit: Kit, exercise: Exercise) -> str:
    return _solution(kit, exercise).replace('"Goodbye, World!"', '"goodbye, world"')


#: case name -> (exercise id, how to write its file)
CASES: dict[str, tuple[str, Callable[[Kit, Exercise], str]]] = {
    "wrong-prediction": ("sleep-interleave", _wrong_prediction),
    "facts-quiz": ("basics-vocabulary", _facts_quiz),
    "produce-failure": ("sleep0-take-turns", _produce_failure),
    "syntax-error": ("callbacks-shared-task", _syntax_error),
    "malformed-prediction": ("tasks-await", _malformed),
    "shutdown-group": ("cancel-at-exit", _shutdown_group),
    "untouched-stub": ("tasks-fire-and-forget", _untouched),
    "near-miss": ("tasks-sleep-in-main", _near_miss),
}


@pytest.fixture(scope="module")
def graded(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path_factory: pytest.TempPathFactory
) -> GradeReport:
    by_id = {exercise.id: exercise for exercise in curriculum}
    where = tmp_path_factory.mktemp("golden")
    submission = where / "submission"
    shutil.copytree(kit.exercises, submission)
    for exercise_id, write in CASES.values():
        exercise = by_id[exercise_id]
        (submission / exercise.file).write_text(write(kit, exercise), encoding="utf-8")
    out = where / "results.json"
    ids = [exercise_id for exercise_id, _ in CASES.values()]
    completed = run_grader("--submission", str(submission), "--json", str(out), "--only", *ids)
    assert completed.returncode == 0, completed.stderr
    return report_from_json(json.loads(out.read_text(encoding="utf-8")))


def feedback_at_80(report: GradeReport, exercise_id: str) -> str:
    """One exercise's feedback as the terminal draws it at 80 columns."""
    result = next(e for e in report.exercises if e.id == exercise_id)
    return terminal_text(lambda console: print_parts(result.parts, console)) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_feedback_matches_its_golden_file(graded: GradeReport, case: str) -> None:
    text = feedback_at_80(graded, CASES[case][0])
    path = GOLDEN / f"{case}.txt"
    # Where asyncio leaves an order open (tasks cancelled together at shutdown), each order a
    # Python may choose has its own file: `<case>.txt`, `<case>.<tag>.txt`.
    known = {other.read_text(encoding="utf-8") for other in GOLDEN.glob(f"{case}.*txt")}
    if UPDATE and text not in known:
        target = path
        if case in OPEN_ORDER and path.exists():
            version = f"py{sys.version_info.major}{sys.version_info.minor}"
            target = GOLDEN / f"{case}.{version}.txt"
        target.write_text(text, encoding="utf-8")
        known.add(text)
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1"
    assert text in known, (
        f"the feedback of {case!r} changed; if that is meant, rerun with UPDATE_GOLDEN=1 "
        "and review the diff of tests/golden/"
    )


def test_only_an_order_asyncio_leaves_open_has_more_than_one_golden_file() -> None:
    extra = {path.name.split(".")[0] for path in GOLDEN.glob("*.*.txt")}
    assert extra <= OPEN_ORDER, extra


def test_every_golden_line_fits_80_columns() -> None:
    for path in GOLDEN.glob("*.txt"):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert len(line) <= 80, (path.name, line)
