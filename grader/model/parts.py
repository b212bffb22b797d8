"""Feedback as data: the parts of one exercise's feedback, kept apart until a renderer draws them.

Grading produces one `ExerciseFeedback` per exercise: a summary, the whole-line comparison of
two orders, the answers of a facts quiz, the input of the timelines (the prediction and the
trace), the wrong beliefs diagnosed, Python's own warnings, the hint, the explanation, and
whether the learner has made a real attempt. Every output (the terminal, the HTML page,
Markdown for batch and Gradescope, the JSON `feedback` text, JUnit, GitHub Classroom) renders
the parts it shows; none takes a rendered string apart again.

Text that came from a submission - printed lines, predictions, error messages that quote the
learner's code - is a `LearnerText`. It has already passed `text.clean` (no control characters),
and each renderer escapes it for its own medium; kit-written prose is a plain `str`, which may
use Markdown's backticks for code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from grader.model.text import clean
from grader.model.trace import Trace


class LearnerText(str):
    """Text derived from a submission: every renderer must escape it for its medium."""

    __slots__ = ()


def learner(text: object) -> LearnerText:
    """`text` (any value) cleaned of control characters and typed as learner text."""
    return LearnerText(clean(str(text)))


#: A marked range of characters, `[start, end)`; `start == end` marks a place where the
#: other line has something this one lacks.
Mark = tuple[int, int]


@dataclass(frozen=True)
class CompareRow:
    """One numbered row of a comparison: the learner's line and the expected one."""

    number: int
    left: LearnerText | None
    right: LearnerText | None
    #: asyncio leaves the order of this line among its group open (`~`).
    unordered: bool = False
    #: The first line where the orders part (`>>`).
    first: bool = False
    #: Where two similar lines differ, within each line.
    left_marks: tuple[Mark, ...] = ()
    right_marks: tuple[Mark, ...] = ()

    @property
    def same(self) -> bool:
        """True if both sides hold the same line."""
        return self.left is not None and self.left == self.right


@dataclass(frozen=True)
class NearMiss:
    """A line that differs from asyncio's only in case, spacing or punctuation."""

    number: int
    yours: LearnerText
    theirs: LearnerText
    differences: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    """Two orders of whole lines, row by row; a bounded prefix of a long left side (counted)."""

    left_title: str
    right_title: str
    rows: tuple[CompareRow, ...]
    near_misses: tuple[NearMiss, ...] = ()
    #: Lines of the left side past the rows (a bounded prefix is compared: `compare.shown`).
    more_lines: int = 0
    #: Left lines cut short, far longer than any right line.
    cut_lines: int = 0

    @property
    def has_unordered(self) -> bool:
        """True if some lines may come in any order among themselves."""
        return any(row.unordered for row in self.rows)


@dataclass(frozen=True)
class FactAnswer:
    """One question of a facts quiz: the learner's answer and asyncio's."""

    question: LearnerText
    yours: LearnerText
    #: None: the program prints no such question (a renamed key).
    right: LearnerText | None

    @property
    def correct(self) -> bool:
        """True if the learner's answer is what the program prints."""
        return self.right is not None and self.yours == self.right


@dataclass(frozen=True)
class Facts:
    """A facts quiz's answers, in the program's order."""

    answers: tuple[FactAnswer, ...]

    @property
    def wrong(self) -> tuple[FactAnswer, ...]:
        """The answers that are not what the program prints."""
        return tuple(answer for answer in self.answers if not answer.correct)


@dataclass(frozen=True)
class TimelineInput:
    """What the timelines are drawn from: the learner's order and the trace of the real run."""

    predicted: tuple[LearnerText, ...]
    trace: Trace


@dataclass(frozen=True)
class Belief:
    """A wrong belief the learner's answer is exactly the output of (kit prose)."""

    id: str
    belief: str
    why: str


@dataclass(frozen=True)
class PythonWarning:
    """A warning Python printed while the learner's code ran, and why it matters."""

    kind: str
    text: LearnerText
    why: str


