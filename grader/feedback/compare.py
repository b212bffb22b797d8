"""Writes what the learner reads about one ordering: predicted and actual, side by side.

Plain text that fits an 80-column terminal and reads the same in Markdown: numbered rows, the
learner's line on the left, asyncio's on the right, the first divergence marked `>>`, and lines
asyncio leaves unordered marked `~` (any order among them is right).
"""

from __future__ import annotations

from collections.abc import Sequence

from grader.model.ordering import Block, OrderScore

WIDTH = 78


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


def side_by_side(
    predicted: Sequence[str],
    blocks: Sequence[Block],
    score: OrderScore,
    *,
    left_title: str = "your prediction",
    right_title: str = "asyncio printed",
    width: int = WIDTH,
) -> str:
    """A two-column table of the orders with the first divergence marked."""
    actual: list[tuple[str, bool]] = [
        (line, block.unordered) for block in blocks for line in block.lines
    ]
    column = (width - 8) // 2
    rows = [f"    {'#':>2} {_fit(left_title, column):<{column}} {_fit(right_title, column)}"]
    for index in range(max(len(predicted), len(actual))):
        left = predicted[index] if index < len(predicted) else ""
        right, loose = actual[index] if index < len(actual) else ("", False)
        mark = ">>" if index == score.first_divergence else "  "
        right_text = ("~ " if loose else "") + right
        rows.append(
            f"{mark}  {index + 1:>2} {_fit(left, column):<{column}} {_fit(right_text, column)}"
        )
    if any(loose for _, loose in actual):
        rows.append("    (~ lines: asyncio leaves their order open; any order among them counts)")
    return "\n".join(rows)


def order_summary(score: OrderScore) -> str:
    """One sentence on how close the prediction was."""
    if score.first_divergence is None and score.fraction == 1.0:
        return "Your prediction matches what asyncio printed."
    where = (
        f"first difference at line {score.first_divergence + 1}"
        if score.first_divergence is not None
        else "the order differs"
    )
    return (
        f"{score.matched} of {score.actual} lines in the right order "
        f"(you wrote {score.predicted}); {where}."
    )
