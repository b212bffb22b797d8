"""The score table a learner sees in the terminal, drawn with rich.

Everything shown here came through `text.clean` or is the kit's own text, and is passed to rich
as `Text`, never as markup, so learner output cannot style or rewrite the terminal.
"""

from __future__ import annotations

from typing import cast

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.feedback.progress import print_progress
from grader.feedback.timeline import rich_timelines
from grader.model.results import ExerciseResult, GradeReport
from grader.model.trace import Trace

_STYLE = {
    "passed": "green",
    "partial": "yellow",
    "failed": "red",
    "error": "bold red",
    "not-submitted": "dim",
    "skipped": "dim",
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
    """The table, then feedback for every exercise that is not yet passed (or all, verbose)."""
    console.print(score_table(report))
    for exercise in report.exercises:
        if verbose or exercise.status in {"partial", "failed", "error"}:
            console.rule(Text(f"{exercise.id} ({exercise.status})"))
            print_feedback(exercise, console)
    console.print(Text(f"isolation: {report.isolation}", style="dim"))
    console.print(Text(""))
    print_progress(report, console)


def print_feedback(exercise: ExerciseResult, console: Console) -> None:
    """An exercise's feedback, its text timelines (if any) drawn with rich at the console width."""
    details = exercise.details
    pictures = details.get("timeline_text")
    predicted, trace = details.get("predicted"), details.get("trace")
    if not (isinstance(pictures, str) and pictures and pictures in exercise.feedback):
        console.print(Text(exercise.feedback))
        return
    before, after = exercise.feedback.split(pictures, 1)
    console.print(Text(before.rstrip("\n")))
    if isinstance(predicted, list) and isinstance(trace, dict):
        console.print(Text(""))
        # A report's details are JSON (maybe read back from a file); the trace is the run's.
        timelines = rich_timelines(
            [str(line) for line in predicted], cast("Trace", trace), console.width
        )
        console.print(timelines)
    else:
        console.print(Text(pictures))
    console.print(Text(""))
    console.print(Text(after.lstrip("\n")))
