"""A virtual-clock asyncio event loop: every sleep is free, every order is the real one.

The grader must know the true order in which asyncio runs a snippet, instantly and without
flakiness. Sleeping for real is slow; a naive fast-forward clock changes orders (an unstable
timer heap, float drift). This loop keeps time as integer nanoseconds and jumps the clock only
when nothing is ready. Equal deadlines follow the model in the design notes: every reading of
the clock moves time on by an infinitesimal, so two `call_later(d)` made one after the other get
two increasing deadlines (they fire in the order set), while one deadline value reused for
several timers (`call_at(when)` N times, tasks sharing one `asyncio.timeout_at`) really ties and
pops in the same order as CPython's timer heap. Each timer sorts by `(nanoseconds, reading)`,
where `reading` numbers the clock reading the deadline came from; the heap itself is asyncio's.

It also guards the run: a loop with nothing left to do and no thread that could feed it is a
deadlock, a loop that keeps spinning is a busy loop, and a clock that keeps running away is a
runaway timer. Each stops the run with a clear message instead of hanging the grader.

This module is part of the runtime copied into the learner's sandbox: standard library only.
It is also the kit's public, importable virtual loop (see docs/loop.md): use it in your own
tests as you would use looptime.

Example:
    >>> import asyncio
    >>> loop = new_virtual_loop()
    >>> loop.run_until_complete(asyncio.sleep(3600))
    >>> loop.time()
    3600.0
    >>> loop.close()

    With `asyncio.Runner` (3.11+) or pytest-asyncio, pass `new_virtual_loop` as the loop factory.

"""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.thread
import contextvars
import heapq
import itertools
import math
import os
import selectors
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

__all__ = [
    "NS_PER_S",
    "BusyLoopError",
    "DeadlockError",
    "LoopGuardError",
    "LoopObserver",
    "VirtualClockLoop",
    "VirtualClockPolicy",
    "VirtualTimeLimitError",
    "loop_of_this_thread",
    "new_virtual_loop",
    "seconds_to_ns",
]

NS_PER_S = 1_000_000_000

#: A deadline no clock ever reaches (`sleep(math.inf)`): larger than any finite float in ns.
FOREVER_NS = 1 << 1100

#: Far below the 1 ns step of the clock, far above float rounding at an hour of virtual time.
_CLOCK_RESOLUTION = 1e-10

#: Real seconds the loop waits, with nothing scheduled, for a thread that shows no sign of life
#: (blocked in C code, say) before it calls the run a deadlock. Any progress refills it.
_THREAD_GRACE_S = 2.0

#: Real seconds `shutdown_default_executor` waits for workers that are still busy.
_SHUTDOWN_JOIN_S = 1.0

#: Reused deadline values remembered for ties (a reused `timeout_at` deadline); oldest dropped.
_DEADLINES_KEPT = 4096

_THIS_FILE = os.path.normcase(__file__)

#: The real clock, taken before the sandbox makes `time.monotonic` follow the virtual one.
_real_monotonic = time.monotonic


def seconds_to_ns(seconds: float) -> int:
    """Round a delay in seconds to whole nanoseconds (this removes float drift).

    A positive delay never becomes 0 ns (a "sleep until this float deadline" loop must see the
    clock move), infinity becomes `FOREVER_NS`, and NaN counts as 0, as asyncio's heap treats it.
    """
    if seconds != seconds:  # NaN: asyncio's timer heap fires it at once  # noqa: PLR0124
        return 0
    if math.isinf(seconds):
        return FOREVER_NS if seconds > 0 else -FOREVER_NS
    product = seconds * NS_PER_S
    ns = int(seconds) * NS_PER_S if math.isinf(product) else round(product)
    if ns == 0 and seconds > 0:
        return 1
    return max(-FOREVER_NS, min(FOREVER_NS, ns))


