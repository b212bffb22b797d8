"""The curriculum agrees with itself: metadata, stubs, solutions, hidden tests, README, topics.

`exercises/info.toml` is the one list of exercises. These tests check that every entry has its
stub and its solution, that the two differ only between the TODO markers, that each docstring
tells the learner how to grade it, that the hidden tests of each exercise add up to its points,
that hard-coding a produce exercise's visible output does not pass, that the README's table is
the curriculum, and that every experiment the kit sets out to teach is an exercise.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import grade_to_json

from grader.model.answers import read_prediction
from grader.model.curriculum import Exercise, load
from grader.model.kit import Kit, KitError
from grader.sandbox.runs import execute

ROOT = Path(__file__).resolve().parent.parent
KIT = Kit(ROOT)
CURRICULUM = load(KIT.curriculum_file)
BY_ID = {exercise.id: exercise for exercise in CURRICULUM}
PRODUCE = [exercise for exercise in CURRICULUM if exercise.kind == "produce"]

#: The experiments the kit sets out to teach, one by one, and the exercises that cover each.
EXPERIMENTS: dict[int, tuple[str, ...]] = {
    1: ("basics-vocabulary",),  # iscoroutinefunction, iscoroutine, isinstance(x, Future), ...
    2: ("tasks-await",),  # create_task then await task
    3: ("tasks-not-awaited",),  # the same without await task
    4: ("tasks-sleep-in-main",),  # without await task, with sleep(2) in main
    5: ("sleep-interleave",),  # count_numbers: f1 a coroutine, f2 a task, sleeping
    6: ("sleep-no-sleep",),  # the same without the sleep
    7: ("sleep-cut-short",),  # f2 with 10 iterations, never awaited
    8: ("callbacks-shared-task",),  # three waiters on one shared task, its callbacks
    9: ("sleep0-take-turns",),  # produce: strict turns with sleep(0)
    10: ("shared-result-once",),  # produce: one expensive run, N waiters
    11: ("tasks-fire-and-forget",),  # produce: fix a fire-and-forget bug
    12: ("sleep0-target-order",),  # produce: arrange create_task, await, sleep(0)
    13: ("gather-vs-sequential",),  # gather vs awaiting one after another
    14: ("cancel-finally", "cancel-swallowed", "cancel-at-exit"),  # cancellation
    15: ("taskgroup-one-fails",),  # TaskGroup when one child fails (3.11+)
    16: ("eager-forgotten-task", "eager-count-numbers"),  # eager_task_factory (3.12+)
    17: ("blocking-predict", "blocking-to-thread"),  # blocking time.sleep: predict, then fix
    18: ("timeout-wait-for", "timeout-block"),  # wait_for / asyncio.timeout
    # Beyond the original list: what sleep(0) does, as a prediction (so a learner who believes
    # "sleep(0) does nothing" can be told so by the misconception diagnosis).
    19: ("sleep0-predict",),
}
#: The experiments taught as *produce* exercises (17 is a predict and a produce).
PRODUCE_EXPERIMENTS = {9, 10, 11, 12}

#: What an exercise uses that an older Python lacks, and the Python it then needs.
NEWER_APIS = {
    "asyncio.TaskGroup": (3, 11),
    "asyncio.timeout(": (3, 11),
    "ExceptionGroup": (3, 11),
    "asyncio.eager_task_factory": (3, 12),
}

TODO = "# TODO"
END_TODO = "# END TODO"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _region(lines: list[str], where: str) -> tuple[int, int]:
    """The line indexes of the TODO and END TODO markers (exactly one of each, in order)."""
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(TODO)]
    ends = [i for i, line in enumerate(lines) if line.strip() == END_TODO]
    assert len(starts) == 1, f"{where}: {len(starts)} `# TODO` lines, want exactly one"
    assert len(ends) == 1, f"{where}: {len(ends)} `# END TODO` lines, want exactly one"
    assert starts[0] < ends[0], f"{where}: `# END TODO` comes before `# TODO`"
    return starts[0], ends[0]


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_bytes())) or ""


def _each(exercises: list[Exercise] | tuple[Exercise, ...] = CURRICULUM) -> Any:
    return pytest.mark.parametrize("exercise", exercises, ids=[e.id for e in exercises])


# --- the experiments -----------------------------------------------------------------------------
def test_every_experiment_has_its_exercises() -> None:
    assert sorted(EXPERIMENTS)[:18] == list(range(1, 19))
    named = [exercise_id for ids in EXPERIMENTS.values() for exercise_id in ids]
    unknown = sorted(set(named) - set(BY_ID))
    assert not unknown, f"the table names exercises that do not exist: {unknown}"
    assert sorted(named) == sorted(BY_ID), "every exercise should answer exactly one experiment"


@pytest.mark.parametrize("item", sorted(EXPERIMENTS))
def test_each_experiment_has_the_kind_it_asks_for(item: int) -> None:
    kinds = sorted(BY_ID[exercise_id].kind for exercise_id in EXPERIMENTS[item])
    if item in PRODUCE_EXPERIMENTS:
        assert kinds == ["produce"]
    elif item == 17:
        assert kinds == ["predict", "produce"]
    else:
        assert set(kinds) == {"predict"}


# --- metadata ------------------------------------------------------------------------------
def test_ids_and_files_are_unique() -> None:
    assert len({e.id for e in CURRICULUM}) == len(CURRICULUM)
    assert len({e.file for e in CURRICULUM}) == len(CURRICULUM)


def test_exercises_and_solutions_hold_exactly_the_curriculum_files() -> None:
    wanted = {e.file for e in CURRICULUM}
    for tree in (KIT.exercises, KIT.solutions):
        found = {path.relative_to(tree).as_posix() for path in tree.rglob("*.py")}
        assert found == wanted, f"{tree.name}/: extra {found - wanted}, missing {wanted - found}"


def test_the_curriculum_goes_folder_by_folder_in_order() -> None:
    files = [e.file for e in CURRICULUM]
    assert files == sorted(files), "info.toml should list the files in folder and file order"
    for exercise in CURRICULUM:
        assert re.fullmatch(r"\d\d_[a-z_]+/\d\d_[a-z0-9_]+\.py", exercise.file), exercise.file


@_each()
def test_metadata_is_complete(exercise: Exercise) -> None:
    assert exercise.title
    assert exercise.topics
    assert exercise.points > 0
    assert exercise.hint.endswith("?"), "the hint should be a guiding question"
    assert exercise.strong_hint, "a second, more direct hint"
    assert exercise.strong_hint != exercise.hint
    assert len(exercise.explanation.split()) >= 30, "the explanation should name the mechanism"


@_each()
def test_exercises_needing_a_newer_python_say_so(exercise: Exercise) -> None:
    source = (KIT.solutions / exercise.file).read_text(encoding="utf-8")
    needed = max((version for api, version in NEWER_APIS.items() if api in source), default=(3, 10))
    assert exercise.python == needed, (
        f"uses an API of Python {needed}, info.toml says {exercise.python}"
    )
    note = f"Needs Python {exercise.python_label} or newer"
    docstring = _docstring(KIT.exercises / exercise.file)
    assert (note in docstring) == (exercise.python > (3, 10)), (
        "the docstring should say which Python"
    )


# --- stubs and solutions ---------------------------------------------------------------------
@_each()
def test_stub_and_solution_differ_only_between_the_markers(exercise: Exercise) -> None:
    stub = _lines(KIT.exercises / exercise.file)
    solution = _lines(KIT.solutions / exercise.file)
    stub_start, stub_end = _region(stub, f"exercises/{exercise.file}")
    sol_start, sol_end = _region(solution, f"solutions/{exercise.file}")
    assert stub[: stub_start + 1] == solution[: sol_start + 1], "before the TODO region"
    assert stub[stub_end:] == solution[sol_end:], "after the TODO region"
    assert stub[stub_start + 1 : stub_end] != solution[sol_start + 1 : sol_end], "nothing to do"


@_each()
def test_both_copies_compile_on_this_python(exercise: Exercise) -> None:
    for tree in (KIT.exercises, KIT.solutions):
        path = tree / exercise.file
        compile(path.read_bytes(), str(path), "exec")


@_each()
def test_docstring_says_what_to_do_and_how_to_check(exercise: Exercise) -> None:
    docstring = _docstring(KIT.exercises / exercise.file)
    assert f"`nox -s grade -- --only {exercise.id}`" in docstring
    assert "What to do:" in docstring
    assert "How it is graded:" in docstring
    assert docstring.splitlines()[0].endswith((".", "?")), "a title line"


@_each([e for e in CURRICULUM if e.kind == "predict"])
def test_predict_stub_is_blank_and_the_key_is_filled_in(exercise: Exercise) -> None:
    stub = read_prediction((KIT.exercises / exercise.file).read_bytes(), exercise.file)
    key = read_prediction((KIT.solutions / exercise.file).read_bytes(), exercise.file)
    assert stub.empty, "the stub's PREDICTION must start blank (graded as not submitted)"
    assert key.lines, "the solution's PREDICTION is the answer key"
    assert key.unanswered == 0
    # A fact stub lists the questions, in the printed order, with `...` for each answer.
    assert [line.split(" -> ")[0] for line in stub.lines] == (
        [line.split(" -> ")[0] for line in key.lines] if stub.lines else []
    )


@_each(PRODUCE)
def test_produce_exercise_has_hidden_tests(exercise: Exercise) -> None:
    hidden = KIT.hidden_tests / f"test_{exercise.id.replace('-', '_')}.py"
    assert hidden.is_file(), f"{hidden.name} is missing"
    assert f'pytest.mark.exercise("{exercise.id}")' in hidden.read_text(encoding="utf-8")


def test_every_hidden_test_file_belongs_to_an_exercise() -> None:
    expected = {f"test_{e.id.replace('-', '_')}.py" for e in PRODUCE} | {"test_predictions.py"}
    found = {path.name for path in KIT.hidden_tests.glob("test_*.py")}
    assert found <= expected, f"hidden tests for no exercise: {sorted(found - expected)}"


# --- hidden tests and points ------------------------------------------------------------------
@_each()
def test_hidden_test_points_add_up_to_the_exercise_points(
    exercise: Exercise, solutions_report: dict[str, Any]
) -> None:
    entry = next(e for e in solutions_report["exercises"] if e["id"] == exercise.id)
    assert entry["items"], "no hidden test graded this exercise"
    assert sum(item["points"] for item in entry["items"]) == exercise.points
    assert entry["max_score"] == exercise.points


def _cheat_module(exercise: Exercise) -> str:
    """A file whose entry prints the visible example's lines, with no asyncio mechanics."""
    solution = (KIT.solutions / exercise.file).read_bytes()
    visible = execute(solution, exercise.file, entry=exercise.entry)
    return (
        '"""Prints the expected lines of the visible example, and nothing else."""\n\n'
        f"LINES = {visible.lines!r}\n"
        f"RETURNED = {visible.returned!r}\n\n\n"
        f"async def {exercise.entry}(*args, **kwargs):\n"
        "    for line in LINES:\n"
        "        print(line)\n"
        "    return RETURNED\n"
    )


