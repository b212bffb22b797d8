"""`nox -s hint -- ID`: a hint for one exercise, and a stronger one when you ask again.

Self-study learners get stuck; a hint that comes only on request keeps the exercise theirs. The
first call prints the exercise's `hint` (a guiding question), the next ones its `strong_hint`
(close to the answer). Which hint you have seen is remembered in a small JSON state file at the
kit root (`.kit-state.json`, git-ignored), which also remembers the exercise `nox -s grade`
last told you to open next - so `nox -s hint` with no id gives a hint for that one.

    python -m grader hint [ID] [--reset]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.text import Text

from grader.model import curriculum
from grader.model.curriculum import Exercise
from grader.model.kit import Kit, KitError
from grader.model.state import KitState

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN_KIT = 3


def hint_text(exercise: Exercise, level: int) -> list[str]:
    """The lines shown for the `level`-th request (1: the hint, 2 and later: the strong one)."""
    levels = 2 if exercise.strong_hint else 1
    header = f"{exercise.id} - {exercise.title} (exercises/{exercise.file})"
    if level <= 1 or levels == 1:
        lines = [header, f"Hint 1 of {levels}: {exercise.hint}"]
        if levels > 1:
            lines.append(f"Ask again (`nox -s hint -- {exercise.id}`) for a stronger hint.")
        return lines
    return [
        header,
        f"Hint 2 of 2 (the stronger one): {exercise.strong_hint}",
        (
            "That is the last hint. Once you have tried, "
            f"`nox -s grade -- --only {exercise.id}` explains the mechanism."
        ),
    ]


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader hint`."""
    parser = argparse.ArgumentParser(
        prog="nox -s hint --",
        description="Show a hint for an exercise; ask again for a stronger one.",
    )
    parser.add_argument(
        "exercise", nargs="?", default=None, help="exercise id (default: the one to do next)"
    )
    parser.add_argument("--reset", action="store_true", help="forget the hints seen for it")
    parser.add_argument("--state", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str], *, kit: Kit | None = None, console: Console | None = None) -> int:
    """Entry point of the `hint` subcommand; returns the exit status."""
    args = build_parser().parse_args(argv)
    kit = kit or Kit.installed()
    console = console or Console(highlight=False)
    try:
        exercises = curriculum.by_id(curriculum.load(kit.curriculum_file))
    except KitError as exc:
        console.print(Text(f"the kit is broken: {exc}", style="red"))
        return EXIT_BROKEN_KIT
    state = KitState(args.state) if args.state else KitState.of(kit)
    wanted = args.exercise or state.next_exercise
    if wanted is None or wanted not in exercises:
        problem = "which exercise?" if wanted is None else f"unknown exercise id {wanted!r}."
        console.print(Text(f"{problem} Use: nox -s hint -- ID", style="red"))
        console.print(Text(f"Known ids: {', '.join(exercises)}"))
        return EXIT_USAGE
    exercise = exercises[wanted]
    if args.reset:
        state.set_hints_seen(wanted, 0)
        state.save()
        console.print(Text(f"Hints for {wanted} start again from the first one."))
        return EXIT_OK
    level = state.hints_seen(wanted) + 1
    state.set_hints_seen(wanted, level)
    state.save()
    header, *rest = hint_text(exercise, level)
    console.print(Text(header, style="bold"))
    for line in rest:
        console.print(Text(line, style="cyan" if line.startswith("Hint") else "dim"))
    return EXIT_OK
