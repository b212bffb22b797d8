"""Grades a *predict* exercise: the learner's written order against the order asyncio ran.

The prediction is read as data (`answers.read_prediction`, nothing executed); the truth comes
from the kit's pristine snippet (`truth.truth_of`). Credit is the order score (see
`ordering`). What the feedback needs is recorded as data in the credit's details: the
whole-line comparison, or for a facts quiz (a `PREDICTION` dict of answers) which answers are
wrong; the prediction and trace the timelines are drawn from; and, when the prediction is
exactly what a well-known wrong belief produces, that belief (`misconceptions`).

The score is worked out on every line the learner wrote; what is recorded for the feedback is
bounded by the truth (`compare.shown`): the true lines and a few more, each line at most a
little longer than asyncio's longest. A prediction of hundreds of long lines would otherwise be
copied into the comparison, the timelines, the results JSON and the terminal, megabytes and
tens of CPU seconds per student; the summary says in one sentence what is left out.
"""

from __future__ import annotations

from functools import cache

from grader.feedback.compare import (
    EXTRA_ROWS,
    clip,
    compare,
    line_limit,
    order_summary,
    shown,
)
from grader.grading import misconceptions
from grader.grading.session import Credit, GradingSession, NotSubmittedError
from grader.grading.truth import truth_of
from grader.model import stubs
from grader.model.answers import AnswerError, read_prediction
from grader.model.curriculum import Exercise
from grader.model.errors import FailureKind, LearnerCodeError
from grader.model.kit import Kit
from grader.model.ordering import flatten, score_order
from grader.model.parts import comparison_json

_FACT = " -> "


def is_facts_quiz(kit: Kit, exercise: Exercise) -> bool:
    """True if the exercise's stub asks for a dict of answers (each still `...`)."""
    return _asks_for_facts(stubs.stub(kit, exercise.file))


@cache
def _asks_for_facts(stub: bytes | None) -> bool:
    if stub is None:
        return False
    try:
        return read_prediction(stub, "stub").unanswered > 0
    except AnswerError:
        return False


def _split(line: str) -> tuple[str, str]:
    question, _, answer = line.rpartition(_FACT)
    return (question, answer) if question else (line, "")


def facts_json(predicted: list[str], actual: list[str]) -> list[dict[str, str | None]]:
    """Each predicted answer beside what the program prints for the same question.

    Answers past the program's questions and a few more are left out, and a question or an
    answer far longer than any the program prints is cut short (as in `compare.shown`).
    """
    right = dict(_split(line) for line in actual)
    limit = line_limit(actual)
    return [
        {
            "question": clip(question, limit),
            "yours": clip(yours, limit) or "?",
            "right": right.get(question),
        }
        for question, yours in (_split(line) for line in predicted[: len(actual) + EXTRA_ROWS])
    ]


def grade_prediction(session: GradingSession, exercise: Exercise, credit: Credit) -> None:
    """Award credit for the learner's prediction of `exercise`."""
    source = session.submission.source(exercise)
    try:
        prediction = read_prediction(source, exercise.file)
    except AnswerError as exc:
        raise LearnerCodeError(str(exc), FailureKind.ANSWER) from exc
    if prediction.empty:
        msg = f"{exercise.file}: PREDICTION is still blank"
        raise NotSubmittedError(msg)
    truth = truth_of(session.kit, exercise)
    blocks = truth.blocks
    lines = list(prediction.lines)
    score = score_order(lines, blocks)
    truth_lines = flatten(blocks)
    view = shown(lines, truth_lines)
    extra: dict[str, object] = {}
    if score.fraction < 1.0:
        if is_facts_quiz(session.kit, exercise):
            extra["facts"] = facts_json(lines, truth_lines)
        else:
            extra["comparison"] = comparison_json(compare(lines, blocks, score))
            extra["timeline"] = True
        diagnoses = misconceptions.diagnose(session.kit, exercise, prediction.lines, blocks)
        extra["misconceptions"] = [diagnosis.to_json() for diagnosis in diagnoses]
    note = view.note(len(truth_lines))
    credit.award(
        score.fraction,
        order_summary(score) + (f" {note}" if note else ""),
        attempted=True,
        predicted=list(view.lines),
        actual=[{"lines": list(block.lines), "unordered": block.unordered} for block in blocks],
        trace=truth.trace,
        **extra,
    )
