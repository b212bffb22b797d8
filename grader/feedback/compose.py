"""Grading's last step: an exercise's outcome, turned into its feedback parts.

This is where the rules about what a learner is told live, once, for every output:
- the explanation comes only after a real attempt (a well-formed, non-blank prediction, or a
  program changed from its stub that parses); before that the learner gets what to do, and
  the hint on request (`nox -s hint`), so nothing gives the answer away;
- the hint comes with a real attempt that has not passed yet;
- on a pass, the explanation is the reward (a brief one where space is short);
- one failing check is shown in full (what to fix first), the others only counted, since a
  list of every hidden variant would hand out the hidden tests;
- Python's own warnings (a coroutine never awaited, a task destroyed while pending) are named,
  each with why it matters.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, cast

from grader.feedback.text import MESSAGE_LIMIT, cap
from grader.model.curriculum import Exercise
from grader.model.parts import (
    Belief,
    ExerciseFeedback,
    FactAnswer,
    Facts,
    PythonWarning,
    TimelineInput,
    comparison_from,
    first_sentence,
    learner,
)
from grader.model.results import ItemResult
from grader.model.trace import Trace

#: Python's warnings a learner's asyncio code provokes, and why each matters.
_WARNINGS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "never-awaited",
        re.compile(r"coroutine '[^']*' was never awaited"),
        (
            "Calling a coroutine function only makes a coroutine object: without `await` (or "
            "`create_task`) none of its code runs - a forgotten `await` is the usual cause."
        ),
    ),
    (
        "destroyed-pending",
        re.compile(r"Task was destroyed but it is pending"),
        (
            "A task was garbage-collected while it still had work to do: nothing referred to it, "
            "so it vanished mid-run. Keep a reference to every task until it is done."
        ),
    ),
    (
        "exception-never-retrieved",
        re.compile(r"(Task|Future) exception was never retrieved"),
        (
            "A task raised an exception that nobody awaited, so the error went unseen; await the "
            "task (or gather it) to get its exception."
        ),
    ),
    (
        "unawaited-sleep",
        re.compile(r"coroutine 'sleep' was never awaited"),
        "`asyncio.sleep(...)` without `await` does not sleep or give way at all.",
    ),
)
_OTHER_WHY = "Python printed this while running your code; it usually points at the bug."
_MAX_WARNINGS = 5


def classify_warnings(raw: Sequence[str]) -> tuple[PythonWarning, ...]:
    """Python's warnings and asyncio's stderr complaints, named, each once, with why."""
    found: dict[str, PythonWarning] = {}
    for text in raw:
        line = " ".join(str(text).split())
        if not line:
            continue
        kinds = [(kind, why) for kind, pattern, why in _WARNINGS if pattern.search(line)]
        if kinds:
            kind = "+".join(k for k, _ in kinds)
            why = " ".join(w for _, w in kinds)
        elif line.startswith(("RuntimeWarning", "ResourceWarning", "DeprecationWarning")):
            kind, why = "other", _OTHER_WHY
        else:
            continue
        key = f"{kind}:{line}"
        if key not in found and len(found) < _MAX_WARNINGS:
            found[key] = PythonWarning(kind, learner(line[:300]), why)
    return tuple(found.values())


def stderr_warnings(stderr: str) -> list[str]:
    """The lines of a child's stderr that are asyncio's own complaints (read in the parent)."""
    return [
        line.strip()
        for line in stderr.splitlines()
        if any(pattern.search(line) for _, pattern, _ in _WARNINGS)
    ]


def _same_program(source: bytes, stub: bytes) -> bool:
    try:
        return ast.dump(ast.parse(source)) == ast.dump(ast.parse(stub))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def program_attempted(source: bytes | None, stub: bytes | None) -> bool:
    """A produce attempt: the file parses and is not the stub (comments and spacing aside)."""
    if source is None:
        return False
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    if stub is None:
        return True  # no stub to compare with: the file was written by someone
    return not _same_program(source, stub)


def _todo(exercise: Exercise) -> str:
    where = f"`exercises/{exercise.file}`"
    if exercise.kind == "predict":
        return (
            f"open {where}, decide what the program prints, and write it in `PREDICTION`; "
            f"then `nox -s grade -- --only {exercise.id}`."
        )
    return (
        f"open {where} and change the code between the TODO markers as its docstring asks; "
        f"then `nox -s grade -- --only {exercise.id}`."
    )


def _facts(details: Mapping[str, Any]) -> Facts | None:
    raw = details.get("facts")
    if not isinstance(raw, list):
        return None
    return Facts(
        tuple(
            FactAnswer(
                learner(item.get("question", "")),
                learner(item.get("yours", "")),
                None if item.get("right") is None else learner(item["right"]),
            )
            for item in raw
            if isinstance(item, dict)
        )
    )


def skipped_summary(exercise: Exercise) -> str:
    """What a learner on an older Python is told: why, and how to grade it on a newer one."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (
        f"Skipped: this exercise needs Python {exercise.python_label} or newer (grading ran on "
        f"{here}). To grade it, install Python {exercise.python_label} and run "
        f"`nox -s grade --force-python {exercise.python_label} -- --only {exercise.id}`."
    )


