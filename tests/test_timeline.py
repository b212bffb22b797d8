"""Timelines: lanes per task, rows in the order things happened, marks, and narrow terminals."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from grader.feedback import timeline
from grader.feedback.timeline import EXTRA, MISSED, MOVED, UNKNOWN_LANE, align
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.sandbox.runs import execute

ROOT = Path(__file__).resolve().parent.parent

COUNT_NUMBERS = b"""
import asyncio

async def count_numbers(label: str, iterations: int) -> None:
    for i in range(iterations):
        print(f"Running from {label}: {i}")
        await asyncio.sleep(0.5)

async def main() -> None:
    print("Running f1")
    f1 = count_numbers("f1", 3)
    f2 = asyncio.create_task(count_numbers("f2", 3))
    await f1
    print("Running f2")
    await f2
"""

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


@pytest.fixture(scope="module")
def count_trace() -> dict[str, Any]:
    return execute(COUNT_NUMBERS, "count.py").trace


def _line(text: str, task: str | None, t_ns: int = 0, phase: str = "main") -> dict[str, Any]:
    return {"text": text, "t_ns": t_ns, "task": task, "phase": phase}


def _ev(kind: str, task: str | None, t_ns: int = 0, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "t_ns": t_ns, "task": task, **extra}


def _task(label: str, outcome: str = "finished") -> dict[str, Any]:
    return {"label": label, "created_ns": 0, "done_ns": 0, "outcome": outcome}


def _synthetic_trace(labels: list[str], text: str) -> dict[str, Any]:
    """`main` creates one task per label; each prints `text` once, then everything ends."""
    lines = [_line(f"{label}: {text}", label, t_ns=n) for n, label in enumerate(labels)]
    events = [_ev("create", None, child="main")]
    events += [_ev("create", "main", child=label) for label in labels]
    events += [_ev("print", label, n, line=n) for n, label in enumerate(labels)]
    events += [_ev("finished", label, len(labels)) for label in labels]
    events.append(_ev("finished", "main", len(labels)))
    tasks = [_task("main")] + [_task(label) for label in labels]
    return {"lines": lines, "tasks": tasks, "events": events, "end_ns": len(labels)}


# --- alignment ---------------------------------------------------------------------------------
def test_align_marks_lines_out_of_place_missing_and_extra() -> None:
    lines = [_line("a", "main"), _line("b", "main"), _line("c", "main")]
    result = align(["b", "a", "x"], lines)
    # The longest common order keeps one of a/b; the other is out of place; x never printed.
    assert result.predicted.count("") == 1
    assert MOVED in result.predicted
    assert result.predicted[2] == EXTRA
    assert result.actual[2] == MISSED  # `c` is nowhere in the prediction
    assert MOVED in result.actual


def test_align_accepts_any_order_of_lines_asyncio_leaves_open() -> None:
    lines = [
        _line("main done", "main"),
        _line("A cleanup", "a", phase="shutdown"),
        _line("B cleanup", "b", phase="shutdown"),
    ]
    result = align(["main done", "B cleanup", "A cleanup"], lines)
    assert result.predicted == ("", "", "")
    assert result.actual == ("", "", "")


# --- the run's timeline ------------------------------------------------------------------------
def test_actual_timeline_has_a_lane_per_task_and_lines_where_they_happened(
    count_trace: dict[str, Any],
) -> None:
    picture = timeline.actual_timeline(count_trace)
    assert picture.lanes == ("main", "count_numbers")
    prints = [row for row in picture.rows if row.kind == "print"]
    assert [row.text for row in prints] == [
        "Running f1",
        "Running from f1: 0",
        "Running from f2: 0",
        "Running from f1: 1",
        "Running from f2: 1",
        "Running from f1: 2",
        "Running from f2: 2",
        "Running f2",
    ]
    # f1 is a bare coroutine: its lines are main's; f2's are the task's.
    assert {picture.lanes[row.lane] for row in prints if "f1:" in row.text} == {"main"}
    assert {picture.lanes[row.lane] for row in prints if "f2:" in row.text} == {"count_numbers"}
    assert [row.t_ns for row in prints if "f2:" in row.text] == [0, 500_000_000, 1_000_000_000]


def test_actual_timeline_shows_creates_sleeps_and_sleeping_lanes(
    count_trace: dict[str, Any],
) -> None:
    picture = timeline.actual_timeline(count_trace)
    kinds = [(row.kind, row.text) for row in picture.rows if row.lane == 0][:4]
    assert kinds == [
        ("print", "Running f1"),
        ("create", "creates count_numbers"),
        ("print", "Running from f1: 0"),
        ("sleep", "sleeps 0.5s"),
    ]
    f2_first = next(row for row in picture.rows if row.text == "Running from f2: 0")
    assert f2_first.states[0] == timeline.SLEEPING  # main sleeps while f2's task prints
    text = timeline.to_text(picture)
    assert "┆" in text
    assert "sleeps 0.5s" in text


def test_a_task_that_gives_way_without_sleeping_shows_an_await() -> None:
    source = b"""