@dataclass(frozen=True)
class ExerciseFeedback:
    """Everything one exercise's feedback says, as parts."""

    id: str
    title: str
    file: str
    kind: str
    status: str
    score: float
    max_score: float
    #: One or two kit-written sentences: how it went.
    summary: str
    #: A real attempt: a well-formed, non-blank prediction, or a changed program that runs.
    attempted: bool = False
    #: The first check's own message (may quote the learner's code or output).
    message: LearnerText | None = None
    #: How many more checks of the exercise did not pass (their details stay hidden).
    more_checks: int = 0
    comparison: Comparison | None = None
    facts: Facts | None = None
    timeline: TimelineInput | None = None
    beliefs: tuple[Belief, ...] = ()
    warnings: tuple[PythonWarning, ...] = ()
    #: What to do next, before an attempt (kit prose).
    todo: str | None = None
    hint: str | None = None
    explanation: str | None = None
    #: The explanation's first sentence, shown on a pass where space is short.
    brief: str | None = None
    #: For a skipped exercise: the Python it needs (e.g. `3.12`).
    needs_python: str | None = None
    #: Learner-facing commands to suggest (kit text, e.g. `nox -s hint -- ID`).
    commands: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True if the exercise earned full marks."""
        return self.status == "passed"

    # --- JSON (results `details["feedback"]`; timeline data stays in `details`) ------------
    def to_json(self) -> dict[str, Any]:
        """Plain data; the timeline's prediction and trace are `details["predicted"/"trace"]`."""
        return {
            "summary": self.summary,
            "attempted": self.attempted,
            "message": self.message,
            "more_checks": self.more_checks,
            "comparison": None if self.comparison is None else comparison_json(self.comparison),
            "facts": None
            if self.facts is None
            else [
                {"question": a.question, "yours": a.yours, "right": a.right}
                for a in self.facts.answers
            ],
            "timeline": self.timeline is not None,
            "beliefs": [{"id": b.id, "belief": b.belief, "why": b.why} for b in self.beliefs],
            "warnings": [{"kind": w.kind, "text": w.text, "why": w.why} for w in self.warnings],
            "todo": self.todo,
            "hint": self.hint,
            "explanation": self.explanation,
            "brief": self.brief,
            "commands": list(self.commands),
            "needs_python": self.needs_python,
        }


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """A comparison as plain data (for `details` and the results JSON)."""
    return {
        "left_title": comparison.left_title,
        "right_title": comparison.right_title,
        "rows": [
            {
                "number": row.number,
                "left": row.left,
                "right": row.right,
                "unordered": row.unordered,
                "first": row.first,
                "left_marks": [list(mark) for mark in row.left_marks],
                "right_marks": [list(mark) for mark in row.right_marks],
            }
            for row in comparison.rows
        ],
        "near_misses": [
            {
                "number": miss.number,
                "yours": miss.yours,
                "theirs": miss.theirs,
                "differences": list(miss.differences),
            }
            for miss in comparison.near_misses
        ],
        "more_lines": comparison.more_lines,
        "cut_lines": comparison.cut_lines,
    }


