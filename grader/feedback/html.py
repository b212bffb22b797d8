"""One self-contained HTML feedback page per student: opens in any browser, with no network.

Batch grading hands each student a page rather than a terminal capture: the score, where they
stand and what to do next, then every exercise with its feedback, and for each prediction that
is not right both timelines side by side as inline SVG, the misconception named in a box. The
CSS is inline, there is no script, no font or image to fetch. Everything that came from a
submission (printed lines, messages, the student id) is HTML-escaped. Each section is drawn
from the exercise's feedback parts (`ExerciseResult.parts`), never from its text.

    write_html(report, Path("feedback/alice.html"), student="alice")
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from grader.feedback import progress as progress_module
from grader.feedback import timeline
from grader.feedback.compare import comparison_lines, near_miss_note
from grader.feedback.svg import to_svg
from grader.feedback.text import cap, facts_lines
from grader.model.fsutil import atomic_write
from grader.model.parts import ExerciseFeedback
from grader.model.results import ExerciseResult, GradeReport, StudentOutcome

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
pre.compare { background: #f4f4f4; padding: 10px; border-radius: 6px; font-size: 13px;
              overflow-x: auto; }
pre.compare .mark { background: #f6c6c2; color: #7a1710; font-weight: 700; }
pre.compare .caret, pre.compare .first { color: #b3261e; font-weight: 700; }
pre.compare .differ { color: #7a4a00; }
pre.compare .dim, .dim { color: #777; }
pre.compare .b { font-weight: 700; }
p.near, .warnings { color: #7a4a00; }
p.hint { color: #0b5f7a; }
"""

#: The comparison's width on the page (wider than a terminal; it still never cuts a line).
_PAGE_COLUMNS = 120


_CODE = re.compile(r"`([^`]+)`")


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _prose(text: object) -> str:
    """Escaped text with `code` spans shown as code (the kit writes its prose that way)."""
    return _CODE.sub(r"<code>\1</code>", _e(text))


def _badge(status: str) -> str:
    color = _STATUS_COLOR.get(status, "#666")
    return f'<span class="badge" style="background:{color}">{_e(status)}</span>'


def _timelines(parts: ExerciseFeedback) -> str:
    if parts.passed or parts.timeline is None:
        return ""
    predicted = list(parts.timeline.predicted)
    try:
        mine, real = timeline.both(predicted, parts.timeline.trace)
    except (KeyError, TypeError, ValueError, IndexError):
        return ""  # details from an older or damaged report: the text feedback still shows
    figures = "".join(
        f'<figure class="timeline">{to_svg(picture)}</figure>' for picture in (mine, real)
    )
    return f'<div class="timelines">{figures}</div>'


def _misconceptions(parts: ExerciseFeedback) -> str:
    if not parts.beliefs:
        return ""
    items = [
        f"<p><strong>Your prediction is exactly what this program would print if "
        f"{_prose(belief.belief)}.</strong> {_prose(belief.why)}</p>"
        for belief in parts.beliefs
    ]
    return f'<div class="misconception"><strong>Misconception</strong>{"".join(items)}</div>'


_CLASS = {
    "first": "first",
    "mark": "mark",
    "caret": "caret",
    "differ": "differ",
    "dim": "dim",
    "bold": "b",
}


def _comparison(parts: ExerciseFeedback) -> str:
    """The whole-line comparison, laid out as in the terminal, marks as styled spans."""
    if parts.comparison is None:
        return ""
    rows = []
    for line in comparison_lines(parts.comparison, _PAGE_COLUMNS):
        cells = "".join(
            f'<span class="{_CLASS[style]}">{_e(text)}</span>' if style in _CLASS else _e(text)
            for text, style in line
        )
        rows.append(cells)
    notes = "".join(
        f'<p class="near">{_e(near_miss_note(miss))}</p>' for miss in parts.comparison.near_misses
    )
    return f'<pre class="compare">{chr(10).join(rows)}</pre>{notes}'


def _facts(parts: ExerciseFeedback) -> str:
    if parts.facts is None:
        return ""
    lines = facts_lines(parts.facts)
    items = "".join(f"<li>{_e(line.strip().removeprefix('- '))}</li>" for line in lines[1:])
    return f"<p>{_e(lines[0])}</p><ul>{items}</ul>"


def _warnings(parts: ExerciseFeedback) -> str:
    if not parts.warnings:
        return ""
    items = "".join(
        f"<li><code>{_e(warning.text)}</code> {_prose(warning.why)}</li>"
        for warning in parts.warnings
    )
    return f'<div class="warnings"><p>Python warned while your code ran:</p><ul>{items}</ul></div>'


def _body(parts: ExerciseFeedback) -> str:
    """Every part, each escaped for HTML (learner text never becomes markup)."""
    out = []
    if parts.summary:
        out.append(f"<p><strong>{_prose(parts.summary)}</strong></p>")
    if parts.message:
        out.append(f'<pre class="feedback">{_e(cap(parts.message))}</pre>')
    out += [_facts(parts), _comparison(parts), _warnings(parts)]
    out += [_misconceptions(parts), _timelines(parts)]
    if parts.more_checks:
        out.append(f"<p>({parts.more_checks} more check(s) of this exercise did not pass.)</p>")
    if parts.todo:
        out.append(f"<p>What to do: {_prose(parts.todo)}</p>")
    if parts.hint:
        out.append(f'<p class="hint">Hint: {_prose(parts.hint)}</p>')
    if parts.explanation:
        why = f'<p class="why">Why: {_prose(parts.explanation)}</p>'
        out.append(
            f"<details><summary>Why it works</summary>{why}</details>" if parts.passed else why
        )
    out += [f'<p class="dim">{_prose(command)}</p>' for command in parts.commands]
    return "".join(out)


def _section(number: int, exercise: ExerciseResult, submission: str) -> str:
    parts = exercise.parts
    score = f"{exercise.score:g} / {exercise.max_score:g}"
    return (
        f'<section class="exercise" id="{_e(exercise.id)}">'
        f"<header><h2>{number}. {_e(exercise.title)}</h2>{_badge(exercise.status)}"
        f'<span class="score-small">{_e(score)}</span></header>'
        f'<div class="file">{_e(exercise.id)} - {_e(Path(submission).name)}/'
        f"{_e(exercise.file)} ({_e(exercise.kind)})</div>"
        f"{_body(parts)}</section>"
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
