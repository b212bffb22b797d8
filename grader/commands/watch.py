"""`nox -s watch`: re-grade the exercise you are editing every time you save it.

Like rustlings' watch mode: leave it running beside the editor, save, read the feedback. It polls
the modification times of the exercise files (no extra dependency, works on every platform),
maps a changed file to its exercise through the curriculum, and grades just that exercise in a
fresh `python -m grader --only ID` process - a fresh process each time, so a truth computed from
an older kit, a half-imported module or a crashed run never leaks into the next grade.

    python -m grader watch [--submission DIR] [--interval SECONDS]

The folder, the clock, the number of polls and where output goes are parameters of `watch`, so
a test can drive the loop by editing a file and know that it ends.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from grader.model import curriculum
from grader.model.kit import Kit, KitError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN_KIT = 3

Snapshot = dict[Path, tuple[int, int]]


def snapshot(folder: Path) -> Snapshot:
    """Modification time and size of every exercise file under `folder`."""
    found: Snapshot = {}
    for path in sorted(folder.rglob("*.py")):
        try:
            info = path.stat()
        except OSError:
            continue  # removed between listing and stat: an editor's temporary file
        found[path] = (info.st_mtime_ns, info.st_size)
    return found


def changed(before: Snapshot, after: Snapshot) -> list[Path]:
    """Files that are new or whose time or size moved, in path order."""
    return sorted(path for path, stamp in after.items() if before.get(path) != stamp)


def grade_command(folder: Path, exercise_id: str) -> list[str]:
    """The command that grades one exercise of `folder` in a fresh process."""
    return [
        sys.executable,
        "-m",
        "grader",
        "--submission",
        str(folder),
        "--only",
        exercise_id,
    ]


def run_grade(kit: Kit, folder: Path, exercise_id: str) -> str:
    """Grade one exercise in a fresh process and return what it printed."""
    env = dict(os.environ)
    if sys.stdout.isatty():
        # The child's output is captured, so tell rich what the real terminal can show.
        env.setdefault("FORCE_COLOR", "1")
        env.setdefault("COLUMNS", str(shutil.get_terminal_size().columns))
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        grade_command(folder, exercise_id),
        cwd=kit.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout + completed.stderr


def watch(
    kit: Kit,
    folder: Path,
    *,
    interval: float = 0.5,
    iterations: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    out: Callable[[str], None] = print,
    grade: Callable[[Kit, Path, str], str] = run_grade,
) -> int:
    """Poll `folder` and grade each exercise whose file changes; `iterations` polls, or forever.

    Returns how many gradings ran.
    """
    exercises = curriculum.load(kit.curriculum_file)
    by_file = {(folder / exercise.file).resolve(): exercise for exercise in exercises}
    out(
        f"Watching {folder} - save an exercise file to grade it "
        f"({len(by_file)} exercises; Ctrl-C stops)."
    )
    before = snapshot(folder)
    graded = 0
    poll = 0
    while iterations is None or poll < iterations:
        poll += 1
        sleep(interval)
        after = snapshot(folder)
        done: set[str] = set()
        for path in changed(before, after):
            exercise = by_file.get(path.resolve())
            if exercise is None or exercise.id in done:
                continue
            done.add(exercise.id)
            out(f"\n{time.strftime('%H:%M:%S')} {exercise.file} changed: grading {exercise.id}")
            out(grade(kit, folder, exercise.id).rstrip())
            graded += 1
        before = after
    return graded


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader watch`."""
    parser = argparse.ArgumentParser(
        prog="nox -s watch --",
        description="Re-grade the exercise you are editing every time you save it.",
    )
    parser.add_argument(
        "--submission", type=Path, default=None, help="folder to watch (default: exercises/)"
    )
    parser.add_argument(
        "--interval", type=float, default=0.5, help="seconds between checks (default 0.5)"
    )
    return parser


def main(argv: list[str], *, kit: Kit | None = None) -> int:
    """Entry point of the `watch` subcommand; runs until interrupted."""
    args = build_parser().parse_args(argv)
    kit = kit or Kit.installed()
    folder = args.submission or kit.exercises
    if not folder.is_dir():
        print(f"usage error: folder not found: {folder}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    try:
        watch(kit, folder, interval=max(0.05, args.interval))
    except KitError as exc:
        print(f"the kit is broken: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_BROKEN_KIT
    except KeyboardInterrupt:
        print("\nStopped watching.")  # noqa: T201
    return EXIT_OK
