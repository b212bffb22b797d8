"""Hidden tests for `blocking-to-thread`: the blocking call leaves the loop, the beats stay on time.

The tests pass an instrumented blocking function (the sandbox's `blocking` helper, which notes
whether it ran in the event loop's thread) and an instrumented heartbeat (`ticker`, which notes
when each beat came).
"""

from __future__ import annotations

from typing import Any

import pytest

from grader.grading.produce import Learner, expect_order

pytestmark = pytest.mark.exercise("blocking-to-thread")

NS = 1_000_000_000


def _call(learner: Learner, value: str, seconds: float, every: float, count: int) -> Any:
    return learner.run(
        "main",
        fetch={"$helper": "blocking", "value": value, "seconds": seconds},
        beats={"$helper": "ticker", "label": "beat", "every": every, "count": count},
    )


@pytest.mark.points(1)
def test_the_visible_example_keeps_the_beat(learner: Learner) -> None:
    run = learner.run("main")
    expect_order(run, learner.reference("main").lines, "main() with the defaults")


@pytest.mark.points(1)
@pytest.mark.parametrize(
    ("seconds", "every", "count"),
    [(1.0, 0.25, 6), (2.0, 0.1, 5)],
    ids=["one-second-call", "two-second-call"],
)
def test_hidden_variants_beat_on_time(
    learner: Learner, seconds: float, every: float, count: int
) -> None:
    run = _call(learner, "figures", seconds, every, count)
    calls = run.helpers["blocking"]["calls"]
    assert calls == 1, f"fetch() was called {calls} times; call it exactly once."
    came = run.helpers["ticker"]["ticks_ns"]
    due = [round(n * every * NS) for n in range(count)]
    assert came == due, (
        f"With a {seconds:g} s blocking call, beats due at "
        f"{[t / NS for t in due]} s came at {[t / NS for t in came]} s: the event loop was blocked."
    )


@pytest.mark.points(1)
def test_the_blocking_call_runs_once_outside_the_loop_thread(learner: Learner) -> None:
    run = _call(learner, "ledger", 1.5, 0.5, 2)
    stats = run.helpers["blocking"]
    assert stats["calls"] == 1, f"fetch() was called {stats['calls']} times; call it exactly once."
    assert stats["in_loop_thread"] == [False], (
        "fetch() ran in the event loop's own thread, so it blocked the loop; run it in another "
        "thread."
    )


@pytest.mark.points(1)
def test_make_report_prints_and_returns_the_result(learner: Learner) -> None:
    run = _call(learner, "quarterly numbers", 0.8, 0.3, 4)
    assert run.returned == "quarterly numbers", (
        f"main() should return what fetch() returned ('quarterly numbers'), not {run.returned!r}."
    )
    start, done = "report: start", "report: quarterly numbers"
    assert start in run.lines, f"make_report never printed `{start}`."
    assert done in run.lines, f"make_report never printed `{done}`."
    assert run.lines.index(start) < run.lines.index(done), f"`{done}` came before `{start}`."
    assert run.end_seconds == 1.2, (
        f"A 0.8 s call beside a 1.2 s heartbeat takes 1.2 s in all, not {run.end_seconds:g} s."
    )
