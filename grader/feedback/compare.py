"""Compares two orders line by line, and lays the comparison out without ever cutting a line.

`compare` turns a predicted (or printed) order and the true blocks into a `Comparison`: numbered
rows, the first divergence marked `>>`, the lines asyncio leaves unordered marked `~`, and, where
two lines at the same row are nearly the same, the characters where they differ. A line that
differs from one of asyncio's only in case, spacing or punctuation is a near miss: a typo such
as a missing `!` costs the whole line, and the learner is told that lines must match exactly.

`comparison_lines` lays it out for a width: side by side when every line fits its column, else
each differing row as two labelled lines, one above the other. Long lines wrap (at a space
where they can); nothing is cut, so a one-character difference at the end of a long line is
always visible, with a `^` under it. The result is styled segments that the terminal draws with
rich, and that plain text (JSON, JUnit, Markdown code blocks) joins.

What is compared is bounded by the truth, never by the learner (`shown`): a prediction or a
program's output may hold hundreds of lines of hundreds of characters, and every output of the
grader repeats the comparison, so it holds the true lines and at most `EXTRA_ROWS` lines past
them, each shown up to `EXTRA_CHARS` characters past the longest true line. What is left out
cannot change where the two orders part (that is always within the true lines and one more),
the score is still computed on every line, and the comparison ends with a note saying how much
is not shown. Near misses are found through a table of the true lines, so the work grows with
the text compared, not with its square.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len

from grader.model.ordering import Block, OrderScore, flatten
from grader.model.parts import CompareRow, Comparison, LearnerText, Mark, NearMiss, learner

WIDTH = 80

#: A styled piece of a line, and a line of them (styles: "", dim, bold, first, mark, caret).
Segment = tuple[str, str]
Line = list[Segment]

#: Lines compared past the last true line: a longer answer is wrong there whatever it says, and
#: a few rows show that it goes on (the rest are counted in the comparison's note).
EXTRA_ROWS = 3
#: Characters shown past the longest true line (and at least `MIN_LINE_CHARS`): where a longer
#: line parts from every true line is inside what is shown, and no such line can be right.
EXTRA_CHARS = 30
MIN_LINE_CHARS = 60
#: Ends a line cut short for the comparison.
CUT = "\N{HORIZONTAL ELLIPSIS}"

#: How alike two lines must be for the characters where they differ to be marked (below it the
#: lines are simply different lines, and marking every character says nothing).
_SIMILAR = 0.6


def _marks(a: str, b: str) -> tuple[tuple[Mark, ...], tuple[Mark, ...]]:
    """Where `a` and `b` differ, in each, if they are alike enough to be worth marking."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if a == b or matcher.ratio() < _SIMILAR:
        return (), ()
    left: list[Mark] = []
    right: list[Mark] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        left.append((i1, i2))
        right.append((j1, j2))
    return tuple(left), tuple(right)


