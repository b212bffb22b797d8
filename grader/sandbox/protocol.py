"""Checks the JSON a sandboxed child sends back before the grader believes any of it.

The child runs learner code, so its answer is hostile until proven plain: JSON only (never
pickle), capped in size and depth, every field of the exact type expected, and stamped with the
run's one-time token. Anything else is a `ProtocolError`, which costs that run its credit and
nothing more. What passes is a `ChildResult`, whose trace is a `model.trace.Trace`.

The cost of checking is bounded before any of it is paid (rule 13): the size cap comes first,
then the number of elements is counted on the raw bytes (strings blanked out, then commas and
brackets counted, at C speed) before a single object is built, and integers longer than the
int-to-string digit limit never become Python integers: such a value in a run's return value
reads as `{"$unserializable": "int"}` (what the child itself reports for a value it cannot send),
anywhere else it makes the result malformed.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypedDict, cast

from grader.model.text import clean, readable
from grader.model.trace import Trace

MAX_DEPTH = 32
#: An honest result has at most a few tens of thousands (2,000 lines, 8,000 events, tasks).
MAX_ELEMENTS = 100_000
#: Python's default int-to-string limit (3.11+); older Pythons get the same cap here.
MAX_INT_DIGITS = 4300
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
#: A `\uD800`-`\uDFFF` escape: the only way a lone surrogate reaches a decoded string (raw
#: UTF-8 cannot hold one). An escaped backslash before `u` also matches: that costs one walk.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
#: The stand-in for a value that cannot be shown (the child uses the same for its own).
UNSERIALIZABLE_INT: dict[str, str] = {"$unserializable": "int"}


class ProtocolError(ValueError):
    """The child's answer is not a well-formed result."""


#: How the errors for a result past the caps begin (size, element count, depth): an honest
#: program can get there by returning a huge value, so its message says so, not "forged".
OVER_CAPS = ("result larger than", "result with more than", "result nested deeper than")


class ChildFrame(TypedDict):
    """One frame of the learner's own code in an error's traceback."""

    line: int
    function: str
    code: str


class _ErrorDetails(TypedDict, total=False):
    line: int  # a syntax error's line


class ChildError(_ErrorDetails):
    """Why the run ended in an error: its kind (see `FailureKind`), type, message, frames."""

    kind: str
    type: str
    message: str
    frames: list[ChildFrame]


class Confinement(TypedDict):
    """What the child confined itself with (the Landlock ABI it applied, 0 for none)."""

    landlock: int


#: The keys a result may leave out (`return` is a keyword, hence this spelling).
_ResultDetails = TypedDict(
    "_ResultDetails",
    {"error": "ChildError | None", "return": Any, "confined": "Confinement | None", "nonce": str},
    total=False,
)


class ChildResult(_ResultDetails):
    """A checked child result: every field below has the type declared, every string cleaned."""

    protocol: int
    status: str
    trace: Trace
    helpers: dict[str, Any]
    warnings: list[Any]
    flooded: bool


#: Details some events carry, and their types (`model.trace.TraceEvent`).
_EVENT_DETAILS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("child", (str,)),
    ("until_ns", (int, float)),
    ("line", (int,)),
    ("phase", (str,)),
    ("eager", (bool,)),
)


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def count_elements(raw: bytes) -> int:
    """An upper bound on the values in the JSON text `raw`, without parsing it.

    With every string blanked out, each value but the first of its container follows a comma
    and each container opens with a bracket: commas + brackets + 1 bounds the count.
    """
    rough = raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1
    if rough <= MAX_ELEMENTS:
        return rough  # commas inside strings only make it larger: no need to look closer
    bare = _STRING.sub(b"", raw)
    return bare.count(b",") + bare.count(b"[") + bare.count(b"{") + 1


def _readable(value: Any) -> Any:
    """`value` (decoded JSON) with lone surrogates in every string, key or value, made U+FFFD.

    In place and iterative, like `_depth`, so a deeply nested value costs no recursion.
    """
    if isinstance(value, str):
        return readable(value)
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(readable(key) != key for key in item):
                # Rebuilt in the same order (a key that changes would move to the end).
                pairs = [(readable(key), child) for key, child in item.items()]
                item.clear()
                item.update(pairs)
            children = list(item.items())
        elif isinstance(item, list):
            children = list(enumerate(item))
        else:
            continue
        for key, child in children:
            if isinstance(child, str):
                item[key] = readable(child)
            elif isinstance(child, (dict, list)):
                stack.append(child)
    return value