import asyncio

async def worker(label):
    for i in range(2):
        print(f"{label} {i}")
        await asyncio.sleep(0)

async def main():
    await asyncio.gather(worker("A"), worker("B"))
"""
    picture = timeline.actual_timeline(execute(source, "turns.py").trace)
    rows = [(picture.lanes[row.lane], row.kind, row.text) for row in picture.rows]
    assert rows.index(("worker", "await", "await…")) == rows.index(("worker", "print", "A 0")) + 1
    assert ("main", "await", "await…") in rows  # main waits in gather


def test_shutdown_row_only_when_asyncio_run_cancels_something() -> None:
    forgotten = b"""
import asyncio

async def sample_task():
    print("Hello, World!")
    await asyncio.sleep(1)
    print("Goodbye, World!")

async def main():
    asyncio.create_task(sample_task())
"""
    cancelled = timeline.actual_timeline(execute(forgotten, "forgotten.py").trace)
    assert any(row.kind == "shutdown" for row in cancelled.rows)
    assert ("end", "cancelled") in [(row.kind, row.text) for row in cancelled.rows]
    awaited = timeline.actual_timeline(execute(COUNT_NUMBERS, "count.py").trace)
    assert not any(row.kind == "shutdown" for row in awaited.rows)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager_task_factory is 3.12+")
def test_an_eager_task_starts_inside_its_creation() -> None:
    source = b"""
import asyncio

async def job():
    print("job starts")
    await asyncio.sleep(1)

async def main():
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    print("main starts")
    task = asyncio.create_task(job())
    print("main goes on")
    await task
