"""The virtual loop holds nothing of a thread's after the thread is done, as asyncio does.

To tell a worker that waits on the loop from one that works, the loop looks at every thread's
innermost frame (`sys._current_frames()`). That mapping also holds the loop's own frame, so
keeping it in a local made a reference cycle: the frames of every thread, with their locals
(the learner's objects, the `Thread` itself), stayed alive until the next garbage collection
instead of going when the thread's functions returned. CPython 3.10's own test suite noticed
(`RunCoroutineThreadsafeTests` waited seconds in `threading_cleanup` for a "dangling" thread).

Each test runs a stock asyncio loop and the virtual one side by side, with the cyclic garbage
collector off, and asks both the same question: is the thread's object gone by now?
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterator

import pytest

from grader.runtime.virtual_loop import VirtualClockLoop

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "stock": asyncio.SelectorEventLoop,
    "virtual": VirtualClockLoop,
}


class Marker:
    """Something a worker thread owns, watched through a weak reference."""


@pytest.fixture(autouse=True)
def _no_cyclic_gc() -> Iterator[None]:
    """Only reference counting frees things: a cycle shows up as an object that stays."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _drive(loop: asyncio.AbstractEventLoop, main: Callable[[], object]) -> object:
    try:
        return loop.run_until_complete(main())  # type: ignore[arg-type]
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


@pytest.mark.parametrize("kind", list(LOOPS))
@pytest.mark.parametrize("cancel", [False, True], ids=["result", "cancelled"])
def test_an_executor_thread_waiting_on_the_loop_leaves_nothing_behind(
    kind: str, *, cancel: bool
) -> None:
    loop = LOOPS[kind]()
    watched: list[weakref.ref[Marker]] = []

    async def add() -> int:
        await asyncio.sleep(0.05)
        if cancel:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)
        return 3

    def target() -> int:
        mine = Marker()  # a local of the worker's frame while the loop inspects it
        watched.append(weakref.ref(mine))
        return asyncio.run_coroutine_threadsafe(add(), loop).result()

    async def main() -> object:
        try:
            return await loop.run_in_executor(None, target)
        except asyncio.CancelledError:
            return "cancelled"

    assert _drive(loop, main) == ("cancelled" if cancel else 3)
    assert watched, "the worker never ran"
    assert watched[0]() is None, f"{kind} loop: the worker's locals outlived its frame"


@pytest.mark.parametrize("kind", list(LOOPS))
def test_a_plain_thread_feeding_the_loop_is_let_go(kind: str) -> None:
    loop = LOOPS[kind]()
    worker: list[weakref.ref[threading.Thread]] = []

    async def main() -> object:
        done = loop.create_future()

        def produce() -> None:
            mine = Marker()
            # Real time, so the loop waits for this thread with nothing scheduled (and looks
            # at its frames) before the result arrives.
            time.sleep(0.05)
            loop.call_soon_threadsafe(done.set_result, type(mine).__name__)

        thread = threading.Thread(target=produce)
        worker.append(weakref.ref(thread))
        thread.start()
        result = await done
        thread.join()
        return result

    assert _drive(loop, main) == "Marker"
    assert worker[0]() is None, f"{kind} loop: the finished Thread object is still referenced"
