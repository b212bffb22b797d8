"""Every timeline the kit draws tells the truth about the run it was drawn from.

For every exercise's true run (the predict snippets, the produce solutions) and for every run of
a wrong belief the grader can diagnose, the drawn timeline must: show every printed line once,
in the order asyncio printed it; end each task after everything else it did; draw `await…` only
where another task ran before the waiting task's next step; end the first task (`main`) after the
tasks whose ends were recorded with it (it was woken by them); draw the shutdown banner only
when a task was still pending; and explain in its legend every word its rows use.
"""

from __future__ import annotations

from typing import Any

import pytest

from grader.feedback import timeline
from grader.feedback.timeline import Row
from grader.grading import misconceptions
from grader.grading.truth import pristine_source, truth_of
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.sandbox.runs import execute

_WORDS = ("sets a timer", "sleeps", "blocks the loop", "eager")


def _runs(kit: Kit, curriculum: tuple[Exercise, ...]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for exercise in curriculum:
        if not exercise.supported():
            continue
        if exercise.kind == "predict":
            found.append((exercise.id, truth_of(kit, exercise).trace))
            for name in misconceptions.reached(kit, exercise, truth_of(kit, exercise).blocks):
                run = misconceptions.model_run(kit, exercise, name)
                if run is not None:
                    found.append((f"{exercise.id} believing {name}", run.trace))
        else:
            _, source = pristine_source(kit, exercise)
            found.append((exercise.id, execute(source, exercise.file, entry=exercise.entry).trace))
    return found


@pytest.fixture(scope="module")
def runs(kit: Kit, curriculum: tuple[Exercise, ...]) -> list[tuple[str, dict[str, Any]]]:
    return _runs(kit, curriculum)


def _check(trace: dict[str, Any]) -> list[str]:  # noqa: C901, PLR0912 - one check each
    """Everything untrue about the timeline of `trace` (empty: it tells the truth)."""
    picture = timeline.actual_timeline(trace)
    rows: list[Row] = list(picture.rows)
    problems: list[str] = []
    numbers = [row.number for row in rows if row.kind == "print"]
    if numbers != list(range(1, len(trace["lines"]) + 1)):
        problems.append(f"printed lines out of order or missing: {numbers}")
    for lane in range(len(picture.lanes)):
        own = [i for i, row in enumerate(rows) if row.lane == lane]
        ends = [i for i in own if rows[i].kind == "end"]
        if len(ends) > 1 or (ends and ends[0] != own[-1]):
            problems.append(f"{picture.lanes[lane]} does something after its end")
        for i in own:
            if rows[i].kind != "await":
                continue
            following = next((j for j in own if j > i), len(rows))
            others = range(i + 1, following)
            if not any(rows[j].lane not in {lane, -1} and rows[j].kind != "end" for j in others):
                what = rows[following].text if following < len(rows) else "the end of the run"
                problems.append(
                    f"{picture.lanes[lane]} awaits at row {i} but nothing else runs before {what!r}"
                )
    index = 0
    while index < len(rows):
        end = index
        while end < len(rows) and rows[end].kind == "end":
            end += 1
        batch = rows[index:end]
        if any(row.lane == 0 for row in batch) and batch[-1].lane != 0:
            problems.append("main ends before a task whose end was recorded with its own")
        index = max(end, index + 1)
    banner = [i for i, row in enumerate(rows) if row.kind == "shutdown"]
    if banner and not any(row.lane >= 0 for row in rows[banner[0] + 1 :]):
        problems.append("the shutdown banner is drawn but nothing was pending")
    legend = " ".join(picture.legend)
    for word in _WORDS:
        used = any(row.kind != "print" and word in row.text for row in rows)
        if used and f"{word}" not in legend:
            problems.append(f"the legend does not explain {word!r}")
    if any(row.kind == "await" for row in rows) and "await…" not in legend:
        problems.append("the legend does not explain 'await…'")
    return problems


def test_every_timeline_of_every_exercise_and_wrong_belief_is_true(
    runs: list[tuple[str, dict[str, Any]]],
) -> None:
    assert len(runs) > 20
    untrue = {name: found for name, trace in runs if (found := _check(trace))}
    assert not untrue, untrue


def test_the_check_catches_a_main_that_ends_before_what_it_awaited() -> None:
    trace = {
        "lines": [
            {"text": "task 0", "t_ns": 0, "task": "t", "phase": "main"},
            {"text": "main 0", "t_ns": 0, "task": "main", "phase": "main"},
        ],
        "tasks": [
            {"label": "main", "created_ns": 0, "done_ns": 0, "outcome": "finished"},
            {"label": "t", "created_ns": 0, "done_ns": 0, "outcome": "finished"},
        ],
        "events": [
            {"kind": "create", "t_ns": 0, "task": None, "child": "main"},
            {"kind": "create", "t_ns": 0, "task": "main", "child": "t"},
            {"kind": "print", "t_ns": 0, "task": "t", "line": 0},
            {"kind": "print", "t_ns": 0, "task": "main", "line": 1},
            {"kind": "finished", "t_ns": 0, "task": "main"},
            {"kind": "finished", "t_ns": 0, "task": "t"},
        ],
        "end_ns": 0,
    }
    rows = timeline.actual_timeline(trace).rows
    assert [row.lane for row in rows if row.kind == "end"] == [1, 0]
    assert _check(trace) == []


def test_no_banner_when_every_task_ended_before_shutdown() -> None:
    trace = {
        "lines": [{"text": "hi", "t_ns": 0, "task": "main", "phase": "main"}],
        "tasks": [
            {"label": "main", "created_ns": 0, "done_ns": 0, "outcome": "finished"},
            {"label": "w", "created_ns": 0, "done_ns": 0, "outcome": "cancelled"},
        ],
        "events": [
            {"kind": "create", "t_ns": 0, "task": None, "child": "main"},
            {"kind": "create", "t_ns": 0, "task": "main", "child": "w"},
            {"kind": "cancelled", "t_ns": 0, "task": "w"},
            {"kind": "print", "t_ns": 0, "task": "main", "line": 0},
            {"kind": "finished", "t_ns": 0, "task": "main"},
            {"kind": "phase", "t_ns": 0, "task": None, "phase": "shutdown"},
        ],
        "end_ns": 0,
    }
    assert not any(row.kind == "shutdown" for row in timeline.actual_timeline(trace).rows)
