"""The score table and feedback a learner sees in the terminal, drawn with rich from the parts.

Learner text (printed lines, predictions, error messages) reaches rich only as `Text` objects,
never as markup, and has no control characters (`model.parts.learner`), so learner output
cannot style, move or rewrite the terminal. Comparisons are laid out at the console's width and
wrap, never cut. Exercises not started yet get one line saying what to do; a passed exercise
gets its explanation in brief (the whole of it with `--verbose`).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.feedback.compare import Line, comparison_lines, near_miss_note
from grader.feedback.progress import print_progress
from grader.feedback.text import belief_lines, facts_lines, warning_lines
from grader.feedback.timeline import rich_timelines
from grader.model.parts import ExerciseFeedback
from grader.model.results import ExerciseResult, GradeReport

_STYLE = {
    "passed": "green",
    "partial": "yellow",
    "failed": "red",
    "error": "bold red",
    "not-submitted": "dim",
    "skipped": "dim",
}
#: Styles of the comparison's segments.
_SEGMENT_STYLE = {
    "first": "bold red",
    "mark": "bold reverse red",
    "caret": "bold red",
    "differ": "yellow",
    "dim": "dim",
    "bold": "bold",
}


def score_table(report: GradeReport) -> Table:
    """One row per exercise, in curriculum order, with a total."""
    table = Table(title=f"asyncio ordering kit - Python {report.python}", expand=False)
    table.add_column("#", justify="right")
    table.add_column("exercise")
    table.add_column("kind")
    table.add_column("status")
    table.add_column("score", justify="right")
    for number, exercise in enumerate(report.exercises, start=1):
        table.add_row(
            str(number),
            Text(exercise.id),
            exercise.kind,
            Text(exercise.status, style=_STYLE.get(exercise.status, "")),
            f"{exercise.score:g}/{exercise.max_score:g}",
        )
    table.add_section()
    table.add_row("", Text("total", style="bold"), "", "", f"{report.score:g}/{report.max_score:g}")
    return table


def print_report(report: GradeReport, console: Console, *, verbose: bool) -> None:
    """The table, then feedback: in full where there is work to do, briefly on a pass."""
    console.print(score_table(report))
    for exercise in report.exercises:
        parts = exercise.parts
        if (
            verbose
            or (parts.attempted and not parts.passed and parts.status != "skipped")
            or parts.status == "error"
        ):
            console.rule(Text(f"{exercise.id} ({exercise.status})"))
            print_parts(parts, console)
    passed = [exercise.parts for exercise in report.exercises if exercise.status == "passed"]
    if passed and not verbose:
        console.rule(Text("passed: why it works", style="green"))
        for parts in passed:
            line = Text("✓ ", style="green")
            line.append(parts.id, style="bold")
            line.append(f": {parts.brief or ''}")
            console.print(line)
    console.print(Text(f"isolation: {report.isolation}", style="dim"))
    console.print(Text(""))
    print_progress(report, console)


def styled(lines: list[Line]) -> Text:
    """Laid-out lines (already within the width) as one rich `Text`."""
    result = Text(no_wrap=True, overflow="fold")
    for number, line in enumerate(lines):
        if number:
            result.append("\n")
        for text, style in line:
            result.append(text, style=_SEGMENT_STYLE.get(style) or None)
    return result


def print_feedback(exercise: ExerciseResult, console: Console) -> None:
    """An exercise's feedback (kept for callers that print one result)."""
    print_parts(exercise.parts, console)


def print_parts(parts: ExerciseFeedback, console: Console) -> None:  # noqa: C901, PLR0912 - one per part
    """Every part of one exercise's feedback, at the console's width."""
    blocks: list[Text | object] = []
    if parts.summary:
        blocks.append(Text(parts.summary, style="bold"))
    if parts.message:
        blocks.append(Text(parts.message))
    if parts.facts is not None:
        blocks.append(Text("\n".join(facts_lines(parts.facts))))
    elif parts.comparison is not None:
        blocks.append(styled(comparison_lines(parts.comparison, console.width)))
        blocks.extend(
            Text(near_miss_note(miss), style="bold yellow") for miss in parts.comparison.near_misses
        )
    if parts.warnings:
        blocks.append(Text("\n".join(warning_lines(parts.warnings)), style="yellow"))
    if parts.timeline is not None:
        blocks.append(rich_timelines(parts.timeline.predicted, parts.timeline.trace, console.width))
    if parts.beliefs:
        blocks.append(Text("\n".join(belief_lines(parts)), style="magenta"))
    if parts.more_checks:
        blocks.append(
            Text(f"({parts.more_checks} more check(s) of this exercise did not pass.)", "dim")
        )
    if parts.todo:
        blocks.append(Text(f"What to do: {parts.todo}"))
    if parts.hint:
        blocks.append(Text(f"Hint: {parts.hint}", style="cyan"))
    if parts.explanation:
        blocks.append(Text(f"Why: {parts.explanation}"))
    blocks.extend(Text(command, style="dim") for command in parts.commands)
    for number, block in enumerate(blocks):
        if number:
            console.print(Text(""))
        console.print(block)
