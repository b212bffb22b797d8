"""Feedback as Markdown: one file per student for batch grading, and Gradescope's test output.

The grader's feedback is plain text that mostly reads as Markdown, except the side-by-side
order tables: their indentation and `>>` markers would turn into code blocks and quotes. So
each paragraph that is laid out in columns goes into a fenced block, and prose stays prose
(with `<` escaped, since learner output can appear in it and Markdown passes HTML through).

`write_student_feedback` is the hook that writes one student's file from a grading outcome;
other formats (HTML pages) can sit beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

from grader.model.fsutil import atomic_write
from grader.model.results import ExerciseResult, GradeReport, RunContext, UploadOutcome

_LAID_OUT = re.compile(r"^(\s{2,}|>>|~)")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def markdown_text(feedback: str) -> str:
    """The grader's plain-text feedback as Markdown: column layouts fenced, prose kept."""
    blocks: list[str] = []
    for paragraph in re.split(r"\n\s*\n", feedback.strip("\n")):
        if not paragraph.strip():
            continue
        lines = paragraph.splitlines()
        if any(_LAID_OUT.match(line) for line in lines):
            fence = "```"
            while fence in paragraph:
                fence += "`"
            blocks.append(f"{fence}text\n{paragraph}\n{fence}")
        else:
            # A line break the grader wrote is meant: keep it (a Markdown hard break).
            blocks.append(paragraph.replace("<", "&lt;").replace("\n", "  \n"))
    return "\n\n".join(blocks)


def _points(value: float) -> str:
    return f"{value:g}"


def score_line(result: ExerciseResult) -> str:
    """`2 / 2 points, passed`: the score and status of one exercise."""
    if result.status == "skipped":
        return "skipped (needs a newer Python; not counted)"
    return f"{_points(result.score)} / {_points(result.max_score)} points, {result.status}"


def exercise_markdown(result: ExerciseResult) -> str:
    """One exercise's feedback: its score line, then the feedback."""
    body = markdown_text(result.feedback) if result.feedback.strip() else ""
    head = f"**{score_line(result)}** - `{result.file}`"
    return f"{head}\n\n{body}".rstrip() + "\n"


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


def _escape(text: str) -> str:
    return text.replace("<", "&lt;")


def student_markdown(outcome: UploadOutcome, *, context: RunContext | None = None) -> str:
    """The whole feedback file for one student."""
    context = context or RunContext()
    who = f"{outcome.name} ({outcome.student})" if outcome.name else outcome.student
    parts = [f"# Feedback: {_escape(who)}", ""]
    report = outcome.report
    run = f" Run `{context.run_id}`." if context.run_id else ""
    declared = (
        f" The class is graded on Python {context.class_python}." if context.class_python else ""
    )
    notes = [f"- {_escape(note)}" for note in outcome.notes]
    if report is None:
        parts += [
            "**This submission could not be graded.**",
            "",
            _escape(outcome.error or "no reason was recorded"),
            "",
            f"Upload: `{Path(outcome.upload).name}`",
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
    return "\n".join(parts).rstrip() + "\n"


def safe_filename(student: str) -> str:
    """A file name for a student id from any LMS export (spaces, commas, accents, slashes)."""
    name = _SAFE_NAME.sub("_", student).strip("._") or "student"
    return name[:120]


def write_student_feedback(outcome: UploadOutcome, path: Path) -> Path:
    """Write one student's Markdown feedback file, atomically."""
    return atomic_write(path, student_markdown(outcome))
