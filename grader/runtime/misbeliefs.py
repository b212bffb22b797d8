"""Wrong mental models of asyncio, made real: run a snippet the way a learner believes it runs.

A wrong prediction usually comes from a wrong model of the event loop ("create_task runs the
task at once", "sleep(0) does nothing", ...). To tell a learner which one, the grader does not
guess from hand-written lists: it runs the kit's pristine snippet a second time in the sandbox
with asyncio patched to behave as the belief says, and compares the learner's prediction with
what that alternative asyncio printed. Each model below is one such patch; `apply(name)` installs
it before the snippet is loaded, so `asyncio.create_task`, `asyncio.sleep`, `asyncio.gather` and
`asyncio.run` are the believed versions wherever the snippet calls them.

The models stay honest asyncio otherwise: same virtual-clock loop, same tracing, same guards. A
model that cannot run a snippet (it deadlocks, say) simply diagnoses nothing for it.

Standard library only: this module runs inside the learner's sandbox.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

_create_task = asyncio.create_task
_sleep = asyncio.sleep
_gather = asyncio.gather
_run = asyncio.run

#: How deep we are in running tasks "at once" (their sleeps block instead of yielding).
_at_once_depth = 0


def _block(delay: float) -> None:
    """Hold the whole loop for `delay` (virtual) seconds, as `time.sleep` does in a coroutine."""
    loop = asyncio.get_running_loop()
    block_for: Callable[[float], None] | None = getattr(loop, "block_for", None)
    if block_for is not None:
        block_for(max(0.0, float(delay)))
    else:  # pragma: no cover - the sandbox always runs a virtual loop
        time.sleep(max(0.0, float(delay)))


async def _wait_done(future: asyncio.Future[Any]) -> None:
    """Wait until `future` is done without taking its result (the coroutine takes it)."""
    if future.done():
        return
    waiter = asyncio.get_running_loop().create_future()

    def wake(_: asyncio.Future[Any]) -> None:
        if not waiter.done():
            waiter.set_result(None)

    future.add_done_callback(wake)
    await waiter


async def _continue(coro: Coroutine[Any, Any, Any], pending: Any) -> Any:
    """Run the rest of a coroutine that was started by hand: a small Task step loop.

    `pending` is what the coroutine last yielded: a future it waits for, or None for a bare
    yield (`sleep(0)`). Cancellation of this task is passed on into the coroutine.
    """
    while True:
        try:
            if isinstance(pending, asyncio.Future):
                pending._asyncio_future_blocking = False  # noqa: SLF001 - what Task.__step does
                await _wait_done(pending)
            else:
                await _sleep(0)
        except asyncio.CancelledError as exc:
            if isinstance(pending, asyncio.Future):
                pending.cancel()
            try:
                pending = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            pending = coro.send(None)
        except StopIteration as stop:
            return stop.value


def _done_future(loop: asyncio.AbstractEventLoop, value: Any, error: BaseException | None) -> Any:
    future = loop.create_future()
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
    return future


# --- "create_task runs the task at once" -------------------------------------------------------
def _create_task_at_once(coro: Any, **kwargs: Any) -> Any:
    """Run the new task's coroutine right here, to its end, as if it were a plain call.

    Its sleeps block (the creator is believed to wait). If it must wait for something only the
    loop can deliver (another task, a lock), the rest of it continues as an ordinary task.
    """
    global _at_once_depth  # noqa: PLW0603 - one flag for this single-threaded run
    if not inspect.iscoroutine(coro):
        return _create_task(coro, **kwargs)
    loop = asyncio.get_running_loop()
    _at_once_depth += 1
    try:
        pending = coro.send(None)
    except StopIteration as stop:
        return _done_future(loop, stop.value, None)
    except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 - stored, as a task would
        return _done_future(loop, None, exc)
    finally:
        _at_once_depth -= 1
    name = kwargs.pop("name", None) or getattr(coro, "__name__", None)
    return _create_task(_continue(coro, pending), name=name, **kwargs)


async def _sleep_blocking_at_once(delay: float, result: Any = None) -> Any:
    if _at_once_depth:
        _block(delay)
        return result
    return await _sleep(delay, result)


def _model_create_runs_at_once() -> None:
    asyncio.create_task = _create_task_at_once
    asyncio.sleep = _sleep_blocking_at_once


# --- "a bare coroutine runs concurrently" ------------------------------------------------------
def _starts_when_called(function: Callable[..., Any]) -> Callable[..., Any]:
    """Calling `function` starts its coroutine as a task right away (when a loop runs)."""

    @functools.wraps(function)
    def start(*args: Any, **kwargs: Any) -> Any:
        coro = function(*args, **kwargs)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return coro
        return _create_task(coro)

    return start


def _create_task_accepting_tasks(coro: Any, **kwargs: Any) -> Any:
    # Under this belief the "coroutine" handed to create_task is already running.
    if isinstance(coro, asyncio.Future):
        return coro
    return _create_task(coro, **kwargs)


def _run_with_concurrent_coroutines(main: Any, **kwargs: Any) -> Any:
    frame = getattr(main, "cr_frame", None)
    if frame is not None:
        namespace = frame.f_globals
        module = namespace.get("__name__")
        for name, value in list(namespace.items()):
            if inspect.iscoroutinefunction(value) and getattr(value, "__module__", "") == module:
                namespace[name] = _starts_when_called(value)
    return _run(main, **kwargs)


def _model_coroutine_runs_concurrently() -> None:
    asyncio.create_task = _create_task_accepting_tasks
    asyncio.run = _run_with_concurrent_coroutines


# --- "sleep(0) does nothing" ---------------------------------------------------------------------
async def _sleep_zero_does_nothing(delay: float, result: Any = None) -> Any:
    if delay <= 0:
        return result
    return await _sleep(delay, result)


def _model_sleep0_does_nothing() -> None:
    asyncio.sleep = _sleep_zero_does_nothing


# --- "asyncio.sleep blocks like time.sleep" --------------------------------------------------
async def _sleep_blocks(delay: float, result: Any = None) -> Any:
    _block(delay)
    return result


def _model_sleep_blocks() -> None:
    asyncio.sleep = _sleep_blocks


# --- "asyncio.run waits for every task" -----------------------------------------------------------
async def _main_then_every_task(main: Awaitable[Any]) -> Any:
    result = await main
    me = asyncio.current_task()
    while True:
        pending = {task for task in asyncio.all_tasks() if task is not me}
        if not pending:
            return result
        await asyncio.wait(pending)


def _run_waiting_for_every_task(main: Any, **kwargs: Any) -> Any:
    wrapper = _main_then_every_task(main)
    # The trace labels a task by its coroutine's name: keep calling it `main`.
    wrapper.__qualname__ = getattr(main, "__qualname__", "main")  # type: ignore[attr-defined]
    return _run(wrapper, **kwargs)


def _model_run_waits_for_every_task() -> None:
    asyncio.run = _run_waiting_for_every_task


# --- "gather runs one after another" ---------------------------------------------------------
def _gather_one_after_another(*awaitables: Any, return_exceptions: bool = False) -> Any:
    async def one_after_another() -> list[Any]:
        results: list[Any] = []
        for awaitable in awaitables:
            try:
                results.append(await asyncio.ensure_future(awaitable))
            except Exception as exc:  # noqa: PERF203 - one await per item, as gather's own
                if not return_exceptions:
                    raise
                results.append(exc)
        return results

    return _create_task(one_after_another(), name="gather")


def _model_gather_one_after_another() -> None:
    asyncio.gather = _gather_one_after_another


# --- "a task starts only when it is awaited" ------------------------------------------------
class _LazyTask:
    """A task that does not exist until someone awaits it (or touches it)."""

    def __init__(self, coro: Coroutine[Any, Any, Any], kwargs: dict[str, Any]) -> None:
        self._coro = coro
        self._kwargs = kwargs
        self._task: asyncio.Task[Any] | None = None

    def _start(self) -> asyncio.Task[Any]:
        if self._task is None:
            self._task = _create_task(self._coro, **self._kwargs)
        return self._task

    def __await__(self) -> Generator[Any, None, Any]:
        return self._start().__await__()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._start(), name)


def _create_task_lazily(coro: Any, **kwargs: Any) -> Any:
    if not inspect.iscoroutine(coro):
        return _create_task(coro, **kwargs)
    return _LazyTask(coro, kwargs)


def _model_task_starts_when_awaited() -> None:
    asyncio.create_task = _create_task_lazily


_MODELS: dict[str, Callable[[], None]] = {
    "create-task-runs-at-once": _model_create_runs_at_once,
    "coroutine-runs-concurrently": _model_coroutine_runs_concurrently,
    "sleep0-does-nothing": _model_sleep0_does_nothing,
    "run-waits-for-every-task": _model_run_waits_for_every_task,
    "gather-one-after-another": _model_gather_one_after_another,
    "task-starts-when-awaited": _model_task_starts_when_awaited,
    "sleep-blocks": _model_sleep_blocks,
}

#: Every model's name, in the order the grader tries them.
NAMES: tuple[str, ...] = tuple(_MODELS)


def apply(name: str) -> None:
    """Patch asyncio in this process to behave as the named wrong model says."""
    try:
        patch = _MODELS[name]
    except KeyError:
        msg = f"unknown misbelief {name!r}; known: {', '.join(NAMES)}"
        raise ValueError(msg) from None
    patch()
