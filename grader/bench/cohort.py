"""A class of N synthetic uploads graded with `python -m grader batch`, as an instructor runs it.

The batch runs in a fresh process with `--regrade` and fresh output folders (so no cache hides
the work), its whole process tree sampled for memory (`procs`). From what it leaves behind the
bench reads: the wall time; each student's seconds from the batch's log lines (printed one per
student when its output is not a terminal); the gradebook CSV, checked per kind of upload
(every correct upload must get full marks, every upload a row); and the isolation layer named
in the reports it keeps beside the feedback.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.bench.learner import clean_environment
from grader.bench.procs import run_measured
from grader.bench.synth import KINDS, Synthetic

#: `[ 3/25] s003: 61/69 (2.4 s)`: the batch's log line for one student graded in this run.
_LOG_LINE = re.compile(r"^\[\s*\d+/\d+\]\s+(\S+): .*\((\d+(?:\.\d+)?) s\)\s*$")
#: The batch is stopped if it takes longer than this per upload (plus a fixed margin).
_SECONDS_PER_UPLOAD = 120.0
_MARGIN_S = 300.0


def student_seconds(stdout: str) -> dict[str, float]:
    """Each student's grading seconds from the batch's log lines (those it logged)."""
    found: dict[str, float] = {}
    for line in stdout.splitlines():
        match = _LOG_LINE.match(line.strip())
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    """The gradebook's rows by student (empty if the CSV is missing or unreadable)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return {row["student"]: row for row in csv.DictReader(handle) if "student" in row}
    except (OSError, csv.Error, KeyError):
        return {}


def isolation_layers(folder: Path) -> list[str]:
    """The isolation layers named by the reports the batch kept under `folder`."""
    layers: set[str] = set()
    for path in folder.rglob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            for holder in (data, data.get("report")):
                if isinstance(holder, dict) and isinstance(holder.get("isolation"), str):
                    layers.add(holder["isolation"])
    return sorted(layers)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in {None, ""} else None
    except ValueError:
        return None


def per_kind(uploads: Sequence[Synthetic], book: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Per kind of upload: how many, graded, could not be graded, mean total, full marks."""
    kinds: dict[str, Any] = {}
    for kind in KINDS:
        mine = [upload for upload in uploads if upload.kind == kind]
        if not mine:
            continue
        rows = [book.get(upload.student) for upload in mine]
        graded = [row for row in rows if row is not None and row.get("status") == "graded"]
        totals = [_number(row.get("total")) for row in graded]
        full = [
            row
            for row in graded
            if _number(row.get("total")) is not None
            and _number(row.get("total")) == _number(row.get("max"))
        ]
        known = [total for total in totals if total is not None]
        kinds[kind] = {
            "count": len(mine),
            "graded": len(graded),
            "not_graded": len(mine) - len(graded),
            "mean_total": statistics.fmean(known) if known else None,
            "max": _number(graded[0].get("max")) if graded else None,
            "full_marks": len(full),
        }
    return kinds


def measure(
    n: int,
    uploads: Sequence[Synthetic],
    submissions: Path,
    out: Path,
    root: Path,
    *,
    jobs: int | None = None,
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Grade the class in `submissions` with batch; the class row of the results."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, feedback = out / "grades.csv", out / "feedback"
    command = [sys.executable, "-m", "grader", "batch", str(submissions)]
    command += ["--csv", str(csv_path), "--feedback", str(feedback), "--regrade"]
    # The bench measures speed on whatever Python runs it, not the class's declared one.
    command += ["--any-python"]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    if only:
        command += ["--only", *only]
    measured = run_measured(
        command,
        cwd=root,
        env=clean_environment(),
        timeout=_MARGIN_S + _SECONDS_PER_UPLOAD * n,
    )
    book = read_gradebook(csv_path)
    seconds = student_seconds(measured.stdout)
    row: dict[str, Any] = {
        "n": n,
        "status": "measured",
        "wall_s": measured.wall_s,
        "per_submission_s": measured.wall_s / n,
        "median_student_s": statistics.median(seconds.values()) if seconds else None,
        "students_timed": len(seconds),
        "peak_rss_mib": measured.peak_rss_mib,
        "peak_processes": measured.peak_processes,
        "returncode": measured.returncode,
        "rows": len(book),
        "graded": sum(1 for r in book.values() if r.get("status") == "graded"),
        "kinds": per_kind(uploads, book),
        "isolation": isolation_layers(feedback),
        "jobs": jobs,
    }
    if measured.timed_out or measured.returncode != 0 or len(book) != n:
        row["status"] = "failed"
        tail = " ".join((measured.stderr.strip() or measured.stdout.strip())[-600:].split())
        why = "timed out" if measured.timed_out else f"exit status {measured.returncode}"
        row["reason"] = f"batch {why}, {len(book)} of {n} gradebook rows: {tail}"
    return row
