"""Compares a predicted order with the true one: partial credit and the first divergence.

The truth is a sequence of *blocks*: a single line, or a group of lines that asyncio itself
leaves unordered (tasks cancelled together when `asyncio.run` shuts down print in whatever order
a set iterates). A prediction is a plain list of lines.

Credit is `matched / max(predicted, actual)`: `matched` is the longest common subsequence of the
two orders, where a group's lines may appear in any order within the group's span. Listing extra
lines or leaving lines out both cost credit; a prediction that is right but for one swapped pair
keeps most of it.

Example:
    >>> expected = [Block(("a",)), Block(("b", "c"), unordered=True)]
    >>> score_order(["a", "c", "b"], expected).fraction
    1.0
    >>> score_order(["b", "a"], expected).fraction
    0.3333333333333333

"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from grader.model.trace import TraceLine


@dataclass(frozen=True)
class Block:
    """One position in the true order: a line, or lines whose order asyncio leaves open."""

    lines: tuple[str, ...]
    unordered: bool = False


@dataclass(frozen=True)
class OrderScore:
    """How well a prediction matches, and where it first goes wrong (None if it does not)."""

    fraction: float
    matched: int
    predicted: int
    actual: int
    first_divergence: int | None


def flatten(blocks: Sequence[Block]) -> list[str]:
    """The true lines in one valid order (groups in the order they were recorded)."""
    return [line for block in blocks for line in block.lines]


def graded_order(lines: Sequence[TraceLine]) -> tuple[list[int], bool]:
    """A trace's line indices in the order they are graded, and whether the tail is a group.

    The one unordered-group rule: lines printed while `asyncio.run` shuts down go last, and
    when two or more tasks printed them, asyncio leaves their order open.
    """
    main = [i for i, line in enumerate(lines) if line["phase"] != "shutdown"]
    shutdown = [i for i, line in enumerate(lines) if line["phase"] == "shutdown"]
    grouped = len({lines[i]["task"] for i in shutdown}) >= 2  # noqa: PLR2004 - one task alone keeps its own order
    return main + shutdown, grouped


def blocks_from_lines(
    lines: Sequence[TraceLine],
) -> list[Block]:
    """Turn a trace's lines into blocks: shutdown lines from two or more tasks are one group."""
    order, grouped = graded_order(lines)
    texts = [str(lines[i]["text"]).rstrip() for i in order]
    main_count = sum(1 for line in lines if line["phase"] != "shutdown")
    blocks = [Block((text,)) for text in texts[:main_count]]
    if grouped:
        blocks.append(Block(tuple(texts[main_count:]), unordered=True))
    else:
        blocks.extend(Block((text,)) for text in texts[main_count:])
    return blocks


def _matched(predicted: Sequence[str], blocks: Sequence[Block]) -> int:
    """Longest order-respecting match; a group matches any segment as a multiset."""
    n = len(predicted)
    previous = [0] * (n + 1)  # best match using blocks[:j] and predicted[:i]
    for block in blocks:
        current = [0] * (n + 1)
        if block.unordered:
            group = Counter(block.lines)
            for end in range(n + 1):
                best = previous[end]
                used: Counter[str] = Counter()
                overlap = 0
                for start in range(end - 1, -1, -1):  # grow the segment leftwards
                    line = predicted[start]
                    if used[line] < group[line]:
                        used[line] += 1
                        overlap += 1
                    best = max(best, previous[start] + overlap)
                current[end] = best
        else:
            line = block.lines[0]
            for i in range(1, n + 1):
                hit = previous[i - 1] + 1 if predicted[i - 1] == line else 0
                current[i] = max(previous[i], current[i - 1], hit)
        previous = current
    return previous[n]


def first_divergence(predicted: Sequence[str], blocks: Sequence[Block]) -> int | None:
    """Index of the first predicted line that cannot be right there (None if all fit)."""
    index = 0
    for block in blocks:
        if block.unordered:
            remaining = Counter(block.lines)
            for _ in block.lines:
                if index >= len(predicted) or remaining[predicted[index]] == 0:
                    return index
                remaining[predicted[index]] -= 1
                index += 1
        else:
            if index >= len(predicted) or predicted[index] != block.lines[0]:
                return index
            index += 1
    return index if index < len(predicted) else None


def matching(predicted: Sequence[str], blocks: Sequence[Block]) -> dict[int, int]:
    """Which predicted line matches which true line, along a longest common order.

    Keys are indices into `predicted`, values positions in `flatten(blocks)`. A group's lines
    are first put in the prediction's own order, so any order among them matches, as the
    score counts it.
    """
    order = _arranged(predicted, blocks)
    texts = flatten(blocks)
    n, m = len(predicted), len(order)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if predicted[i] == texts[order[j]]:
                best[i][j] = best[i + 1][j + 1] + 1
            else:
                best[i][j] = max(best[i + 1][j], best[i][j + 1])
    pairs: dict[int, int] = {}
    i = j = 0
    while i < n and j < m:
        if predicted[i] == texts[order[j]]:
            pairs[i] = order[j]
            i += 1
            j += 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _arranged(predicted: Sequence[str], blocks: Sequence[Block]) -> list[int]:
    """Positions in `flatten(blocks)`, each group's lines in the order the prediction has them."""
    order: list[int] = []
    for block in blocks:
        start = len(order)
        positions = list(range(start, start + len(block.lines)))
        if block.unordered:
            remaining = list(positions)
            arranged: list[int] = []
            for text in predicted:
                hit = next((p for p in remaining if block.lines[p - start] == text), None)
                if hit is not None:
                    remaining.remove(hit)
                    arranged.append(hit)
            positions = arranged + remaining
        order.extend(positions)
    return order


def score_order(predicted: Sequence[str], blocks: Sequence[Block]) -> OrderScore:
    """Score a predicted order against the true blocks (see the module docstring)."""
    actual = sum(len(block.lines) for block in blocks)
    matched = _matched(predicted, blocks)
    denominator = max(len(predicted), actual)
    fraction = 1.0 if denominator == 0 else matched / denominator
    return OrderScore(
        fraction=fraction,
        matched=matched,
        predicted=len(predicted),
        actual=actual,
        first_divergence=first_divergence(predicted, blocks),
    )