def _key(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


def near_miss_kinds(yours: str, theirs: str) -> tuple[str, ...]:
    """What differs between two lines that are the same but for case, spacing, punctuation."""
    if yours == theirs or _key(yours) != _key(theirs):
        return ()
    kinds = []
    if [c for c in yours if c.isalnum()] != [c for c in theirs if c.isalnum()]:
        kinds.append("case")
    if re.findall(r"\s+|^|$", yours) != re.findall(r"\s+|^|$", theirs):
        kinds.append("spacing")
    punctuation = [c for c in yours if not c.isalnum() and not c.isspace()]
    if punctuation != [c for c in theirs if not c.isalnum() and not c.isspace()]:
        kinds.append("punctuation")
    return tuple(kinds) or ("spacing",)


def near_misses(predicted: Sequence[str], actual: Sequence[str]) -> tuple[NearMiss, ...]:
    """Predicted lines asyncio prints only with another case, spacing or punctuation.

    The line at the same row is tried first, then the first line asyncio prints that is the
    same but for those. Each line's key is worked out once: the work grows with the length of
    the text, not with the product of the two lengths.
    """
    printed = set(actual)
    keys = [_key(line) for line in actual]
    by_key: dict[str, str] = {}
    for key, line in zip(keys, actual, strict=True):
        by_key.setdefault(key, line)
    found: list[NearMiss] = []
    for index, line in enumerate(predicted):
        if line in printed:
            continue
        key = _key(line)
        other = actual[index] if index < len(actual) and keys[index] == key else by_key.get(key)
        if other is not None:  # same key, other text: near_miss_kinds says what differs
            kinds = near_miss_kinds(line, other)
            found.append(NearMiss(index + 1, learner(line), learner(other), kinds))
    return tuple(found)


@dataclass(frozen=True)
class Shown:
    """The part of an answer a comparison holds: a prefix of its lines, long lines cut short."""

    lines: tuple[str, ...]
    #: How many lines the whole answer has.
    total: int
    #: How many of the shown lines were cut short (each ends with `CUT`).
    cut: int
    #: The most characters of a line shown before it is cut.
    line_chars: int

    @property
    def more(self) -> int:
        """Lines of the answer past the shown ones."""
        return self.total - len(self.lines)

    def note(
        self, actual: int, *, yours: str = "Your prediction has", theirs: str = "asyncio printed"
    ) -> str:
        """One sentence on what the comparison leaves out ("" when it holds everything)."""
        parts = []
        if self.more:
            parts.append(
                f"{yours} {self.total} lines and {theirs} {actual}: only the first "
                f"{len(self.lines)} are compared, the other {self.more} are not shown"
            )
        if self.cut:
            lines = "line is" if self.cut == 1 else "lines are"
            parts.append(
                f"{self.cut} {lines} longer than any line {theirs} and cut short after "
                f"{self.line_chars} characters"
            )
        return "; ".join(parts) + ("." if parts else "")


def line_limit(actual: Sequence[str]) -> int:
    """How many characters of a line a comparison with `actual` shows."""
    return max(MIN_LINE_CHARS, max((len(line) for line in actual), default=0) + EXTRA_CHARS)


def clip(text: str, limit: int) -> str:
    """`text`, cut short after `limit` characters (with `CUT`) if it is longer."""
    return text if len(text) <= limit else text[:limit] + CUT


def shown(lines: Sequence[str], actual: Sequence[str]) -> Shown:
    """The prefix of `lines` a comparison with the true lines `actual` holds (see module doc).

    A line past `line_limit` is longer than every true line, so it cannot be one: cutting it
    changes no row from right to wrong, and no true line is ever cut.
    """
    limit = line_limit(actual)
    prefix = [clip(line, limit) for line in lines[: len(actual) + EXTRA_ROWS]]
    cut = sum(1 for line, whole in zip(prefix, lines, strict=False) if line != whole)
    return Shown(tuple(prefix), len(lines), cut, limit)


def _in_your_order(blocks: Sequence[Block], predicted: Sequence[str]) -> list[tuple[str, bool]]:
    """The true lines, a group asyncio leaves unordered put in the prediction's order.

    Any order within such a group counts, so the one shown is the learner's own (then the
    lines they left out): the rows then differ only where the prediction is really wrong.
    """
    out: list[tuple[str, Block]] = []
    for block in blocks:
        if not block.unordered:
            out.extend((line, block) for line in block.lines)
            continue
        remaining = list(block.lines)
        for line in predicted:
            if line in remaining:
                remaining.remove(line)
                out.append((line, block))
        out.extend((line, block) for line in remaining)
    return [(line, block.unordered) for line, block in out]


def compare(
    predicted: Sequence[str],
    blocks: Sequence[Block],
    score: OrderScore,
    *,
    left_title: str = "your prediction",
    right_title: str = "asyncio printed",
) -> Comparison:
    """The two orders row by row, with the first divergence and in-line differences marked.

    Only the `shown` part of `predicted` is compared (the rest is counted in the comparison).
    """
    view = shown(predicted, flatten(blocks))
    predicted = view.lines
    actual = _in_your_order(blocks, predicted)
    printed, written = {line for line, _ in actual}, set(predicted)
    rows: list[CompareRow] = []
    for index in range(max(len(predicted), len(actual))):
        left = predicted[index] if index < len(predicted) else None
        right, loose = actual[index] if index < len(actual) else (None, False)
        left_marks: tuple[Mark, ...] = ()
        right_marks: tuple[Mark, ...] = ()
        # Mark characters only between two lines that are each wrong as written (a typo), not
        # between lines that are right but in another place (the order is what differs).
        if left is not None and right is not None and left not in printed and right not in written:
            left_marks, right_marks = _marks(left, right)
        rows.append(
            CompareRow(
                number=index + 1,
                left=None if left is None else learner(left),
                right=None if right is None else learner(right),
                unordered=loose,
                first=index == score.first_divergence,
                left_marks=left_marks,
                right_marks=right_marks,
            )
        )
    misses = near_misses(list(predicted), [line for line, _ in actual])
    return Comparison(
        left_title, right_title, tuple(rows), misses, more_lines=view.more, cut_lines=view.cut
    )


# --- layout ----------------------------------------------------------------------------------
def _breaks(text: str, width: int) -> list[tuple[int, int]]:
    """Where to wrap `text` into pieces of at most `width` cells: at a space when one is near."""
    width = max(1, width)
    pieces: list[tuple[int, int]] = []
    start = 0
    while start < len(text) or not pieces:
        end, cells = start, 0
        while end < len(text) and cells + cell_len(text[end]) <= width:
            cells += cell_len(text[end])
            end += 1
        if end < len(text):
            space = text.rfind(" ", start, end)
            if space > start + width // 2:
                end = space + 1
        pieces.append((start, max(end, start + 1) if start < len(text) else end))
        start = pieces[-1][1]
    return pieces


def _marked_chars(marks: Sequence[Mark], length: int) -> set[int]:
    chars: set[int] = set()
    for start, end in marks:
        if end > start:
            chars.update(range(start, end))
        elif length:  # something is missing here: mark the character before the gap
            chars.add(min(max(start - 1, 0), length - 1))
    return chars


def _segments(text: str, chars: set[int], start: int, end: int) -> Line:
    out: Line = []
    for index in range(start, end):
        style = "mark" if index in chars else ""
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + text[index], style)
        else:
            out.append((text[index], style))
    return out