def _bounded_int(text: str) -> Any:
    """An integer, unless it has more digits than Python would print (or than is cheap)."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return dict(UNSERIALIZABLE_INT)
    return int(text)


def _reject_constant(name: str) -> Any:
    msg = f"non-JSON constant {name}"
    raise ProtocolError(msg)


def _need(mapping: dict[str, Any], key: str, kinds: tuple[type, ...]) -> Any:
    value = mapping.get(key)
    if type(value) not in kinds:
        names = "/".join(kind.__name__ for kind in kinds)
        msg = f"field {key!r} should be {names}, got {type(value).__name__}"
        raise ProtocolError(msg)
    return value


_NONE = type(None)


def _check_line(line: Any) -> None:
    if type(line) is not dict:
        msg = "a trace line is not an object"
        raise ProtocolError(msg)
    _need(line, "text", (str,))
    _need(line, "t_ns", (int,))
    _need(line, "task", (str, _NONE))
    _need(line, "phase", (str,))
    line["text"] = clean(line["text"])
    if line["task"] is not None:
        line["task"] = clean(line["task"], limit=80)


def _check_trace(trace: Any) -> None:
    if type(trace) is not dict:
        msg = "trace is not an object"
        raise ProtocolError(msg)
    for line in _need(trace, "lines", (list,)):
        _check_line(line)
    for task in _need(trace, "tasks", (list,)):
        if type(task) is not dict:
            msg = "a task entry is not an object"
            raise ProtocolError(msg)
        task["label"] = clean(_need(task, "label", (str,)), limit=80)
        _need(task, "created_ns", (int,))
        _need(task, "done_ns", (int, _NONE))
        _need(task, "outcome", (str,))
    for event in _need(trace, "events", (list,)):
        _check_event(event)
    _need(trace, "end_ns", (int,))


def _check_event(event: Any) -> None:
    if type(event) is not dict:
        msg = "an event is not an object"
        raise ProtocolError(msg)
    _need(event, "kind", (str,))
    _need(event, "t_ns", (int,))
    _need(event, "task", (str, _NONE))
    for key, kinds in _EVENT_DETAILS:
        if key in event:
            _need(event, key, kinds)
    # Labels are cleaned as the lines' and tasks' are, so the same task matches everywhere.
    for key in ("task", "child"):
        if isinstance(event.get(key), str):
            event[key] = clean(event[key], limit=80)


def _check_error(error: Any) -> None:
    if error is None:
        return
    if type(error) is not dict:
        msg = "error is not an object"
        raise ProtocolError(msg)
    _need(error, "kind", (str,))
    _need(error, "type", (str,))
    error["message"] = clean(_need(error, "message", (str,)), limit=400)
    for frame in _need(error, "frames", (list,)):
        if type(frame) is not dict:
            msg = "a frame is not an object"
            raise ProtocolError(msg)
        _need(frame, "line", (int,))
        frame["function"] = clean(_need(frame, "function", (str,)), limit=80)
        frame["code"] = clean(_need(frame, "code", (str,)), limit=200)
    if "line" in error:
        _need(error, "line", (int,))


def _decode(raw: bytes, max_bytes: int) -> Any:
    """The JSON value in `raw`, its size and element count checked before it is built."""
    if len(raw) > max_bytes:
        msg = f"result larger than {max_bytes} bytes"
        raise ProtocolError(msg)
    if count_elements(raw) > MAX_ELEMENTS:
        msg = f"result with more than {MAX_ELEMENTS:,} elements"
        raise ProtocolError(msg)
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, parse_int=_bounded_int
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and any number json itself could not convert.
        msg = f"not JSON ({type(exc).__name__})"
        raise ProtocolError(msg) from exc
    # Learner text enters the grader here: no lone surrogate gets past (`model.text.readable`).
    return _readable(value) if _SURROGATE_ESCAPE.search(raw) else value


def parse_result(raw: bytes, *, max_bytes: int, nonce: str | None = None) -> ChildResult:
    """Decode and check one child result; raise ProtocolError if it is not one.

    With `nonce`, the result must carry that run's one-time token: the child read it from its
    request and deleted the file before learner code ran, so a result forged by learner code
    (written to the result pipe, then `os._exit`) does not have it.
    """
    data = _decode(raw, max_bytes)
    if type(data) is not dict:
        msg = "result is not an object"
        raise ProtocolError(msg)
    if _depth(data) > MAX_DEPTH:
        msg = f"result nested deeper than {MAX_DEPTH}"
        raise ProtocolError(msg)
    if data.get("protocol") != 1 or type(data.get("protocol")) is not int:
        msg = "unknown protocol version"
        raise ProtocolError(msg)
    if nonce is not None and data.get("nonce") != nonce:
        msg = "the result does not carry this run's token: something other than the runner wrote it"
        raise ProtocolError(msg)
    status = _need(data, "status", (str,))
    if status not in {"ok", "error"}:
        msg = f"unknown status {status!r}"
        raise ProtocolError(msg)
    _check_error(data.get("error"))
    if status == "error" and data.get("error") is None:
        msg = "an error result without its error"
        raise ProtocolError(msg)
    _check_trace(data.get("trace"))
    _need(data, "helpers", (dict,))
    _need(data, "warnings", (list,))
    _need(data, "flooded", (bool,))
    confined = data.get("confined")
    if confined is not None and (
        type(confined) is not dict or type(confined.get("landlock")) is not int
    ):
        msg = "field 'confined' should be an object with an int 'landlock'"
        raise ProtocolError(msg)
    return cast("ChildResult", data)  # every field checked above
