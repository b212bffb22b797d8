"""Timelines: which task printed what, and when - the picture a learner reads an order from.

"Your prediction is wrong at line 4" teaches little; seeing that `f2`'s task printed between two
lines of `f1` teaches the event loop. A `Timeline` has one lane per task and one row per thing
that happened, in the order it happened: a printed line, a task created, a sleep, a suspension
at an `await`, a task ending, `asyncio.run` cancelling what is left. Virtual time runs down the
rows. The actual run comes from the trace the sandbox recorded; the learner's prediction has no
times, so its lines are placed, in the learner's order, on the lane of the task that really
printed each one (or a `?` lane), and both are marked where they differ.

One layout feeds every output: plain text (inside the Markdown feedback and the JSON), rich
`Text` for the terminal (learner text is never read as markup) and, in `svg`, SVG. No
line is ever wider than the width asked for: text wraps inside its lane, and when there are too
many tasks for columns the lanes shrink to a narrow gutter beside one text column.

Example:
    >>> trace = {"lines": [{"text": "hi", "t_ns": 0, "task": "main", "phase": "main"}],
    ...          "tasks": [{"label": "main", "created_ns": 0, "done_ns": 0,
    ...                     "outcome": "finished"}],
    ...          "events": [{"kind": "create", "t_ns": 0, "task": None, "child": "main"},
    ...                     {"kind": "print", "t_ns": 0, "task": "main", "line": 0}],
    ...          "end_ns": 0}
    >>> print(to_text(actual_timeline(trace), width=40))
    What asyncio ran (time runs down):
         time main
       1 0s   hi
    │ waiting or ready  ┆ sleeping

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rich.cells import cell_len, chop_cells
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from grader.model.ordering import blocks_from_lines, graded_order, matching
from grader.model.trace import Trace, TraceEvent, TraceLine

NS_PER_S = 1_000_000_000
_NS_PER_MS = 1_000_000
WIDTH = 78

#: A lane for predicted lines that no task printed.
UNKNOWN_LANE = "?"
#: A lane for lines printed outside any task (module level, a plain function).
NO_TASK_LANE = "(no task)"
#: Tasks the loop makes for itself; shown only if they print.
_HIDDEN_TASKS = frozenset({"shutdown_default_executor", "shutdown_asyncgens"})

#: Marks: where a line differs between the prediction and the run.
MOVED = "moved"
EXTRA = "extra"
MISSED = "missed"
_MARK_GLYPH = {MOVED: "✗", EXTRA: "+", MISSED: "\u2212", "": " "}  # U+2212: a minus sign
_MARK_STYLE = {MOVED: "bold red", EXTRA: "bold yellow", MISSED: "bold red", "": ""}

#: Lane states between a task's own rows.
ALIVE = "alive"
SLEEPING = "sleep"
_STATE_GLYPH = {ALIVE: "│", SLEEPING: "┆", "": " "}

_MIN_LANE = 12
_MAX_LANE = 30
_END_TEXT = {"finished": "done", "cancelled": "cancelled", "error": "raised an exception"}
_STEP_KINDS = frozenset({"print", "create", "sleep", "block"})


@dataclass(frozen=True)
class Row:
    """One thing that happened, on one lane (`lane` -1: a row across every lane)."""

    lane: int
    kind: str
    text: str
    t_ns: int | None = None
    number: int | None = None
    mark: str = ""
    states: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The row as plain data."""
        return {
            "lane": self.lane,
            "kind": self.kind,
            "text": self.text,
            "t_ns": self.t_ns,
            "number": self.number,
            "mark": self.mark,
            "states": list(self.states),
        }