def _deadline_to_ns(when: float) -> int:
    """An absolute deadline in nanoseconds: the nearest tick (the clock reads it as `when`)."""
    if when != when:  # noqa: PLR0124 - NaN
        return -FOREVER_NS
    if math.isinf(when):
        return FOREVER_NS if when > 0 else -FOREVER_NS
    product = when * NS_PER_S
    ns = int(when) * NS_PER_S if math.isinf(product) else round(product)
    return max(-FOREVER_NS, min(FOREVER_NS, ns))


class LoopGuardError(RuntimeError):
    """The virtual loop stopped a run that could never finish on its own."""

    kind = "guard"


class DeadlockError(LoopGuardError):
    """Nothing is ready, no timer is set and no thread is working: nothing can ever happen."""

    kind = "deadlock"


class BusyLoopError(LoopGuardError):
    """The loop kept iterating without finishing (e.g. `while True: await asyncio.sleep(0)`)."""

    kind = "busy-loop"


class VirtualTimeLimitError(LoopGuardError):
    """The virtual clock ran past its limit (e.g. `while True: await asyncio.sleep(1)`)."""

    kind = "virtual-time-limit"


class OrderedTimerHandle(asyncio.TimerHandle):
    """A timer that sorts by (integer deadline, clock reading) instead of a float deadline.

    Two timers compare exactly as CPython's would: by deadline, and for the same nanosecond by
    the clock reading each deadline came from. A deadline value reused for several timers
    shares its reading, so those timers tie and asyncio's heap orders them as CPython's does.
    """

    __slots__ = ("_requested", "_sort_key", "_when_ns")

    if TYPE_CHECKING:  # asyncio's private state, which typeshed does not declare
        _source_traceback: Any
        _scheduled: bool
        _when: float
        _loop: Any

    def __init__(  # noqa: PLR0917 - mirrors asyncio.TimerHandle's positional signature
        self,
        when_ns: int,
        origin_ns: int,
        reading: int,
        requested: float,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        loop: VirtualClockLoop,
        context: contextvars.Context | None,
    ) -> None:
        # `when()` reads on the loop's clock (from its origin); the sort key stays relative.
        when = _ns_to_seconds(when_ns if abs(when_ns) >= FOREVER_NS else origin_ns + when_ns)
        super().__init__(when, callback, args, loop, context=context)
        self._when_ns = when_ns
        self._requested = requested
        self._sort_key = (when_ns, reading)

    def _run(self) -> None:
        # A timer asked for `when` fires no earlier than `when` as the clock reads it, even
        # where the nearest nanosecond tick lies a hair before it (see VirtualClockLoop.time).
        loop = self._loop
        if isinstance(loop, VirtualClockLoop):
            loop._reached(self._requested)  # noqa: SLF001 - the loop's own timer
        super()._run()

    def __lt__(self, other: object) -> bool:
        if isinstance(other, OrderedTimerHandle):
            return self._sort_key < other._sort_key
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, OrderedTimerHandle):
            return self._sort_key <= other._sort_key
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, OrderedTimerHandle):
            return self._sort_key > other._sort_key
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, OrderedTimerHandle):
            return self._sort_key >= other._sort_key
        return NotImplemented

    __hash__ = asyncio.TimerHandle.__hash__


def _ns_to_seconds(ns: int) -> float:
    if ns >= FOREVER_NS:
        return math.inf
    if ns <= -FOREVER_NS:
        return -math.inf
    return ns / NS_PER_S


class LoopObserver:
    """Receives what the loop does; the trace recorder subclasses it. Default: ignore all."""

    def attach(self, loop: VirtualClockLoop) -> None:
        """A new loop starts reporting to this observer."""

    def task_created(
        self, loop: VirtualClockLoop, task: asyncio.Task[Any], coro: object = None
    ) -> None:
        """A task was created (after an eager first step, if any) from coroutine `coro`."""

    def timer_set(self, loop: VirtualClockLoop, when_ns: int) -> None:
        """A timer was set by whatever is running now (a sleep, a timeout)."""

    def clock_moved(self, loop: VirtualClockLoop, now_ns: int, *, blocking: bool) -> None:
        """The virtual clock moved forward: by a jump, or by a blocking call in the loop."""

    def phase_changed(self, loop: VirtualClockLoop, phase: str) -> None:
        """`asyncio.run` moved from running `main` to shutting down."""

    def loop_iteration(self, loop: VirtualClockLoop) -> None:
        """The loop is about to wait for events (once per iteration, before the clock moves)."""


