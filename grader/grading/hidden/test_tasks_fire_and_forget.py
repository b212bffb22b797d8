"""Hidden tests for `tasks-fire-and-forget`: every background save finishes, nothing else moves."""

from __future__ import annotations

import pytest

from grader.grading.produce import Learner, expect_order

pytestmark = pytest.mark.exercise("tasks-fire-and-forget")

NS = 1_000_000_000


def _expected(saves: dict[str, float]) -> list[str]:
    """The answer first, then every save starts, then they finish shortest first."""
    # sorted() is stable: saves of equal length finish in the order they were started.
    finishing = sorted(saves, key=lambda label: saves[label])
    return [
        "main: request handled",
        *(f"{label}: saving" for label in saves),
        *(f"{label}: saved" for label in finishing),
    ]


@pytest.mark.points(1)
def test_the_visible_example_finishes_its_save(learner: Learner) -> None:
    run = learner.run("main")
    reference = learner.reference("main")
    expect_order(run, reference.lines, "main() with the default save", reference=reference)


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "saves",
    [{"invoice": 2.5}, {"a": 3.0, "b": 0.5, "c": 1.5, "d": 0.5}],
    ids=["one-long-save", "four-saves"],
)
def test_hidden_variants_finish_every_save(learner: Learner, saves: dict[str, float]) -> None:
    run = learner.run("main", saves=saves)
    expected = _expected(saves)
    reference = learner.reference("main", saves=saves)
    assert reference.lines == expected
    expect_order(run, expected, f"main(saves={saves})", reference=reference)


@pytest.mark.points(1)
def test_the_saves_run_side_by_side_after_the_answer(learner: Learner) -> None:
    saves = {"audit": 2.0, "mail": 0.75, "cache": 1.25}
    run = learner.run("main", saves=saves)
    expect_order(run, _expected(saves), f"main(saves={saves})")
    printed_at = {str(line["text"]).rstrip(): int(line["t_ns"]) for line in run.trace["lines"]}
    assert printed_at["main: request handled"] == 0, (
        "`main: request handled` should be printed at once, before any save has run."
    )
    for label, seconds in saves.items():
        assert printed_at[f"{label}: saved"] == round(seconds * NS), (
            f"`{label}: saved` should come {seconds:g} s after the start (the saves run side "
            f"by side), but it came at {printed_at[f'{label}: saved'] / NS:g} s."
        )
    assert run.end_seconds == max(saves.values()), (
        f"The run took {run.end_seconds:g} s; running side by side it takes "
        f"{max(saves.values()):g} s (the longest save)."
    )
