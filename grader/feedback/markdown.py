"""Feedback as Markdown: one file per student for batch grading, and Gradescope's test output.

Each exercise is drawn from its feedback parts (`ExerciseResult.parts`): kit prose stays
Markdown (its backticks are code), every piece of learner text is escaped so that it cannot
become a heading, a link, an image or HTML, and comparisons and timelines go into fenced code
blocks whose fence is longer than any run of backticks inside. An exercise's Markdown is capped
(`feedback.text.LIMIT`) with a note of what was left out.

`write_student_feedback` is the hook that writes one student's file from a grading outcome;
other formats (HTML pages) can sit beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

from grader.feedback import timeline
from grader.feedback.compare import comparison_lines, near_miss_note, plain
from grader.feedback.text import LIMIT, belief_lines, cap, facts_lines
from grader.model.fsutil import atomic_write
from grader.model.parts import ExerciseFeedback
from grader.model.results import ExerciseResult, GradeReport, RunContext, UploadOutcome

#: Characters of one student's whole feedback file (each exercise is capped at `LIMIT` too).
STUDENT_LIMIT = 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
#: What opens markup anywhere in a line (emphasis, code, links and images, tables, strikethrough,
#: maths), and `#`, which some renderers take as a heading or tag mid-line: escaped wherever it
#: appears. Links and images need `[`, so `(` and `!` are safe.
_INLINE = frozenset("\\`*_[]|~$#")
#: What GitHub-flavoured Markdown turns into a link with no brackets at all (extended
#: autolinks): `http://`, `https://`, `ftp://` and `www.`; an escaped `:` or `.` breaks them.
_AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp)(?=://)|\bwww(?=\.)")
#: What opens a block at the start of a line: a heading, a list, a quote, a setext underline,
#: a numbered list (`1.` / `1)`).
_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])", re.MULTILINE)


def _escape_start(match: re.Match[str]) -> str:
    mark = match.group(2)
    # `1.` is escaped at its dot: a backslash before a digit would show as a backslash.
    escaped = f"{mark[:-1]}\\{mark[-1]}" if mark[0].isdigit() else f"\\{mark}"
    return match.group(1) + escaped


def escape_md(text: str) -> str:
    """Learner text as literal Markdown: it cannot become a heading, link, image, list or HTML.

    CommonMark lets any ASCII punctuation be backslash-escaped: the marks that open inline
    markup are escaped wherever they are, those that open a block only at the start of a line;
    `<`, `>` and `&` become entities, so no HTML passes through; bare URLs lose the `:` or `.`
    that GitHub needs to link them. Line breaks stay (hard breaks).
    """
    out = []
    for char in text:
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _INLINE:
            out.append("\\" + char)
        else:
            out.append(char)
    escaped = _AUTOLINK.sub(lambda found: found.group(0) + "\\", "".join(out))
    escaped = _LINE_START.sub(_escape_start, escaped)
    return escaped.replace("\n", "  \n")


def fenced(text: str, info: str = "text") -> str:
    """`text` in a fenced code block nothing inside can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def markdown_text(feedback: str) -> str:
    """Plain-text feedback (a result without parts) as Markdown: all of it, in one code block.

    Nothing is guessed from the text's shape: it is shown as it is, and cannot become markup.
    """
    text = cap(feedback.strip("\n"))
    return fenced(text) if text.strip() else ""


def parts_markdown(parts: ExerciseFeedback) -> str:  # noqa: C901, PLR0912 - one branch per part
    """One exercise's feedback parts as Markdown blocks, capped at `LIMIT` characters."""
    blocks: list[str] = []
    budget = LIMIT

    def add(block: str, *, code: bool = False) -> None:
        nonlocal budget
        if budget <= 0:
            return
        text = cap(block, budget)
        budget -= len(text)
        blocks.append(fenced(text) if code else text)

    if parts.summary:
        add(parts.summary)
    if parts.message:
        add(parts.message, code=True)
    if parts.facts is not None:
        first, *rest = facts_lines(parts.facts)
        add(
            "\n".join(
                [escape_md(first), ""] + [f"- {escape_md(line.strip()[2:])}" for line in rest]
            )
        )
    elif parts.comparison is not None:
        add(plain(comparison_lines(parts.comparison)), code=True)
        for miss in parts.comparison.near_misses:
            add(near_miss_note(miss))
    if parts.warnings:
        items = [f"- {escape_md(w.text)}: {w.why}" for w in parts.warnings]
        add("Python warned while your code ran:\n\n" + "\n".join(items))
    if parts.timeline is not None:
        mine, real = timeline.both(parts.timeline.predicted, parts.timeline.trace)
        add(timeline.to_text(mine) + "\n\n" + timeline.to_text(real), code=True)
    if parts.beliefs:
        add("\n".join(belief_lines(parts)))
    if parts.more_checks:
        add(f"({parts.more_checks} more check(s) of this exercise did not pass.)")
    if parts.todo:
        add(f"What to do: {parts.todo}")
    if parts.hint:
        add(f"**Hint:** {parts.hint}")
    if parts.explanation:
        add(f"**Why:** {parts.explanation}")
    for command in parts.commands:
        add(command)
    if budget <= 0:
        blocks.append("(truncated: the rest of this exercise's feedback was left out)")
    return "\n\n".join(blocks)


