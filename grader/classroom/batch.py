"""`python -m grader batch SUBMISSIONS`: grade a whole class, in parallel, and write the gradebook.

    python -m grader batch SUBMISSIONS [--csv grades.csv] [--feedback DIR] [--summary PATH]
                                       [--only ID ...] [--jobs N] [--regrade] [--timeout S]
                                       [--any-python] [--debug]

SUBMISSIONS is an export: one folder or one .zip per student, or an LMS's own layout
(Gradescope, Canvas, Moodle; see `intake.discover`). Each upload goes through `intake` (found,
checked, copied clean), then a warm grader process grades it (`grading.WorkerPool`, one per
parallel job). An upload that cannot be graded (empty, damaged, unsafe) becomes a gradebook row
with the reason and never stops the batch.

The order of a run is the order that keeps grades safe:
1. the kit is checked (a broken kit stops here, exit 3), the Python is checked against the
   class's declared one, every output is checked writable and locked (exit 2 otherwise) -
   all before anyone is graded;
2. students are graded; each finished report goes into the cache at once, so Ctrl-C (exit 130)
   or a kill loses nothing finished, and the same command resumes;
3. the outputs are written at the end, each atomically and carrying the run id, feedback first
   and the gradebook last; a `run.json` in the feedback folder says which run wrote the folder
   and whether it finished. An output that fails is named, the others are still written.

Re-running skips a student whose exercise files did not change - nor the kit, the Python, the
isolation layer or the limits - by keeping each report in a cache beside the outputs;
`--regrade` grades everyone again. The cache is only an optimisation: it failing to write is a
warning, and an entry that is not whole and consistent is graded again.

Exit status: 0 when the batch ran and wrote every output (whatever the grades), 1 when some
output could not be written (the grades are in the cache; fix it and run again), 2 for a usage
error, 3 when the kit itself is broken, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import hashlib
import json
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from grader.classroom import gradebook, intake, outputs
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
from grader.model import kit_schema
from grader.model.curriculum import Course, Exercise
from grader.model.kit import Kit, KitError
from grader.model.results import GradeReport, RunContext
from grader.model.text import os_name
from grader.sandbox.isolation import probe
from grader.sandbox.limits import default_limits
from grader.sandbox.runs import fence_on

EXIT_OK = 0
EXIT_OUTPUTS = 1
EXIT_USAGE = 2
EXIT_BROKEN_KIT = 3
EXIT_INTERRUPTED = 130
#: Setting this (to 1) is `--any-python` for tools that run batch for you.
ANY_PYTHON_VAR = "ASYNCIO_KIT_ANY_PYTHON"
#: The feedback folder's record of the run that wrote it.
MANIFEST = "run.json"

#: The function that grades one clean submission folder (swappable for a faster worker).
Grader = Callable[[Path, Sequence[str] | None], GradeReport]
#: File names in the feedback folder that are not a student's.
RESERVED_NAMES = frozenset({"summary", "run"})


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader batch`."""
    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Grade a folder of student uploads (one folder or .zip per student, or an "
        "LMS export: Gradescope, Canvas, Moodle).",
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
    parser.add_argument(
        "--any-python",
        action="store_true",
        help="grade even on another Python than the class's declared one (warns loudly)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback for an unexpected error"
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
    run_id: str = field(default_factory=outputs.new_run_id)
    #: False when the cache folder cannot be written (the batch then grades without one).
    use_cache: bool = True

    @property
    def cache(self) -> Path | None:
        """Where reports are kept between runs: beside the outputs, or nowhere."""
        if not self.use_cache:
            return None
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


#: The cache entry layout; an entry in any other layout is graded again.
CACHE_FORMAT = 2


def _checksum(report: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()


class ReportCache:
    """One JSON file per student holding the last report and the key it was graded under.

    The cache is an optimisation, never a source of truth: an entry is used only if it is
    whole and consistent - its layout, student, key (kit, Python, isolation, limits, the
    upload's content), its checksum, the exact exercises asked for, and every score within
    its exercise's points. Anything else is graded again. Failing to write an entry costs the
    next run time, never this run's grade: `store` reports the failure and the batch warns once.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, student: str) -> Path:
        return self.folder / f"{hashlib.sha256(student.encode()).hexdigest()[:32]}.json"

    def load(
        self, student: str, key: str, curriculum: Sequence[Exercise] = ()
    ) -> GradeReport | None:
        """The cached report if it is valid for this key and these exercises, else None."""
        try:
            data = json.loads(self._path(student).read_text(encoding="utf-8"))
            if (
                not isinstance(data, dict)
                or data.get("format") != CACHE_FORMAT
                or data.get("student") != student
                or data.get("key") != key
                or data.get("checksum") != _checksum(data["report"])
            ):
                return None
            report = report_from_json(data["report"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return report if _consistent(report, curriculum) else None

    def store(self, student: str, key: str, report: GradeReport) -> str | None:
        """Keep a report (written whole, then moved into place); the reason if it could not."""
        body = report.to_json()
        data = {
            "format": CACHE_FORMAT,
            "student": student,
            "key": key,
            "checksum": _checksum(body),
            "report": body,
        }
        try:
            outputs.atomic_write(self._path(student), json.dumps(data), mode=0o600)
        except OSError as exc:
            return str(exc)
        return None


def _consistent(report: GradeReport, curriculum: Sequence[Exercise]) -> bool:
    """The report grades exactly these exercises, each score within its points."""
    if not curriculum:
        return True
    if [result.id for result in report.exercises] != [exercise.id for exercise in curriculum]:
        return False
    for result, exercise in zip(report.exercises, curriculum, strict=True):
        if result.max_score != float(exercise.points) or not 0 <= result.score <= result.max_score:
            return False
        if result.status == "passed" and result.score != result.max_score:
            return False
    return report.python == platform.python_version()


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


class _CacheWarning:
    """Says once, not once per student, that the cache cannot be written."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.said = False
        self._lock = threading.Lock()

    def __call__(self, reason: str) -> None:
        with self._lock:
            if self.said:
                return
            self.said = True
        self.console.print(
            Text(
                f"warning: the grade cache cannot be written ({reason}); every grade of this "
                "run is kept and written, but a rerun will grade again",
                style="yellow",
            )
        )


def grading_fingerprint(kit: Kit) -> str:
    """What every cached report must have been graded under: kit, Python, isolation, limits."""
    parts = [kit_fingerprint(kit), sys.version, probe.current().name]  # probes once, here
    parts.append(repr(default_limits()))
    parts.append(f"fence={fence_on()}")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def cache_key(fingerprint: str, digest: str, only: Sequence[str] | None) -> str:
    """The key of one upload's report: the grading fingerprint, its files, the exercises."""
    parts = [fingerprint, digest, ",".join(only or ())]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _ignore(reason: str) -> None:
    """A cache warning nobody asked to hear (callers that pass no `warn`)."""
    del reason


def process_upload(
    upload: intake.Upload,
    curriculum: Sequence[Exercise],
    options: Options,
    fingerprint: str,
    grader: Grader,
    *,
    warn: Callable[[str], None] = _ignore,
) -> Outcome:
    """Intake, cache lookup and grading of one upload; never raises for a bad upload."""
    started = time.monotonic()
    # Paths and intake's notes name the upload's files: on POSIX those names need not be UTF-8,
    # and every output writes them (`os_name` keeps them writable and apart).
    shown = os_name(str(upload.path))
    outcome = Outcome(student=upload.student, upload=shown, notes=upload.notes, name=upload.name)
    if upload.problem is not None:
        outcome.error = upload.problem
        return outcome
    cache = ReportCache(options.cache) if options.cache is not None else None
    files = [exercise.file for exercise in curriculum]
    with tempfile.TemporaryDirectory(prefix="asyncio-kit-intake-") as work:
        try:
            found = intake.materialize(upload.source, files, Path(work) / "submission")
        except intake.IntakeError as exc:
            outcome.error = os_name(str(exc))
            return outcome
        outcome.notes = (*upload.notes, *(os_name(note) for note in found.notes))
        key = cache_key(fingerprint, found.digest, options.only)
        report = None
        if cache is not None and not options.regrade:
            report = cache.load(upload.student, key, curriculum)
        outcome.reused = report is not None
        if report is None:
            try:
                report = grader(found.folder, options.only)
            except GradingError as exc:
                outcome.error = str(exc)
                outcome.seconds = time.monotonic() - started
                return outcome
            if cache is not None:
                problem = cache.store(upload.student, key, report)
                if problem is not None:
                    warn(problem)
    report.submission = shown
    outcome.report = report
    outcome.seconds = time.monotonic() - started
    return outcome


#: Set when the batch is interrupted: no new student is graded after it.
_stopping = threading.Event()


def _default_grader(workers: WorkerPool) -> Grader:
    def grade(folder: Path, only: Sequence[str] | None) -> GradeReport:
        if _stopping.is_set():
            msg = "the batch was interrupted"
            raise GradingError(msg)
        return workers.grade(folder, only)

    return grade


class Interrupted(Exception):  # noqa: N818 - an event, not an error
    """Ctrl-C (or SIGTERM) stopped the batch; `finished` students were graded and cached."""

    def __init__(self, finished: int, total: int) -> None:
        super().__init__(f"{finished} of {total}")
        self.finished = finished
        self.total = total


def run_batch(
    uploads: Sequence[intake.Upload],
    curriculum: Sequence[Exercise],
    options: Options,
    *,
    kit: Kit,
    console: Console,
    grader: Grader | None = None,
) -> list[Outcome]:
    """Grade every upload in parallel and return the outcomes; raise Interrupted on Ctrl-C.

    Nothing is written here but the cache: the outputs are written once everyone is graded.
    """
    workers = WorkerPool(kit, timeout=options.timeout)
    grade = grader or _default_grader(workers)
    fingerprint = grading_fingerprint(kit)
    warn = _CacheWarning(console)
    outcomes: dict[str, Outcome] = {}
    jobs = max(1, options.jobs)
    progress = _Progress(console, len(uploads))
    progress.start()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    futures: dict[concurrent.futures.Future[Outcome], intake.Upload] = {}
    try:
        for upload in uploads:
            future = pool.submit(
                process_upload, upload, curriculum, options, fingerprint, grade, warn=warn
            )
            futures[future] = upload
        for future in concurrent.futures.as_completed(futures):
            upload = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - one upload must not stop the batch
                outcome = Outcome(upload.student, str(upload.path), error=f"internal: {exc}")
            outcomes[upload.student] = outcome
            progress.advance(outcome)
    except KeyboardInterrupt:
        # Finished reports are already in the cache; stop the rest and let nothing else in.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stopping.set()
        for future in futures:
            future.cancel()
        pending = set(futures)
        while pending:  # a thread may start a worker just after a sweep: sweep until none runs
            stop_all()
            _, pending = concurrent.futures.wait(pending, timeout=0.5)
        pool.shutdown(wait=True, cancel_futures=True)
        progress.stop()
        workers.close()
        finished = sum(1 for outcome in outcomes.values() if outcome.report is not None)
        raise Interrupted(finished, len(uploads)) from None
    pool.shutdown(wait=True)
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


# --- writing the outputs -----------------------------------------------------------------------
@dataclass
class Written:
    """What the output step wrote, and what it could not write and why."""

    wrote: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _run_marker(run_id: str) -> str:
    return f"<!-- asyncio-kit run {run_id} -->"


def _html_with_run(page: str, run_id: str) -> str:
    meta = f'<meta name="asyncio-kit-run" content="{run_id}">'
    return page.replace("<head>", "<head>" + meta, 1) if "<head>" in page else meta + page


def _student_html(outcome: Outcome) -> str:
    if outcome.report is not None:
        return html_feedback.render_html(outcome.report, student=outcome.student)
    with tempfile.TemporaryDirectory(prefix="asyncio-kit-page-") as work:
        page = html_feedback.write_student_html(outcome, Path(work) / "page.html")
        return page.read_text(encoding="utf-8")


def _stale_feedback(folder: Path, keep: set[str], run_id: str) -> list[Path]:
    """Feedback files a previous run wrote for students who are not in this run."""
    stale: list[Path] = []
    if not folder.is_dir():
        return stale
    for path in sorted(folder.iterdir()):
        if path.suffix not in {".md", ".html"} or path.name in keep or path.stem in RESERVED_NAMES:
            continue
        try:
            head = path.read_text(encoding="utf-8", errors="replace")[:400]
        except OSError:
            continue
        if ("asyncio-kit run" in head or "asyncio-kit-run" in head) and run_id not in head:
            stale.append(path)
    return stale


def _write_feedback(
    outcomes: Sequence[Outcome],
    folder: Path,
    context: RunContext,
    written: Written,
    console: Console,
) -> None:
    """One .md and one .html per student, then the stale files of earlier runs removed."""
    run_id = context.run_id
    names = feedback_names([outcome.student for outcome in outcomes])
    failures = 0
    first_failure = ""
    for outcome in outcomes:
        stem = names[outcome.student]
        markdown = (
            _run_marker(run_id) + "\n" + feedback_md.student_markdown(outcome, context=context)
        )
        try:
            outputs.atomic_write(folder / f"{stem}.md", markdown)
            outputs.atomic_write(
                folder / f"{stem}.html", _html_with_run(_student_html(outcome), run_id)
            )
        except OSError as exc:
            failures += 1
            first_failure = first_failure or str(exc)
    if failures:
        written.failed.append(
            f"{failures} of {len(outcomes)} students' feedback in {folder} ({first_failure})"
        )
    else:
        written.wrote.append(f"feedback: {folder}/ (one .md and one .html per student)")
    keep = {f"{stem}{suffix}" for stem in names.values() for suffix in (".md", ".html")}
    stale = _stale_feedback(folder, keep, run_id)
    for old in stale:
        try:
            old.unlink()
        except OSError:  # noqa: PERF203 - one file that cannot be removed must not stop the rest
            written.failed.append(f"removing stale feedback {old}")
    if stale:
        console.print(Text(f"removed {len(stale)} feedback file(s) of students not in this run"))


def write_outputs(
    outcomes: Sequence[Outcome],
    curriculum: Sequence[Exercise],
    options: Options,
    context: RunContext,
    console: Console,
) -> Written:
    """Write feedback, gradebook and summary, each atomically; go on past a failed one."""
    written = Written()

    def attempt(label: str, action: Callable[[], object]) -> bool:
        try:
            action()
        except OSError as exc:
            written.failed.append(f"{label} ({exc})")
            return False
        written.wrote.append(label)
        return True

    manifest: dict[str, Any] = {
        "run": options.run_id,
        "state": "writing",
        "python": context.python,
        "class_python": context.class_python,
        "csv": str(options.csv) if options.csv else None,
        "students": len(outcomes),
    }
    if options.feedback is not None:
        # First: while the folder is being rewritten, its record says so ("writing").
        _write_record(options.feedback, manifest, written)
        _write_feedback(outcomes, options.feedback, context, written, console)
    if options.csv is not None:
        csv_path = options.csv
        attempt(
            f"gradebook: {csv_path}",
            lambda: gradebook.write_csv(csv_path, outcomes, curriculum, context=context),
        )
    summary = options.summary_path
    if summary is not None:
        attempt(
            f"summary: {summary}",
            lambda: outputs.atomic_write(
                summary, gradebook.summary_markdown(outcomes, curriculum, context=context)
            ),
        )
    if options.feedback is not None:
        # Last: the record says "complete" only once everything else is on disk.
        manifest["state"] = "complete" if not written.failed else "incomplete"
        manifest["failed"] = list(written.failed)
        _write_record(options.feedback, manifest, written)
    return written


def _write_record(folder: Path, manifest: dict[str, Any], written: Written) -> None:
    path = folder / MANIFEST
    try:
        outputs.atomic_write(path, json.dumps(manifest, indent=2) + "\n")
    except OSError as exc:
        if not any(line.startswith("run record") for line in written.failed):
            written.failed.append(f"run record {path} ({exc})")


# --- the command -------------------------------------------------------------------------------
def _say(console: Console, text: str, style: str = "") -> None:
    console.print(Text(text, style=style), soft_wrap=True)


def python_check(course: Course, *, allow: bool) -> tuple[str | None, str | None]:
    """(refusal, warning) for running on this Python, given the class's declared Python."""
    running = sys.version_info[:2]
    here = ".".join(str(part) for part in running)
    if course.python is None:
        return None, (
            f"warning: the kit declares no class Python ([course] python in "
            f"exercises/info.toml); grading on Python {here}, and the maximum follows it"
        )
    if course.python == running:
        return None, None
    declared = course.python_label
    text = (
        f"this batch runs on Python {here}, but the class is graded on Python {declared} "
        "([course] python in exercises/info.toml)"
    )
    if not allow:
        refusal = (
            f"{text}; run it with Python {declared} (e.g. `uv run --python {declared} python -m "
            "grader batch ...`), or pass --any-python to grade anyway"
        )
        return refusal, None
    return None, (
        f"WARNING: {text}. Grades may differ from Gradescope and GitHub Classroom, and "
        "exercises this Python cannot run are not graded"
    )


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the batch the way Ctrl-C does (finished grades kept, exit 130)."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader batch`; returns the exit status."""
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        return _main(args, console)
    except KeyboardInterrupt:
        _say(console, "interrupted before grading started; nothing was written", "red")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        _say(
            console,
            f"batch stopped: {exc.__class__.__name__}: {exc} (run with --debug for details; "
            "finished grades are in the cache, so running again resumes)",
            "red",
        )
        return EXIT_OUTPUTS


def _main(  # noqa: C901, PLR0911 - a pipeline of checks, each with its own exit status
    args: argparse.Namespace, console: Console
) -> int:
    kit = Kit.installed()
    try:
        curriculum = kit_schema.check_schema(kit)
        course = curriculum_module.course(kit.curriculum_file)
    except KitError as exc:
        _say(console, f"the kit is broken: {exc}", "red")
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
        _say(console, f"usage error: {problem}", "red")
        return EXIT_USAGE
    refusal, python_warning = python_check(
        course, allow=args.any_python or os.environ.get(ANY_PYTHON_VAR, "") not in {"", "0"}
    )
    if refusal is not None:
        _say(console, f"usage error: {refusal}", "red")
        return EXIT_USAGE
    with ExitStack() as stack:
        problem = _prepare_outputs(options, stack)
        if problem is not None:
            _say(console, f"usage error: {problem}", "red")
            return EXIT_USAGE
        if python_warning is not None:
            style = "bold red" if python_warning.startswith("W") else "yellow"
            _say(console, python_warning, style)
        options = _with_usable_cache(options, console)
        _warn_unfinished(console, options)
        selected = tuple(e for e in curriculum if options.only is None or e.id in options.only)
        excluded = [path for path in (options.csv, options.feedback, options.summary_path) if path]
        try:
            uploads = intake.discover(options.submissions, exclude=excluded)
        except OSError as exc:
            _say(console, f"usage error: cannot read {options.submissions}: {exc}", "red")
            return EXIT_USAGE
        if not uploads:
            _say(
                console,
                f"usage error: no uploads in {options.submissions} (expected one folder or one "
                ".zip per student, or a Gradescope, Canvas or Moodle export)",
                "red",
            )
            return EXIT_USAGE
        try:
            with _terminate_as_interrupt():
                outcomes = run_batch(uploads, selected, options, kit=kit, console=console)
        except Interrupted as stop:
            kept = (
                "are kept in the cache"
                if options.cache is not None
                else "are not kept (this run has no cache)"
            )
            _say(
                console,
                f"interrupted: {stop.finished} of {stop.total} students were graded and {kept}; "
                "no gradebook or feedback was written (the previous ones, if any, are "
                "untouched). Run the same command again to resume.",
                "red",
            )
            return EXIT_INTERRUPTED
        context = _context(options, selected, course, python_warning)
        # The outputs are written in a moment; a Ctrl-C now would only leave them half done.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        written = write_outputs(outcomes, selected, options, context, console)
    for line in written.wrote:
        _say(console, line)
    print_summary(console, outcomes, selected)
    if python_warning is not None and python_warning.startswith("W"):
        _say(console, python_warning, "bold red")
    if written.failed:
        for line in written.failed:
            _say(console, f"NOT written: {line}", "red")
        kept = "every grade is kept in the cache" if options.cache else "this run had no cache"
        _say(console, f"{kept}: fix the output and run the same command again", "red")
        return EXIT_OUTPUTS
    return EXIT_OK


def _context(
    options: Options, selected: Sequence[Exercise], course: Course, warning: str | None
) -> RunContext:
    """What every output says about this run.

    On the class's Python the maximum is the class's. With --any-python on another one, it is
    what this Python could grade (an exercise it cannot run is not graded, so not counted), and
    the warning, repeated in the summary, gives both.
    """
    class_max = gradebook.max_points(selected, course)
    here_max = gradebook.max_points(selected)
    mismatch = course.python is not None and course.python != sys.version_info[:2]
    text = warning or ""
    if mismatch and here_max != class_max:
        text += f" (here the maximum is {here_max:g}; the class's is {class_max:g})"
    return RunContext(
        run_id=options.run_id,
        python=platform.python_version(),
        class_python=course.python_label,
        maximum=here_max if mismatch else class_max,
        warning=text,
    )


def _with_usable_cache(options: Options, console: Console) -> Options:
    """The options, without a cache if its folder cannot be written (one warning says so)."""
    if options.cache is None:
        return options
    try:
        outputs.check_writable(options.cache, "grade cache", folder=True)
    except OSError as exc:
        _say(
            console,
            f"warning: {exc}; every grade of this run is kept and written, but without a "
            "cache a rerun grades everyone again",
            "yellow",
        )
        return dataclasses.replace(options, use_cache=False)
    return options


def _prepare_outputs(options: Options, stack: ExitStack) -> str | None:
    """Check every output writable and lock it, before anyone is graded; the problem if not."""
    checks: list[tuple[Path, str, bool]] = []
    if options.csv is not None:
        checks.append((options.csv, "gradebook", False))
    if options.feedback is not None:
        checks.append((options.feedback, "feedback folder", True))
    summary = options.summary_path
    if summary is not None:
        checks.append((summary, "summary", False))
    problems = [_unwritable(path, what, folder=folder) for path, what, folder in checks]
    if any(problems):
        return next(problem for problem in problems if problem)
    for path, what, folder in checks:
        lock = outputs.OutputLock(path, what, folder=folder)
        problem = _lock(lock)
        if problem is not None:
            return problem
        stack.callback(lock.release)
    return None


def _unwritable(path: Path, what: str, *, folder: bool) -> str | None:
    try:
        outputs.check_writable(path, what, folder=folder)
    except OSError as exc:
        return str(exc)
    return None


def _lock(lock: outputs.OutputLock) -> str | None:
    try:
        lock.acquire()
    except outputs.LockedError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot lock the {lock.what} {lock.output}: {exc.strerror or exc}"
    return None


def _warn_unfinished(console: Console, options: Options) -> None:
    """Say so when the feedback folder was left half written by an earlier run."""
    if options.feedback is None:
        return
    try:
        manifest = json.loads((options.feedback / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(manifest, dict) and manifest.get("state") != "complete":
        _say(
            console,
            f"note: run {manifest.get('run')} stopped while writing {options.feedback}; its "
            "files are replaced by this run's",
            "yellow",
        )


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