def _carets(text: str, chars: set[int], start: int, end: int) -> str:
    return "".join(
        ("^" if index in chars else " ") * cell_len(text[index]) for index in range(start, end)
    ).rstrip()


def _wrapped(  # noqa: PLR0917 - a layout helper: text, its marks, and where it goes
    text: str, marks: Sequence[Mark], width: int, first: Line, indent: int, style: str = ""
) -> list[Line]:
    """`text` wrapped into `width` cells after `first` (then `indent` spaces), carets below."""
    chars = _marked_chars(marks, len(text))
    out: list[Line] = []
    for number, (start, end) in enumerate(_breaks(text, width)):
        head = first if number == 0 else [(" " * indent, "")]
        body = _segments(text, chars, start, end)
        if style:
            body = [(part, style if kind == "" else kind) for part, kind in body]
        out.append([*head, *body])
        carets = _carets(text, chars, start, end)
        if carets:
            out.append([(" " * indent, ""), (carets, "caret")])
    return out


def _fits(comparison: Comparison, column: int) -> bool:
    cells = [comparison.left_title, comparison.right_title]
    for row in comparison.rows:
        cells += [row.left or "", ("~ " if row.unordered else "") + (row.right or "")]
    return all(cell_len(cell) <= column for cell in cells)


def comparison_lines(comparison: Comparison, width: int = WIDTH) -> list[Line]:
    """The comparison as styled lines no wider than `width` cells, every line whole."""
    width = max(40, width)
    number_width = max(2, len(str(len(comparison.rows))))
    prefix = 2 + 2 + number_width + 1
    column = (width - prefix - 1) // 2
    if _fits(comparison, column):
        out = _side_by_side(comparison, prefix, number_width, column)
    else:
        out = _stacked(comparison, width, prefix, number_width)
    if comparison.has_unordered:
        out.extend(
            [(part, "dim")]
            for part in _plain_wrap(
                "(~ lines: asyncio leaves their order open; any order among them counts)", width
            )
        )
    note = truncated_note(comparison)
    if note:
        out.extend([(part, "dim")] for part in _plain_wrap(note, width))
    return out


def truncated_note(comparison: Comparison) -> str:
    """The comparison's note on what it leaves out ("" when it holds everything)."""
    parts = []
    if comparison.more_lines:
        parts.append(f"{comparison.more_lines} more lines not shown")
    if comparison.cut_lines:
        many = "line" if comparison.cut_lines == 1 else "lines"
        parts.append(f"{comparison.cut_lines} long {many} cut short with {CUT}")
    return f"(truncated: {'; '.join(parts)})" if parts else ""


def _plain_wrap(text: str, width: int) -> list[str]:
    return [text[start:end].rstrip() for start, end in _breaks(text, width)]


