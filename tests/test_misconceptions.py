"""Wrong mental models run for real, and the diagnosis that names the one a prediction matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.grading import misconceptions
from grader.grading.truth import truth_of
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.runtime import misbeliefs
from grader.sandbox.runs import execute

# One small program per belief, and what it prints under asyncio and under the belief.
MODELS: dict[str, tuple[bytes, list[str], list[str]]] = {
    "create-task-runs-at-once": (
        b"""
import asyncio

async def job():
    print("job starts")
    await asyncio.sleep(1)
    print("job ends")

async def main():
    task = asyncio.create_task(job())
    print("main goes on")
    await task
""",
        ["main goes on", "job starts", "job ends"],
        ["job starts", "job ends", "main goes on"],
    ),
    "coroutine-runs-concurrently": (
        b"""
import asyncio

async def job():
    print("job starts")
    await asyncio.sleep(1)
    print("job ends")

async def main():
    coro = job()
    print("main sleeps")
    await asyncio.sleep(2)
    print("main awaits job")
    await coro
""",
        ["main sleeps", "main awaits job", "job starts", "job ends"],
        ["main sleeps", "job starts", "job ends", "main awaits job"],
    ),
    "sleep0-does-nothing": (
        b"""
import asyncio

async def worker(label):
    for step in range(2):
        print(f"{label} {step}")
        await asyncio.sleep(0)

async def main():
    await asyncio.gather(worker("A"), worker("B"))
""",
        ["A 0", "B 0", "A 1", "B 1"],
        ["A 0", "A 1", "B 0", "B 1"],
    ),
    "run-waits-for-every-task": (
        b"""
import asyncio

async def job():
    print("job starts")
    await asyncio.sleep(1)
    print("job ends")

async def main():
    asyncio.create_task(job())
    await asyncio.sleep(0)
    print("main returns")
""",
        ["job starts", "main returns"],
        ["job starts", "main returns", "job ends"],
    ),
    "gather-one-after-another": (
        b"""
import asyncio

async def brew(name, seconds):
    print(f"{name} starts")
    await asyncio.sleep(seconds)
    print(f"{name} ready")

async def main():
    await asyncio.gather(brew("tea", 2), brew("toast", 1))
""",
        ["tea starts", "toast starts", "toast ready", "tea ready"],
        ["tea starts", "tea ready", "toast starts", "toast ready"],
    ),
    "task-starts-when-awaited": (
        b"""
import asyncio

async def job():
    print("job runs")

async def main():
    task = asyncio.create_task(job())
    await asyncio.sleep(1)
    print("main awaits the task")
    await task
""",
        ["job runs", "main awaits the task"],
        ["main awaits the task", "job runs"],
    ),
    "sleep-blocks": (
        b"""
import asyncio

async def ticker(label):
    for step in range(2):
        print(f"{label} {step}")
        await asyncio.sleep(1)

async def main():
    await asyncio.gather(ticker("A"), ticker("B"))
""",
        ["A 0", "B 0", "A 1", "B 1"],
        ["A 0", "A 1", "B 0", "B 1"],
    ),
}


def test_every_runtime_model_has_wording_and_a_test() -> None:
    assert set(misbeliefs.NAMES) == set(misconceptions.BY_ID) == set(MODELS)


@pytest.mark.parametrize("name", list(MODELS))
def test_each_model_really_runs_the_belief(name: str) -> None:
    source, truth, believed = MODELS[name]
    assert execute(source, "snippet.py").lines == truth
    assert execute(source, "snippet.py", misbelief=name).lines == believed


@pytest.mark.parametrize("name", list(MODELS))
def test_models_leave_what_they_do_not_touch_alone(name: str) -> None:
    # A program with one task and no sleep, gather, coroutine or leftover: every belief agrees.
    source = b"""
import asyncio

async def main():
    print("one")
    print("two")
