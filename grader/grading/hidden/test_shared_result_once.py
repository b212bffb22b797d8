"""Hidden tests for `shared-result-once`: one run of `compute`, every waiter served, one run's time.

The tests pass an instrumented `compute` (the sandbox's `expensive` helper), which counts its
runs; the learner's code cannot tell it from the default one.
"""

from __future__ import annotations

from typing import Any

import pytest

from grader.grading.produce import Learner

pytestmark = pytest.mark.exercise("shared-result-once")


def _expensive(value: int, delay: float) -> dict[str, Any]:
    return {"$helper": "expensive", "value": value, "delay": delay, "label": "compute"}


def _returned(run: Any, names: list[str], value: int) -> None:
    assert run.returned == [value] * len(names), (
        f"main(names={names}) should return {[value] * len(names)} (one value per waiter), "
        f"but it returned {run.returned!r}."
    )
    for name in names:
        assert f"{name}: got {value}" in run.lines, (
            f"Waiter {name} never printed `{name}: got {value}`."
        )


@pytest.mark.points(1)
def test_the_visible_example_shares_one_answer(learner: Learner) -> None:
    run = learner.run("main")
    names = ["w1", "w2", "w3"]
    _returned(run, names, 42)
    computed = run.lines.count("fetch_answer: computing...")
    assert computed == 1, f"fetch_answer ran {computed} times; it should run once."
    assert run.end_seconds == 2, (
        f"The run took {run.end_seconds:g} s instead of 2 s (one computation)."
    )


@pytest.mark.points(1)
@pytest.mark.parametrize(
    ("value", "delay", "names"),
    [(7, 3.0, ["ann", "bob", "cy", "dee"]), (-5, 0.5, ["solo", "duo"])],
    ids=["four-waiters", "two-waiters"],
)
def test_compute_runs_once_and_every_waiter_gets_its_value(
    learner: Learner, value: int, delay: float, names: list[str]
) -> None:
    run = learner.run("main", compute=_expensive(value, delay), names=names)
    calls = run.helpers["expensive"]["calls"]
    assert calls == 1, f"compute() ran {calls} times for {len(names)} waiters; it should run once."
    _returned(run, names, value)


@pytest.mark.points(2)
def test_the_whole_run_takes_one_computation(learner: Learner) -> None:
    names = ["p", "q", "r", "s", "t"]
    run = learner.run("main", compute=_expensive(99, 4.0), names=names)
    stats = run.helpers["expensive"]
    _returned(run, names, 99)
    assert stats["calls"] == 1, f"compute() ran {stats['calls']} times; it should run once."
    assert run.end_seconds == 4, (
        f"With {len(names)} waiters and a 4 s computation the run took {run.end_seconds:g} s: "
        "the waiters should wait for the same run at the same time (4 s in all)."
    )
