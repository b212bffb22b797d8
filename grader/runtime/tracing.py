"""Records what a run did: each printed line and each task event, with virtual timestamps.

The grader compares orders, and the feedback draws timelines, so a run must leave a trace: the
lines in the order they were printed, which task printed each and when (virtual time), and per
task when it was created, when it set timers, and how it ended. Lines printed while
`asyncio.run` cancels leftover tasks are marked as the shutdown phase, because asyncio leaves
their order open.

Tasks are labelled by their coroutine's name (`main`, `count_numbers`, `count_numbers#2`) in the
order they appear: `Task-7` style names come from a process-wide counter and are never graded.

Standard library only: this module runs inside the learner's sandbox.
"""

from __future__ import annotations

import asyncio
import io
import sys
from typing import Any

from .virtual_loop import LoopObserver, VirtualClockLoop, loop_of_this_thread

_ASYNCIO_DIR = __import__("os").path.dirname(asyncio.__file__)
#: Looked up once: learner code may rebind names in asyncio's modules, never these references.
_running_loop = asyncio._get_running_loop  # noqa: SLF001 - cheap, never raises
_current_task = asyncio.current_task


#: `get_coro()` on an eager task that finished inside `create_task` dereferences a cleared
#: pointer on 3.12.0 and 3.12.1 (a segfault; 3.12.2 returns None).
_GET_CORO_CRASHES_WHEN_DONE = (3, 12, 0) <= sys.version_info[:3] < (3, 12, 2)


def _coro_of(task: asyncio.Task[Any], coro: object = None) -> object:
    """The task's coroutine: the one it was created from if known, else asked only if safe."""
    if coro is not None:
        return coro
    if _GET_CORO_CRASHES_WHEN_DONE and task.done():
        return None
    return task.get_coro()


def _is_asyncio_internal(task: asyncio.Task[Any], coro: object = None) -> bool:
    """Asyncio's own shutdown tasks (`shutdown_asyncgens`, ...) are not part of any order."""
    code = getattr(_coro_of(task, coro), "cr_code", None)
    return code is not None and code.co_filename.startswith(_ASYNCIO_DIR)


class OutputFloodError(BaseException):
    """Raised in learner code once it printed more than the cap (not catchable as Exception)."""


def _coroutine_name(task: asyncio.Task[Any], coro: object = None) -> str:
    name = task.get_name()
    if not name.startswith("Task-"):
        return name
    coro = _coro_of(task, coro)
    qualname = getattr(coro, "__qualname__", None) or type(coro).__name__
    return str(qualname).rsplit(".", 1)[-1]