@dataclass(frozen=True)
class Timeline:
    """Lanes (one per task) and rows in the order things happened."""

    title: str
    lanes: tuple[str, ...]
    rows: tuple[Row, ...]
    timed: bool
    legend: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The timeline as plain data (for the results JSON and other renderers)."""
        return {
            "title": self.title,
            "lanes": list(self.lanes),
            "rows": [row.to_json() for row in self.rows],
            "timed": self.timed,
            "legend": list(self.legend),
        }


def seconds(ns: int) -> str:
    """Virtual time as a short label: `0s`, `0.5s`, `1.25s`, `300ns`."""
    if ns == 0:
        return "0s"
    if abs(ns) < _NS_PER_MS:
        return f"{ns}ns"
    return f"{ns / NS_PER_S:.3f}".rstrip("0").rstrip(".") + "s"


# --- which predicted line matches which printed line ------------------------------------------
@dataclass(frozen=True)
class Alignment:
    """Marks for both orders: `predicted[i]` and `actual[j]` ("" where they agree)."""

    predicted: tuple[str, ...]
    actual: tuple[str, ...]
    pairs: Mapping[int, int]


def align(predicted: Sequence[str], lines: Sequence[TraceLine]) -> Alignment:
    """Match predicted lines to printed lines along a longest common order.

    Lines that asyncio leaves unordered (cancelled together at shutdown) are first put in the
    prediction's own order, so any order among them matches, as the score counts it.
    """
    texts = [str(line["text"]).rstrip() for line in lines]
    order, _ = graded_order(lines)
    wanted = [str(text) for text in predicted]
    pairs = {i: order[j] for i, j in matching(wanted, blocks_from_lines(lines)).items()}
    printed, written = set(texts), set(wanted)
    matched = set(pairs.values())
    return Alignment(
        predicted=tuple(
            "" if i in pairs else (MOVED if text in printed else EXTRA)
            for i, text in enumerate(wanted)
        ),
        actual=tuple(
            "" if j in matched else (MOVED if text in written else MISSED)
            for j, text in enumerate(texts)
        ),
        pairs=pairs,
    )


# --- building timelines ---------------------------------------------------------------------
def _lanes_of(trace: Trace) -> list[str]:
    """One lane per task that did something, in the order tasks appeared.

    The loop's own helper tasks (the default executor's shutdown, ...) are left out: they
    never print, sleep or create anything, and nothing the program ran created them. The
    first task (`main`) always has its lane.
    """
    active = {
        event["task"]
        for event in trace["events"]
        if event["kind"] in _STEP_KINDS and event["task"] is not None
    }
    created = {
        event.get("child")
        for event in trace["events"]
        if event["kind"] == "create" and event["task"] is not None
    }
    printed_by = {line["task"] for line in trace["lines"]}
    lanes = [
        str(task["label"])
        for number, task in enumerate(trace["tasks"])
        if task["label"] in printed_by
        or (
            task["label"] not in _HIDDEN_TASKS
            and (number == 0 or task["label"] in active or task["label"] in created)
        )
    ]
    if None in printed_by:
        lanes.append(NO_TASK_LANE)
    return lanes


def _creations_first(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """Move each `create` before the new task's first step, if that came before it.

    An eager task (3.12+ `eager_task_factory`) takes its first step inside `create_task`,
    so the trace records its prints before its creation; drawn in that order, the creator
    would seem to give way before it created anything.
    """
    ordered = list(events)
    for event in [e for e in events if e["kind"] == "create" and e["task"] is not None]:
        position = ordered.index(event)
        first = next(
            (i for i, e in enumerate(ordered[:position]) if e["task"] == event.get("child")),
            None,
        )
        if first is not None:
            ordered.pop(position)
            ordered.insert(first, {**event, "eager": True})
    return ordered


def actual_timeline(
    trace: Trace,
    marks: Sequence[str] | None = None,
    *,
    title: str = "What asyncio ran (time runs down):",
) -> Timeline:
    """The run as recorded: prints, task creations, sleeps, suspensions, ends, shutdown."""
    builder = _RunBuilder(trace, marks)
    rows = builder.rows()
    legend = [
        f"{_MARK_GLYPH[MOVED]} your prediction has this line elsewhere"
        if any(row.mark == MOVED for row in rows)
        else "",
        f"{_MARK_GLYPH[MISSED]} missing from your prediction"
        if any(row.mark == MISSED for row in rows)
        else "",
        f"{_STATE_GLYPH[ALIVE]} waiting or ready  {_STATE_GLYPH[SLEEPING]} sleeping",
    ]
    return Timeline(
        title, tuple(builder.lanes), tuple(rows), timed=True, legend=tuple(filter(None, legend))
    )


class _RunBuilder:
    """Turns a trace's events into rows, keeping each lane's state (alive, sleeping) as it goes."""

    def __init__(self, trace: Trace, marks: Sequence[str] | None) -> None:
        self.lanes = _lanes_of(trace)
        self.index = {label: number for number, label in enumerate(self.lanes)}
        self.lines: Sequence[TraceLine] = trace["lines"]
        self.marks = marks
        events = [event for event in trace["events"] if self._relevant(event)]
        self.events = _creations_first(events)
        self.owner = [self._lane(event) for event in self.events]
        # Per event: the time of its task's next own step, if it has one (not counting its end).
        self.next_own_t: list[int | None] = [None] * len(self.events)
        seen: dict[int, int] = {}
        for position in range(len(self.events) - 1, -1, -1):
            self.next_own_t[position] = seen.get(self.owner[position])
            if self.events[position]["kind"] in _STEP_KINDS:
                seen[self.owner[position]] = int(self.events[position]["t_ns"])
        self.alive = [False] * len(self.lanes)
        self.sleeping_until: list[int | None] = [None] * len(self.lanes)
        # asyncio.run always ends with a cleanup phase; draw it only when it does something.
        self.cleanup_visible = any(line["phase"] == "shutdown" for line in self.lines) or any(
            event["kind"] == "cancelled" for event in self.events
        )

    def _lane(self, event: TraceEvent) -> int:
        task = event["task"] if event["task"] is not None else NO_TASK_LANE
        return self.index.get(task, -1)

    def _relevant(self, event: TraceEvent) -> bool:
        if event["kind"] == "phase" or self._lane(event) >= 0:
            return True
        return event["kind"] == "create" and event.get("child") in self.index

    def states(self, now: int) -> tuple[str, ...]:
        """Each lane's state at `now`: not alive, sleeping, or alive (waiting or ready)."""
        return tuple(
            "" if not alive else (SLEEPING if (until or -1) > now else ALIVE)
            for alive, until in zip(self.alive, self.sleeping_until, strict=True)
        )

    def rows(self) -> list[Row]:
        """Every row, in the order things happened."""
        rows: list[Row] = []
        last_t = 0
        for position, event in enumerate(self.events):
            kind, t_ns, lane = event["kind"], int(event["t_ns"]), self.owner[position]
            if kind == "phase":
                if event.get("phase") == "shutdown" and self.cleanup_visible:
                    text = "asyncio.run cancels the tasks still pending"
                    rows.append(Row(-1, "shutdown", text, t_ns, states=self.states(t_ns)))
                continue
            if kind == "create":
                child = self.index.get(str(event.get("child")))
                if child is not None:
                    self.alive[child] = True
                if event["task"] is None:
                    continue
            if lane < 0:
                continue
            rows.extend(self._step(position, lane, last_t))
            last_t = t_ns
        return rows

    def _step(self, position: int, lane: int, last_t: int) -> list[Row]:
        event = self.events[position]
        kind, t_ns = event["kind"], int(event["t_ns"])
        self.alive[lane] = True
        if kind != "sleep":
            self.sleeping_until[lane] = None
        row = _event_row(event, lane, self, last_t, self.next_own_t[position])
        if row is None:
            return []
        out = [replace(row, states=self.states(t_ns))]
        if kind == "sleep":
            self.sleeping_until[lane] = int(event.get("until_ns", t_ns))
        if kind in _END_TEXT:
            self.alive[lane] = False
        elif self.lanes[lane] != NO_TASK_LANE and self._gives_way(position):
            out.append(Row(lane, "await", "await…", t_ns, states=self.states(t_ns)))
        return out

    def _gives_way(self, position: int) -> bool:
        """True if, right after this event, its task suspended at an `await` (not a sleep).

        The trace has no "suspended" event, but the loop runs one task at a time: if another
        task's step comes next and this task is not finished, it suspended here. Finishing is
        recorded when the loop polls, at the start of its next iteration, in task creation
        order. So the task was suspended if it does something later, if its end comes at a
        later time or is a cancellation, or if an earlier poll did not record it (a
        later-made task's end recorded before its own).
        """
        events, owner, me = self.events, self.owner, self.owner[position]
        if events[position]["kind"] == "sleep" or events[position].get("eager"):
            return False  # a sleep shows itself; an eager task runs inside its creator's call
        upcoming = [i for i in range(position + 1, len(events)) if owner[i] >= 0]
        runs_next = next((i for i in upcoming if events[i]["kind"] not in _END_TEXT), None)
        if runs_next is None or owner[runs_next] == me:
            return False
        if self.next_own_t[position] is not None:
            return True
        for later in upcoming:
            if events[later]["kind"] not in _END_TEXT:
                continue
            if owner[later] == me:
                ends_later = int(events[later]["t_ns"]) > int(events[position]["t_ns"])
                return events[later]["kind"] == "cancelled" or ends_later
            if owner[later] > me:
                return True
        return True  # never finished: still waiting when the run ended


