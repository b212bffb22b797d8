"""What hidden tests of *produce* exercises use: run the learner's code, check what it did.

`Learner.run` runs a function from the learner's file in the sandbox (hidden variants pass
other labels, counts and delays); `Learner.reference` runs the same call on the kit's solution,
so the expected order comes from asyncio itself. `expect_order` fails the test with both orders
side by side.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pytest

from grader.feedback.compare import compare, shown
from grader.feedback.compose import stderr_warnings
from grader.grading.session import GradingSession, OrderMismatchError
from grader.grading.truth import kit_call
from grader.model.curriculum import Exercise
from grader.model.errors import HANG_KINDS, FailureKind, LearnerCodeError
from grader.model.ordering import Block, flatten, score_order
from grader.runtime import source_rules
from grader.sandbox.runs import Run, execute

_reference_cache: dict[tuple[str, str], Run] = {}

#: After this many runs of one exercise's code ran out of time, its other checks are not run:
#: code that hangs on two inputs hangs, and each more run would cost seconds of the class's
#: grading time for the same verdict.
HANGS_ALLOWED = 2
#: The kind of a run that reached into the grader (see docs/produce-integrity.md).
REFUSED = FailureKind.REFUSED


class Learner:
    """Runs functions of one exercise's learner file (and of the kit's solution)."""

    def __init__(self, session: GradingSession, exercise: Exercise) -> None:
        self.session = session
        self.exercise = exercise
        self._source: bytes | None = None

    @property
    def source(self) -> bytes:
        """The learner's file (NotSubmittedError if missing)."""
        if self._source is None:
            self._source = self.session.submission.source(self.exercise)
        return self._source

    def run(self, entry: str | None = None, *args: Any, **kwargs: Any) -> Run:
        """Call `entry(*args, **kwargs)` from the learner's file under the virtual clock."""
        hangs = self.session.hangs.get(self.exercise.id, [])
        if len(hangs) >= HANGS_ALLOWED:
            msg = (
                f"Not run: {self.exercise.file} already ran out of time on {len(hangs)} checks "
                f"of this exercise. The first time: {hangs[0]}"
            )
            raise LearnerCodeError(msg, FailureKind.HANG)
        self._check_source()
        try:
            run = execute(
                self.source,
                self.exercise.file,
                entry=entry or self.exercise.entry,
                args=list(args),
                kwargs=kwargs,
            )
        except LearnerCodeError as exc:
            if exc.kind in HANG_KINDS:
                self.session.hangs.setdefault(self.exercise.id, []).append(exc.message)
            if exc.kind == REFUSED:
                detail = exc.message.partition("GuardRefusal: ")[2] or exc.message
                raise LearnerCodeError(
                    f"{self.exercise.file} reached into the grader's own machinery while it ran "
                    f"({detail.rstrip('.')}), so nothing it printed or counted can be trusted: "
                    "the run scores nothing. Solve the exercise with asyncio alone.",
                    REFUSED,
                ) from None
            raise
        # Python's own complaints about the learner's code become feedback (a coroutine never
        # awaited, a task destroyed while pending): read from the run, in this process.
        found = [*run.warnings, *stderr_warnings(run.stderr)]
        if found:
            details = self.session.details.setdefault(self.exercise.id, {})
            known = details.setdefault("python_warnings", [])
            known.extend(text for text in found if text not in known)
        disagreement = helpers_disagree(run, [*args, *kwargs.values()])
        if disagreement:
            msg = (
                f"{self.exercise.file}: the grader's instrumented helper does not agree with the "
                f"trace ({disagreement}), so the run's record was tampered with and scores nothing."
            )
            raise LearnerCodeError(msg, REFUSED)
        return run

    def _check_source(self) -> None:
        """Refuse, before it runs, code that walks from an object to the harness behind it."""
        found = source_rules.refusals(self.source)
        if found:
            first = found[0]
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            msg = (
                f"{self.exercise.file}, line {first.line}: {first.what} is not allowed in a "
                f"program graded by its output{more}. It reaches past asyncio into the "
                "grader's own objects, which no exercise needs; the file was not run."
            )
            raise LearnerCodeError(msg, REFUSED)

    def reference(self, entry: str | None = None, *args: Any, **kwargs: Any) -> Run:
        """The same call on the kit's solution: the true order for this variant."""
        key = (self.exercise.id, json.dumps([entry, args, kwargs], sort_keys=True))
        cached = _reference_cache.get(key)
        if cached is None:
            # From the disk cache when the kit's solution already ran this call (`truth`).
            cached = kit_call(
                self.session.kit, self.exercise, entry or self.exercise.entry, list(args), kwargs
            )
            _reference_cache[key] = cached
        return cached