"""
    picture = timeline.actual_timeline(execute(source, "eager.py").trace)
    assert picture.lanes == ("main", "job")  # no lane for the loop's own helper tasks
    rows = [(picture.lanes[row.lane], row.kind, row.text) for row in picture.rows]
    creation = next(i for i, row in enumerate(rows) if row[1] == "create")
    assert rows[creation] == ("main", "create", "creates job (eager: it starts at once)")
    assert rows[creation + 1] == ("job", "print", "job starts")
    assert ("main", "await", "await…") not in rows[: creation + 3]


# --- the prediction's timeline -----------------------------------------------------------------
def test_predicted_lines_go_on_the_lane_of_the_task_that_printed_them(
    count_trace: dict[str, Any],
) -> None:
    predicted = [*F1_THEN_F2, "Running from f3: 0"]
    picture = timeline.predicted_timeline(predicted, count_trace)
    assert picture.lanes == ("main", "count_numbers", UNKNOWN_LANE)
    lanes = [picture.lanes[row.lane] for row in picture.rows]
    assert lanes == ["main"] * 5 + ["count_numbers"] * 3 + [UNKNOWN_LANE]
    assert [row.number for row in picture.rows] == list(range(1, 10))
    assert picture.rows[-1].mark == EXTRA
    assert sum(row.mark == MOVED for row in picture.rows) == 3  # 5 of 8 lines in order


def test_a_right_prediction_has_no_marks(count_trace: dict[str, Any]) -> None:
    right = [str(line["text"]) for line in count_trace["lines"]]
    mine, real = timeline.both(right, count_trace)
    assert not any(row.mark for row in mine.rows)
    assert not any(row.mark for row in real.rows)


# --- fitting a narrow terminal -----------------------------------------------------------------
@pytest.mark.parametrize("tasks", [1, 2, 4, 6, 9, 30])
@pytest.mark.parametrize(
    "text",
    [
        "short",
        "a rather long line that a learner printed, much wider than any lane could be",
        "日本語のとても長い行です、幅の広い文字" * 2,
        "x" * 300,
    ],
)
def test_no_line_is_wider_than_80_columns(tasks: int, text: str) -> None:
    trace = _synthetic_trace([f"worker_with_a_long_name_{n}" for n in range(tasks)], text)
    predicted = [f"worker_with_a_long_name_{n}: {text}" for n in reversed(range(tasks))]
    for picture in timeline.both(predicted, trace):
        plain = timeline.to_text(picture, 80)
        assert max(cell_len(line) for line in plain.splitlines()) <= 80
    console = Console(width=80, record=True, force_terminal=True, color_system="truecolor")
    console.print(timeline.rich_timelines(predicted, trace, console.width))
    exported = console.export_text()
    assert max(cell_len(line) for line in exported.splitlines()) <= 80
    assert "worker_with_a" in exported


def test_feedback_text_is_an_indented_block_within_78_columns(
    count_trace: dict[str, Any],
) -> None:
    block = timeline.feedback_text(F1_THEN_F2, count_trace)
    lines = block.splitlines()
    assert all(line.startswith("    ") for line in lines if line)
    assert max(cell_len(line) for line in lines) <= 78
    assert "Your prediction" in block
    assert "What asyncio ran" in block


def test_wide_terminal_puts_the_timelines_side_by_side(count_trace: dict[str, Any]) -> None:
    console = Console(width=160, record=True)
    console.print(timeline.rich_timelines(F1_THEN_F2, count_trace, console.width))
    first = console.export_text().splitlines()[0]
    assert "Your prediction" in first
    assert "What asyncio ran" in first


def test_learner_text_is_never_read_as_rich_markup() -> None:
    text = "[bold red]not markup[/bold red] [link=http://x]y[/link]"
    trace = _synthetic_trace(["main2"], text)
    console = Console(width=100, record=True)
    console.print(timeline.rich_timelines([f"main2: {text}"], trace, 100))
    exported = console.export_text()
    assert "[bold red]not" in exported


# --- what the learner sees: the article's count_numbers, predicted wrong ---------------------------
def _count_numbers_exercise(kit: Kit, curriculum: tuple[Exercise, ...]) -> Exercise:
    """The article's interleaving exercise, found by its program (ids may change)."""
    for exercise in curriculum:
        source = (kit.solutions / exercise.file).read_text(encoding="utf-8")
        if (
            exercise.kind == "predict"
            and 'asyncio.create_task(count_numbers("f2", 3))' in source
            and "await asyncio.sleep(0.5)" in source
            and "eager" not in source
        ):
            return exercise
    pytest.skip("the curriculum has no count_numbers interleaving exercise yet")


def _write_prediction(path: Path, lines: list[str]) -> None:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    node = next(
        n
        for n in tree.body
        if isinstance(n, (ast.Assign, ast.AnnAssign))
        and "PREDICTION" in ast.unparse(n.targets[0] if isinstance(n, ast.Assign) else n.target)
    )
    rows = source.splitlines(keepends=True)
    start, end = node.lineno - 1, node.end_lineno or node.lineno
    rows[start:end] = [f"PREDICTION = {lines!r}\n"]
    path.write_text("".join(rows), encoding="utf-8")


def test_terminal_feedback_for_a_wrong_count_numbers_prediction(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    exercise = _count_numbers_exercise(kit, curriculum)
    submission = tmp_path / "submission"
    shutil.copytree(kit.solutions, submission)
    _write_prediction(submission / exercise.file, F1_THEN_F2)
    completed = subprocess.run(
        [sys.executable, "-m", "grader", "--submission", str(submission), "--only", exercise.id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80", "TERM": "dumb"},
        timeout=300,
        check=False,
    )
    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
    assert "Your prediction" in out
    assert "What asyncio ran" in out
    assert "count_numbers" in out  # the lane of f2's task
    assert "sleeps 0.5s" in out
    # The wrong belief behind "f1 runs fully first, then f2", named with why asyncio differs.
    assert "Misconception" in out
    assert "a task starts only when something awaits it" in out
    assert max(cell_len(line) for line in out.splitlines()) <= 80
