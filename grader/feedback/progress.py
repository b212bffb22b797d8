"""Where a learner stands, and what to do next: the last lines `nox -s grade` prints.

A self-study learner needs more than a score table: how many exercises are solved, partly
solved, not started, and which file to open next (the first one in curriculum order that is
not passed), with the command that grades just that one. The same summary heads the HTML
feedback page. When the kit's own `exercises/` folder is graded, the next exercise is also
remembered in the kit's state file, so `nox -s hint` without an id knows what you are on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.text import Text

from grader.model import curriculum
from grader.model.kit import Kit, KitError
from grader.model.results import ExerciseResult, GradeReport
from grader.model.state import KitState


@dataclass(frozen=True)
class Progress:
    """Counts per state and the next exercise to open (None when everything passes)."""

    solved: int
    partly_solved: int
    failing: int
    not_started: int
    skipped: int
    next_exercise: ExerciseResult | None
    next_path: str | None
    #: False when only some exercises were graded (`--only`, watch mode).
    whole: bool = True

    @property
    def counted(self) -> int:
        """Exercises that count on this Python."""
        return self.solved + self.partly_solved + self.failing + self.not_started

    def to_json(self) -> dict[str, object]:
        """Plain data (for tools and the HTML page)."""
        return {
            "solved": self.solved,
            "partly_solved": self.partly_solved,
            "failing": self.failing,
            "not_started": self.not_started,
            "skipped": self.skipped,
            "next": None if self.next_exercise is None else self.next_exercise.id,
            "next_file": self.next_path,
        }


def _display_path(path: Path) -> str:
    """The path as the learner would type it: relative to where they are, if it is below."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def progress_of(report: GradeReport, total: int | None = None) -> Progress:
    """Count the report's exercises by state; find the first one not passed.

    `total` is the number of exercises in the curriculum, if known: a report with fewer is a
    partial grading, and says so instead of claiming that everything passes.
    """
    statuses = [exercise.status for exercise in report.exercises]
    upcoming = next(
        (e for e in report.exercises if e.status not in {"passed", "skipped"}),
        None,
    )
    path = None
    if upcoming is not None:
        path = _display_path(Path(report.submission) / upcoming.file)
    return Progress(
        solved=statuses.count("passed"),
        partly_solved=statuses.count("partial"),
        failing=statuses.count("failed") + statuses.count("error"),
        not_started=statuses.count("not-submitted"),
        skipped=statuses.count("skipped"),
        next_exercise=upcoming,
        next_path=path,
        whole=total is None or len(report.exercises) >= total,
    )


def summary_lines(progress: Progress, *, commands: bool = True) -> list[str]:
    """The summary as plain sentences (the terminal styles them; HTML escapes them).

    With `commands`, the next step is spelled out as the file to open and the commands to run
    (for the learner at the kit); without, it names the exercise and its file (for a page).
    """
    counts = [f"{progress.solved} solved", f"{progress.partly_solved} partly solved"]
    if progress.failing:
        counts.append(f"{progress.failing} not passing yet")
    counts.append(f"{progress.not_started} not started")
    scope = f"of {progress.counted}" if progress.whole else f"of the {progress.counted} graded"
    lines = [f"Progress: {', '.join(counts)} ({scope})."]
    if progress.skipped:
        lines.append(f"({progress.skipped} skipped: they need a newer Python.)")
    upcoming = progress.next_exercise
    if upcoming is None and not progress.whole:
        lines.append("All graded here pass. `nox -s grade` shows where you are in the whole kit.")
        return lines
    if upcoming is None:
        lines.append("Everything passes. Well done!")
        return lines
    if not commands:
        lines.append(f"Next: {upcoming.id} - {upcoming.title} ({upcoming.file}).")
        return lines
    lines.append(f"Next: {upcoming.id} - {upcoming.title}")
    lines.append(f"  open   {progress.next_path}")
    lines.append(f"  grade  nox -s grade -- --only {upcoming.id}")
    lines.append(f"  hint   nox -s hint -- {upcoming.id}")
    return lines


def _curriculum_size(kit: Kit) -> int | None:
    try:
        return len(curriculum.load(kit.curriculum_file))
    except KitError:
        return None


def remember(report: GradeReport, progress: Progress, kit: Kit) -> bool:
    """Note the next exercise in the kit's state, after a full grading of its own exercises/."""
    try:
        same_folder = Path(report.submission).resolve() == kit.exercises.resolve()
    except OSError:
        return False
    if not (same_folder and progress.whole and _curriculum_size(kit) is not None):
        return False
    state = KitState.of(kit)
    state.next_exercise = None if progress.next_exercise is None else progress.next_exercise.id
    try:
        state.save()
    except OSError:
        return False  # a read-only kit still grades; only `nox -s hint` loses its default
    return True


def print_progress(report: GradeReport, console: Console, kit: Kit | None = None) -> Progress:
    """Print where the learner stands and what to open next; return the summary."""
    kit = kit or Kit.installed()
    progress = progress_of(report, _curriculum_size(kit))
    remember(report, progress, kit)
    lines = summary_lines(progress)
    console.print(Text(lines[0], style="bold"))
    for line in lines[1:]:
        style = "green" if progress.next_exercise is None else "cyan"
        console.print(Text(line, style=style), overflow="fold")
    return progress
