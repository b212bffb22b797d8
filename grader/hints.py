"""`nox -s hint -- ID`: a hint for one exercise, and a stronger one when you ask again.

Self-study learners get stuck; a hint that comes only on request keeps the exercise theirs. The
first call prints the exercise's `hint` (a guiding question), the next ones its `strong_hint`
(close to the answer). A hint `nox -s grade` already showed counts as seen: the next request
gives the stronger one at once. With everything passing, there is nothing to hint at (exit 0).
Which hint you have seen is remembered in a small JSON state file at the kit root
(`.kit-state.json`, git-ignored), which also remembers the exercise `nox -s grade` last told you
to open next - so `nox -s hint` with no id gives a hint for that one.

    python -m grader hint [ID] [--reset]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from . import curriculum
from .curriculum import Exercise
from .ids import unknown_message
from .kit import Kit, KitError

STATE_FILE = ".kit-state.json"
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN_KIT = 3


class KitState:
    """The learner's small state file: hints seen per exercise, the exercise to do next."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = self._load()

    @classmethod
    def of(cls, kit: Kit) -> KitState:
        """The state file of an installed kit."""
        return cls(kit.root / STATE_FILE)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: start afresh rather than refuse to help
        return data if isinstance(data, dict) else {}

    def _hints(self) -> dict[str, Any]:
        hints = self.data.get("hints")
        if not isinstance(hints, dict):
            hints = self.data["hints"] = {}
        return hints

    def hints_seen(self, exercise_id: str) -> int:
        """How many hints of this exercise the learner has seen."""
        seen = self._hints().get(exercise_id, 0)
        return seen if isinstance(seen, int) and seen >= 0 else 0

    def set_hints_seen(self, exercise_id: str, seen: int) -> None:
        """Remember how many hints of this exercise were shown."""
        self._hints()[exercise_id] = seen

    def results(self) -> dict[str, dict[str, Any]]:
        """The last grading's result per exercise id (status, score, max_score, when)."""
        found = self.data.get("results")
        if not isinstance(found, dict):
            found = self.data["results"] = {}
        return {key: value for key, value in found.items() if isinstance(value, dict)}

    def set_result(self, exercise_id: str, result: dict[str, Any]) -> None:
        """Remember the latest grading of one exercise."""
        self.results()  # make sure the table exists
        self.data["results"][exercise_id] = result

    @property
    def next_exercise(self) -> str | None:
        """The exercise the last full grading said to open next."""
        value = self.data.get("next")
        return value if isinstance(value, str) else None

    @next_exercise.setter
    def next_exercise(self, exercise_id: str | None) -> None:
        self.data["next"] = exercise_id

    def save(self) -> None:
        """Write the state atomically (a crash never leaves half a file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(self.data, out, indent=2, sort_keys=True)
            out.write("\n")
        Path(temporary).replace(self.path)


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
        "You have seen hint 1 already (`nox -s grade` shows it with the feedback).",
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
    if wanted is None and state.results() and not args.exercise:
        console.print(
            Text("Everything passes: there is nothing to give a hint for. Well done!", "green")
        )
        console.print(Text("A hint for one exercise all the same: nox -s hint -- ID", "dim"))
        return EXIT_OK
    if wanted is None or wanted not in exercises:
        problem = "which exercise?" if wanted is None else unknown_message(wanted, exercises)
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