def compose(
    exercise: Exercise,
    status: str,
    items: Sequence[ItemResult],
    details: dict[str, Any],
    *,
    score: float,
    max_score: float,
    attempted: bool,
) -> ExerciseFeedback:
    """The parts of one exercise's feedback (`details` loses the pieces the parts now hold)."""
    comparisons = details.pop("comparisons", {})
    raw_warnings = details.pop("python_warnings", [])
    facts = _facts(details)
    details.pop("facts", None)
    head: dict[str, Any] = {
        "id": exercise.id,
        "title": exercise.title,
        "file": exercise.file,
        "kind": exercise.kind,
        "status": status,
        "score": score,
        "max_score": max_score,
    }
    hint_command = f"Stuck? `nox -s hint -- {exercise.id}` shows a hint."
    if status == "skipped":
        return ExerciseFeedback(
            **head, summary=skipped_summary(exercise), needs_python=exercise.python_label
        )
    if status == "not-submitted":
        reason = next((item.message for item in items if item.message), "not attempted yet")
        return ExerciseFeedback(
            **head,
            summary=f"Not submitted: {reason}.",
            todo=_todo(exercise),
            commands=(hint_command,),
        )
    # Credit is earned only by code that ran and did part of the job: that was an attempt.
    attempted = attempted or status == "passed" or score > 0
    failing = [item for item in items if item.outcome != "passed" and item.message]
    shown = failing[0] if failing else None
    messages = list(dict.fromkeys(item.message for item in failing))
    summary = ""
    message = None
    if exercise.kind == "predict" and items and items[0].message:
        summary = items[0].message  # the order summary the predict grader wrote
    elif shown is not None:
        message = learner(cap(shown.message, MESSAGE_LIMIT))
    if facts is not None and attempted:
        right = len(facts.answers) - len(facts.wrong)
        summary = f"{right} of {len(facts.answers)} answers right."
    if not attempted and status != "error":
        summary = "Not started: this is still the stub."
        message = None
    comparison = None
    if attempted and shown is not None:
        comparison = comparison_from(comparisons.get(shown.name))
    if exercise.kind == "predict" and attempted:
        comparison = comparison_from(details.get("comparison"))
    details.pop("comparison", None)
    timeline = None
    predicted, trace = details.get("predicted"), details.get("trace")
    if details.get("timeline") and isinstance(predicted, list) and isinstance(trace, dict):
        # The details hold the run's checked trace (`sandbox.protocol`), as plain JSON data.
        timeline = TimelineInput(tuple(learner(line) for line in predicted), cast("Trace", trace))
    beliefs = tuple(
        Belief(str(item["id"]), str(item["belief"]), str(item["why"]))
        for item in details.get("misconceptions", [])
        if isinstance(item, dict)
    )
    passed = status == "passed"
    return ExerciseFeedback(
        **head,
        summary=summary,
        attempted=attempted,
        message=message,
        more_checks=max(0, len(messages) - 1) if attempted else 0,
        comparison=comparison,
        facts=facts if attempted and not passed else None,
        timeline=timeline if attempted and not passed and facts is None else None,
        beliefs=beliefs if attempted else (),
        warnings=classify_warnings([str(w) for w in raw_warnings]),
        todo=None if attempted else _todo(exercise),
        hint=exercise.hint if attempted and not passed else None,
        explanation=exercise.explanation if attempted else None,
        brief=first_sentence(exercise.explanation) if passed else None,
        commands=() if attempted else (hint_command,),
    )