def _row_head(row: CompareRow, number_width: int) -> Line:
    return [(">>" if row.first else "  ", "first"), (f"  {row.number:>{number_width}} ", "dim")]


def _side_by_side(
    comparison: Comparison, prefix: int, number_width: int, column: int
) -> list[Line]:
    head = f"{'':>2}  {'#':>{number_width}} "
    out: list[Line] = [
        [
            (head, "dim"),
            (comparison.left_title.ljust(column) + " ", "bold"),
            (comparison.right_title, "bold"),
        ]
    ]
    for row in comparison.rows:
        left, right = row.left or "", row.right or ""
        loose = "~ " if row.unordered else ""
        style = "" if row.same else "differ"
        left_chars = _marked_chars(row.left_marks, len(left))
        right_chars = _marked_chars(row.right_marks, len(right))
        line: Line = [*_row_head(row, number_width)]
        line += [(part, kind or style) for part, kind in _segments(left, left_chars, 0, len(left))]
        line.append((" " * (column - cell_len(left) + 1) + loose, "dim"))
        line += [
            (part, kind or style) for part, kind in _segments(right, right_chars, 0, len(right))
        ]
        out.append(_rstrip(line))
        if left_chars or right_chars:
            carets_left = _carets(left, left_chars, 0, len(left))
            carets_right = _carets(right, right_chars, 0, len(right))
            caret_line = " " * prefix + carets_left.ljust(column + 1 + len(loose)) + carets_right
            out.append([(caret_line.rstrip(), "caret")])
    return out


def _stacked(comparison: Comparison, width: int, prefix: int, number_width: int) -> list[Line]:
    label_width = max(len(comparison.left_title), len(comparison.right_title)) + 2
    text_width = width - prefix - label_width
    out: list[Line] = [
        [
            (f"{'':>2}  {'#':>{number_width}} ", "dim"),
            (f"{comparison.left_title} / {comparison.right_title}", "bold"),
        ]
    ]
    for row in comparison.rows:
        head = _row_head(row, number_width)
        if row.same and row.left is not None:
            same = ("~ " if row.unordered else "") + row.left
            out += _wrapped(same, (), width - prefix - 2, [*head, ("  ", "")], prefix + 2)
            continue
        sides: tuple[tuple[str, str | None, tuple[Mark, ...], bool], ...] = (
            (comparison.left_title, row.left, row.left_marks, False),
            (comparison.right_title, row.right, row.right_marks, row.unordered),
        )
        for label, text, row_marks, loose in sides:
            first = head if label == comparison.left_title else [(" " * prefix, "")]
            tag = f"{label}:".ljust(label_width)
            if text is None:
                out.append([*first, (tag, "dim"), ("(no line)", "dim")])
                continue
            shown = ("~ " if loose else "") + text
            shift = 2 if loose else 0
            marks = tuple((start + shift, end + shift) for start, end in row_marks)
            out += _wrapped(
                shown, marks, text_width, [*first, (tag, "dim")], prefix + label_width, "differ"
            )
    return out


def _rstrip(line: Line) -> Line:
    while line and not line[-1][0].strip():
        line.pop()
    if line:
        text, style = line[-1]
        line[-1] = (text.rstrip(), style)
    return line


def plain(lines: Sequence[Line]) -> str:
    """Styled lines as plain text."""
    return "\n".join("".join(text for text, _ in line).rstrip() for line in lines)


def near_miss_note(miss: NearMiss) -> str:
    """The sentence about one near miss (the lines themselves are in the comparison)."""
    what = " and ".join(miss.differences)
    return (
        f"Line {miss.number} differs from a line asyncio prints only in {what}: "
        "lines must match exactly, character for character."
    )


def side_by_side(
    predicted: Sequence[str],
    blocks: Sequence[Block],
    score: OrderScore,
    *,
    left_title: str = "your prediction",
    right_title: str = "asyncio printed",
    width: int = WIDTH,
) -> str:
    """The comparison of two orders as plain text (for tests and tools that want a string)."""
    comparison = compare(predicted, blocks, score, left_title=left_title, right_title=right_title)
    return plain(comparison_lines(comparison, width))


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


def as_learner(lines: Sequence[str]) -> tuple[LearnerText, ...]:
    """Lines typed as learner text."""
    return tuple(learner(line) for line in lines)
