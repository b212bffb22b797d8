"""Runs one module in the sandbox and turns what came back into a `Run` or a clear error.

Hidden tests and the predict grader call `execute`; they get either the trace of a finished
run, or a `LearnerCodeError` whose message is written for the learner: the syntax error and its
line, the missing function, the exception with the learner's own frames only, the exit, the
deadlock, busy loop or runaway clock, the timeout and where the code was stuck, the output
flood, the memory limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import sandbox
from .ordering import Block, blocks_from_lines

DEFAULT_LIMITS = sandbox.Limits()


class LearnerCodeError(Exception):
    """Learner code could not be run to the end; the message says why, in plain words."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class Run:
    """A finished run: its printed lines, trace, return value and helper counters."""

    trace: dict[str, Any]
    returned: Any = None
    helpers: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    isolation: str = ""
    wall_seconds: float = 0.0

    @property
    def lines(self) -> list[str]:
        """The printed lines, in the order they were printed."""
        return [str(line["text"]).rstrip() for line in self.trace["lines"]]

    @property
    def blocks(self) -> list[Block]:
        """The printed lines as blocks, shutdown lines from several tasks grouped."""
        return blocks_from_lines(self.trace["lines"])

    @property
    def end_seconds(self) -> float:
        """Virtual seconds the run took."""
        return int(self.trace["end_ns"]) / 1e9


def execute(
    source: bytes,
    filename: str,
    *,
    entry: str = "main",
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    mode: str = "call",
    loop: dict[str, Any] | None = None,
    clock: str = "virtual",
    limits: sandbox.Limits | None = None,
    misbelief: str | None = None,
) -> Run:
    """Run `entry` of `source` in a sandboxed child; raise LearnerCodeError if it fails.

    `misbelief` names a wrong mental model (`runtime/misbeliefs.py`) to run the code under.
    """
    request: dict[str, Any] = {
        "mode": mode,
        "entry": entry,
        "args": args or [],
        "kwargs": kwargs or {},
        "clock": clock,
        "loop": loop or {},
    }
    if misbelief is not None:
        request["misbelief"] = misbelief
    limits = limits or DEFAULT_LIMITS
    outcome = sandbox.run_child(request, source, limits=limits)
    if outcome.problem is not None or outcome.result is None:
        raise LearnerCodeError(_describe_problem(outcome, filename, limits), _kind(outcome))
    result = outcome.result
    if result["status"] == "error":
        error = result["error"]
        raise LearnerCodeError(describe_error(error, filename, limits), str(error["kind"]))
    return Run(
        trace=result["trace"],
        returned=result.get("return"),
        helpers=result["helpers"],
        warnings=tuple(
            f"{w.get('category')}: {w.get('message')}"
            for w in result["warnings"]
            if isinstance(w, dict)
        ),
        isolation=outcome.isolation,
        wall_seconds=outcome.wall_seconds,
    )


def _kind(outcome: sandbox.ChildOutcome) -> str:
    if outcome.timed_out:
        return "timeout"
    if outcome.output_flooded:
        return "flood"
    return "crash"


_FAULT_FRAME = re.compile(r'File "[^"]*exercise\.py", line (\d+) in (\S+)')


def _stuck_at(stderr: str, filename: str) -> str:
    frames = _FAULT_FRAME.findall(stderr)
    if not frames:
        return ""
    # faulthandler lists the innermost frame first.
    line, function = frames[0]
    return f" It was stuck at line {line} of {filename} (in `{function}`)."


def _describe_problem(outcome: sandbox.ChildOutcome, filename: str, limits: sandbox.Limits) -> str:
    if outcome.timed_out:
        return (
            f"{filename} was still running after {limits.wall_seconds:g} s of real time and was "
            "stopped." + _stuck_at(outcome.stderr, filename) + " Under the grader every "
            "`asyncio.sleep` is instant, so this is a blocking call or a loop that never awaits "
            "(a `while True` without `await`, a blocking `input()` or network call)."
        )
    if outcome.output_flooded:
        return (
            f"{filename} wrote more than {limits.output_bytes // 1024} KiB of output and was "
            "stopped."
        )
    code = outcome.returncode
    if code is not None and code < 0:
        signal_number = -code
        if signal_number == 24:  # noqa: PLR2004 - SIGXCPU
            return f"{filename} used more than {limits.cpu_seconds} s of CPU time and was stopped."
        return f"{filename} was killed by signal {signal_number} before it finished."
    if outcome.problem and outcome.problem.startswith("bad-result"):
        return f"{filename} interfered with the grader's result channel ({outcome.problem})."
    return (
        f"{filename} ended the process (exit status {code}) before the run finished; "
        "`os._exit`, `sys.exit` and signals stop the whole run."
    )


def describe_error(error: dict[str, Any], filename: str, limits: sandbox.Limits) -> str:
    """A learner-facing sentence for an error the child reported."""
    kind = error["kind"]
    message = error["message"]
    if kind == "syntax":
        return f"{filename} has a syntax error on line {error.get('line', '?')}: {message}"
    if kind == "missing":
        return f"{filename}: {message}."
    if kind in {"deadlock", "busy-loop", "virtual-time-limit"}:
        return f"The run was stopped: {message}."
    if kind == "flood":
        return f"{filename} {message} and was stopped."
    if kind == "exit":
        return f"{filename} called {message}, which ends the whole run."
    if kind == "interrupt":
        return f"{filename} raised KeyboardInterrupt, which ends the whole run."
    if error["type"] == "MemoryError":
        return f"{filename} ran out of memory (limit {limits.memory_bytes // (1024 * 1024)} MiB)."
    where = "".join(
        f"\n    line {frame['line']}, in {frame['function']}: {frame['code']}"
        for frame in error["frames"]
    )
    return f"{filename} raised {error['type']}: {message}{where}"