def _event_row(
    event: TraceEvent, lane: int, run: _RunBuilder, last_t: int, next_own_t: int | None
) -> Row | None:
    kind, t_ns = event["kind"], int(event["t_ns"])
    lines, marks = run.lines, run.marks
    text: str | None = None
    if kind == "print":
        number = int(event.get("line", -1))
        if not 0 <= number < len(lines):
            return None
        mark = marks[number] if marks is not None and number < len(marks) else ""
        return Row(lane, "print", str(lines[number]["text"]).rstrip(), t_ns, number + 1, mark)
    if kind == "create":
        text = f"creates {event.get('child')}"
        if event.get("eager"):
            text += " (eager: it starts at once)"
    elif kind == "sleep":
        until = int(event.get("until_ns", t_ns))
        # A sleep, if the task's next step comes when the timer fires; else a timer the task
        # set and went on from (a timeout, call_later).
        verb = "sleeps" if next_own_t in {until, None} else "sets a timer"
        text = f"{verb} {seconds(until - t_ns)}"
    elif kind == "block":
        text = f"blocks the loop {seconds(t_ns - last_t)}"
    elif kind in _END_TEXT:
        text = _END_TEXT[kind]
    return None if text is None else Row(lane, "end" if kind in _END_TEXT else kind, text, t_ns)