def _points(value: float) -> str:
    return f"{value:g}"


def score_line(result: ExerciseResult) -> str:
    """`2 / 2 points, passed`: the score and status of one exercise."""
    if result.status == "skipped":
        return "skipped (needs a newer Python; not counted)"
    return f"{_points(result.score)} / {_points(result.max_score)} points, {result.status}"


def exercise_markdown(result: ExerciseResult) -> str:
    """One exercise's feedback: its score line, then the feedback drawn from its parts."""
    body = parts_markdown(result.parts)
    head = f"**{score_line(result)}** - `{result.file}`"
    return f"{head}\n\n{body}".rstrip() + "\n"


def test_output(result: ExerciseResult) -> str:
    """Gradescope's `output` for one exercise: the status line, then the feedback parts."""
    return f"**{score_line(result)}**\n\n{parts_markdown(result.parts)}".rstrip()


def score_table(report: GradeReport) -> str:
    """The score table of one report, as a Markdown table."""
    rows = ["| # | exercise | status | score |", "|---:|---|---|---:|"]
    for number, result in enumerate(report.exercises, start=1):
        score = "-" if result.status == "skipped" else _score(result)
        title = result.title.replace("|", "\\|")
        rows.append(f"| {number} | {title} (`{result.id}`) | {result.status} | {score} |")
    rows.append(f"| | **total** | | **{_points(report.score)} / {_points(report.max_score)}** |")
    return "\n".join(rows)


def _score(result: ExerciseResult) -> str:
    return f"{_points(result.score)} / {_points(result.max_score)}"


def student_markdown(outcome: UploadOutcome, *, context: RunContext | None = None) -> str:
    """The whole feedback file for one student."""
    context = context or RunContext()
    who = f"{outcome.name} ({outcome.student})" if outcome.name else outcome.student
    # The heading is kit text only: a name escaped for Markdown can still read as a score in a
    # heading's large type ("# Feedback: Total 100 / 100 points"), so it goes on its own line.
    parts = ["# Feedback", "", f"Student: {escape_md(who)}", ""]
    report = outcome.report
    run = f" Run `{context.run_id}`." if context.run_id else ""
    declared = (
        f" The class is graded on Python {context.class_python}." if context.class_python else ""
    )
    notes = [f"- {escape_md(note)}" for note in outcome.notes]
    if report is None:
        parts += [
            "**This submission could not be graded.**",
            "",
            escape_md(outcome.error or "no reason was recorded"),
            "",
            f"Upload: {escape_md(Path(outcome.upload).name)}",
            "",
        ]
        if notes:
            parts += [*notes, ""]
        if run or declared:
            parts += [(declared + run).strip(), ""]
        return "\n".join(parts)
    maximum = context.maximum if context.maximum is not None else report.max_score
    parts += [
        f"**Total: {_points(report.score)} / {_points(maximum)} points**",
        "",
        f"Graded on Python {report.python} (isolation: {report.isolation}).{declared}{run}",
        "",
    ]
    if notes:
        parts += [*notes, ""]
    parts += [score_table(report), ""]
    for number, result in enumerate(report.exercises, start=1):
        parts += [f"## {number}. {result.title} (`{result.id}`)", "", exercise_markdown(result)]
    return cap("\n".join(parts).rstrip(), STUDENT_LIMIT) + "\n"


def safe_filename(student: str) -> str:
    """A file name for a student id from any LMS export (spaces, commas, accents, slashes)."""
    name = _SAFE_NAME.sub("_", student).strip("._") or "student"
    return name[:120]


def write_student_feedback(outcome: UploadOutcome, path: Path) -> Path:
    """Write one student's Markdown feedback file, atomically."""
    return atomic_write(path, student_markdown(outcome))