# --- reading the parts back (batch and Gradescope pass reports through JSON) ----------------
def _opt_text(value: object) -> LearnerText | None:
    return None if value is None else learner(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _marks(value: object) -> tuple[Mark, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        (int(mark[0]), int(mark[1]))
        for mark in value
        if isinstance(mark, list) and len(mark) == 2  # noqa: PLR2004 - a [start, end) pair
    )


def comparison_from(data: object) -> Comparison | None:
    """A comparison from `comparison_json` data (None if there is none or it is damaged)."""
    if not isinstance(data, dict):
        return None
    rows = tuple(
        CompareRow(
            number=int(row.get("number", 0)),
            left=_opt_text(row.get("left")),
            right=_opt_text(row.get("right")),
            unordered=bool(row.get("unordered")),
            first=bool(row.get("first")),
            left_marks=_marks(row.get("left_marks")),
            right_marks=_marks(row.get("right_marks")),
        )
        for row in data.get("rows", [])
        if isinstance(row, dict)
    )
    misses = tuple(
        NearMiss(
            number=int(miss.get("number", 0)),
            yours=learner(miss.get("yours", "")),
            theirs=learner(miss.get("theirs", "")),
            differences=tuple(str(d) for d in miss.get("differences", [])),
        )
        for miss in data.get("near_misses", [])
        if isinstance(miss, dict)
    )
    return Comparison(
        str(data.get("left_title", "yours")),
        str(data.get("right_title", "expected")),
        rows,
        misses,
        more_lines=_count(data.get("more_lines")),
        cut_lines=_count(data.get("cut_lines")),
    )


def _count(value: object) -> int:
    """A count from JSON data (0 if it is missing or damaged)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def from_json(
    data: Mapping[str, Any],
    result: Mapping[str, Any],
    details: Mapping[str, Any],
) -> ExerciseFeedback:
    """Rebuild the parts from `to_json` data, the result's fields and its `details`."""
    facts = data.get("facts")
    timeline: TimelineInput | None = None
    predicted, trace = details.get("predicted"), details.get("trace")
    if data.get("timeline") and isinstance(predicted, list) and isinstance(trace, dict):
        # A report's details are JSON (maybe read back from a file); the trace is the run's.
        timeline = TimelineInput(tuple(learner(line) for line in predicted), cast("Trace", trace))
    return ExerciseFeedback(
        id=str(result["id"]),
        title=str(result.get("title", result["id"])),
        file=str(result["file"]),
        kind=str(result["kind"]),
        status=str(result["status"]),
        score=float(result["score"]),
        max_score=float(result["max_score"]),
        summary=str(data.get("summary", "")),
        attempted=bool(data.get("attempted")),
        message=_opt_text(data.get("message")),
        more_checks=int(data.get("more_checks", 0)),
        comparison=comparison_from(data.get("comparison")),
        facts=None
        if not isinstance(facts, list)
        else Facts(
            tuple(
                FactAnswer(
                    learner(a.get("question", "")),
                    learner(a.get("yours", "")),
                    _opt_text(a.get("right")),
                )
                for a in facts
                if isinstance(a, dict)
            )
        ),
        timeline=timeline,
        beliefs=tuple(
            Belief(str(b.get("id", "")), str(b.get("belief", "")), str(b.get("why", "")))
            for b in data.get("beliefs", [])
            if isinstance(b, dict)
        ),
        warnings=tuple(
            PythonWarning(str(w.get("kind", "")), learner(w.get("text", "")), str(w.get("why", "")))
            for w in data.get("warnings", [])
            if isinstance(w, dict)
        ),
        todo=_opt_str(data.get("todo")),
        hint=_opt_str(data.get("hint")),
        explanation=_opt_str(data.get("explanation")),
        brief=_opt_str(data.get("brief")),
        commands=tuple(str(c) for c in data.get("commands", [])),
        needs_python=_opt_str(data.get("needs_python")),
    )


def legacy(result: Mapping[str, Any]) -> ExerciseFeedback:
    """Parts for a report written before feedback was data: the old text, as learner text."""
    text = str(result.get("feedback", ""))
    return ExerciseFeedback(
        id=str(result["id"]),
        title=str(result.get("title", result["id"])),
        file=str(result["file"]),
        kind=str(result["kind"]),
        status=str(result["status"]),
        score=float(result["score"]),
        max_score=float(result["max_score"]),
        summary="",
        message=learner(text) if text else None,
        attempted=True,
    )


def first_sentence(text: str) -> str:
    """The first sentence of kit prose (up to the first `. ` outside code), for a brief note."""
    in_code = False
    for index, char in enumerate(text):
        if char == "`":
            in_code = not in_code
        elif char == "." and not in_code and text[index + 1 : index + 2] in {" ", ""}:
            return text[: index + 1]
    return text


def lines_of(texts: Sequence[str]) -> tuple[LearnerText, ...]:
    """Learner lines, typed."""
    return tuple(learner(text) for text in texts)
