"""The result model: what the grader found for each exercise, and the JSON it writes.

One model feeds every output (terminal table, JSON, and later JUnit, Gradescope, CSV). The JSON
layout is stable and documented in the README: top-level `score`, `max_score`, `exercises` in
curriculum order, each with `id`, `file`, `kind`, `score`, `max_score`, `status`, `feedback`.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from grader.model.fsutil import atomic_write

STATUSES = ("passed", "partial", "failed", "error", "not-submitted", "skipped")
SCHEMA_VERSION = 1


@dataclass
class ItemResult:
    """One hidden test's outcome within an exercise."""

    name: str
    points: float
    earned: float
    outcome: str
    message: str = ""


@dataclass
class ExerciseResult:
    """The grade of one exercise."""

    id: str
    file: str
    kind: str
    title: str
    score: float
    max_score: float
    status: str
    feedback: str
    items: list[ItemResult] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The exercise's JSON object (items included for tools that want detail)."""
        data = asdict(self)
        data["score"] = round(self.score, 2)
        data["max_score"] = round(self.max_score, 2)
        return data


@dataclass
class GradeReport:
    """The grade of one submission."""

    submission: str
    exercises: list[ExerciseResult]
    isolation: str = "rlimits"
    python: str = field(default_factory=platform.python_version)

    @property
    def score(self) -> float:
        """Points earned, over exercises that count on this Python."""
        return round(sum(e.score for e in self.exercises if e.status != "skipped"), 2)

    @property
    def max_score(self) -> float:
        """Points available on this Python (skipped exercises do not count)."""
        return round(sum(e.max_score for e in self.exercises if e.status != "skipped"), 2)

    def to_json(self) -> dict[str, Any]:
        """The whole report as the documented JSON object."""
        return {
            "schema": SCHEMA_VERSION,
            "score": self.score,
            "max_score": self.max_score,
            "python": self.python,
            "isolation": self.isolation,
            "submission": self.submission,
            "exercises": [exercise.to_json() for exercise in self.exercises],
        }

    def write_json(self, path: Path) -> None:
        """Write the report atomically: a reader never sees half a file."""
        atomic_write(path, json.dumps(self.to_json(), indent=2) + "\n")


@dataclass(frozen=True)
class RunContext:
    """What every output of one run says about the run: its id, and the Pythons."""

    run_id: str = ""
    python: str = ""
    class_python: str = ""
    maximum: float | None = None
    warning: str = ""


class StudentOutcome(Protocol):
    """What batch grading knows of one student (`classroom.grading.Outcome` fits)."""

    student: str
    report: GradeReport | None
    error: str | None


class UploadOutcome(StudentOutcome, Protocol):
    """A student's outcome with the upload it came from and the batch's notes on it."""

    upload: str
    notes: tuple[str, ...]
    #: The student's name, when the export gives one beside the id (Canvas, Moodle, Gradescope).
    name: str
