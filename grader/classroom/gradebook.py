"""The gradebook CSV and the class summary, from the outcomes of a batch.

The CSV has one row per student - graded or not, so nobody silently drops out of the
gradebook - keyed by the student id (the LMS's own id when the export gives one, with the
name beside it), with one column per exercise in curriculum order, then `total`, `max`,
`status` (`graded` or `error`), `error`, `notes` (e.g. which of several late resubmissions was
graded), `python` (what graded it), `class_python` (the class's declared Python) and `run` (the
run that wrote the file). A row that could not be graded has empty exercise cells, a total of 0
and the reason in `error`. Exercises skipped on this Python have empty cells. `max` is the
class maximum from the declared Python, the same for every row and in every other output.

The summary says, per exercise, the mean score and how the class's results are distributed
(by status and by score), and lists the exercises most missed: where to spend the next lecture.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.classroom import outputs
from grader.classroom.grading import Outcome
from grader.feedback.markdown import escape_md
from grader.model.curriculum import Course, Exercise
from grader.model.results import STATUSES, RunContext

#: The statuses the summary counts (a skipped exercise does not count for anyone).
_COUNTED = tuple(status for status in STATUSES if status != "skipped")


def _number(value: float) -> str:
    return f"{round(value, 2):g}"


def max_points(curriculum: Sequence[Exercise], course: Course | None = None) -> float:
    """What a submission can earn: the points of the exercises the class's Python runs.

    With a declared class Python that is the same on every machine; without one it is what
    this Python runs.
    """
    version = course.python if course is not None and course.python is not None else None
    return float(sum(exercise.points for exercise in curriculum if exercise.supported(version)))


#: A cell starting with one of these is a formula to a spreadsheet: quote it.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA) else text


def csv_rows(
    outcomes: Sequence[Outcome],
    curriculum: Sequence[Exercise],
    context: RunContext | None = None,
) -> list[list[str]]:
    """The gradebook as rows of text, header first."""
    context = context or RunContext()
    ids = [exercise.id for exercise in curriculum]
    rows = [
        [
            "student",
            "name",
            *ids,
            "total",
            "max",
            "status",
            "error",
            "notes",
            "python",
            "class_python",
            "run",
        ]
    ]
    class_max = context.maximum if context.maximum is not None else max_points(curriculum)
    for outcome in outcomes:
        report = outcome.report
        python = context.python
        if report is None:
            cells = [""] * len(ids)
            total, maximum = "0", class_max
            status, error = "error", outcome.error or "not graded"
        else:
            results = {result.id: result for result in report.exercises}
            cells = [
                ""
                if exercise_id not in results or results[exercise_id].status == "skipped"
                else _number(results[exercise_id].score)
                for exercise_id in ids
            ]
            total = _number(report.score)
            maximum = class_max if context.maximum is not None else report.max_score
            status, error = "graded", ""
            python = report.python or python
        rows.append(
            [
                _cell(outcome.student),
                _cell(outcome.name),
                *cells,
                total,
                _number(maximum),
                status,
                _cell(error),
                _cell("; ".join(outcome.notes)),
                python,
                context.class_python,
                context.run_id,
            ]
        )
    return rows


def write_csv(
    path: Path,
    outcomes: Sequence[Outcome],
    curriculum: Sequence[Exercise],
    context: RunContext | None = None,
) -> None:
    """Write the gradebook CSV atomically (a unique temporary file, then renamed into place)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(csv_rows(outcomes, curriculum, context))
    outputs.atomic_write(path, buffer.getvalue())


@dataclass(frozen=True)
class ExerciseStats:
    """How the class did on one exercise."""

    exercise: Exercise
    graded: int
    mean: float
    maximum: float
    statuses: dict[str, int]
    scores: dict[float, int]

    @property
    def mean_fraction(self) -> float:
        """The mean score as a fraction of the points (1.0 when nobody was graded on it)."""
        return self.mean / self.maximum if self.maximum and self.graded else 1.0


