"""The trace of one sandboxed run, as declared types: what was printed, by which task, when.

The child records it (`runtime/tracing.py`), `sandbox.protocol` checks every field's type and
cleans every string before anything reads it, and from then on it is this `Trace`: the order
scorer, the timelines and the misconception diagnosis read these keys and no others.
"""

from __future__ import annotations

from typing import TypedDict


class TraceLine(TypedDict):
    """One printed line: its text, when, by which task, in which phase of `asyncio.run`."""

    text: str
    t_ns: int
    task: str | None
    phase: str


class TraceTask(TypedDict):
    """One task: its label, when it was created and finished, and how it ended."""

    label: str
    created_ns: int
    done_ns: int | None
    outcome: str


class _EventDetails(TypedDict, total=False):
    child: str  # "create": the task created
    until_ns: int  # "sleep" and "block": when the sleep or the blocking call ends
    line: int  # "print": the index of the line in `Trace.lines`
    phase: str  # "phase": the phase of `asyncio.run` that starts
    eager: bool  # "create": the task ran its first step eagerly


class TraceEvent(_EventDetails):
    """One thing that happened on the loop (a task created, a sleep, a print, an end)."""

    kind: str
    t_ns: int
    task: str | None


class Trace(TypedDict):
    """A whole run: lines in print order, tasks in creation order, events in time order."""

    lines: list[TraceLine]
    tasks: list[TraceTask]
    events: list[TraceEvent]
    end_ns: int
