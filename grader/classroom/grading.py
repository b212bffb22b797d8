"""Grading clean submission folders for the classroom tools, each in a grader process.

`grade_one` turns one folder into a `GradeReport` by running `python -m grader --submission
DIR --json OUT` in a fresh process (the Gradescope bundle and the GitHub Classroom runner grade
one submission each). Batch grading uses `WorkerPool` instead: one long-lived grader process
per parallel job (`worker.py`), which pays for the interpreter, pytest, the fork server and
every truth snippet once rather than once per student. Either way the grading runs outside the
batch's own process, so a grader that dies - a submission's code may attack the process that
graded it - costs that student alone; a dead worker is replaced for the next student.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.model.kit import Kit
from grader.model.results import STATUSES, ExerciseResult, GradeReport, ItemResult

#: A whole submission's grading may take this long; each run inside it has its own deadline.
DEFAULT_TIMEOUT = 900.0
_TAIL = 600

# Grader processes now running, so an interrupted batch can stop them all (they run in their
# own sessions, out of reach of the terminal's Ctrl-C).
_running: set[int] = set()
_running_lock = threading.Lock()


class GradingError(RuntimeError):
    """Grading this submission did not produce a report; the message says why."""


def grade_one(
    submission: Path,
    only: Sequence[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    kit: Kit | None = None,
) -> GradeReport:
    """Grade `submission` (a folder laid out like `exercises/`) in a fresh grader process.

    Raises GradingError when the grader could not finish: it was killed, timed out, or found
    the kit broken. Learner code never runs in this process, nor in the grader process itself.
    """
    root = (kit or Kit.installed()).root
    with tempfile.TemporaryDirectory(prefix="asyncio-kit-grade-") as work:
        out = Path(work) / "results.json"
        command = [sys.executable, "-m", "grader", "--submission", str(submission)]
        command += ["--json", str(out)]
        if only:
            command += ["--only", *only]
        returncode, stdout, stderr = _run(command, root, timeout)
        if returncode == 0 and out.is_file():
            try:
                return report_from_json(json.loads(out.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError) as exc:
                msg = f"the grader wrote an unreadable results file ({exc})"
                raise GradingError(msg) from exc
    raise GradingError(_failure(returncode, stdout, stderr))


def _run(command: list[str], cwd: Path, timeout: float) -> tuple[int, str, str]:
    """Run the grader in its own session, so a timeout can stop it and all it started."""
    environment = _grader_environment()
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=environment,
        start_new_session=True,
    ) as process:
        with _running_lock:
            _running.add(process.pid)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.communicate()
            msg = f"grading took longer than {timeout:g} s and was stopped"
            raise GradingError(msg) from None
        finally:
            with _running_lock:
                _running.discard(process.pid)
        return process.returncode, stdout, stderr


def _grader_environment() -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH"}
    }
    environment["NO_COLOR"] = "1"
    environment["COLUMNS"] = "100"
    return environment


class _Worker:
    """One long-lived grader process (`grader.classroom.worker`) and the pipes to it."""

    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.classroom.worker"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_grader_environment(),
            start_new_session=True,
        )
        with _running_lock:
            _running.add(self.process.pid)
        self._buffer = b""

    def grade(self, submission: Path, only: Sequence[str] | None, timeout: float) -> GradeReport:
        """Send one job and wait for its answer; GradingError if none comes."""
        assert self.process.stdin is not None
        job = {"submission": str(submission), "only": list(only) if only else None}
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
        except OSError:
            self.stop()
            raise GradingError(self._death()) from None
        line = self._read_line(time.monotonic() + timeout)
        if line is None:
            self.stop()
            msg = f"grading took longer than {timeout:g} s and was stopped"
            raise GradingError(msg)
        if not line:
            self.stop()
            raise GradingError(self._death())
        answer = json.loads(line)
        if "error" in answer:
            raise GradingError(str(answer["error"]))
        return report_from_json(answer["report"])

    def _read_line(self, deadline: float) -> bytes | None:
        """The next answer line; b"" if the worker died, None at the deadline."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return b""
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _death(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        return _failure(self.process.returncode or -signal.SIGKILL, "", "")

    @property
    def alive(self) -> bool:
        """Whether the worker process still runs."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the worker and everything it started."""
        _kill_group(self.process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with _running_lock:
            _running.discard(self.process.pid)


class WorkerPool:
    """One warm worker per grading thread, started on first use, replaced when it dies."""

    def __init__(self, kit: Kit | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.root = (kit or Kit.installed()).root
        self.timeout = timeout
        self._local = threading.local()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def grade(self, submission: Path, only: Sequence[str] | None) -> GradeReport:
        """Grade one submission on this thread's worker."""
        worker: _Worker | None = getattr(self._local, "worker", None)
        if worker is None or not worker.alive:
            worker = _Worker(self.root)
            self._local.worker = worker
            with self._lock:
                self._workers.append(worker)
        return worker.grade(submission, only, self.timeout)

    def close(self) -> None:
        """Stop every worker (their stdin closes; they end their fork servers)."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            if worker.process.stdin is not None:
                with contextlib.suppress(OSError):
                    worker.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=10)
            worker.stop()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def stop_all() -> None:
    """Kill every grader process `grade_one` has running (for an interrupted batch)."""
    with _running_lock:
        pids = list(_running)
    for pid in pids:
        _kill_group(pid)


def _failure(returncode: int, stdout: str, stderr: str) -> str:
    """Why a grader process gave no report, in one line for the gradebook."""
    tail = " ".join((stderr.strip() or stdout.strip())[-_TAIL:].split())
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return (
            f"the grading process was killed by {name} before it finished (code in this "
            "submission may have attacked the grader); other students are not affected"
        )
    if returncode == 3:  # noqa: PLR2004 - the CLI's documented "kit is broken" status
        return f"the grader reported the kit itself broken: {tail}"
    return f"the grading process stopped with status {returncode} and no results: {tail}"


def report_from_json(data: dict[str, Any]) -> GradeReport:
    """Rebuild a `GradeReport` from the JSON that `GradeReport.to_json` wrote."""
    exercises: list[ExerciseResult] = []
    for raw in data["exercises"]:
        status = str(raw["status"])
        if status not in STATUSES:
            msg = f"unknown status {status!r}"
            raise ValueError(msg)
        exercises.append(
            ExerciseResult(
                id=str(raw["id"]),
                file=str(raw["file"]),
                kind=str(raw["kind"]),
                title=str(raw.get("title", raw["id"])),
                score=float(raw["score"]),
                max_score=float(raw["max_score"]),
                status=status,
                feedback=str(raw["feedback"]),
                items=[ItemResult(**item) for item in raw.get("items", [])],
                details=dict(raw.get("details", {})),
            )
        )
    return GradeReport(
        submission=str(data.get("submission", "")),
        exercises=exercises,
        isolation=str(data.get("isolation", "")),
        python=str(data.get("python", "")),
    )


def kit_fingerprint(kit: Kit) -> str:
    """A hash of everything that decides a grade: grader code, hidden tests, truth, curriculum.

    Part of the batch cache key, so fixing a hidden test or a solution regrades everyone.
    """
    digest = hashlib.sha256(sys.version.encode())
    classroom = kit.root / "grader" / "classroom"  # formats reports; does not make them
    files = [kit.curriculum_file]
    for folder in (kit.root / "grader", kit.solutions):
        files += sorted(
            path
            for path in folder.rglob("*")
            if path.is_file()
            and path.suffix in {".py", ".ini", ".toml", ".txt"}
            and not path.is_relative_to(classroom)
        )
    for path in files:
        digest.update(path.relative_to(kit.root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class Outcome:
    """What grading one student's upload gave: a report, or the reason there is none."""

    student: str
    upload: str
    report: GradeReport | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()
    reused: bool = False
    seconds: float = 0.0
    #: The student's name, when the export gives one beside the id (Canvas, Moodle, Gradescope).
    name: str = ""

    @property
    def graded(self) -> bool:
        """True if there is a report (from this run or reused from the cache)."""
        return self.report is not None