def predicted_timeline(
    predicted: Sequence[str],
    trace: Trace,
    alignment: Alignment | None = None,
    *,
    title: str = "Your prediction (your order; each line on the task that prints it):",
) -> Timeline:
    """The learner's lines in their order, each on the lane of the task that really printed it."""
    alignment = alignment or align(predicted, trace["lines"])
    lanes = _lanes_of(trace)
    index = {label: number for number, label in enumerate(lanes)}
    lines = trace["lines"]
    lane_of_text: dict[str, str] = {}
    for line in lines:
        task = line["task"] if line["task"] is not None else NO_TASK_LANE
        lane_of_text.setdefault(str(line["text"]).rstrip(), task)
    placed: list[tuple[str, str]] = []
    for number, text in enumerate(predicted):
        if number in alignment.pairs:
            printer = lines[alignment.pairs[number]]["task"]
            label = printer if printer is not None else NO_TASK_LANE
        else:
            label = lane_of_text.get(text, UNKNOWN_LANE)
        placed.append((label, text))
    if any(label == UNKNOWN_LANE for label, _ in placed):
        lanes.append(UNKNOWN_LANE)
        index[UNKNOWN_LANE] = len(lanes) - 1
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for position, (label, _) in enumerate(placed):
        first.setdefault(index[label], position)
        last[index[label]] = position
    rows = []
    for position, (label, text) in enumerate(placed):
        lane_states = tuple(
            ALIVE if first.get(lane, len(placed)) < position <= last.get(lane, -1) else ""
            for lane in range(len(lanes))
        )
        mark = alignment.predicted[position] if position < len(alignment.predicted) else ""
        rows.append(Row(index[label], "print", text, None, position + 1, mark, lane_states))
    legend = [
        f"{_MARK_GLYPH[MOVED]} asyncio prints this line, but not at this point"
        if MOVED in alignment.predicted
        else "",
        f"{_MARK_GLYPH[EXTRA]} asyncio never prints this line"
        if EXTRA in alignment.predicted
        else "",
    ]
    missing = alignment.actual.count(MISSED)
    if missing:
        legend.append(f"(and {missing} line(s) asyncio prints are missing here)")
    return Timeline(
        title, tuple(lanes), tuple(rows), timed=False, legend=tuple(filter(None, legend))
    )


# --- layout: styled lines no wider than asked ---------------------------------------------------
Segment = tuple[str, str]
Line = list[Segment]


def _pad(text: str, width: int) -> str:
    """`text` cut or padded to exactly `width` terminal cells."""
    if cell_len(text) > width:
        text = chop_cells(text, max(1, width - 1))[0] + "…" if width > 1 else text[:0]
    return text + " " * max(0, width - cell_len(text))


def _wrap(text: str, width: int) -> list[str]:
    """Wrap at spaces where possible, by terminal cells (wide characters count double)."""
    width = max(1, width)
    result: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if cell_len(candidate) <= width:
            current = candidate
            continue
        if current:
            result.append(current)
        pieces = chop_cells(word, width) if cell_len(word) > width else [word]
        result.extend(pieces[:-1])
        current = pieces[-1] if pieces else ""
    result.append(current)
    return result