"""
    assert execute(source, "plain.py", misbelief=name).lines == ["one", "two"]


def test_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown misbelief"):
        misbeliefs.apply("asyncio-is-magic")


def test_a_task_run_at_once_that_must_wait_goes_on_as_a_task() -> None:
    # "create_task runs it at once" runs the task until it waits for something only the loop
    # can deliver (here an event main sets later); the rest of it then runs as a normal task.
    source = b"""
import asyncio

async def main():
    ready = asyncio.Event()
    async def waiter():
        print("waiter waits")
        await ready.wait()
        print("waiter woke")
    task = asyncio.create_task(waiter())
    print("main sets the event")
    ready.set()
    await task
"""
    assert execute(source, "event.py").lines == [
        "main sets the event",
        "waiter waits",
        "waiter woke",
    ]
    believed = execute(source, "event.py", misbelief="create-task-runs-at-once").lines
    assert believed == ["waiter waits", "main sets the event", "waiter woke"]


def test_a_model_that_cannot_run_a_snippet_explains_nothing(tmp_path: Path) -> None:
    # Waiting for a task that never ends stops at the virtual-time guard: no diagnosis from it.
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    (solutions / "forever.py").write_bytes(b"""
import asyncio

async def forever():
    while True:
        await asyncio.sleep(1)

async def main():
    asyncio.create_task(forever())
    print("main returns")
""")
    exercise = Exercise("forever", "forever.py", "t", "predict", 1, (), "h", "e")
    small_kit = Kit(tmp_path)
    truth = truth_of(small_kit, exercise).blocks
    assert misconceptions.model_blocks(small_kit, exercise, "run-waits-for-every-task") is None
    assert misconceptions.diagnose(small_kit, exercise, ["main returns", "more"], truth) == []


# --- against the curriculum ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def reached(kit: Kit, curriculum: tuple[Exercise, ...]) -> dict[str, list[str]]:
    """For each exercise this Python runs, the beliefs whose output differs from asyncio's."""
    return {
        exercise.id: misconceptions.reached(kit, exercise, truth_of(kit, exercise).blocks)
        for exercise in curriculum
        if exercise.supported()
    }


def test_each_model_is_reached_by_an_exercise(reached: dict[str, list[str]]) -> None:
    reach = {name: [e for e, names in reached.items() if name in names] for name in MODELS}
    unreached = [name for name, exercises in reach.items() if not exercises]
    assert not unreached, reach


def test_a_right_prediction_triggers_no_misconception(
    kit: Kit, curriculum: tuple[Exercise, ...], reached: dict[str, list[str]]
) -> None:
    for exercise in curriculum:
        if exercise.kind != "predict" or not exercise.supported():
            continue
        truth = truth_of(kit, exercise).blocks
        right = [line for block in truth for line in block.lines]
        assert misconceptions.diagnose(kit, exercise, right, truth) == [], exercise.id


def test_a_prediction_equal_to_a_model_names_that_model(
    kit: Kit, curriculum: tuple[Exercise, ...], reached: dict[str, list[str]]
) -> None:
    checked = 0
    for exercise in curriculum:
        if exercise.kind != "predict" or exercise.id not in reached:
            continue
        truth = truth_of(kit, exercise).blocks
        for name in reached[exercise.id]:
            believed = misconceptions.model_blocks(kit, exercise, name)
            assert believed is not None
            lines = [line for block in believed for line in block.lines]
            if not lines:
                continue  # an empty PREDICTION is "not submitted", never diagnosed
            found = misconceptions.diagnose(kit, exercise, lines, truth)
            assert name in [d.misconception.id for d in found], (exercise.id, name)
            text = misconceptions.describe(found)
            assert misconceptions.BY_ID[name].belief in text
            checked += 1
    assert checked > 0


def test_describe_names_the_belief_and_why_asyncio_differs() -> None:
    one = misconceptions.Diagnosis(misconceptions.BY_ID["sleep0-does-nothing"], ("a",))
    text = misconceptions.describe([one])
    assert text.startswith("Misconception:")
    assert "`await asyncio.sleep(0)` does nothing" in text
    assert "bare yield" in text
    assert misconceptions.describe([]) == ""
