"""`nox -s watch`: re-grade the exercise you are editing every time you save it.

Like rustlings' watch mode: leave it running beside the editor, save, read the feedback. It polls
the modification times of the exercise files (no extra dependency, works on every platform),
maps a changed file to its exercise through the curriculum, and grades just that exercise.

It stays warm: one grading process keeps the grader, pytest, the isolation probe, the fork
server and the kit's truths loaded, and grades each save in-process, so feedback follows a save
about as fast as a bare interpreter starts. Learner code still runs only in a fresh sandboxed
child per attempt - staying warm keeps nothing of the learner's. `--fresh` grades each save in
a new `python -m grader --only ID` process instead (slower; for a kit whose own files change
under it, e.g. while authoring an exercise). After a pass it says which exercise comes next.

    python -m grader watch [--submission DIR] [--interval SECONDS] [--fresh]

The folder, the clock, the number of polls and where output goes are parameters of `watch`, so
a test can drive the loop by editing a file and know that it ends.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from grader.feedback.terminal import print_feedback, score_table
from grader.grading.runner import grade as grade_submission
from grader.model import curriculum
from grader.model.kit import Kit, KitError, UsageError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN_KIT = 3

Snapshot = dict[Path, tuple[int, int]]

#: Printed after each grading: the learner's cue, and the end of one grading's output for tools.
WAITING = "(watching: save again to regrade; Ctrl-C stops)"


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


def grade_in_process(kit: Kit, folder: Path, exercise_id: str) -> str:
    """Grade one exercise in this (warm) process and return what a learner reads.

    The report is drawn as the terminal would draw it: the score line, then the feedback when
    it is not passed, then what to open next.
    """
    interactive = sys.stdout.isatty()
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=interactive,
        width=shutil.get_terminal_size().columns if interactive else 100,
    )
    try:
        report = grade_submission(kit, folder, {exercise_id})
    except UsageError as exc:
        return f"usage error: {exc}"
    console.print(score_table(report))
    for exercise in report.exercises:
        if exercise.status == "passed":
            upcoming = _next_after(kit, folder, exercise_id)
            console.print(
                f"{exercise_id} passes."
                + (f" Next: {upcoming}" if upcoming else " That was the last exercise."),
                markup=False,
            )
        else:
            print_feedback(exercise, console)
    return buffer.getvalue()


def warm_up(kit: Kit, folder: Path) -> None:
    """Load what every grading needs before the first save, so the first save is fast too.

    Grading one program-to-change exercise once imports pytest and the hidden tests, probes the
    isolation layer and starts the fork server; its result is thrown away.
    """
    exercises = [e for e in curriculum.load(kit.curriculum_file) if e.supported()]
    produce = next((e for e in exercises if e.kind == "produce"), None)
    if produce is not None:
        with contextlib.suppress(UsageError):
            grade_submission(kit, folder, {produce.id})


def _next_after(kit: Kit, folder: Path, exercise_id: str) -> str | None:
    """The file of the exercise after `exercise_id` in curriculum order, for this Python."""
    exercises = [e for e in curriculum.load(kit.curriculum_file) if e.supported()]
    ids = [e.id for e in exercises]
    if exercise_id not in ids:
        return None
    position = ids.index(exercise_id)
    later = exercises[position + 1 :]
    return str(folder / later[0].file) if later else None


def watch(
    kit: Kit,
    folder: Path,
    *,
    interval: float = 0.5,
    iterations: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    out: Callable[[str], None] = print,
    grade: Callable[[Kit, Path, str], str] = grade_in_process,
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
            out(WAITING)
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
        "--interval", type=float, default=0.05, help="seconds between checks (default 0.05)"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="grade each save in a new process (slower; for kit authors whose files change)",
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
        if not args.fresh:
            warm_up(kit, folder)
        watch(
            kit,
            folder,
            interval=max(0.01, args.interval),
            grade=run_grade if args.fresh else grade_in_process,
        )
    except KitError as exc:
        print(f"the kit is broken: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_BROKEN_KIT
    except KeyboardInterrupt:
        print("\nStopped watching.")  # noqa: T201
    return EXIT_OK
