"""Instrumented stand-ins that hidden tests hand to learner code inside the sandbox.

A hidden test for a *produce* exercise often needs to know more than what was printed: how many
times the expensive coroutine really ran, or when each waiter received its value. The test names
a helper in its JSON request (`{"$helper": "expensive", "value": 7, "delay": 2}`); the sandbox
builds the object here and reports its counters back as plain data.

Learner code is handed these objects, so what they count is kept where it cannot reach: in
closures (the grader refuses `__closure__` and friends), and time is read from the virtual
loop's own clock through its class, never through a method of the loop instance that learner
code might have shadowed (see docs/produce-integrity.md).

Standard library only: this module runs inside the learner's sandbox.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

Stats = dict[str, Any]
_running_loop = asyncio._get_running_loop  # noqa: SLF001 - looked up once, cheap, never raises


def _now_ns() -> int:
    """The running loop's clock in nanoseconds (the virtual one where there is one)."""
    loop = _running_loop()
    if loop is None:
        return 0
    # The virtual loop's clock, read through its class (a property an instance cannot shadow).
    # No import of virtual_loop: the benchmark's naive baseline loads this file on its own.
    # The graded loop hides the name from instances, so look for the property along the MRO.
    for cls in type(loop).__mro__:
        clock = vars(cls).get("now_ns")
        if isinstance(clock, property) and clock.fget is not None:
            return int(clock.fget(loop))
    return round(loop.time() * 1e9)


def _expensive(
    stats: Stats, *, value: Any = 42, delay: float = 2.0, label: str = "expensive"
) -> Any:
    """A coroutine function that counts its runs and returns `value` after `delay` seconds."""
    stats.update(calls=0, started_ns=[], finished_ns=[])

    async def expensive() -> Any:
        stats["calls"] += 1
        stats["started_ns"].append(_now_ns())
        print(f"{label} starts")
        await asyncio.sleep(delay)
        print(f"{label} finished")
        stats["finished_ns"].append(_now_ns())
        return value

    expensive.__qualname__ = label
    return expensive


def _ticker(stats: Stats, *, label: str = "tick", every: float = 0.25, count: int = 4) -> Any:
    """A coroutine function that prints `label n` every `every` seconds, `count` times."""
    stats.update(ticks_ns=[])

    async def ticker() -> None:
        for n in range(count):
            print(f"{label} {n}")
            stats["ticks_ns"].append(_now_ns())
            await asyncio.sleep(every)

    ticker.__qualname__ = label
    return ticker


def _blocking(stats: Stats, *, value: Any = "done", seconds: float = 1.0) -> Any:
    """A plain (blocking) function that sleeps `seconds` with `time.sleep` and returns `value`.

    It notes each call and whether it ran in the event loop's own thread (where it holds up
    every task) or in a worker thread (`asyncio.to_thread`, `run_in_executor`).
    """
    stats.update(calls=0, in_loop_thread=[])

    def blocking_call() -> Any:
        stats["calls"] += 1
        # A running loop in this thread means the call is blocking that loop.
        stats["in_loop_thread"].append(_running_loop() is not None)
        time.sleep(seconds)
        return value

    return blocking_call


HELPERS: dict[str, Callable[..., Any]] = {
    "expensive": _expensive,
    "ticker": _ticker,
    "blocking": _blocking,
}


def build(spec: Any, stats: dict[str, Stats]) -> Any:
    """Replace every `{"$helper": name, ...}` inside a JSON value by the helper it names."""
    if isinstance(spec, list):
        return [build(item, stats) for item in spec]
    if isinstance(spec, dict):
        if "$helper" in spec:
            options = dict(spec)
            name = options.pop("$helper")
            key = options.pop("$as", name)
            stats[key] = {}
            return HELPERS[name](stats[key], **options)
        return {key: build(value, stats) for key, value in spec.items()}
    return spec
