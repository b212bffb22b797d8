"""Grades a *predict* exercise: the learner's written order against the order asyncio ran.

The prediction is read as data (`answers.read_prediction`, nothing executed); the truth comes
from the kit's pristine snippet (`truth.truth_of`). Credit is the order score (see
`ordering`), and the feedback puts both orders side by side with the first divergence marked.
A prediction that is not right also gets both timelines (`timeline`) and, when it is exactly
what a well-known wrong belief produces, that belief named (`misconceptions`).
"""

from __future__ import annotations

from grader.feedback import timeline
from grader.feedback.compare import order_summary, side_by_side
from grader.grading import misconceptions
from grader.grading.session import Credit, GradingSession, NotSubmittedError
from grader.grading.truth import truth_of
from grader.model.answers import AnswerError, read_prediction
from grader.model.curriculum import Exercise
from grader.model.errors import FailureKind, LearnerCodeError
from grader.model.ordering import score_order


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
    score = score_order(list(prediction.lines), blocks)
    message = order_summary(score)
    extra: dict[str, object] = {}
    if score.fraction < 1.0:
        message += "\n\n" + side_by_side(prediction.lines, blocks, score)
        pictures = timeline.feedback_text(prediction.lines, truth.trace)
        message += "\n\n" + pictures
        diagnoses = misconceptions.diagnose(session.kit, exercise, prediction.lines, blocks)
        if diagnoses:
            message += "\n\n" + misconceptions.describe(diagnoses)
        extra = {
            "timeline_text": pictures,
            "misconceptions": [diagnosis.to_json() for diagnosis in diagnoses],
        }
    credit.award(
        score.fraction,
        message,
        predicted=list(prediction.lines),
        actual=[{"lines": list(block.lines), "unordered": block.unordered} for block in blocks],
        trace=truth.trace,
        **extra,
    )
