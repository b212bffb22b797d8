"""The grader's truth for every predict exercise is what asyncio really prints, on this Python.

The grader computes a prediction's truth by running the kit's snippet under the virtual clock.
That is only right if the virtual clock never changes an order, so for each predict exercise,
by name, this file runs the pristine snippet four ways and checks they agree:

- under the virtual clock (the grader's truth);
- under the virtual clock with a 1 ms late wake-up on every clock jump: a snippet whose order
  depends on how punctual timers are would change here, and must not be an exercise as it is;
- under the real clock, in the sandbox (`clock="real"`): real sleeps, the same trace recorder;
- as a plain `python snippet.py`, without any of the kit's runtime: the order a learner sees on
  their own machine, which also proves the kit's instrumentation is invisible (a recorder that
  added a done callback would change `task._callbacks`) and that no warning leaks to stderr.

The hand-written answer key in `solutions/` must equal the truth as well.

Real-clock runs really sleep, so they all start at once in one session fixture: the file costs
about as long as the slowest snippet, not the sum of all of them.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.feedback.compare import side_by_side
from grader.model.answers import read_prediction
from grader.model.curriculum import Exercise, load
from grader.model.kit import Kit
from grader.model.ordering import Block, score_order
from grader.sandbox.runs import Run, execute

KIT = Kit(Path(__file__).resolve().parent.parent)
PREDICT = [exercise for exercise in load(KIT.curriculum_file) if exercise.kind == "predict"]
LATE_WAKE_UP = {"hop_latency_ns": 1_000_000}


@dataclass(frozen=True)
class Bare:
    """What `python snippet.py` printed, with no kit code involved."""

    lines: list[str]
    stderr: str
    returncode: int


@dataclass(frozen=True)
class Observed:
    """One snippet, run every way."""

    virtual: Run
    late: Run
    real: Run
    bare: Bare


def _source(exercise: Exercise) -> bytes:
    return (KIT.solutions / exercise.file).read_bytes()


def _bare(exercise: Exercise) -> Bare:
    completed = subprocess.run(
        [sys.executable, "-I", str(KIT.solutions / exercise.file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Bare(completed.stdout.splitlines(), completed.stderr, completed.returncode)


@pytest.fixture(scope="session")
def observed() -> dict[str, Observed]:
    """Every supported predict snippet, run every way (the sleeping runs all at once)."""
    runnable = [exercise for exercise in PREDICT if exercise.supported()]

    def virtual(exercise: Exercise, loop: dict[str, int] | None = None) -> Run:
        return execute(_source(exercise), exercise.file, entry=exercise.entry, loop=loop)

    def real(exercise: Exercise) -> Run:
        return execute(_source(exercise), exercise.file, entry=exercise.entry, clock="real")

    # Virtual runs are quick and use the CPU: a small pool, before the real clocks start.
    with ThreadPoolExecutor(max_workers=2) as pool:
        on_time = {e.id: pool.submit(virtual, e) for e in runnable}
        late = {e.id: pool.submit(virtual, e, LATE_WAKE_UP) for e in runnable}
    # Real-clock runs mostly sleep: start them all together.
    with ThreadPoolExecutor(max_workers=2 * len(runnable)) as pool:
        real_futures = {e.id: pool.submit(real, e) for e in runnable}
        bare_futures = {e.id: pool.submit(_bare, e) for e in runnable}
    real_runs = {key: future.result() for key, future in real_futures.items()}
    bare = {key: future.result() for key, future in bare_futures.items()}
    # Dozens of snippets sleeping side by side on two cores wake up late, and a late wake-up
    # can reorder a real run (that is what the late-wake-up check is about). A snippet whose
    # real run disagreed runs again alone, up to twice, before the test judges it.
    for exercise in runnable:
        truth = on_time[exercise.id].result().blocks
        for _ in range(2):
            agrees = _agrees(real_runs[exercise.id].lines, truth)
            if agrees and _agrees(bare[exercise.id].lines, truth):
                break
            if not agrees:
                real_runs[exercise.id] = real(exercise)
            else:
                bare[exercise.id] = _bare(exercise)
    return {
        e.id: Observed(on_time[e.id].result(), late[e.id].result(), real_runs[e.id], bare[e.id])
        for e in runnable
    }


def _agrees(lines: list[str], truth: list[Block]) -> bool:
    return score_order(lines, truth).fraction == 1.0


def _same_order(lines: list[str], truth: list[Block], what: str) -> None:
    score = score_order(lines, truth)
    assert score.fraction == 1.0, f"{what} differs from the virtual-clock truth:\n" + side_by_side(
        lines, truth, score, left_title=what, right_title="virtual clock"
    )


@pytest.mark.parametrize(
    "exercise",
    [
        pytest.param(
            exercise,
            id=exercise.id,
            marks=pytest.mark.skipif(
                not exercise.supported(), reason=f"needs Python {exercise.python_label}+"
            ),
        )
        for exercise in PREDICT
    ],
)
def test_truth_is_the_real_clock_order(exercise: Exercise, observed: dict[str, Observed]) -> None:
    runs = observed[exercise.id]
    truth = runs.virtual.blocks
    assert truth, f"{exercise.id}: the snippet printed nothing"
    _same_order(runs.real.lines, truth, "real clock")
    _same_order(runs.late.lines, truth, "1 ms late wake-ups")
    _same_order(runs.bare.lines, truth, "plain python")
    _same_order(list(read_prediction(_source(exercise), exercise.file).lines), truth, "answer key")


@pytest.mark.parametrize(
    "exercise",
    [
        pytest.param(
            exercise,
            id=exercise.id,
            marks=pytest.mark.skipif(
                not exercise.supported(), reason=f"needs Python {exercise.python_label}+"
            ),
        )
        for exercise in PREDICT
    ],
)
def test_snippet_runs_cleanly(exercise: Exercise, observed: dict[str, Observed]) -> None:
    runs = observed[exercise.id]
    assert runs.bare.returncode == 0, runs.bare.stderr
    # No "coroutine ... was never awaited", no "Task was destroyed but it is pending".
    assert runs.bare.stderr == ""
    assert runs.virtual.warnings == ()
    assert runs.real.warnings == ()