@pytest.fixture(scope="session")
def cheats_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every produce exercise answered by hard-coding its visible example's output."""
    submission = tmp_path_factory.mktemp("cheats")
    for exercise in PRODUCE:
        path = submission / exercise.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_cheat_module(exercise), encoding="utf-8")
    out = tmp_path_factory.mktemp("cheats-report")
    return grade_to_json(submission, out, "--only", *(e.id for e in PRODUCE))


@_each(PRODUCE)
def test_hard_coding_the_visible_output_does_not_pass(
    exercise: Exercise, cheats_report: dict[str, Any]
) -> None:
    entry = next(e for e in cheats_report["exercises"] if e["id"] == exercise.id)
    if not exercise.supported():
        pytest.skip(f"needs Python {exercise.python_label}+")
    assert entry["status"] != "passed"
    assert entry["score"] < exercise.points, entry["feedback"]
    # The hidden variants are what catch it: none of them passes.
    variants = [item for item in entry["items"] if "[" in item["name"]]
    assert variants, "the exercise should have hidden variants"
    assert all(item["outcome"] != "passed" for item in variants), variants


# --- README -----------------------------------------------------------------------------------
def _readme_rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Curriculum", 1)[1].split("\n## ", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("|")
    ]
    return rows[2:]  # skip the header and the |---| line


