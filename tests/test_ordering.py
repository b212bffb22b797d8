"""Order scoring: the partial-credit formula, unordered groups, and the first divergence."""

from __future__ import annotations

import pytest

from grader.model.ordering import Block, blocks_from_lines, first_divergence, score_order


def lines(*texts: str) -> list[Block]:
    return [Block((text,)) for text in texts]


@pytest.mark.parametrize(
    ("predicted", "expected", "fraction", "divergence"),
    [
        (["a", "b", "c"], lines("a", "b", "c"), 1.0, None),
        (["a", "c", "b"], lines("a", "b", "c"), 2 / 3, 1),
        ([], lines("a", "b"), 0.0, 0),
        (["a", "b"], lines("a", "b", "c", "d"), 0.5, 2),
        (["a", "b", "c", "x"], lines("a", "b", "c"), 0.75, 3),
        (["x", "y"], lines("a", "b"), 0.0, 0),
        (["a", "a"], lines("a"), 0.5, 1),
        (["b", "a"], [Block(("a", "b"), unordered=True)], 1.0, None),
        (["c", "b", "a"], [Block(("a",)), Block(("b", "c"), unordered=True)], 2 / 3, 0),
        (["a", "c", "c"], [Block(("a",)), Block(("b", "c"), unordered=True)], 2 / 3, 2),
        ([], [], 1.0, None),
    ],
    ids=[
        "exact",
        "one-swap",
        "blank",
        "too-short",
        "extra-line",
        "all-wrong",
        "duplicate-line-counts-once",
        "group-any-order",
        "group-matches-but-a-is-late",
        "group-is-a-multiset",
        "nothing-printed-nothing-predicted",
    ],
)
def test_score_order(
    predicted: list[str], expected: list[Block], fraction: float, divergence: int | None
) -> None:
    score = score_order(predicted, expected)
    assert score.fraction == pytest.approx(fraction)
    assert score.first_divergence == divergence


def test_a_long_prediction_against_a_group_stays_fast_and_correct() -> None:
    group = Block(tuple(f"t{n}" for n in range(50)), unordered=True)
    predicted = [f"t{n}" for n in reversed(range(50))] + ["junk"] * 400
    score = score_order(predicted, [group])
    assert score.matched == 50
    assert score.fraction == pytest.approx(50 / 450)


def _line(text: str, task: str, phase: str) -> dict[str, object]:
    return {"text": text, "t_ns": 0, "task": task, "phase": phase}


def test_shutdown_lines_of_two_tasks_become_one_unordered_group() -> None:
    blocks = blocks_from_lines(
        [
            _line("start", "main", "main"),
            _line("a cancelled", "a", "shutdown"),
            _line("b cancelled", "b", "shutdown"),
        ]
    )
    assert blocks == [Block(("start",)), Block(("a cancelled", "b cancelled"), unordered=True)]


def test_shutdown_lines_of_one_task_keep_their_order() -> None:
    blocks = blocks_from_lines([_line("one", "a", "shutdown"), _line("two", "a", "shutdown")])
    assert blocks == [Block(("one",)), Block(("two",))]


def test_first_divergence_inside_a_group_points_at_the_stranger() -> None:
    blocks = [Block(("x", "y"), unordered=True), Block(("z",))]
    assert first_divergence(["y", "z", "x"], blocks) == 1