def _lane_id(lane: int) -> str:
    digits = "123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return digits[lane] if lane < len(digits) else "*"


def _row_style(row: Row) -> str:
    if row.mark:
        return _MARK_STYLE[row.mark]
    if row.kind == "print":
        return ""
    return "dim"


def _fold(timeline: Timeline, max_lanes: int) -> Timeline:
    """Too many tasks even for a gutter: the last lane stands for all the rest."""
    if len(timeline.lanes) <= max_lanes:
        return timeline
    keep = max(1, max_lanes - 1)
    lanes = (*timeline.lanes[:keep], f"{len(timeline.lanes) - keep} more tasks")

    def fold_states(states: tuple[str, ...]) -> tuple[str, ...]:
        rest = states[keep:]
        merged = ALIVE if ALIVE in rest else (SLEEPING if SLEEPING in rest else "")
        return (*states[:keep], merged) if states else states

    rows = tuple(
        replace(row, lane=min(row.lane, keep), states=fold_states(row.states))
        for row in timeline.rows
    )
    return Timeline(timeline.title, lanes, rows, timeline.timed, timeline.legend)


def layout(timeline: Timeline, width: int = WIDTH) -> list[Line]:
    """The timeline as styled lines, none wider than `width` cells."""
    width = max(30, width)
    numbers = [row.number for row in timeline.rows if row.number is not None]
    number_width = max(2, len(str(max(numbers, default=0))))
    times = [seconds(row.t_ns) for row in timeline.rows if row.t_ns is not None]
    time_width = max(4, *(len(label) for label in times)) if timeline.timed else 0
    fixed = 2 + number_width + 1 + (time_width + 1 if timeline.timed else 0)
    count = max(1, len(timeline.lanes))
    lane_width = min(_MAX_LANE, (width - fixed - (count - 1)) // count)
    out: list[Line] = [[(part, "bold")] for part in _wrap(timeline.title, width)]
    if lane_width >= _MIN_LANE:
        out.extend(_columns(timeline, fixed, number_width, time_width, lane_width))
    else:
        folded = _fold(timeline, max(2, (width - fixed - 12) // 2))
        out.extend(_gutter(folded, width, fixed, number_width, time_width))
    for item in timeline.legend:
        out.extend([(part, "dim")] for part in _wrap(item, width))
    return out


def _prefix(row: Row | None, number_width: int, time_width: int, show_time: bool) -> Line:
    mark = _MARK_GLYPH.get(row.mark, " ") if row is not None else " "
    number = str(row.number) if row is not None and row.number is not None else ""
    parts: Line = [
        (mark + " ", _MARK_STYLE.get(row.mark, "") if row is not None else ""),
        (number.rjust(number_width) + " ", "dim"),
    ]
    if time_width:
        label = seconds(row.t_ns) if row is not None and row.t_ns is not None and show_time else ""
        parts.append((label.ljust(time_width) + " ", "cyan"))
    return parts


def _header(fixed: int, time_width: int) -> Line:
    """The start of a lane header line: blank under the marks and numbers, then `time`."""
    header: Line = [(" " * (fixed - (time_width + 1 if time_width else 0)), "")]
    if time_width:
        header.append(("time".ljust(time_width) + " ", "dim"))
    return header


def _columns(
    timeline: Timeline, fixed: int, number_width: int, time_width: int, lane_width: int
) -> list[Line]:
    header = _header(fixed, time_width)
    for lane, label in enumerate(timeline.lanes):
        header.append((_pad(label, lane_width), "bold"))
        if lane < len(timeline.lanes) - 1:
            header.append((" ", ""))
    out = [_rstrip(header)]
    previous_time: int | None = None
    span = len(timeline.lanes) * (lane_width + 1) - 1
    for row in timeline.rows:
        show_time = row.t_ns is not None and row.t_ns != previous_time
        if row.t_ns is not None:
            previous_time = row.t_ns
        if row.lane < 0:
            rule = f"── {row.text} "
            line = _prefix(row, number_width, time_width, show_time)
            line.append((_pad(rule + "─" * max(0, span - cell_len(rule)), span), "dim"))
            out.append(line)
            continue
        for depth, chunk in enumerate(_wrap(row.text, lane_width)):
            line = _prefix(row if depth == 0 else None, number_width, time_width, show_time)
            line.extend(_cells(timeline, row, chunk, lane_width))
            out.append(_rstrip(line))
    return out


def _cells(timeline: Timeline, row: Row, chunk: str, lane_width: int) -> Line:
    """One physical line of a row: its text in its lane, every other lane's state glyph."""
    cells: Line = []
    for lane in range(len(timeline.lanes)):
        if lane == row.lane:
            cells.append((_pad(chunk, lane_width), _row_style(row)))
        else:
            state = row.states[lane] if lane < len(row.states) else ""
            cells.append((_pad(_STATE_GLYPH.get(state, " "), lane_width), "dim"))
        if lane < len(timeline.lanes) - 1:
            cells.append((" ", ""))
    return cells


def _gutter(
    timeline: Timeline, width: int, fixed: int, number_width: int, time_width: int
) -> list[Line]:
    count = len(timeline.lanes)
    text_width = width - fixed - 2 * count
    names = "  ".join(f"{_lane_id(lane)}={label}" for lane, label in enumerate(timeline.lanes))
    out: list[Line] = [[(part, "bold")] for part in _wrap(f"tasks: {names}", width)]
    header = _header(fixed, time_width)
    header.append((" ".join(_lane_id(lane) for lane in range(count)), "bold"))
    out.append(header)
    previous_time: int | None = None
    for row in timeline.rows:
        show_time = row.t_ns is not None and row.t_ns != previous_time
        if row.t_ns is not None:
            previous_time = row.t_ns
        chunks = _wrap(f"── {row.text} ──" if row.lane < 0 else row.text, text_width)
        for depth, chunk in enumerate(chunks):
            line = _prefix(row if depth == 0 else None, number_width, time_width, show_time)
            for lane in range(count):
                state = row.states[lane] if lane < len(row.states) else ""
                glyph = "●" if lane == row.lane and depth == 0 else _STATE_GLYPH.get(state, " ")
                if lane == row.lane and depth > 0:
                    glyph = "│"
                line.append((glyph + " ", _row_style(row) if lane == row.lane else "dim"))
            line.append((chunk, _row_style(row)))
            out.append(_rstrip(line))
    return out


def _rstrip(line: Line) -> Line:
    """Drop trailing blanks (a line of padding must not push a narrow terminal to wrap)."""
    while line and not line[-1][0].strip():
        line.pop()
    if line:
        text, style = line[-1]
        line[-1] = (text.rstrip(), style)
    return line


# --- outputs --------------------------------------------------------------------------------
def to_text(timeline: Timeline, width: int = WIDTH) -> str:
    """Plain text (reads the same in Markdown inside a code block)."""
    return "\n".join("".join(text for text, _ in line) for line in layout(timeline, width))


def to_rich(timeline: Timeline, width: int = WIDTH) -> Text:
    """Styled text for the terminal; learner text stays literal (never rich markup)."""
    result = Text(no_wrap=True, overflow="crop")
    for number, line in enumerate(layout(timeline, width)):
        if number:
            result.append("\n")
        for text, style in line:
            result.append(text, style=style or None)
    return result


def both(predicted: Sequence[str], trace: Trace) -> tuple[Timeline, Timeline]:
    """The prediction's timeline and the run's, with their differences marked."""
    alignment = align(predicted, trace["lines"])
    return (
        predicted_timeline(predicted, trace, alignment),
        actual_timeline(trace, alignment.actual),
    )


def feedback_text(predicted: Sequence[str], trace: Trace, width: int = WIDTH) -> str:
    """Both timelines as Markdown: an indented (code) block no wider than `width`."""
    mine, real = both(predicted, trace)
    inner = max(30, width - 4)
    body = to_text(mine, inner) + "\n\n" + to_text(real, inner)
    return "\n".join(f"    {line}" if line else "" for line in body.split("\n"))


def rich_timelines(predicted: Sequence[str], trace: Trace, width: int = WIDTH) -> RenderableType:
    """Both timelines for the terminal: side by side when it is wide enough, else stacked."""
    mine, real = both(predicted, trace)
    if width >= 2 * 60 + 3:
        half = (width - 3) // 2
        grid = Table.grid(padding=(0, 3))
        grid.add_column(width=half, no_wrap=True)
        grid.add_column(width=half, no_wrap=True)
        grid.add_row(to_rich(mine, half), to_rich(real, half))
        return grid
    return Group(to_rich(mine, width), Text(""), to_rich(real, width))