def test_readme_lists_the_curriculum_as_a_table() -> None:
    rows = _readme_rows()
    assert [row[1] for row in rows] == [f"`{e.id}`" for e in CURRICULUM]
    for row, exercise in zip(rows, CURRICULUM, strict=True):
        number, _, title, topic, kind, points, python = row
        assert number == str(CURRICULUM.index(exercise) + 1)
        assert title == exercise.title
        assert topic == exercise.file.split("/")[0][3:].replace("_", " ")
        assert kind == exercise.kind
        assert points == str(exercise.points)
        assert python == f"{exercise.python_label}+"


# --- the schema version ---------------------------------------------------------------------
def test_the_curriculum_declares_the_schema_the_grader_reads() -> None:
    text = KIT.curriculum_file.read_text(encoding="utf-8")
    assert re.search(r"^format_version = 1$", text, re.MULTILINE)


@pytest.mark.parametrize(
    ("line", "shown"), [("", "None"), ("format_version = 2", "2"), ('format_version = "1"', "'1'")]
)
def test_an_unknown_or_missing_schema_version_is_a_broken_kit(
    tmp_path: Path, line: str, shown: str
) -> None:
    text = KIT.curriculum_file.read_text(encoding="utf-8")
    info = tmp_path / "info.toml"
    info.write_text(text.replace("format_version = 1", line, 1), encoding="utf-8")
    with pytest.raises(KitError, match=rf"format_version must be 1 .*, not {re.escape(shown)}"):
        load(info)
