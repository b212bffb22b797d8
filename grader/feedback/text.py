"""Renders an exercise's feedback parts as plain text: the JSON `feedback`, JUnit, GitHub Classroom.

Plain text has no markup to escape: learner text is already clean of control characters
(`model.parts.learner`), and comparisons and timelines are laid out for 80 columns so they
read in any terminal or log viewer. What a student can make long (a flood of printed lines, a
500-line prediction) is capped: past `LIMIT` characters per exercise the text stops with a note
of how many lines were left out.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from grader.feedback import timeline
from grader.feedback.compare import WIDTH, comparison_lines, near_miss_note, plain
from grader.model.parts import ExerciseFeedback, Facts, PythonWarning

#: Characters of feedback text per exercise (Markdown and JSON); a student cannot make more.
LIMIT = 64 * 1024


#: Characters of one failing check's message (a hidden test's "should return X, but it returned
#: Y"): what to fix first fits in far less, and a returned value at the result caps would
#: otherwise fill every output with megabytes of one line. Capped where the message becomes a
#: part (`compose`) and where it is recorded (`grading.session`), so every output gets the note.
MESSAGE_LIMIT = 4 * 1024


_NOTE = "(truncated:"


def cap(text: str, limit: int = LIMIT) -> str:
    """`text`, cut at a line end before `limit` characters with a note of what was left out.

    A single line longer than `limit` is cut inside it; the note then counts its characters.
    Text this has capped at `limit` already is kept as it is (capping twice adds no note).
    """
    if len(text) <= limit:
        return text
    body, _, note = text.rpartition("\n")
    if note.startswith(_NOTE) and len(body) <= limit:
        return text
    kept = text[:limit]
    cut = kept.rfind("\n")
    if cut > 0:
        kept = kept[:cut]
        return f"{kept}\n{_NOTE} {_count_lines(text[cut + 1 :])} more lines)"
    line, _, after = text[len(kept) :].partition("\n")
    lines = _count_lines(after)
    more = f" and {lines} more lines" if lines else ""
    return f"{kept}\n{_NOTE} {len(line):,} more characters of this line{more})"


def _count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def facts_lines(facts: Facts) -> list[str]:
    """Which answers of a facts quiz are wrong, one line each."""
    wrong = facts.wrong
    if not wrong:
        return ["Every answer is right."]
    total = len(facts.answers)
    lines = [f"{len(wrong)} of {total} answers are not what the program prints:"]
    for answer in wrong:
        if answer.right is None:
            lines.append(f"  - {answer.question}: the program prints no such question")
        elif answer.yours == "?":
            lines.append(f"  - {answer.question}: not answered yet")
        else:
            lines.append(f"  - {answer.question}: you wrote {answer.yours}; it is not")
    return lines


def warning_lines(warnings: Sequence[PythonWarning]) -> list[str]:
    """Python's own warnings from the learner's run, each with why it matters."""
    if not warnings:
        return []
    lines = ["Python warned while your code ran:"]
    for warning in warnings:
        lines.append(f"  - {warning.text}")
        lines.append(f"    {warning.why}")
    return lines


def belief_lines(parts: ExerciseFeedback) -> list[str]:
    """The misconception paragraph."""
    if not parts.beliefs:
        return []
    if len(parts.beliefs) == 1:
        belief = parts.beliefs[0]
        return [
            (
                "Misconception: your prediction is exactly what this program would print if "
                f"{belief.belief}. In asyncio it does not work that way: {belief.why}"
            )
        ]
    lines = [
        (
            "Misconception: your prediction is exactly what this program would print under "
            "each of these beliefs, and asyncio works otherwise:"
        )
    ]
    lines += [f"- if {belief.belief}: {belief.why}" for belief in parts.beliefs]
    return lines


def wrap(text: str, width: int = WIDTH) -> str:
    """Kit prose wrapped at spaces to `width` (a word longer than that stays whole)."""
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) or line
        for line in text.split("\n")
    )


def paragraphs(parts: ExerciseFeedback, width: int = WIDTH) -> list[str]:
    """The feedback as plain paragraphs, in the order a learner reads them."""
    return [text if verbatim else wrap(text, width) for text, verbatim in _paragraphs(parts, width)]


def _paragraphs(parts: ExerciseFeedback, width: int) -> list[tuple[str, bool]]:  # noqa: C901
    """Each paragraph, and whether it is laid out already (kept as it is) or prose."""
    out: list[str] = []
    laid_out: set[int] = set()
    if parts.summary:
        out.append(parts.summary)
    if parts.message:
        laid_out.add(len(out))
        out.append(str(parts.message))
    if parts.facts is not None:
        out.append("\n".join(facts_lines(parts.facts)))
    elif parts.comparison is not None:
        laid_out.add(len(out))
        out.append(plain(comparison_lines(parts.comparison, width)))
        out.extend(near_miss_note(miss) for miss in parts.comparison.near_misses)
    if parts.warnings:
        out.append("\n".join(warning_lines(parts.warnings)))
    if parts.timeline is not None:
        laid_out.add(len(out))
        out.append(timeline.feedback_text(parts.timeline.predicted, parts.timeline.trace, width))
    if parts.beliefs:
        out.append("\n".join(belief_lines(parts)))
    if parts.more_checks:
        out.append(f"({parts.more_checks} more check(s) of this exercise did not pass.)")
    if parts.todo:
        out.append(f"What to do: {parts.todo}")
    if parts.hint:
        out.append(f"Hint: {parts.hint}")
    if parts.explanation:
        out.append(f"Why: {parts.explanation}")
    out.extend(parts.commands)
    return [(text, number in laid_out) for number, text in enumerate(out)]


def render(parts: ExerciseFeedback, width: int = WIDTH, limit: int = LIMIT) -> str:
    """The whole feedback as plain text, capped at `limit` characters."""
    return cap("\n\n".join(paragraphs(parts, width)), limit)
