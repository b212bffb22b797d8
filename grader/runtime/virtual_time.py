"""Makes the `time` module follow the virtual clock inside the sandbox.

Learner code measures time (`time.perf_counter()`) and blocks (`time.sleep()`); under a virtual
clock both must follow the loop, or a blocking call would cost real seconds and measured times
would be nonsense. A `time.sleep` in the loop's thread holds the whole loop, exactly as it does
in real time: the clock moves on and every other task is late. In an executor thread it waits
for the virtual clock, so `asyncio.to_thread(time.sleep, 1)` takes one virtual second while the
loop keeps running.

A thread that belongs to no loop (a process pool's manager thread, a learner's own thread)
sees a clock that moves on by a nanosecond at every reading where virtual time stood still:
library code there polls with real-time deadlines (`multiprocessing`'s `poll(0)` loops until
`deadline - monotonic() < 0`), and a clock frozen while the loop waits for that very thread
would spin it for ever.

Standard library only: this module runs inside the learner's sandbox.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from .virtual_loop import NS_PER_S, TIMED_WAIT_CODES, VirtualClockLoop, loop_of_this_thread

#: Longest real pause granted to a thread that belongs to no loop (virtual time is free).
_STRAY_THREAD_SLEEP_S = 0.05


def install(
    now_ns: Callable[[], int], advance_outside: Callable[[int], None], *, origin_ns: int = 0
) -> None:
    """Patch `time` so clocks read `now_ns()` and `sleep` moves virtual time instead of waiting.

    `advance_outside` moves the clock when code sleeps with no loop at all (module level).
    `origin_ns` is where `time.monotonic()` starts: the graded loop's `time()` starts there too,
    so the two read the same, as in a plain run (where `loop.time()` is `time.monotonic()`).
    """
    real_sleep = time.sleep
    wall_start = time.time()
    reading = _reader(now_ns)

    def monotonic() -> float:
        return (origin_ns + reading()) / NS_PER_S

    def monotonic_ns() -> int:
        return origin_ns + reading()

    def wall() -> float:
        return wall_start + reading() / NS_PER_S

    def wall_ns() -> int:
        return round(wall_start * NS_PER_S) + reading()

    def sleep(seconds: float) -> None:
        if seconds < 0:
            msg = "sleep length must be non-negative"
            raise ValueError(msg)
        loop = loop_of_this_thread()
        running = asyncio._get_running_loop()  # noqa: SLF001 - cheap, never raises
        if isinstance(loop, VirtualClockLoop) and running is loop:
            VirtualClockLoop.block_for(loop, seconds)  # never a name an instance shadows
        elif isinstance(loop, VirtualClockLoop):
            VirtualClockLoop.thread_sleep(loop, seconds)
        elif running is None and _is_main_thread():
            advance_outside(round(seconds * NS_PER_S))
        else:
            real_sleep(min(seconds, _STRAY_THREAD_SLEEP_S))

    # A stray thread in this sleep wakes by itself: the loop must not call it a deadlock.
    TIMED_WAIT_CODES.add(sleep.__code__)
    time.monotonic = monotonic
    time.perf_counter = monotonic
    time.monotonic_ns = monotonic_ns
    time.perf_counter_ns = monotonic_ns
    time.time = wall
    time.time_ns = wall_ns
    _patch_clock_gettime(monotonic_ns, wall_ns)
    time.sleep = sleep  # type: ignore[assignment]  # same behaviour for the floats learners pass


def _patch_clock_gettime(monotonic_ns: Callable[[], int], wall_ns: Callable[[], int]) -> None:
    """The same clocks read through `clock_gettime` (Unix), which would otherwise show real time."""
    real_clock_gettime = getattr(time, "clock_gettime", None)  # Unix only
    real_clock_gettime_ns = getattr(time, "clock_gettime_ns", None)
    if real_clock_gettime is None or real_clock_gettime_ns is None:
        return
    virtual_clocks = {
        getattr(time, name): clock
        for name, clock in (
            ("CLOCK_MONOTONIC", monotonic_ns),
            ("CLOCK_MONOTONIC_RAW", monotonic_ns),
            ("CLOCK_BOOTTIME", monotonic_ns),
            ("CLOCK_REALTIME", wall_ns),
        )
        if hasattr(time, name)
    }

    def clock_gettime(clk_id: int) -> float:
        clock = virtual_clocks.get(clk_id)
        return real_clock_gettime(clk_id) if clock is None else clock() / NS_PER_S

    def clock_gettime_ns(clk_id: int) -> int:
        clock = virtual_clocks.get(clk_id)
        return real_clock_gettime_ns(clk_id) if clock is None else clock()

    time.clock_gettime = clock_gettime
    time.clock_gettime_ns = clock_gettime_ns


def _reader(now_ns: Callable[[], int]) -> Callable[[], int]:
    """Reads virtual time: exactly in loops and the main thread, ever later in stray threads."""
    main_thread = threading.main_thread().ident
    stray = threading.local()

    def reading() -> int:
        now = now_ns()
        if threading.get_ident() == main_thread or loop_of_this_thread() is not None:
            return now  # the loop's own clock, exactly
        last: int | None = getattr(stray, "last", None)
        if last is not None and now <= last:
            now = last + 1
        stray.last = now
        return now

    return reading


def _is_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
