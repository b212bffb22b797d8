"""A prediction far longer than the truth costs the grader bounded work and bounded feedback.

`compare.shown` keeps the true lines and `EXTRA_ROWS` more, each cut after `line_limit`
characters; near misses are found through a table of keys. These tests count rows, characters
and key computations (never time) for answers of thousands of lines.
"""

from __future__ import annotations

import pytest

from grader.feedback import compare as compare_module
from grader.feedback.compare import (
    CUT,
    EXTRA_ROWS,
    compare,
    comparison_lines,
    line_limit,
    near_misses,
    plain,
    shown,
)
from grader.grading.predict import facts_json
from grader.model.ordering import Block, score_order
from grader.model.parts import comparison_from, comparison_json

TRUTH = ["Hello, World!", "Goodbye, World!"]
BLOCKS = [Block((line,)) for line in TRUTH]
HUGE = [f"line {n} " + "x" * 480 for n in range(5000)]


def test_a_5000_line_prediction_compares_a_bounded_prefix_with_a_note() -> None:
    comparison = compare(HUGE, BLOCKS, score_order(HUGE, BLOCKS))
    assert len(comparison.rows) == len(TRUTH) + EXTRA_ROWS
    assert comparison.more_lines == len(HUGE) - len(comparison.rows)
    assert comparison.cut_lines == len(comparison.rows)
    limit = line_limit(TRUTH)
    assert all(len(row.left or "") <= limit + len(CUT) for row in comparison.rows)
    text = plain(comparison_lines(comparison))
    assert len(text.encode()) < 4 * 1024
    assert f"(truncated: {comparison.more_lines} more lines not shown" in text.replace("\n", " ")


def test_the_summary_sentence_says_how_many_lines_are_compared() -> None:
    view = shown(HUGE, TRUTH)
    assert view.note(len(TRUTH)) == (
        f"Your prediction has 5000 lines and asyncio printed 2: only the first "
        f"{2 + EXTRA_ROWS} are compared, the other {5000 - 2 - EXTRA_ROWS} are not shown; "
        f"{2 + EXTRA_ROWS} lines are longer than any line asyncio printed and cut short after "
        f"{line_limit(TRUTH)} characters."
    )


@pytest.mark.parametrize(
    "predicted",
    [
        ["Goodbye, World!", "Hello, World!"],
        ["Hello, World!", "Goodbye, World!", "extra", "extra", "extra"],
        ["Hello, World!" + "!" * 40],  # a typo line up to the limit is shown whole
    ],
)
def test_an_answer_within_the_bounds_is_compared_whole(predicted: list[str]) -> None:
    comparison = compare(predicted, BLOCKS, score_order(predicted, BLOCKS))
    assert (comparison.more_lines, comparison.cut_lines) == (0, 0)
    assert [row.left for row in comparison.rows if row.left is not None] == predicted
    assert "truncated" not in plain(comparison_lines(comparison))
    assert shown(predicted, TRUTH).note(len(TRUTH)) == ""


def test_the_first_divergence_is_inside_the_compared_prefix() -> None:
    predicted = [*TRUTH, *HUGE]
    comparison = compare(predicted, BLOCKS, score_order(predicted, BLOCKS))
    assert [row.number for row in comparison.rows if row.first] == [len(TRUTH) + 1]


def test_near_misses_over_5000_lines_work_out_each_key_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0
    real = compare_module._key

    def counting(text: str) -> str:
        nonlocal calls
        calls += 1
        return real(text)

    monkeypatch.setattr(compare_module, "_key", counting)
    predicted = [*(f"other {n}" for n in range(4998)), "hello world", "GOODBYE, WORLD!"]
    found = near_misses(predicted, TRUTH)
    assert [(miss.number, miss.theirs) for miss in found] == [
        (4999, "Hello, World!"),
        (5000, "Goodbye, World!"),
    ]
    # One key per predicted line and per true line, plus the two kinds of check per miss.
    assert calls <= len(predicted) + len(TRUTH) + 2 * len(found)


def test_the_row_at_the_same_place_is_the_preferred_near_miss() -> None:
    actual = ["a-b", "ab", "a b"]
    assert [miss.theirs for miss in near_misses(["x", "x", "A B"], actual)] == ["a b"]
    assert [miss.theirs for miss in near_misses(["A B"], actual)] == ["a-b"]


def test_the_counts_survive_the_results_json() -> None:
    comparison = compare(HUGE, BLOCKS, score_order(HUGE, BLOCKS))
    again = comparison_from(comparison_json(comparison))
    assert again is not None
    assert (again.more_lines, again.cut_lines) == (comparison.more_lines, comparison.cut_lines)
    damaged = {**comparison_json(comparison), "more_lines": "many", "cut_lines": -3}
    back = comparison_from(damaged)
    assert back is not None
    assert (back.more_lines, back.cut_lines) == (0, 0)


def test_a_facts_quiz_of_5000_answers_records_a_bounded_list() -> None:
    actual = ["create_task runs at once -> no", "sleep(0) gives way -> yes"]
    predicted = [f"question {n} -> " + "y" * 400 for n in range(5000)]
    facts = facts_json(predicted, actual)
    assert len(facts) == len(actual) + EXTRA_ROWS
    limit = line_limit(actual)
    assert all(len(str(item["yours"])) <= limit + len(CUT) for item in facts)
    assert facts[0]["question"] == "question 0"
