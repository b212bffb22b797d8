"""Hidden tests for `sleep0-take-turns`: strict turns for any labels, counts and steps."""

from __future__ import annotations

import pytest

from grader.grading.produce import Learner, expect_order

pytestmark = pytest.mark.exercise("sleep0-take-turns")


@pytest.mark.points(1)
def test_the_visible_example_takes_turns(learner: Learner) -> None:
    run = learner.run("main")
    reference = learner.reference("main")
    expect_order(run, reference.lines, "main() with the defaults", reference=reference)


@pytest.mark.points(1)
@pytest.mark.parametrize(
    ("labels", "steps"),
    [(["north", "south", "east"], 2), (["w1", "w2", "w3", "w4"], 4), (["solo", "duo"], 5)],
    ids=["three-workers", "four-workers", "five-steps"],
)
def test_hidden_variants_take_strict_turns(learner: Learner, labels: list[str], steps: int) -> None:
    run = learner.run("main", labels=labels, steps=steps)
    strict_turns = [f"{label} step {step}" for step in range(steps) for label in labels]
    reference = learner.reference("main", labels=labels, steps=steps)
    assert reference.lines == strict_turns
    expect_order(run, strict_turns, f"main(labels={labels}, steps={steps})", reference=reference)
