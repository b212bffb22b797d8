"""One self-contained HTML feedback page per student: opens in any browser, with no network.

Batch grading hands each student a page rather than a terminal capture: the score, where they
stand and what to do next, then every exercise with its feedback, and for each prediction that
is not right both timelines side by side as inline SVG, the misconception named in a box. The
CSS is inline, there is no script, no font or image to fetch. Everything that came from a
submission (printed lines, messages, the student id) is HTML-escaped.

    write_html(report, Path("feedback/alice.html"), student="alice")
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any, cast

from grader.feedback import progress as progress_module
from grader.feedback import timeline
from grader.feedback.svg import to_svg
from grader.model.fsutil import atomic_write
from grader.model.results import ExerciseResult, GradeReport, StudentOutcome
from grader.model.trace import Trace

_STATUS_COLOR = {
    "passed": "#1e7d32",
    "partial": "#a06500",
    "failed": "#b3261e",
    "error": "#b3261e",
    "not-submitted": "#666",
    "skipped": "#666",
}

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b;
       margin: 0 auto; max-width: 1180px; padding: 24px; background: #fafafa; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0; }
.score { font-size: 30px; font-weight: 700; }
.meta, .file { color: #555; font-size: 13px; }
.progress { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 10px 14px;
            margin: 14px 0; }
.progress p { margin: 2px 0; }
table.overview { border-collapse: collapse; background: #fff; margin: 10px 0 24px; }
table.overview th, table.overview td { border-bottom: 1px solid #e4e4e4; padding: 4px 10px;
                                      text-align: left; }
table.overview td.num { text-align: right; }
.badge { display: inline-block; border-radius: 10px; padding: 0 9px; color: #fff;
         font-size: 12px; font-weight: 600; vertical-align: middle; }
section.exercise { background: #fff; border: 1px solid #ddd; border-radius: 8px;
                   padding: 12px 16px; margin: 14px 0; }
section.exercise header { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
.misconception { border-left: 4px solid #b3261e; background: #fdf0ef; padding: 8px 12px;
                 margin: 10px 0; white-space: pre-wrap; }
.timelines { display: flex; flex-wrap: wrap; gap: 18px; margin: 10px 0; overflow-x: auto; }
.timelines figure { margin: 0; }
pre.feedback { white-space: pre-wrap; word-break: break-word; background: #f4f4f4;
               padding: 10px; border-radius: 6px; font-size: 13px; }
footer { color: #777; font-size: 12px; margin-top: 30px; }
"""


_CODE = re.compile(r"`([^`]+)`")


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _prose(text: object) -> str:
    """Escaped text with `code` spans shown as code (the kit writes its prose that way)."""
    return _CODE.sub(r"<code>\1</code>", _e(text))


def _badge(status: str) -> str:
    color = _STATUS_COLOR.get(status, "#666")
    return f'<span class="badge" style="background:{color}">{_e(status)}</span>'


def _timelines(exercise: ExerciseResult) -> str:
    details: dict[str, Any] = exercise.details
    predicted, trace = details.get("predicted"), details.get("trace")
    if exercise.status == "passed" or not isinstance(predicted, list):
        return ""
    if not isinstance(trace, dict) or not details.get("timeline_text"):
        return ""
    try:
        mine, real = timeline.both([str(line) for line in predicted], cast("Trace", trace))
    except (KeyError, TypeError, ValueError, IndexError):
        return ""  # details from an older or damaged report: the text feedback still shows
    figures = "".join(
        f'<figure class="timeline">{to_svg(picture)}</figure>' for picture in (mine, real)
    )
    return f'<div class="timelines">{figures}</div>'


def _misconceptions(exercise: ExerciseResult) -> str:
    found = exercise.details.get("misconceptions")
    if not isinstance(found, list) or not found:
        return ""
    items = [
        f"<p><strong>Your prediction is exactly what this program would print if "
        f"{_prose(item.get('belief', ''))}.</strong> {_prose(item.get('why', ''))}</p>"
        for item in found
        if isinstance(item, dict)
    ]
    return f'<div class="misconception"><strong>Misconception</strong>{"".join(items)}</div>'


