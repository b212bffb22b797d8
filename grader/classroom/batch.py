"""`python -m grader batch SUBMISSIONS`: grade a whole class, in parallel, and write the gradebook.

    python -m grader batch SUBMISSIONS [--csv grades.csv] [--feedback DIR] [--summary PATH]
                                       [--only ID ...] [--jobs N] [--regrade] [--timeout S]

SUBMISSIONS holds one folder or one .zip per student (as LMS and Gradescope exports give them);
the student id is the folder's name or the zip's name without `.zip`. Each upload goes through
`intake` (found, checked, copied clean), then a warm grader process grades it
(`grading.WorkerPool`, one per parallel job); uploads are graded in parallel on every core.
An upload that cannot be graded (empty, damaged, unsafe) becomes a gradebook row with the
reason and never stops the batch.

Re-running skips a student whose exercise files did not change - nor the kit, nor the Python -
by keeping each report in a cache beside the outputs; `--regrade` grades everyone again.

Exit status: 0 when the batch ran (whatever the grades), 2 for a usage error, 3 when the kit
itself is broken.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from grader.classroom import gradebook, intake
from grader.classroom.grading import (
    DEFAULT_TIMEOUT,
    GradingError,
    Outcome,
    WorkerPool,
    kit_fingerprint,
    report_from_json,
    stop_all,
)
from grader.feedback import html as html_feedback
from grader.feedback import markdown as feedback_md
from grader.model import curriculum as curriculum_module
from grader.model.curriculum import Exercise
from grader.model.fsutil import atomic_write
from grader.model.kit import Kit, KitError
from grader.model.results import GradeReport

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN_KIT = 3

#: The function that grades one clean submission folder (swappable for a faster worker).
Grader = Callable[[Path, Sequence[str] | None], GradeReport]
#: Writes one student's feedback file; the batch calls it once per upload.
FeedbackWriter = Callable[[Outcome, Path], Path]
#: File names in the feedback folder that are not a student's.
RESERVED_NAMES = frozenset({"summary"})


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader batch`."""
    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Grade a folder of student uploads (one folder or .zip per student).",
    )
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    parser.add_argument("--csv", type=Path, default=None, metavar="PATH", help="gradebook CSV")
    parser.add_argument(
        "--feedback", type=Path, default=None, metavar="DIR", help="one Markdown file per student"
    )
    parser.add_argument(
        "--summary",
        type=Path,
        default=None,
        metavar="PATH",
        help="class summary (default: DIR/summary.md with --feedback, else beside the CSV)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="ID", default=None, help="grade only these exercise ids"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="students graded at once (default: every core)",
    )
    parser.add_argument(
        "--regrade", action="store_true", help="grade every upload again, even if unchanged"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"give up on one student after S seconds (default {DEFAULT_TIMEOUT:g})",
    )
    return parser


@dataclass(frozen=True)
class Options:
    """What one batch run is asked to do."""

    submissions: Path
    csv: Path | None = None
    feedback: Path | None = None
    summary: Path | None = None
    only: tuple[str, ...] | None = None
    jobs: int = 1
    regrade: bool = False
    timeout: float = DEFAULT_TIMEOUT

    @property
    def cache(self) -> Path | None:
        """Where reports are kept between runs: beside the outputs, or nowhere."""
        if self.feedback is not None:
            return self.feedback / ".cache"
        if self.csv is not None:
            return self.csv.parent / f".{self.csv.name}.cache"
        return None

    @property
    def summary_path(self) -> Path | None:
        """The summary file: as asked, else in the feedback folder, else beside the CSV."""
        if self.summary is not None:
            return self.summary
        if self.feedback is not None:
            return self.feedback / "summary.md"
        if self.csv is not None:
            return self.csv.with_name(f"{self.csv.stem}-summary.md")
        return None


class ReportCache:
    """One JSON file per student holding the last report and the key it was graded under."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, student: str) -> Path:
        return self.folder / f"{hashlib.sha256(student.encode()).hexdigest()[:32]}.json"

    def load(self, student: str, key: str) -> GradeReport | None:
        """The cached report if it was graded under the same key, else None."""
        try:
            data = json.loads(self._path(student).read_text(encoding="utf-8"))
            if data.get("student") != student or data.get("key") != key:
                return None
            return report_from_json(data["report"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, student: str, key: str, report: GradeReport) -> None:
        """Keep a report (written whole, then moved into place)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(student)
        data = {"student": student, "key": key, "report": report.to_json()}
        atomic_write(path, json.dumps(data))