def _helper_specs(values: Sequence[Any]) -> list[dict[str, Any]]:
    return [v for v in values if isinstance(v, dict) and "$helper" in v]


def helpers_disagree(run: Run, passed: Sequence[Any]) -> str:
    """Where an instrumented helper's counters and the lines it printed disagree ('' if not).

    The child keeps the two records apart: a rewrite of one but not the other shows up here.
    """
    for spec in _helper_specs(passed):
        name = str(spec["$helper"])
        stats = run.helpers.get(str(spec.get("$as", name)))
        if not isinstance(stats, dict):
            return f"no counters came back for `{name}`"
        if name == "expensive":
            starts = run.lines.count(f"{spec.get('label', 'expensive')} starts")
            if stats.get("calls") != starts or len(stats.get("started_ns", ())) != starts:
                return f"it counted {stats.get('calls')} runs but printed {starts} starts"
        elif name == "ticker":
            beat = re.compile(re.escape(str(spec.get("label", "tick"))) + r" \d+")
            ticks = sum(1 for line in run.lines if beat.fullmatch(line))
            if len(stats.get("ticks_ns", ())) != ticks:
                return f"it noted {len(stats.get('ticks_ns', ()))} beats but printed {ticks}"
        elif name == "blocking" and len(stats.get("in_loop_thread", ())) != stats.get("calls"):
            return "its call count and its thread notes differ"
    return ""


def expect_order(
    run: Run,
    expected: Sequence[str] | Sequence[Block],
    what: str,
    *,
    reference: Run | None = None,
) -> None:
    """Fail with a side-by-side picture unless `run` printed `expected` (blocks or lines).

    With `reference` (the kit's solution run on the same call), the lines must also come from
    the same tasks: printing the required lines from one coroutine, without the concurrency
    the exercise is about, has the right order but not the right tasks.
    """
    blocks = [item if isinstance(item, Block) else Block((str(item),)) for item in expected]
    score = score_order(run.lines, blocks)
    if score.fraction < 1.0:
        comparison = compare(
            run.lines, blocks, score, left_title="your code printed", right_title="expected"
        )
        # The comparison holds a bounded prefix of a long output: say so in the message too.
        note = shown(run.lines, flatten(blocks)).note(
            len(flatten(blocks)), yours="Your code printed", theirs="the exercise expects"
        )
        raise OrderMismatchError(
            f"{what}: the order is not the one required." + (f" {note}" if note else ""),
            comparison,
        )
    if reference is not None and reference.lines == run.lines:
        mine, theirs = task_groups(run), task_groups(reference)
        if set(mine.values()) != set(theirs.values()):
            pytest.fail(
                f"{what}: the right lines in the right order, but not printed by the right "
                f"tasks.\n\nIn asyncio's run of the exercise: {_describe_groups(theirs)}.\n"
                f"In yours: {_describe_groups(mine)}.",
                pytrace=False,
            )


def task_groups(run: Run) -> dict[str, frozenset[int]]:
    """Which printed lines (by index) each task printed; task names themselves may differ."""
    groups: dict[str, set[int]] = {}
    for index, line in enumerate(run.trace["lines"]):
        groups.setdefault(str(line["task"] or "no task"), set()).add(index)
    return {task: frozenset(indexes) for task, indexes in groups.items()}


def _describe_groups(groups: dict[str, frozenset[int]]) -> str:
    parts = [
        f"`{task}` printed line{'s' if len(lines) > 1 else ''} "
        + ", ".join(str(index + 1) for index in sorted(lines))
        for task, lines in groups.items()
    ]
    return f"{len(groups)} task(s) - " + "; ".join(parts)