def _feedback_text(exercise: ExerciseResult) -> str:
    """The feedback without its text pictures or misconception (drawn as SVG and a box)."""
    text = exercise.feedback
    pictures = exercise.details.get("timeline_text")
    if isinstance(pictures, str) and pictures and _timelines(exercise):
        text = text.replace(pictures, "")
    if _misconceptions(exercise):
        text = "\n\n".join(
            paragraph
            for paragraph in text.split("\n\n")
            if not paragraph.startswith("Misconception:")
        )
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _section(number: int, exercise: ExerciseResult, submission: str) -> str:
    score = f"{exercise.score:g} / {exercise.max_score:g}"
    body = _feedback_text(exercise)
    feedback = f'<pre class="feedback">{_e(body)}</pre>'
    if exercise.status == "passed":
        feedback = f"<details><summary>Feedback</summary>{feedback}</details>"
    return (
        f'<section class="exercise" id="{_e(exercise.id)}">'
        f"<header><h2>{number}. {_e(exercise.title)}</h2>{_badge(exercise.status)}"
        f'<span class="score-small">{_e(score)}</span></header>'
        f'<div class="file">{_e(exercise.id)} - {_e(Path(submission).name)}/'
        f"{_e(exercise.file)} ({_e(exercise.kind)})</div>"
        f"{_misconceptions(exercise)}{_timelines(exercise)}{feedback}</section>"
    )


def render_html(report: GradeReport, *, student: str | None = None) -> str:
    """The whole page for one graded submission."""
    who = student or Path(report.submission).name
    summary = progress_module.summary_lines(progress_module.progress_of(report), commands=False)
    rows = "".join(
        f'<tr><td class="num">{number}</td><td><a href="#{_e(e.id)}">{_e(e.id)}</a></td>'
        f"<td>{_e(e.kind)}</td><td>{_badge(e.status)}</td>"
        f'<td class="num">{e.score:g} / {e.max_score:g}</td></tr>'
        for number, e in enumerate(report.exercises, start=1)
    )
    sections = "".join(
        _section(number, exercise, report.submission)
        for number, exercise in enumerate(report.exercises, start=1)
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>asyncio ordering kit - feedback for {_e(who)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>asyncio ordering kit - feedback for {_e(who)}</h1>"
        f'<div class="score" id="score">{report.score:g} / {report.max_score:g}</div>'
        f'<div class="meta">graded on Python {_e(report.python)}, '
        f"isolation: {_e(report.isolation)}</div>"
        f'<div class="progress">{"".join(f"<p>{_e(line)}</p>" for line in summary)}</div>'
        '<table class="overview"><thead><tr><th>#</th><th>exercise</th><th>kind</th>'
        f"<th>status</th><th>score</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{sections}"
        "<footer>Timelines: virtual time runs down, one column per task; a dot is a printed "
        "line, a dashed lane a sleeping task. Tinted rows differ between your prediction and "
        "what asyncio ran.</footer>"
        "</body></html>\n"
    )


def write_html(report: GradeReport, path: Path, *, student: str | None = None) -> Path:
    """Write one student's page (atomically) and return its path."""
    return atomic_write(path, render_html(report, student=student))


def write_student_html(outcome: StudentOutcome, path: Path) -> Path:
    """Batch grading's hook: the page for a graded student, or why there is no grade."""
    if outcome.report is not None:
        return write_html(outcome.report, path, student=outcome.student)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>asyncio ordering kit - {_e(outcome.student)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>asyncio ordering kit - feedback for {_e(outcome.student)}</h1>"
        f'<div class="misconception">Not graded: {_e(outcome.error or "unknown reason")}</div>'
        "</body></html>\n"
    )
    return atomic_write(path, page)