def feedback_names(students: Sequence[str]) -> dict[str, str]:
    """A distinct, safe feedback file stem per student id."""
    names: dict[str, str] = {}
    taken = {name.lower() for name in RESERVED_NAMES}
    for student in students:
        stem = feedback_md.safe_filename(student)
        candidate, number = stem, 1
        while candidate.lower() in taken:
            number += 1
            candidate = f"{stem}-{number}"
        taken.add(candidate.lower())
        names[student] = candidate
    return names


def process_upload(
    upload: intake.Upload,
    curriculum: Sequence[Exercise],
    options: Options,
    fingerprint: str,
    grader: Grader,
) -> Outcome:
    """Intake, cache lookup and grading of one upload; never raises for a bad upload."""
    started = time.monotonic()
    outcome = Outcome(student=upload.student, upload=str(upload.path))
    if upload.problem is not None:
        outcome.error = upload.problem
        return outcome
    cache = ReportCache(options.cache) if options.cache is not None else None
    files = [exercise.file for exercise in curriculum]
    with tempfile.TemporaryDirectory(prefix="asyncio-kit-intake-") as work:
        try:
            found = intake.materialize(upload.path, files, Path(work) / "submission")
        except intake.IntakeError as exc:
            outcome.error = str(exc)
            return outcome
        outcome.notes = found.notes
        key = hashlib.sha256(
            "\0".join([fingerprint, found.digest, ",".join(options.only or ())]).encode()
        ).hexdigest()
        report = None if cache is None or options.regrade else cache.load(upload.student, key)
        outcome.reused = report is not None
        if report is None:
            try:
                report = grader(found.folder, options.only)
            except GradingError as exc:
                outcome.error = str(exc)
                outcome.seconds = time.monotonic() - started
                return outcome
            if cache is not None:
                cache.store(upload.student, key, report)
    report.submission = str(upload.path)
    outcome.report = report
    outcome.seconds = time.monotonic() - started
    return outcome


def _default_grader(workers: WorkerPool) -> Grader:
    def grade(folder: Path, only: Sequence[str] | None) -> GradeReport:
        return workers.grade(folder, only)

    return grade


def run_batch(
    uploads: Sequence[intake.Upload],
    curriculum: Sequence[Exercise],
    options: Options,
    *,
    kit: Kit,
    console: Console,
    grader: Grader | None = None,
    write_feedback: FeedbackWriter = feedback_md.write_student_feedback,
) -> list[Outcome]:
    """Grade every upload in parallel; write feedback files as they finish; return outcomes."""
    workers = WorkerPool(kit, timeout=options.timeout)
    grade = grader or _default_grader(workers)
    fingerprint = kit_fingerprint(kit)
    names = feedback_names([upload.student for upload in uploads])
    outcomes: dict[str, Outcome] = {}
    jobs = max(1, options.jobs)
    progress = _Progress(console, len(uploads))
    progress.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {
                pool.submit(process_upload, upload, curriculum, options, fingerprint, grade): upload
                for upload in uploads
            }
            try:
                for future in concurrent.futures.as_completed(futures):
                    upload = futures[future]
                    try:
                        outcome = future.result()
                    except Exception as exc:  # noqa: BLE001 - one upload must not stop the batch
                        outcome = Outcome(
                            upload.student, str(upload.path), error=f"internal: {exc}"
                        )
                    outcomes[upload.student] = outcome
                    if options.feedback is not None:
                        write_feedback(outcome, options.feedback / f"{names[upload.student]}.md")
                        page = options.feedback / f"{names[upload.student]}.html"
                        html_feedback.write_student_html(outcome, page)
                    progress.advance(outcome)
            except BaseException:
                for future in futures:
                    future.cancel()
                stop_all()
                raise
    finally:
        progress.stop()
        workers.close()
    return [outcomes[upload.student] for upload in uploads]