class TraceRecorder(LoopObserver):
    """Collects lines and task events from one or more virtual loops in this process."""

    def __init__(self, *, max_lines: int = 2_000, max_line_chars: int = 500) -> None:
        self.lines: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.tasks: dict[int, dict[str, Any]] = {}
        self._labels_used: dict[str, int] = {}
        self._labels_given: set[str] = set()
        #: Per loop: (the loop, its offset): a loop's clock starts at 0, the trace's runs on.
        self._offsets: dict[int, tuple[VirtualClockLoop, int]] = {}
        self.max_lines = max_lines
        self.max_line_chars = max_line_chars
        self.phase = "main"
        self.last_ns = 0
        self.flooded = False
        self._loop: VirtualClockLoop | None = None
        # Tasks not yet seen finished. Polled once per loop iteration instead of given a done
        # callback: learner code can look at `task._callbacks`, and must see only its own.
        self._unfinished: list[asyncio.Task[Any]] = []

    # --- who and when ----------------------------------------------------------------------
    def now_ns(self) -> int:
        """Virtual nanoseconds since the first loop started (time runs on across loops).

        Read from the loop this thread runs in (or works for), not from whichever loop was made
        last: a loop made by learner code in the middle of a run must not stop the clock.
        """
        loop = _running_loop() or loop_of_this_thread()
        known = self._offsets.get(id(loop)) if loop is not None else None
        if known is None or known[0] is not loop:
            loop = self._loop
            known = self._offsets.get(id(loop)) if loop is not None else None
        if known is not None and known[0] is loop and not known[0].is_closed():
            # Never backwards: an idle loop made later (by learner code, say) reads earlier.
            now = known[1] + known[0]._now_ns  # noqa: SLF001 - never a learner's value
            self.last_ns = max(self.last_ns, now)
        return self.last_ns

    @property
    def loop_time_offset_ns(self) -> int:
        """The offset of the loop made last (where the clock goes on between runs)."""
        loop = self._loop
        known = self._offsets.get(id(loop)) if loop is not None else None
        return known[1] if known is not None else self.last_ns

    def advance_outside(self, delta_ns: int) -> None:
        """Code slept with no loop running (module level): the trace's clock moves on."""
        loop = self._loop
        if loop is not None and id(loop) in self._offsets:
            self._offsets[id(loop)] = (loop, self._offsets[id(loop)][1] + delta_ns)
        self.last_ns += delta_ns

    def _offset_of(self, loop: VirtualClockLoop) -> int:
        known = self._offsets.get(id(loop))
        return known[1] if known is not None and known[0] is loop else self.last_ns

    def label_of(self, task: asyncio.Task[Any] | None, coro: object = None) -> str | None:
        """A stable, human label for a task, given the first time the task is seen."""
        if task is None:
            return None
        entry = self.tasks.get(id(task))
        if entry is not None and entry["ref"] is task:
            return str(entry["label"])
        if _is_asyncio_internal(task, coro):
            return None
        base = _coroutine_name(task, coro)
        count = self._labels_used.get(base, 0) + 1
        label = base if count == 1 else f"{base}#{count}"
        while label in self._labels_given:  # a task named `worker#2` must not merge with one
            count += 1
            label = f"{base}#{count}"
        self._labels_used[base] = count
        self._labels_given.add(label)
        self.tasks[id(task)] = {
            "ref": task,
            "label": label,
            "created_ns": self.now_ns(),
            "done_ns": None,
            "outcome": "pending",
        }
        self._unfinished.append(task)
        return label

    def _current_label(self) -> str | None:
        loop = _running_loop()
        if loop is None:
            return None
        return self.label_of(_current_task(loop))

    def _event(self, kind: str, task: str | None, **extra: Any) -> None:
        if len(self.events) < self.max_lines * 4:
            self.events.append({"kind": kind, "t_ns": self.now_ns(), "task": task, **extra})

    # --- LoopObserver ----------------------------------------------------------------------
    def attach(self, loop: VirtualClockLoop) -> None:
        """Start observing a new loop (asyncio.run makes one per call); time keeps running."""
        known = self._offsets.get(id(loop))
        if known is not None and known[0] is loop:
            return  # only a loop's own first call counts (learner code may call this too)
        self.now_ns()
        self._offsets[id(loop)] = (loop, self.last_ns)
        self._loop = loop
        self.phase = "main"

    def task_created(
        self, loop: VirtualClockLoop, task: asyncio.Task[Any], coro: object = None
    ) -> None:
        parent = self._current_label()
        label = self.label_of(task, coro)
        if label is not None:
            self._event("create", parent, child=label)

    def timer_set(self, loop: VirtualClockLoop, when_ns: int) -> None:
        label = self._current_label()
        if label is not None:
            self._event("sleep", label, until_ns=self._offset_of(loop) + when_ns)

    def clock_moved(self, loop: VirtualClockLoop, now_ns: int, *, blocking: bool) -> None:
        if blocking:
            self._event("block", self._current_label(), until_ns=self._offset_of(loop) + now_ns)

    def phase_changed(self, loop: VirtualClockLoop, phase: str) -> None:
        self.phase = phase
        self._event("phase", None, phase=phase)

    def loop_iteration(self, loop: VirtualClockLoop) -> None:
        """Once per loop iteration, before the clock moves: note the tasks that finished."""
        self.poll_finished()

    def poll_finished(self) -> None:
        """Record the outcome of every labelled task that is done by now."""
        unfinished = []
        for task in self._unfinished:
            if task.done():
                self._task_done(task)
            else:
                unfinished.append(task)
        self._unfinished = unfinished

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        entry = self.tasks.get(id(task))
        if entry is None:
            return
        entry["done_ns"] = self.now_ns()
        if task.cancelled():
            entry["outcome"] = "cancelled"
        elif task.exception() is not None:
            entry["outcome"] = "error"
        else:
            entry["outcome"] = "finished"
        self._event(str(entry["outcome"]), str(entry["label"]))

    # --- printed lines -----------------------------------------------------------------------
    def add_line(self, text: str) -> None:
        """Record one printed line (raises OutputFloodError past the cap)."""
        if len(self.lines) >= self.max_lines:
            self.flooded = True
            msg = f"printed more than {self.max_lines:,} lines"
            raise OutputFloodError(msg)
        label = self._current_label()
        entry = {
            "text": text[: self.max_line_chars],
            "t_ns": self.now_ns(),
            "task": label,
            "phase": self.phase if self._loop is not None else "outside",
        }
        self.lines.append(entry)
        self._event("print", label, line=len(self.lines) - 1)

    def to_json(self) -> dict[str, Any]:
        """The trace as plain JSON data (what the child sends to the grader)."""
        self.poll_finished()
        self.now_ns()
        return {
            "lines": self.lines,
            "tasks": [
                {key: value for key, value in entry.items() if key != "ref"}
                for entry in self.tasks.values()
            ],
            "events": self.events,
            "end_ns": self.last_ns,
        }


