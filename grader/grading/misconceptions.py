"""Names the wrong mental model a wrong prediction came from, by running that model for real.

Each well-known wrong belief about asyncio ("create_task runs the task at once", "sleep(0) does
nothing", ...) is a real alternative behaviour in `runtime/misbeliefs.py`. For a prediction that
is not right, the grader runs the kit's pristine snippet under each belief in the sandbox (once
per snippet and belief, cached) and, when the learner's lines are exactly what a belief
produces - and that differs from what asyncio does - tells the learner which belief their answer
reflects and why asyncio behaves otherwise. Nothing here is a hand-written list of wrong
answers: if a snippet changes, the diagnoses follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grader.grading.truth import kit_run
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.model.ordering import Block, blocks_from_lines, flatten, score_order
from grader.sandbox.runs import Run


@dataclass(frozen=True)
class Misconception:
    """A wrong belief: its name in the runtime, how a learner would say it, and the truth."""

    id: str
    belief: str
    why: str
    #: The truth under `asyncio.eager_task_factory` (3.12+), where `why` would be false.
    why_eager: str = ""

    def why_for(self, exercise: Exercise) -> str:
        """The explanation that is true of this exercise's program."""
        return self.why_eager if self.why_eager and uses_eager_tasks(exercise) else self.why


def uses_eager_tasks(exercise: Exercise) -> bool:
    """True if the exercise's program runs with the eager task factory."""
    return "eager_task_factory" in exercise.topics


CATALOGUE: tuple[Misconception, ...] = (
    Misconception(
        "create-task-runs-at-once",
        "`create_task` runs the new task at once, to its end, before the next line of the code "
        "that created it",
        "`create_task` only schedules the task: it joins the ready queue and takes its first "
        "step when the creating coroutine gives way at an `await` that suspends. Until then the "
        "creator goes on with its own lines.",
        "With the eager task factory, `create_task` does start the new task at once - but only "
        "up to its first `await` that suspends (a sleep). There the task gives way, `create_task` "
        "returns and the creator goes on with its own lines; the rest of the task runs later, "
        "when the creator gives way in turn.",
    ),
    Misconception(
        "coroutine-runs-concurrently",
        "calling a coroutine function starts it running in the background, like a task",
        "Calling `f()` only makes a coroutine object; none of its code runs until it is awaited "
        "(then it runs inside the awaiting task, as part of it) or wrapped in a task with "
        "`create_task`.",
    ),
    Misconception(
        "sleep0-does-nothing",
        "`await asyncio.sleep(0)` does nothing, since it waits no time",
        "`sleep(0)` is a bare yield to the event loop: the task goes to the back of the ready "
        "queue, and every other task that is ready takes a step first.",
    ),
    Misconception(
        "run-waits-for-every-task",
        "`asyncio.run` waits for every task to finish",
        "`asyncio.run` waits only for the coroutine it was given. When that returns, it cancels "
        "every task still pending: they stop at the `await` they were waiting at, so their "
        "later lines never print (only cleanup in `except`/`finally` runs).",
    ),
    Misconception(
        "gather-one-after-another",
        "`gather` runs its awaitables one after another",
        "`gather` wraps every coroutine in a task at once; they all start on the next loop "
        "iteration and run concurrently, taking turns at every `await`. It only returns their "
        "results in the order they were given.",
        "`gather` wraps every coroutine in a task at once; with the eager task factory each "
        "starts inside that call, up to its first suspending `await`, and then they run "
        "concurrently, taking turns. It only returns their results in the order they were given.",
    ),
    Misconception(
        "task-starts-when-awaited",
        "a task starts only when something awaits it",
        "`create_task` schedules the task right away: it runs as soon as the creator gives way "
        "at any `await` that suspends (a sleep, awaiting something else), whether or not "
        "anything ever awaits the task. Awaiting it only waits for it to finish.",
        "With the eager task factory the task starts inside `create_task` itself, long before "
        "anything awaits it; awaiting it only waits for it to finish.",
    ),
    Misconception(
        "sleep-blocks",
        "`await asyncio.sleep(...)` holds everything up, like `time.sleep`",
        "`asyncio.sleep` suspends only the task that calls it and hands control back to the "
        "event loop, which runs the other ready tasks meanwhile. `time.sleep` is the one that "
        "blocks the whole loop.",
    ),
)

#: Must name exactly `runtime.misbeliefs.NAMES` (tests/test_misconceptions.py checks it): that
#: module is not imported here, since it loads asyncio, which a grade that runs no child skips.
BY_ID = {misconception.id: misconception for misconception in CATALOGUE}


@dataclass(frozen=True)
class Diagnosis:
    """A belief that produces exactly the learner's prediction, and the lines it produces."""

    misconception: Misconception
    lines: tuple[str, ...]
    #: The explanation true of the program diagnosed (see `Misconception.why_for`).
    why: str = ""

    def to_json(self) -> dict[str, str]:
        """Plain data for the results JSON."""
        return {
            "id": self.misconception.id,
            "belief": self.misconception.belief,
            "why": self.why or self.misconception.why,
        }


def model_run(kit: Kit, exercise: Exercise, name: str) -> Run | None:
    """The pristine snippet run under a belief (None if the belief cannot run it); cached."""
    run = kit_run(kit, exercise, misbelief=name)
    # Under a wrong model some snippets crash or deadlock: that model explains nothing.
    return None if isinstance(run, str) else run


def model_blocks(kit: Kit, exercise: Exercise, name: str) -> list[Block] | None:
    """What a belief prints for this exercise, as graded blocks."""
    run = model_run(kit, exercise, name)
    return None if run is None else blocks_from_lines(run.trace["lines"])


def reached(kit: Kit, exercise: Exercise, truth: Sequence[Block]) -> list[str]:
    """The beliefs whose output for this exercise differs from asyncio's (could be diagnosed)."""
    found = []
    for misconception in CATALOGUE:
        blocks = model_blocks(kit, exercise, misconception.id)
        if blocks is not None and score_order(flatten(blocks), truth).fraction < 1.0:
            found.append(misconception.id)
    return found


def diagnose(
    kit: Kit, exercise: Exercise, predicted: Sequence[str], truth: Sequence[Block]
) -> list[Diagnosis]:
    """Every belief that prints exactly the prediction, where asyncio prints something else."""
    if not predicted or score_order(predicted, truth).fraction >= 1.0:
        return []
    found = []
    for misconception in CATALOGUE:
        blocks = model_blocks(kit, exercise, misconception.id)
        if blocks is None or score_order(flatten(blocks), truth).fraction >= 1.0:
            continue
        if score_order(predicted, blocks).fraction >= 1.0:
            why = misconception.why_for(exercise)
            found.append(Diagnosis(misconception, tuple(flatten(blocks)), why))
    return found


def describe(diagnoses: Sequence[Diagnosis]) -> str:
    """The feedback paragraph: which belief the prediction reflects, and why asyncio differs."""
    if not diagnoses:
        return ""
    if len(diagnoses) == 1:
        misconception = diagnoses[0].misconception
        why = diagnoses[0].why or misconception.why
        return (
            "Misconception: your prediction is exactly what this program would print if "
            f"{misconception.belief}. In asyncio it does not work that way: {why}"
        )
    parts = [
        (
            "Misconception: your prediction is exactly what this program would print under "
            "each of these beliefs, and asyncio works otherwise:"
        )
    ]
    parts.extend(
        f"- if {d.misconception.belief}: {d.why or d.misconception.why}" for d in diagnoses
    )
    return "\n".join(parts)
