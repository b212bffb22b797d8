"""`nox -s reset -- ID` (`python -m grader reset ID`): start an exercise again from its stub.

The file is put back as it was handed out (`stubs.stub`), and what was there is kept first in
`.kit-backups/` at the kit root, named with the time, so nothing written is ever lost; the
hints seen for the exercise start again too.

    python -m grader reset ID
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

from grader.commands.hint import EXIT_BROKEN_KIT, EXIT_OK, EXIT_USAGE
from grader.model import curriculum, stubs
from grader.model.ids import unknown_message
from grader.model.kit import Kit, KitError
from grader.model.state import KitState

BACKUPS = ".kit-backups"


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader reset`."""
    parser = argparse.ArgumentParser(
        prog="nox -s reset --",
        description="Restore an exercise's stub (your version is kept in .kit-backups/).",
    )
    parser.add_argument("exercise", help="the exercise id (see `nox -s list`)")
    parser.add_argument("--state", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str], *, kit: Kit | None = None, console: Console | None = None) -> int:
    """Entry point of the `reset` subcommand; returns the exit status."""
    args = build_parser().parse_args(argv)
    kit = kit or Kit.installed()
    console = console or Console(highlight=False)
    try:
        exercises = curriculum.by_id(curriculum.load(kit.curriculum_file))
    except KitError as exc:
        console.print(Text(f"the kit is broken: {exc}", style="red"))
        return EXIT_BROKEN_KIT
    if args.exercise not in exercises:
        console.print(Text(unknown_message(args.exercise, exercises), style="red"))
        return EXIT_USAGE
    exercise = exercises[args.exercise]
    original = stubs.stub(kit, exercise.file)
    if original is None:
        console.print(Text(f"the kit has no stub for {exercise.file}.", style="red"))
        return EXIT_BROKEN_KIT
    target = kit.exercises / exercise.file
    backup = None
    if target.exists():
        if target.read_bytes() == original:
            console.print(Text(f"exercises/{exercise.file} is already the stub: nothing to do."))
            return EXIT_OK
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = kit.root / BACKUPS / f"{exercise.file}.{stamp}"
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.reset")
    temporary.write_bytes(original)
    temporary.replace(target)
    state = KitState(args.state) if args.state else KitState.of(kit)
    state.set_hints_seen(exercise.id, 0)
    with contextlib.suppress(OSError):  # the file is restored; only the hint count stays
        state.save()
    console.print(Text(f"exercises/{exercise.file} is the stub again.", style="green"))
    if backup is not None:
        console.print(Text(f"Your version is kept in {backup.relative_to(kit.root)}."))
    return EXIT_OK