class RecorderHandle(LoopObserver):
    """What the event loop holds instead of the recorder: the loop's callbacks, nothing else.

    Learner code can reach the running loop, and so this object; it finds no lines, tasks or
    clock offsets here to rewrite (the recorder is private and attributes cannot be replaced),
    and calling a callback itself records only what is true (the recorder looks up the
    running task and the loop's clock itself).
    """

    __slots__ = ("_recorder",)
    _recorder: TraceRecorder

    def __init__(self, recorder: TraceRecorder) -> None:
        object.__setattr__(self, "_recorder", recorder)

    def __setattr__(self, name: str, value: object) -> None:
        msg = f"`{name}` of the grader's recorder cannot be changed"
        sys.audit("kitrt.refused", msg)  # noted by the guard's audit hook: the run scores 0
        raise AttributeError(msg)

    def attach(self, loop: VirtualClockLoop) -> None:
        """A new loop starts reporting."""
        if isinstance(loop, VirtualClockLoop):
            self._recorder.attach(loop)

    def task_created(
        self, loop: VirtualClockLoop, task: asyncio.Task[Any], coro: object = None
    ) -> None:
        """A task was created (`coro`: its coroutine, given for an eager task)."""
        if isinstance(task, asyncio.Task):
            self._recorder.task_created(loop, task, coro)

    def timer_set(self, loop: VirtualClockLoop, when_ns: int) -> None:
        """A timer was set."""
        if isinstance(loop, VirtualClockLoop) and type(when_ns) is int:
            self._recorder.timer_set(loop, when_ns)

    def clock_moved(self, loop: VirtualClockLoop, now_ns: int, *, blocking: bool) -> None:
        """The clock moved (only the loop's own view of its clock is recorded)."""
        if isinstance(loop, VirtualClockLoop):
            self._recorder.clock_moved(loop, loop._now_ns, blocking=bool(blocking))  # noqa: SLF001

    def phase_changed(self, loop: VirtualClockLoop, phase: str) -> None:
        """`asyncio.run` started shutting down."""
        if isinstance(loop, VirtualClockLoop) and phase in {"main", "shutdown"}:
            self._recorder.phase_changed(loop, phase)

    def loop_iteration(self, loop: VirtualClockLoop) -> None:
        """Once per loop iteration."""
        self._recorder.loop_iteration(loop)


class LineCapture(io.TextIOBase):
    """A stand-in for sys.stdout that hands each complete line to the recorder."""

    def __setattr__(self, name: str, value: object) -> None:
        # Learner code reaches this object as `sys.stdout`: it may write, never rewire.
        if not name.startswith("_"):
            msg = f"`{name}` of the grader's stdout cannot be changed"
            sys.audit("kitrt.refused", msg)
            raise AttributeError(msg)
        super().__setattr__(name, value)

    def __init__(self, recorder: TraceRecorder) -> None:
        super().__init__()
        self._recorder = recorder
        self._pending = ""

    #: What a plain run's stdout reports (learner code may look, and must see nothing odd).
    encoding = "utf-8"
    errors = "strict"

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return 1  # the real descriptor: writing to it directly was always possible

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            msg = f"write() argument must be str, not {type(text).__name__}"  # type: ignore[unreachable]
            raise TypeError(msg)
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._recorder.add_line(line)
        if len(self._pending) > self._recorder.max_line_chars * 20:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._pending:
            line, self._pending = self._pending, ""
            self._recorder.add_line(line)
