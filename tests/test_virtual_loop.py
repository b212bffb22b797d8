"""The virtual-clock loop: orders identical to real time, sleeps free, runs that cannot end stopped.

The design notes list how a naive fast-forward clock goes wrong; each case here is one of them.
Tests marked `asyncio` run under pytest-asyncio on the virtual loop itself (see the
`pytest_asyncio_loop_factories` hook in conftest.py), the way a kit author would test asyncio
code without waiting.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from grader.runtime.virtual_loop import (
    BusyLoopError,
    DeadlockError,
    VirtualClockLoop,
    VirtualClockPolicy,
    VirtualTimeLimitError,
)


def _run(coro_factory, **loop_options):  # type: ignore[no-untyped-def]
    loop = VirtualClockLoop(**loop_options)
    try:
        return loop.run_until_complete(coro_factory())
    finally:
        loop.close()


@pytest.mark.asyncio
async def test_pytest_asyncio_runs_on_the_virtual_loop_and_an_hour_is_free() -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualClockLoop)
    started = time.perf_counter()
    await asyncio.sleep(3600)
    assert loop.time() == 3600.0
    assert time.perf_counter() - started < 60  # real time barely moved; not a speed claim


@pytest.mark.parametrize("count", [4, 6, 16])
def test_equal_deadlines_fire_in_the_order_they_were_set(count: int) -> None:
    order: list[int] = []

    async def sleeper(n: int) -> None:
        await asyncio.sleep(1)
        order.append(n)

    async def main() -> None:
        await asyncio.gather(*(sleeper(n) for n in range(count)))

    _run(main)
    assert order == list(range(count))


def test_no_float_drift_between_two_short_sleeps_and_one_long() -> None:
    order: list[str] = []

    async def two_hops() -> None:
        await asyncio.sleep(0.7)
        await asyncio.sleep(0.1)
        order.append("two hops")

    async def one_hop() -> None:
        await asyncio.sleep(0.8)
        order.append("one hop")

    async def main() -> None:
        await asyncio.gather(one_hop(), two_hops())

    _run(main)
    # The single 0.8 s timer was set first at t=0; the second hop's 0.8 deadline is set later.
    assert order == ["one hop", "two hops"]


def test_the_clock_jumps_only_when_nothing_is_ready() -> None:
    seen: list[tuple[str, float]] = []

    async def spinner() -> None:
        for _ in range(3):
            seen.append(("spin", asyncio.get_running_loop().time()))
            await asyncio.sleep(0)

    async def main() -> None:
        task = asyncio.create_task(spinner())
        await asyncio.sleep(1)
        seen.append(("main", asyncio.get_running_loop().time()))
        await task

    _run(main)
    assert seen == [("spin", 0.0), ("spin", 0.0), ("spin", 0.0), ("main", 1.0)]


def test_a_deadlock_is_stopped_with_a_message() -> None:
    async def main() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(DeadlockError, match="deadlock"):
        _run(main)


def test_a_busy_sleep0_loop_hits_the_step_limit() -> None:
    async def main() -> None:
        while True:
            await asyncio.sleep(0)

    with pytest.raises(BusyLoopError, match="sleep\\(0\\)"):
        _run(main, max_steps=5_000)


def test_a_runaway_clock_hits_the_virtual_time_limit() -> None:
    async def main() -> None:
        while True:
            await asyncio.sleep(10)

    with pytest.raises(VirtualTimeLimitError, match="100 s"):
        _run(main, max_virtual_seconds=100)


def test_work_in_an_executor_thread_is_waited_for_in_real_time() -> None:
    async def main() -> str:
        return await asyncio.get_running_loop().run_in_executor(None, lambda: "from a thread")

    assert _run(main) == "from a thread"


def test_hop_latency_delays_every_jump() -> None:
    async def main() -> float:
        await asyncio.sleep(1)
        await asyncio.sleep(1)
        return asyncio.get_running_loop().time()

    assert _run(main, hop_latency_ns=1_000_000) == pytest.approx(2.002)


def test_the_policy_routes_a_plain_asyncio_run() -> None:
    policy = VirtualClockPolicy()
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(policy)
    try:

        async def main() -> float:
            await asyncio.sleep(5)
            return asyncio.get_running_loop().time()

        assert asyncio.run(main()) == 5.0
    finally:
        asyncio.set_event_loop_policy(previous)
    assert len(policy.loops) == 1
    assert policy.loops[0].phase == "shutdown"
