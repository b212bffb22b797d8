"""Hidden tests for `sleep0-target-order`: the target order for other names and step counts."""

from __future__ import annotations

import pytest

from grader.grading.produce import Learner, expect_order

pytestmark = pytest.mark.exercise("sleep0-target-order")


def _target(names: list[str], steps: int) -> list[str]:
    """Every first step, then `all started`, then the later steps in turns, then `done`."""
    lines = ["main: start", *(f"{name}: step 1" for name in names), "main: all started"]
    for step in range(2, steps + 1):
        lines.extend(f"{name}: step {step}" for name in names)
    return [*lines, "main: done"]


@pytest.mark.points(1)
def test_the_visible_example_prints_the_target(learner: Learner) -> None:
    run = learner.run("main")
    expected = _target(["a", "b"], 2)
    reference = learner.reference("main")
    assert reference.lines == expected
    expect_order(run, expected, "main() with the defaults", reference=reference)


@pytest.mark.points(1)
@pytest.mark.parametrize(
    ("names", "steps"),
    [(["north", "south", "east"], 2), (["w1", "w2", "w3", "w4"], 3), (["x", "y"], 4)],
    ids=["three-jobs", "four-jobs-three-steps", "two-jobs-four-steps"],
)
def test_hidden_variants_print_the_target(learner: Learner, names: list[str], steps: int) -> None:
    run = learner.run("main", names=names, steps=steps)
    expected = _target(names, steps)
    reference = learner.reference("main", names=names, steps=steps)
    assert reference.lines == expected
    expect_order(run, expected, f"main(names={names}, steps={steps})", reference=reference)