def exercise_stats(
    outcomes: Sequence[Outcome], curriculum: Sequence[Exercise]
) -> list[ExerciseStats]:
    """Per exercise: mean, status counts and score counts over the graded submissions."""
    stats: list[ExerciseStats] = []
    reports = [outcome.report for outcome in outcomes if outcome.report is not None]
    for exercise in curriculum:
        results = [
            result
            for report in reports
            for result in report.exercises
            if result.id == exercise.id and result.status != "skipped"
        ]
        scores = [result.score for result in results]
        stats.append(
            ExerciseStats(
                exercise=exercise,
                graded=len(results),
                mean=statistics.fmean(scores) if scores else 0.0,
                maximum=float(exercise.points),
                statuses=dict(Counter(result.status for result in results)),
                scores=dict(sorted(Counter(round(score, 2) for score in scores).items())),
            )
        )
    return stats


def most_missed(stats: Sequence[ExerciseStats], count: int = 5) -> list[ExerciseStats]:
    """The exercises with the lowest mean share of their points (those not all full marks)."""
    missed = [entry for entry in stats if entry.graded and entry.mean_fraction < 1.0]
    return sorted(missed, key=lambda entry: (entry.mean_fraction, entry.exercise.id))[:count]


def summary_markdown(
    outcomes: Sequence[Outcome],
    curriculum: Sequence[Exercise],
    context: RunContext | None = None,
) -> str:
    """The class summary as Markdown."""
    context = context or RunContext()
    graded = [outcome for outcome in outcomes if outcome.report is not None]
    errors = [outcome for outcome in outcomes if outcome.report is None]
    reused = sum(1 for outcome in graded if outcome.reused)
    maximum = context.maximum if context.maximum is not None else max_points(curriculum)
    lines = [
        "# Batch grading summary",
        "",
        f"- run: `{context.run_id or '-'}` (every output of this run carries it)",
        (
            f"- Python: graded on {context.python or '-'}; the class is graded on "
            f"{context.class_python or '-'} (`[course] python` in exercises/info.toml)"
        ),
    ]
    if context.warning:
        lines.append(f"- **{context.warning}**")
    lines += [
        (
            f"- uploads: {len(outcomes)} ({len(graded)} graded, {len(errors)} could not be "
            f"graded; {reused} unchanged since the last run, reused)"
        ),
    ]
    totals = [outcome.report.score for outcome in graded if outcome.report is not None]
    if totals:
        quartiles = statistics.quantiles(totals, n=4) if len(totals) > 1 else totals * 3
        lines += [
            (
                f"- total: mean {_number(statistics.fmean(totals))} / {_number(maximum)}"
                f", median {_number(statistics.median(totals))}"
                f", quartiles {' / '.join(_number(value) for value in quartiles)}"
                f", lowest {_number(min(totals))}, highest {_number(max(totals))}"
            ),
            f"- full marks: {sum(1 for total in totals if total >= maximum)}",
        ]
    stats = exercise_stats(outcomes, curriculum)
    header = " | ".join(_COUNTED)
    lines += [
        "",
        "## Per exercise",
        "",
        f"| # | exercise | points | mean | mean % | {header} | scores (score x count) |",
        "|---:|---|---:|---:|---:|" + "---:|" * len(_COUNTED) + "---|",
    ]
    for number, entry in enumerate(stats, start=1):
        counts = " | ".join(str(entry.statuses.get(status, 0)) for status in _COUNTED)
        scores = ", ".join(f"{_number(score)} x {n}" for score, n in entry.scores.items())
        percent = f"{entry.mean_fraction:.0%}" if entry.graded else "-"
        lines.append(
            f"| {number} | `{entry.exercise.id}` | {entry.exercise.points} | "
            f"{_number(entry.mean)} | {percent} | {counts} | {scores or '-'} |"
        )
    lines += ["", "## Most missed", ""]
    missed = most_missed(stats)
    if missed:
        lines += [
            f"{rank}. `{entry.exercise.id}` ({entry.exercise.title}): mean "
            f"{_number(entry.mean)} / {entry.exercise.points} ({entry.mean_fraction:.0%}), "
            f"{entry.statuses.get('passed', 0)} of {entry.graded} passed"
            for rank, entry in enumerate(missed, start=1)
        ]
    else:
        lines.append("None: every graded submission has full marks on every exercise.")
    if errors:
        lines += ["", "## Uploads that could not be graded", ""]
        # Both come from the upload (its name, what intake found in it): escaped, never code
        # spans, which a backtick in a folder name would close.
        lines += [
            f"- {escape_md(outcome.student)}: "
            + escape_md(outcome.error or "no reason was recorded")
            for outcome in errors
        ]
    return "\n".join(lines) + "\n"