class _VirtualSelector(selectors.BaseSelector):
    """Wraps a real selector; where the loop would sleep, it moves the virtual clock instead."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.loop: VirtualClockLoop | None = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self.loop
        if loop is None:  # pragma: no cover - set right after construction
            return self._real.select(timeout)
        return loop._virtual_select(self._real, timeout)  # noqa: SLF001 - the loop's own half


class _Job:
    """One `run_in_executor` call, from submission until the loop sees its result."""

    __slots__ = ("finished", "thread")

    def __init__(self) -> None:
        self.thread: int | None = None  # the worker's ident, once the job started there
        self.finished = False  # the function returned; its result is on its way to the loop


# What a thread's innermost Python frame says about it.
_WORKING, _BLOCKED, _TIMED = "working", "blocked", "timed"
_CONDITION_WAIT = threading.Condition.wait.__code__
_JOIN_CODES = frozenset(
    function.__code__
    for function in (
        threading.Thread.join,
        getattr(threading.Thread, "_wait_for_tstate_lock", None),
    )
    if function is not None
)
_IDLE_WORKER = getattr(getattr(concurrent.futures.thread, "_worker", None), "__code__", None)

#: Code of functions that sleep for a bounded real time (the sandbox's `time.sleep` in a thread
#: that belongs to no loop): a thread there will wake by itself. `virtual_time` adds its own.
TIMED_WAIT_CODES: set[CodeType] = set()


def _thread_state(frame: FrameType) -> str:
    """Working, blocked for good, or blocked with a real-time timeout (`_TIMED`).

    A thread waiting on a condition (`Future.result()`, `Event.wait()`, `Queue.get()`) cannot
    feed the loop until someone notifies it; one that was notified but has not run yet still
    shows the wait frame, so it counts as blocked only while its waiter is still queued.
    Anything the frame does not explain counts as working: the loop then waits, never guesses.
    """
    code = frame.f_code
    if code is _CONDITION_WAIT:
        return _condition_wait_state(frame)
    if code in _JOIN_CODES:
        return _BLOCKED if frame.f_locals.get("timeout") in {None, -1} else _TIMED
    if code is _IDLE_WORKER:
        return _BLOCKED
    if code in TIMED_WAIT_CODES:
        return _TIMED
    return _WORKING


def _condition_wait_state(frame: FrameType) -> str:
    local = frame.f_locals
    condition, waiter = local.get("self"), local.get("waiter")
    try:
        queued = waiter is not None and waiter in getattr(condition, "_waiters", ())
    except (AttributeError, TypeError, RuntimeError):
        queued = False
    if not queued:
        return _WORKING  # not waiting yet, or notified and about to run
    return _BLOCKED if local.get("timeout") is None else _TIMED


def _other_threads_frames() -> dict[int, FrameType]:
    """Every other thread's innermost frame, by thread ident.

    `sys._current_frames()` also maps this thread to the frame asking: kept in that frame's
    locals, the mapping made a cycle (frame -> mapping -> frame) that held every thread's
    frames, with all their locals (the learner's objects, the `Thread` itself), until the next
    garbage collection, where asyncio lets them go as each function returns. Without this
    thread's entry the mapping is freed as soon as its caller returns.
    """
    frames = sys._current_frames()  # noqa: SLF001 - the only way to see a thread
    del frames[threading.get_ident()]
    return frames


def _signature(frame: FrameType) -> tuple[int, int, int]:
    """Changes whenever a thread runs Python code: to tell a live thread from a stuck one."""
    return (id(frame), frame.f_lasti, frame.f_lineno or 0)


def _interpreter_pool() -> type | None:
    return getattr(concurrent.futures, "InterpreterPoolExecutor", None)  # 3.14+


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose clock is virtual and integer, with CPython's timer order and guards.

    Options (all keyword-only):
        max_steps: loop iterations before a busy loop is stopped (per `asyncio.run` phase).
        max_virtual_seconds: virtual time before a runaway clock is stopped.
        hop_latency_ns: added to every jump of the clock (a late wake-up), to find snippets
            whose order depends on how punctual timers are.
        ready_latency_ns: the clock moves on by this on every iteration that runs callbacks
            (real time passing while things are ready), to find snippets that depend on time
            standing still while anything is ready.
        tie_order: "heap" (default, CPython's: a reused deadline ties) or "set" (every timer
            its own clock reading: equal deadlines fire in the order set).
        thread_grace_s: real seconds to wait, with nothing scheduled, for a thread that shows
            no sign of life before calling the run a deadlock.
        observer: receives what the loop does (the trace recorder).
        origin_ns: what `time()` reads when the loop is made (0 by default; the sandbox gives a
            real monotonic reading, so a graded run's clock starts where a plain one's would).
            Deadlines and timers are absolute on this clock; `now_ns` stays relative to it.
    """

    if TYPE_CHECKING:  # BaseEventLoop's private state, which typeshed does not declare
        _scheduled: list[OrderedTimerHandle]
        _ready: deque[asyncio.Handle]
        _timer_cancelled_count: int
        _default_executor: Any
        _debug: bool
        _ssock: Any
        _selector: Any

        def _write_to_self(self) -> None: ...
        def _check_closed(self) -> None: ...
        def _check_thread(self) -> None: ...

    def __init__(
        self,
        *,
        max_steps: int = 100_000,
        max_virtual_seconds: float = 3600.0,
        hop_latency_ns: int = 0,
        ready_latency_ns: int = 0,
        tie_order: str = "heap",
        thread_grace_s: float = _THREAD_GRACE_S,
        observer: LoopObserver | None = None,
        origin_ns: int = 0,
    ) -> None:
        if tie_order not in {"heap", "set"}:
            msg = f"tie_order must be 'heap' or 'set', not {tie_order!r}"
            raise ValueError(msg)
        self._now_ns = 0
        self._origin_ns = origin_ns
        #: The latest deadline reached at this tick, as its float (see `time`).
        self._floor = origin_ns / NS_PER_S
        self._readings = itertools.count(1)
        self._last_reading = 0
        self._deadline_readings: dict[int, tuple[object, int]] = {}
        self._steps = 0
        self._max_steps = max_steps
        self._max_virtual_ns = seconds_to_ns(max_virtual_seconds)
        self._hop_latency_ns = hop_latency_ns
        self._ready_latency_ns = ready_latency_ns
        self._tie_order = tie_order
        self._thread_grace_s = thread_grace_s
        self._observer = observer or LoopObserver()
        self._phase = "main"
        self._guard_error: LoopGuardError | None = None
        self._runs = 0
        self._thread_lock = threading.Lock()
        self._jobs: dict[int, _Job] = {}
        self._sleeping_threads: set[int] = set()
        self._thread_sleep_requests: list[tuple[int, threading.Event, int]] = []
        self._idle_since: float | None = None
        self._thread_signatures: dict[int, tuple[int, int, int]] = {}
        selector = _VirtualSelector()
        super().__init__(selector)
        selector.loop = self
        # Far from 0 a float cannot hold every nanosecond: the resolution is at least one step.
        far = (origin_ns + self._max_virtual_ns) / NS_PER_S
        self._clock_resolution = max(_CLOCK_RESOLUTION, math.ulp(far))
        self._observer.attach(self)

    # --- the public view of its settings (kept private, so a sealed subclass can hide them) -
    @property
    def observer(self) -> LoopObserver:
        """What receives the loop's callbacks."""
        return self._observer

    @property
    def phase(self) -> str:
        """`main` while `asyncio.run` runs the main coroutine, then `shutdown`."""
        return self._phase

    @property
    def guard_error(self) -> LoopGuardError | None:
        """The first guard that stopped this loop, if any."""
        return self._guard_error

    @property
    def max_steps(self) -> int:
        """Loop iterations per `asyncio.run` phase before a busy loop is stopped."""
        return self._max_steps

    @max_steps.setter
    def max_steps(self, value: int) -> None:
        self._max_steps = value

    @property
    def max_virtual_ns(self) -> int:
        """Virtual nanoseconds before a runaway clock is stopped."""
        return self._max_virtual_ns

    @max_virtual_ns.setter
    def max_virtual_ns(self, value: int) -> None:
        self._max_virtual_ns = value

    @property
    def hop_latency_ns(self) -> int:
        """Added to every jump of the clock."""
        return self._hop_latency_ns

    @hop_latency_ns.setter
    def hop_latency_ns(self, value: int) -> None:
        self._hop_latency_ns = value

    @property
    def ready_latency_ns(self) -> int:
        """Added on every iteration that runs callbacks."""
        return self._ready_latency_ns

    @ready_latency_ns.setter
    def ready_latency_ns(self, value: int) -> None:
        self._ready_latency_ns = value

    @property
    def tie_order(self) -> str:
        """`heap` (CPython's) or `set`."""
        return self._tie_order

    @property
    def thread_grace_s(self) -> float:
        """Real seconds to wait for a thread that shows no sign of life."""
        return self._thread_grace_s

    @thread_grace_s.setter
    def thread_grace_s(self, value: float) -> None:
        self._thread_grace_s = value

    # --- the clock -------------------------------------------------------------------------
    def time(self) -> float:
        """Virtual seconds since the origin (each reading is one infinitesimal later)."""
        self._last_reading = next(self._readings)
        now = (self._origin_ns + self._now_ns) / NS_PER_S
        return max(now, self._floor)

    @property
    def now_ns(self) -> int:
        """Virtual nanoseconds since the loop was made."""
        return self._now_ns

    def _reached(self, requested: float) -> None:
        # A deadline given as a float between two ticks fires at the nearest one; from then on
        # the clock reads at least that float, as a real clock would after the timer fired, so
        # `while loop.time() < deadline: loop.call_at(deadline, ...)` ends.
        if requested > self._floor and requested <= (self._origin_ns + self._now_ns + 1) / NS_PER_S:
            self._floor = requested

    def call_later(  # type: ignore[override]  # typeshed's variadic generics, same contract
        self,
        delay: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        # asyncio reads the clock here: a reading of its own, later than every earlier one.
        delay_ns = seconds_to_ns(delay)
        when_ns = self._now_ns + delay_ns if abs(delay_ns) < FOREVER_NS else delay_ns
        far = abs(when_ns) >= FOREVER_NS
        requested = _ns_to_seconds(when_ns if far else self._origin_ns + when_ns)
        return self._push(when_ns, next(self._readings), requested, callback, args, context)

    def call_at(  # type: ignore[override]  # typeshed's variadic generics, same contract
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        when_ns = _deadline_to_ns(when)
        if abs(when_ns) < FOREVER_NS:
            when_ns -= self._origin_ns
        return self._push(when_ns, self._reading_of(when), when, callback, args, context)

    def _reading_of(self, when: object) -> int:
        """The clock reading an absolute deadline came from.

        The same deadline object given again (a shared `timeout_at` deadline, `call_at(when)`
        in a loop) shares its reading, so those timers tie as they do in CPython. A new object
        came from the latest reading of the clock: `loop.time() + delay` just computed.
        """
        if self._tie_order == "set":
            return next(self._readings)
        seen = self._deadline_readings.get(id(when))
        if seen is not None and seen[0] is when:
            return seen[1]
        reading = self._last_reading
        if len(self._deadline_readings) >= _DEADLINES_KEPT:
            del self._deadline_readings[next(iter(self._deadline_readings))]
        # Holding the object keeps its id from being reused by another float meanwhile.
        self._deadline_readings[id(when)] = (when, reading)
        return reading

    def _push(  # noqa: PLR0917 - one internal call site per public method
        self,
        when_ns: int,
        reading: int,
        requested: float,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        context: contextvars.Context | None,
    ) -> asyncio.TimerHandle:
        self._check_closed()
        if self._debug:
            self._check_thread()
        timer = OrderedTimerHandle(
            when_ns, self._origin_ns, reading, requested, callback, args, self, context
        )
        traceback = timer._source_traceback  # noqa: SLF001 - asyncio's debug-mode record
        if traceback:
            # Debug mode shows where a timer was set: the caller's line, never this module.
            while traceback and os.path.normcase(traceback[-1].filename) == _THIS_FILE:
                del traceback[-1]
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True  # noqa: SLF001
        self._observer.timer_set(self, when_ns)
        return timer

    def block_for(self, seconds: float) -> None:
        """A blocking call in the loop's thread (e.g. `time.sleep`) holds the loop this long."""
        delay_ns = max(0, seconds_to_ns(seconds))
        if self._now_ns + delay_ns > self._max_virtual_ns:
            self._trip_time_limit()
        self._now_ns += delay_ns
        self._observer.clock_moved(self, self._now_ns, blocking=True)

    def _trip_time_limit(self) -> None:
        limit = self._max_virtual_ns / NS_PER_S
        self._trip(
            VirtualTimeLimitError(
                f"the virtual clock passed {limit:g} s: something keeps sleeping forever "
                "(a `while True` loop around `await asyncio.sleep(...)`?)"
            )
        )

    # --- tasks and phases ------------------------------------------------------------------
    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = super().create_task(coro, **kwargs)
        # The coroutine goes along: an eager task that already finished must not be asked for
        # it (`get_coro()` on such a task crashes CPython 3.12.0 and 3.12.1).
        self._observer.task_created(self, task, coro)
        return task

    def run_until_complete(self, future: Any) -> Any:
        self._runs += 1
        if self._runs > 1 and self._phase == "main":
            # asyncio.run's later calls cancel leftovers and shut down: a new phase with a
            # fresh step budget, so cleanup still runs after a guard stopped `main`.
            self._phase = "shutdown"
            self._steps = 0
            self._observer.phase_changed(self, "shutdown")
        return super().run_until_complete(future)

    async def shutdown_default_executor(self, *args: Any) -> None:
        """Let the workers go, joining the idle ones here (no thread, no timeout timer).

        asyncio joins them in a helper thread, with a timeout timer on 3.12+: a virtual clock
        would jump straight to that timer. Idle workers exit at once; a worker still busy
        gets a second of real time, then is left behind (real asyncio would wait for it).
        """
        executor = self._default_executor
        self._executor_shutdown_called = True
        if executor is not None:
            self._default_executor = None
            executor.shutdown(wait=False)
            deadline = _real_monotonic() + _SHUTDOWN_JOIN_S
            for thread in list(getattr(executor, "_threads", ())):
                thread.join(max(0.0, deadline - _real_monotonic()))

    # --- threads ---------------------------------------------------------------------------
    def run_in_executor(  # type: ignore[override]  # typeshed's variadic generics, same contract
        self, executor: Any, func: Callable[..., Any], *args: Any
    ) -> Any:
        if self._debug:
            self._check_callback(func, "run_in_executor")  # type: ignore[attr-defined]
        target = executor if executor is not None else self._default_executor
        job = _Job()
        interpreters = _interpreter_pool()
        in_threads = target is None or (
            isinstance(target, concurrent.futures.ThreadPoolExecutor)
            and not (interpreters is not None and isinstance(target, interpreters))
        )
        if in_threads:
            # A worker thread follows this loop's clock (`time.sleep` there is virtual). Other
            # executors (processes, interpreters) get the function as it is: it must pickle.
            future = super().run_in_executor(executor, self._in_thread, job, func, *args)
        else:
            job.thread = -1  # nothing to inspect: the job counts as working until it is done
            future = super().run_in_executor(executor, func, *args)
        with self._thread_lock:
            self._jobs[id(job)] = job
        future.add_done_callback(lambda _: self._job_done(job))
        return future

    def _in_thread(self, job: _Job, func: Callable[..., Any], *args: Any) -> Any:
        job.thread = threading.get_ident()
        _THREAD_STATE.loop = self
        try:
            return func(*args)
        finally:
            _THREAD_STATE.loop = None
            job.finished = True

    def _job_done(self, job: _Job) -> None:
        with self._thread_lock:
            self._jobs.pop(id(job), None)

    def thread_sleep(self, seconds: float) -> None:
        """`time.sleep` in a worker thread: wait until the virtual clock reaches the deadline."""
        woken = threading.Event()
        ident = threading.get_ident()
        with self._thread_lock:
            self._thread_sleep_requests.append((max(0, seconds_to_ns(seconds)), woken, ident))
            self._sleeping_threads.add(ident)
        self._write_to_self()
        woken.wait()

    def _wake_thread(self, woken: threading.Event, ident: int) -> None:
        with self._thread_lock:
            self._sleeping_threads.discard(ident)
        woken.set()

    def _jobs_working(self) -> bool:
        """Whether a thread works for this loop now: the virtual clock waits for it."""
        with self._thread_lock:
            requests, self._thread_sleep_requests = self._thread_sleep_requests, []
            jobs = list(self._jobs.values())
            sleeping = set(self._sleeping_threads)
        for delay_ns, woken, ident in requests:
            when_ns = self._now_ns + delay_ns
            self._push(when_ns, next(self._readings), (self._origin_ns + when_ns) / NS_PER_S,
                       self._wake_thread, (woken, ident), None)  # fmt: skip
        if not jobs:
            return False
        frames: dict[int, FrameType] | None = None
        for job in jobs:
            if job.thread is None or job.thread == -1 or job.finished:
                return True  # not started yet, in another process, or its result on the way
            if job.thread in sleeping:
                continue
            if frames is None:
                frames = _other_threads_frames()
            frame = frames.get(job.thread)
            if frame is None or _thread_state(frame) == _WORKING:
                return True
        return False

    def _foreign_threads_may_feed(self) -> bool:
        """Whether a thread outside the loop might still wake it (a live or waiting thread)."""
        me = threading.get_ident()
        frames = _other_threads_frames()
        alive = {thread.ident for thread in threading.enumerate() if thread.ident} - {me}
        may_feed = False
        progressed = False
        signatures: dict[int, tuple[int, int, int]] = {}
        for ident in alive:
            frame = frames.get(ident)
            if frame is None or ident in self._sleeping_threads:
                continue
            state = _thread_state(frame)
            if state == _BLOCKED:
                continue  # waits for a notification nobody running can send
            may_feed = True
            signature = _signature(frame)
            signatures[ident] = signature
            if state == _TIMED or self._thread_signatures.get(ident) != signature:
                progressed = True
        self._thread_signatures = signatures
        if progressed:
            self._idle_since = None
        return may_feed

    def _has_real_io(self) -> bool:
        """File descriptors other than the loop's own wake-up pipe (sockets, pipes, servers)."""
        ssock = getattr(self, "_ssock", None)
        own = ssock.fileno() if ssock is not None else -1
        return any(key.fd != own for key in self._selector.get_map().values())

    # --- the heart: where a real loop would sleep -------------------------------------------
    def _trip(self, error: LoopGuardError) -> None:
        if self._guard_error is None:
            self._guard_error = error
        raise error

    def _virtual_select(
        self, real: selectors.BaseSelector, timeout: float | None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        self._observer.loop_iteration(self)
        self._steps += 1
        if self._steps > self._max_steps:
            self._trip(
                BusyLoopError(
                    f"the event loop went round {self._max_steps:,} times without finishing: "
                    "something keeps yielding forever (a `while True` loop around "
                    "`await asyncio.sleep(0)`?)"
                )
            )
        if timeout == 0:
            self._idle_since = None
            if self._ready_latency_ns:
                self._now_ns += self._ready_latency_ns
            return real.select(0)
        if self._jobs_working():
            # Work in threads takes no virtual time: wait for it in real time.
            self._idle_since = None
            return real.select(0.01)
        events = real.select(0)
        if events or self._ready:
            self._idle_since = None
            return events
        while self._scheduled and self._scheduled[0]._cancelled:  # noqa: SLF001
            self._timer_cancelled_count -= 1
            heapq.heappop(self._scheduled)._scheduled = False  # noqa: SLF001
        if not self._scheduled:
            return self._wait_or_deadlock(real)
        self._idle_since = None
        self._jump_to_next_timer()
        return events

    def _jump_to_next_timer(self) -> None:
        """Nothing is ready: move the clock to the earliest timer (plus any late wake-up)."""
        head = self._scheduled[0]
        target = getattr(head, "_when_ns", None)
        if target is None:  # pragma: no cover - a timer made behind our back
            target = _deadline_to_ns(head.when()) - self._origin_ns
        if target > self._now_ns:
            if target + self._hop_latency_ns > self._max_virtual_ns:
                self._trip_time_limit()
            self._now_ns = target + self._hop_latency_ns
            self._observer.clock_moved(self, self._now_ns, blocking=False)

    def _wait_or_deadlock(
        self, real: selectors.BaseSelector
    ) -> list[tuple[selectors.SelectorKey, int]]:
        # Nothing ready, no timer: only a thread (or real I/O) can still wake the loop. Wait in
        # real time while one might; the grace for a thread that shows no sign of life is
        # refilled whenever anything happens, so a slow feeder never looks like a deadlock.
        if self._foreign_threads_may_feed() or self._has_real_io():
            now = _real_monotonic()
            if self._idle_since is None:
                self._idle_since = now
            if now - self._idle_since < self._thread_grace_s:
                return real.select(0.05)
        self._trip(
            DeadlockError(
                "nothing is ready to run, no timer is set and no thread is working: every "
                "task is waiting for something that can never happen (a deadlock)"
            )
        )
        return []  # pragma: no cover - _trip always raises


class _ThreadState(threading.local):
    loop: VirtualClockLoop | None = None


_THREAD_STATE = _ThreadState()


def loop_of_this_thread() -> VirtualClockLoop | None:
    """The virtual loop this thread belongs to: its running loop, or the loop of its executor."""
    running = asyncio._get_running_loop()  # noqa: SLF001 - the cheap, non-raising lookup
    if isinstance(running, VirtualClockLoop):
        return running
    return _THREAD_STATE.loop


def new_virtual_loop(**options: Any) -> VirtualClockLoop:
    """A new virtual-clock loop: a `loop_factory` for `asyncio.run`/`asyncio.Runner` (3.11+).

    The options are `VirtualClockLoop`'s. Example (3.12+):
    `asyncio.run(main(), loop_factory=new_virtual_loop)`.
    """
    return VirtualClockLoop(**options)


#: The default policy class: the public name up to 3.13; 3.14 and 3.15 warn on it and keep a
#: private one; 3.16 removes the policy system, and with it `VirtualClockPolicy` (None there:
#: use `new_virtual_loop` as a `loop_factory`).
_DefaultPolicy: Any = (
    getattr(asyncio, "_DefaultEventLoopPolicy", None)
    if sys.version_info >= (3, 14)
    else asyncio.DefaultEventLoopPolicy
)

if _DefaultPolicy is not None:

    class VirtualClockPolicy(_DefaultPolicy):  # type: ignore[misc]  # resolved at import time
        """Routes a plain `asyncio.run()` (and `new_event_loop()`) to a virtual-clock loop.

        For 3.10-3.13 (and, deprecated, 3.14-3.15); `new_virtual_loop` works everywhere.
        """

        def __init__(self, **loop_options: Any) -> None:
            super().__init__()
            self.loop_options = loop_options
            self.loops: list[VirtualClockLoop] = []

        def new_event_loop(self) -> VirtualClockLoop:
            loop = VirtualClockLoop(**self.loop_options)
            self.loops.append(loop)
            return loop

else:  # pragma: no cover - Python 3.16+, not installable here
    VirtualClockPolicy = None  # type: ignore[misc,assignment]  # no policy system to route
