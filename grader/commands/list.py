"""`nox -s list` (`python -m grader list`): where you stand, from your last grading, at once.

Grading takes seconds; looking up what is left should not. `nox -s grade` remembers each
exercise's result in the kit's state file (`.kit-state.json`), and this command shows them - no
regrade - with the exercise to do next and its file. An exercise graded before you last edited
its file is marked `(changed since)`, so a stale result does not pass for a fresh one.

    python -m grader list
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.commands.hint import EXIT_BROKEN_KIT, EXIT_OK
from grader.feedback.progress import file_digest, next_from_state
from grader.model import curriculum
from grader.model.kit import Kit, KitError
from grader.model.state import KitState

_STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "error": "bold red"}


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader list`."""
    parser = argparse.ArgumentParser(
        prog="nox -s list --",
        description="Show your progress from the last grading (no regrade).",
    )
    parser.add_argument("--state", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str], *, kit: Kit | None = None, console: Console | None = None) -> int:
    """Entry point of the `list` subcommand; returns the exit status."""
    args = build_parser().parse_args(argv)
    kit = kit or Kit.installed()
    console = console or Console(highlight=False)
    try:
        exercises = curriculum.load(kit.curriculum_file)
    except KitError as exc:
        console.print(Text(f"the kit is broken: {exc}", style="red"))
        return EXIT_BROKEN_KIT
    state = KitState(args.state) if args.state else KitState.of(kit)
    results = state.results()
    table = Table(title="asyncio ordering kit - your progress (from your last grading)")
    table.add_column("#", justify="right")
    table.add_column("exercise", no_wrap=True)
    table.add_column("kind")
    table.add_column("status")
    table.add_column("score", justify="right")
    for number, exercise in enumerate(exercises, start=1):
        found = results.get(exercise.id, {})
        status = str(found.get("status", "not graded yet"))
        if not exercise.supported():
            status = f"needs Python {exercise.python_label}"
        elif status == "not-submitted" or (status == "failed" and found.get("attempted") is False):
            status = "not started"
        if found and found.get("digest") != file_digest(kit.exercises / exercise.file):
            status += " (changed since)"
        score = (
            f"{float(found['score']):g}/{float(found['max_score']):g}"
            if "score" in found and "max_score" in found
            else "-"
        )
        table.add_row(
            str(number),
            Text(exercise.id),
            exercise.kind,
            Text(status, style=_STYLE.get(status.split(" ")[0], "dim")),
            score,
        )
    console.print(table)
    if not results:
        console.print(Text("Nothing graded yet: `nox -s grade` grades your work.", style="cyan"))
        return EXIT_OK
    upcoming = next_from_state(kit, state)
    if upcoming is None:
        console.print(Text("Everything passes. Well done!", style="green"))
        return EXIT_OK
    exercise = curriculum.by_id(exercises)[upcoming]
    for line in (
        f"Next: {exercise.id} - {exercise.title}",
        f"  open   exercises/{exercise.file}",
        f"  grade  nox -s grade -- --only {exercise.id}",
        f"  hint   nox -s hint -- {exercise.id}",
    ):
        console.print(Text(line, style="cyan"), overflow="fold")
    return EXIT_OK