class _Progress:
    """A rich progress bar on a terminal; one plain log line per student otherwise."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.bar: Progress | None = None
        if console.is_terminal:
            self.bar = Progress(
                TextColumn("grading"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=console,
            )
            self.task = self.bar.add_task("", total=total)

    def start(self) -> None:
        if self.bar is not None:
            self.bar.start()

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    def advance(self, outcome: Outcome) -> None:
        self.done += 1
        line = _log_line(outcome)
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=line)
        else:
            width = len(str(self.total))
            print(f"[{self.done:>{width}}/{self.total}] {line}", flush=True)  # noqa: T201


def _log_line(outcome: Outcome) -> str:
    if outcome.report is None:
        return f"{outcome.student}: NOT GRADED - {outcome.error}"
    report = outcome.report
    how = "unchanged, reused" if outcome.reused else f"{outcome.seconds:.1f} s"
    return f"{outcome.student}: {report.score:g}/{report.max_score:g} ({how})"


def print_summary(
    console: Console, outcomes: Sequence[Outcome], curriculum: Sequence[Exercise]
) -> None:
    """A short class summary on the terminal."""
    stats = gradebook.exercise_stats(outcomes, curriculum)
    table = Table(title="class results per exercise")
    table.add_column("exercise")
    table.add_column("mean", justify="right")
    table.add_column("passed", justify="right")
    for entry in stats:
        if not entry.graded:  # skipped on this Python, or nobody could be graded
            table.add_row(Text(entry.exercise.id), "-", "-")
            continue
        table.add_row(
            Text(entry.exercise.id),
            f"{round(entry.mean, 2):g}/{entry.exercise.points}",
            f"{entry.statuses.get('passed', 0)}/{entry.graded}",
        )
    console.print(table)
    errors = sum(1 for outcome in outcomes if outcome.report is None)
    reused = sum(1 for outcome in outcomes if outcome.reused)
    console.print(
        Text(
            f"{len(outcomes)} uploads: {len(outcomes) - errors} graded "
            f"({reused} unchanged, reused), {errors} could not be graded"
        )
    )


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader batch`; returns the exit status."""
    args = build_parser().parse_args(argv)
    console = Console()
    kit = Kit.installed()
    try:
        curriculum = curriculum_module.load(kit.curriculum_file)
    except KitError as exc:
        console.print(Text(f"the kit is broken: {exc}", style="red"))
        return EXIT_BROKEN_KIT
    options = Options(
        submissions=args.submissions,
        csv=args.csv,
        feedback=args.feedback,
        summary=args.summary,
        only=tuple(args.only) if args.only else None,
        jobs=args.jobs,
        regrade=args.regrade,
        timeout=args.timeout,
    )
    problem = _usage_problem(options, curriculum)
    if problem is not None:
        console.print(Text(f"usage error: {problem}", style="red"))
        return EXIT_USAGE
    selected = tuple(e for e in curriculum if options.only is None or e.id in options.only)
    outputs = [path for path in (options.csv, options.feedback, options.summary_path) if path]
    uploads = intake.discover(options.submissions, exclude=outputs)
    if not uploads:
        console.print(
            Text(
                f"usage error: no uploads in {options.submissions} (expected one folder or "
                "one .zip per student)",
                style="red",
            )
        )
        return EXIT_USAGE
    outcomes = run_batch(uploads, selected, options, kit=kit, console=console)
    if options.csv is not None:
        gradebook.write_csv(options.csv, outcomes, selected)
        console.print(Text(f"gradebook: {options.csv}"))
    summary = options.summary_path
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(gradebook.summary_markdown(outcomes, selected), encoding="utf-8")
        console.print(Text(f"summary: {summary}"))
    if options.feedback is not None:
        console.print(Text(f"feedback: {options.feedback}/ (one .md and one .html per student)"))
    print_summary(console, outcomes, selected)
    return EXIT_OK


def _usage_problem(options: Options, curriculum: Sequence[Exercise]) -> str | None:
    if not options.submissions.is_dir():
        return f"submissions folder not found: {options.submissions}"
    known = {exercise.id for exercise in curriculum}
    unknown = sorted(set(options.only or ()) - known)
    if unknown:
        return f"unknown exercise id(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
    if options.jobs < 1:
        return "--jobs must be at least 1"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
