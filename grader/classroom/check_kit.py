"""`python -m grader check-kit`: the kit checks itself before anyone is graded with it.

    python -m grader check-kit [--schema-only]

An instructor who adds or edits an exercise can break the kit in ways that only show once a
class has been graded: a typo in a `file` path silently costs every student those points, an
`entry` that the solution does not define turns every attempt into an error row. This module
finds those mistakes first, in two parts:

- the schema part (`model.kit_schema`, fast, a few milliseconds; every command that grades
  runs it first and stops with exit 3 and one line): `info.toml` parses, has exercises, only
  known keys, unique ids and files, paths inside the kit; each exercise's stub and solution
  exist; the solution defines the `entry` function;
- the full part (`check-kit` without `--schema-only`; `release` and `gradescope build` run it
  with `--full`): every stub scores zero, every solution full marks (both graded through the
  real grader), and each prediction's truth is the same under the timing perturbations the
  kit's own tests use (1 ms late wake-ups on the virtual clock, and the real clock), and equals
  the answer key in `solutions/`.

`TRUTH_CHECKS` is the hook for more truth checks (the loop work adds one that proves an
exercise depends on an expected loop difference): each takes the kit and a predict exercise
and returns problems as sentences.

Exit status: 0 when every check passed, 3 when the kit is broken.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from grader.classroom.grading import GradingError, grade_one
from grader.model import curriculum as curriculum_module
from grader.model.answers import read_prediction
from grader.model.curriculum import Exercise
from grader.model.errors import LearnerCodeError
from grader.model.kit import Kit, KitError
from grader.model.kit_schema import schema_problems
from grader.model.ordering import score_order
from grader.runtime.order_check import order_dependence
from grader.sandbox.runs import execute

EXIT_OK = 0
EXIT_BROKEN_KIT = 3
#: The perturbation tests/test_truth_real_clock.py uses: every clock jump wakes 1 ms late.
LATE_WAKE_UP = {"hop_latency_ns": 1_000_000}

#: A truth check: (kit, predict exercise) -> problems, one sentence each.
TruthCheck = Callable[[Kit, Exercise], list[str]]


# --- the full part -------------------------------------------------------------------------------
def _grading_problems(kit: Kit, exercises: Sequence[Exercise]) -> list[str]:
    """Stubs score zero and solutions full marks, through the real grader."""
    problems: list[str] = []
    supported = {exercise.id: exercise for exercise in exercises if exercise.supported()}
    for folder, want in ((kit.exercises, "zero"), (kit.solutions, "full")):
        try:
            report = grade_one(folder, kit=kit)
        except GradingError as exc:
            problems.append(f"grading {folder.name}/ failed: {exc}")
            continue
        for result in report.exercises:
            exercise = supported.get(result.id)
            if exercise is None:
                continue
            if want == "zero" and result.score != 0:
                problems.append(
                    f"exercise {result.id!r}: the stub scores {result.score:g}, not 0 "
                    "(a learner would get points for nothing)"
                )
            if want == "full" and result.score != exercise.points:
                problems.append(
                    f"exercise {result.id!r}: the solution scores {result.score:g} of "
                    f"{exercise.points} ({result.status})"
                )
    return problems


def stable_truth(kit: Kit, exercise: Exercise) -> list[str]:
    """The truth of a predict exercise is the same under late wake-ups and the real clock."""
    source = (kit.solutions / exercise.file).read_bytes()
    where = f"exercise {exercise.id!r}"
    try:
        truth = execute(source, exercise.file, entry=exercise.entry).blocks
        variants = {
            "1 ms late wake-ups": execute(
                source, exercise.file, entry=exercise.entry, loop=LATE_WAKE_UP
            ).lines,
            "the real clock": execute(
                source, exercise.file, entry=exercise.entry, clock="real"
            ).lines,
        }
    except LearnerCodeError as exc:
        return [f"{where}: the solution's snippet fails: {exc.message}"]
    if not truth:
        return [f"{where}: the snippet prints nothing"]
    problems = [
        f"{where}: its order changes under {name}; the exercise depends on timing"
        for name, lines in variants.items()
        if score_order(lines, truth).fraction != 1.0
    ]
    key = list(read_prediction(source, exercise.file).lines)
    if score_order(key, truth).fraction != 1.0:
        problems.append(f"{where}: the answer key in solutions/ differs from what asyncio prints")
    return problems


def loop_difference_hook(kit: Kit, exercise: Exercise) -> list[str]:
    """The exercise's order must not rest on what the virtual clock cannot promise.

    `runtime.order_check` runs the pristine snippet as it is and under each expected difference
    between the virtual and a real loop (ties in set order, late wake-ups, time moving while
    callbacks are ready; docs/loop.md); an order that changes under one is refused here.
    """
    report = order_dependence(kit.solutions / exercise.file, entry=exercise.entry)
    if not report.depends:
        return []
    return [
        (
            f"exercise {exercise.id!r}: its order depends on an expected difference of the "
            f"virtual loop ({report.explain()}); see docs/loop.md"
        )
    ]


#: Truth checks run per supported predict exercise by the full check-kit.
TRUTH_CHECKS: list[TruthCheck] = [stable_truth, loop_difference_hook]


def full_problems(kit: Kit, *, log: Callable[[str], None] = print) -> list[str]:
    """Schema, then grading, then truth: every problem found, one sentence each."""
    problems = schema_problems(kit)
    log(f"schema: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    if problems:
        return problems
    exercises = curriculum_module.load(kit.curriculum_file)
    grading = _grading_problems(kit, exercises)
    log(f"stubs score zero, solutions full marks: {'ok' if not grading else 'FAILED'}")
    problems += grading
    predicts = [e for e in exercises if e.kind == "predict" and e.supported()]
    # Real-clock runs mostly sleep: run them side by side.
    with ThreadPoolExecutor(max_workers=max(1, len(predicts))) as pool:
        found = pool.map(
            lambda exercise: [p for check in TRUTH_CHECKS for p in check(kit, exercise)],
            predicts,
        )
        truth = [problem for problems_of_one in found for problem in problems_of_one]
    log(f"truth stable under timing perturbations: {'ok' if not truth else 'FAILED'}")
    skipped = [e.id for e in exercises if not e.supported()]
    if skipped:
        log(f"not checked on this Python ({sys.version.split()[0]}): {', '.join(skipped)}")
    return problems + truth


#: Set to 1 to make `release` and `gradescope build` run only the schema part (the kit's tests).
SCHEMA_ONLY_VAR = "ASYNCIO_KIT_SCHEMA_CHECK_ONLY"


def before_building(kit: Kit, *, log: Callable[[str], None]) -> None:
    """The full check that `release` and `gradescope build` run first; KitError if it fails.

    What a class is handed, or what a platform grades with, must come from a kit that grades
    stubs zero and solutions full, with truths that do not depend on timing.
    """
    if os.environ.get(SCHEMA_ONLY_VAR, "") not in {"", "0"}:
        problems = schema_problems(kit)
    else:
        log("checking the kit first (python -m grader check-kit; about half a minute)")
        problems = full_problems(kit, log=log)
    if problems:
        more = f" (and {len(problems) - 1} more: run python -m grader check-kit)"
        raise KitError(problems[0] + (more if len(problems) > 1 else ""))


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader check-kit`; 0 when sound, 3 when the kit is broken."""
    parser = argparse.ArgumentParser(
        prog="python -m grader check-kit",
        description="Check the kit itself: schema, stubs score zero, solutions full, truth.",
    )
    parser.add_argument(
        "--schema-only", action="store_true", help="only the fast schema part (milliseconds)"
    )
    args = parser.parse_args(argv)
    kit = Kit.installed()
    problems = schema_problems(kit) if args.schema_only else full_problems(kit)
    for problem in problems:
        print(f"the kit is broken: {problem}")  # noqa: T201
    if problems:
        return EXIT_BROKEN_KIT
    print("the kit is sound" + (" (schema only)" if args.schema_only else ""))  # noqa: T201
    return EXIT_OK
