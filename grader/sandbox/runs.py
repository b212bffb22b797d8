"""Runs one module in the sandbox and turns what came back into a `Run` or a clear error.

Hidden tests and the predict grader call `execute`; they get either the trace of a finished
run, or a `LearnerCodeError` whose message is written for the learner: the syntax error and its
line, the missing function, the exception with the learner's own frames only, the exit, the
deadlock, busy loop or runaway clock, the timeout and where the code was stuck, the output
flood, the memory limit.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import re
import signal
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.model.errors import FailureKind, LearnerCodeError
from grader.model.ordering import Block, blocks_from_lines
from grader.model.text import clean
from grader.model.trace import Trace
from grader.sandbox import spawn
from grader.sandbox.isolation import probe
from grader.sandbox.limits import Limits, default_limits
from grader.sandbox.protocol import OVER_CAPS, ChildError

MIB = 1024 * 1024

#: `KIT_LOOP_ROUTE=factory` runs snippets through the loop_factory route that 3.14+ needs, on
#: any Python (`runtime/loop_route.py`): so that route is tested on the Pythons we have.
LOOP_ROUTE_VAR = "KIT_LOOP_ROUTE"
#: `ASYNCIO_KIT_FENCE=0` takes the fence around learner code away (`runtime/guard.py`), so the
#: kit's tests can prove the layers beneath it hold on their own. Never for real grading.
FENCE_VAR = "ASYNCIO_KIT_FENCE"


def fence_on() -> bool:
    """Whether learner runs get the fence (on unless ASYNCIO_KIT_FENCE=0)."""
    return os.environ.get(FENCE_VAR, "1").strip() != "0"


@dataclass(frozen=True)
class Run:
    """A finished run: its printed lines, trace, return value and helper counters."""

    trace: Trace
    returned: Any = None
    helpers: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    isolation: str = ""
    wall_seconds: float = 0.0
    #: What the child wrote to stderr (cleaned, capped): asyncio logs some complaints there.
    stderr: str = ""

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
    loop: dict[str, Any] | None = None,
    clock: str = "virtual",
    limits: Limits | None = None,
    misbelief: str | None = None,
) -> Run:
    """Run `entry` of `source` in a sandboxed child; raise LearnerCodeError if it fails.

    `misbelief` names a wrong mental model (`runtime/misbeliefs.py`) to run the code under.
    """
    request: dict[str, Any] = {
        "entry": entry,
        "args": args or [],
        "kwargs": kwargs or {},
        "clock": clock,
        "loop": loop or {},
    }
    if misbelief is not None:
        request["misbelief"] = misbelief
    if not fence_on():
        request["fence"] = False
    if route := os.environ.get(LOOP_ROUTE_VAR):  # tests: force 3.14's loop_factory route
        request["loop_route"] = route
    limits = limits or default_limits()
    # The same file asked the same thing under the same limits gets the same answer: in a
    # class, many students hand in identical files (untouched stubs, shared solutions), and a
    # warm batch worker then runs each only once.
    key = cache_key(source, request, limits)
    cached = _RESULTS.get(key)
    if clock != "virtual":
        # A real-clock run's order can depend on the machine's load: never reuse one.
        cached, _ = _run(request, source, filename, limits)
    elif cached is None:
        cached, keep = _run(request, source, filename, limits)
        if keep:
            _RESULTS[key] = cached
            if len(_RESULTS) > _RESULTS_KEPT:
                _RESULTS.popitem(last=False)
    else:
        _RESULTS.move_to_end(key)
    if isinstance(cached, LearnerCodeError):
        raise LearnerCodeError(cached.message, cached.kind)
    return cached


def cache_key(source: bytes, request: dict[str, Any], limits: Limits) -> str:
    """The run cache's key: everything that can change a run's outcome.

    The file, the request, the limits, the isolation layer it runs under, the runtime that
    runs it, and the Python version.
    """
    context = [
        request,
        dataclasses.astuple(limits),
        probe.current().name,
        spawn.runtime_digest(),
        sys.version,
        sys.executable,
    ]
    return hashlib.sha256(source + b"\0" + json.dumps(context).encode()).hexdigest()


#: Results of earlier runs in this process, oldest first (runs and the errors they raised).
_RESULTS: OrderedDict[str, Run | LearnerCodeError] = OrderedDict()
_RESULTS_KEPT = 1024
#: A run whose result channel carried more than this is not kept (4096 results at the 4 MiB
#: cap would hold gigabytes for a batch worker's life); honest runs send a few KiB.
CACHE_RESULT_BYTES = 64 * 1024


def run_child(
    request: dict[str, Any], module_source: bytes, *, limits: Limits | None = None
) -> spawn.ChildOutcome:
    """Run `module_source` as the module of `request` under this process's isolation layer."""
    return spawn.run_child_in(probe.current(), request, module_source, limits=limits)


def _run(
    request: dict[str, Any], source: bytes, filename: str, limits: Limits
) -> tuple[Run | LearnerCodeError, bool]:
    """One run in the sandbox, and whether its answer may be reused for the same call.

    The answer is a `Run`, or the `LearnerCodeError` that explains its end.

    Only small answers the file itself decided are kept: not a run the sandbox had to stop
    (time, CPU, output, disk, a crash, a forged or broken result - those can depend on the
    machine's load, and cost a batch worker nothing to forget), nor a large one.
    """
    outcome = run_child(request, source, limits=limits)
    if outcome.problem is not None or outcome.result is None:
        message = describe_problem(outcome, filename, limits, source)
        return LearnerCodeError(message, _kind(outcome)), False
    keep = outcome.result_bytes <= CACHE_RESULT_BYTES
    result = outcome.result
    error = result.get("error")
    if result["status"] == "error" and error is not None:  # the protocol ensures both or neither
        failure = LearnerCodeError(
            describe_error(error, filename, limits), FailureKind.reported(error["kind"])
        )
        return failure, keep
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
        stderr=outcome.stderr[-_STDERR_KEPT:],
    ), keep


#: The tail of a finished run's stderr kept with it (warnings are short and come last).
_STDERR_KEPT = 4096


def _kind(outcome: spawn.ChildOutcome) -> FailureKind:
    problem = outcome.problem or ""
    if problem.startswith("bad-result"):
        return FailureKind.FORGED
    return {
        "timeout": FailureKind.TIMEOUT,
        "output-flood": FailureKind.FLOOD,
        "disk": FailureKind.DISK,
        "cpu": FailureKind.CPU,
    }.get(problem, FailureKind.CRASH)


# faulthandler's lines: `  File "/path/x.py", line 12 in name`, innermost frame first.
_FAULT_FRAME = re.compile(r'File "([^"]*)", line (\d+) in (\S+)')
_LEARNER_FILE = "exercise.py"
#: A run that used this share of the wall-clock limit as CPU time was busy, not blocked (a
#: blocked run uses next to none; a busy one gets at least this much even on a loaded machine).
_BUSY_SHARE = 0.15
_BUSY_FLOOR_S = 0.25


def _source_line(source: bytes, number: int) -> str:
    lines = source.decode("utf-8", "replace").splitlines()
    if 1 <= number <= len(lines):
        return clean(lines[number - 1].strip(), limit=120)
    return ""


def _stuck_at(stderr: str, filename: str, source: bytes) -> str:
    """Where the fault handler's dump says the learner's code was when time ran out."""
    frames = _FAULT_FRAME.findall(stderr)
    for index, (path, line, function) in enumerate(frames):
        if not path.endswith(_LEARNER_FILE):
            continue
        where = f" It was at line {line} of {filename} (in `{function}`)"
        code = _source_line(source, int(line))
        if code:
            where += f": `{code}`"
        if index > 0:
            inner_path, _, inner_function = frames[index - 1]
            if not inner_path.endswith(_LEARNER_FILE):
                where += f", inside `{inner_function}` of {Path(inner_path).name}"
        return where + "."
    return ""


def describe_problem(  # noqa: PLR0911 - one sentence per way a run can end
    outcome: spawn.ChildOutcome, filename: str, limits: Limits, source: bytes = b""
) -> str:
    """A learner-facing sentence for a run that came back without a usable result."""
    problem = outcome.problem or ""
    if problem == "timeout":
        busy = outcome.cpu_seconds >= max(_BUSY_FLOOR_S, _BUSY_SHARE * limits.wall_seconds)
        if busy:
            what = (
                " It kept the CPU busy the whole time: a loop that never reaches an `await` "
                "(a `while True` without `await`, or a task waiting on a flag in a loop) keeps "
                "the event loop from running anything else."
            )
        else:
            what = (
                " It was waiting on a blocking call: under the grader every `asyncio.sleep` "
                "and `time.sleep` is instant, so something else blocked - a `threading` lock, "
                "event or queue, `select`, a pipe or socket read, or `input()`."
            )
        return (
            f"{filename} was still running after {limits.wall_seconds:g} s of real time and was "
            "stopped." + _stuck_at(outcome.stderr, filename, source) + what
        )
    if problem == "output-flood":
        return (
            f"{filename} wrote more than {limits.output_bytes // 1024} KiB of output and was "
            "stopped (is something printing in a loop that never ends?)."
        )
    if problem == "disk":
        return (
            f"{filename} wrote more than {limits.disk_bytes // MIB} MiB (or more than "
            f"{limits.disk_files} files) into its folder and was stopped."
        )
    if problem == "cpu":
        return (
            f"{filename} used more than {limits.cpu_seconds} s of CPU time and was stopped: a "
            "loop that never ends, or a computation far too big for this exercise."
        )
    if problem.startswith("bad-result"):
        detail = problem.partition(": ")[2] or "an unreadable result"
        if detail.startswith(OVER_CAPS):
            return (
                f"{filename} sent back more than the grader reads ({detail}): a value it "
                "returns, or output it makes, that large is not shown, and the run does not "
                "count. Return and print only what the exercise asks for."
            )
        return (
            f"{filename} interfered with the grader's result channel ({detail}); the run does "
            "not count. Print your lines; never write to the grader's pipes or files."
        )
    code = outcome.returncode
    if code is not None and code < 0:
        return _signal_message(filename, -code, limits)
    return (
        f"{filename} ended the process (exit status {code}) before the run finished: "
        "`os._exit`, `sys.exit` in a thread and similar calls stop the whole run, so nothing "
        "it printed counts."
    )


def _signal_message(filename: str, number: int, limits: Limits) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == getattr(signal, "SIGKILL", None):
        return (
            f"{filename} was killed (SIGKILL) before it finished: it ran out of memory "
            f"(limit {limits.memory_bytes // MIB} MiB) or something killed the process."
        )
    if number == signal.SIGSEGV:
        return (
            f"{filename} crashed the interpreter (SIGSEGV): usually endless recursion, running "
            "out of memory, or `os.abort()`."
        )
    if number == signal.SIGABRT:
        return f"{filename} aborted the process (SIGABRT: `os.abort()` or a fatal error)."
    return f"{filename} was stopped by {name} before it finished (a signal ends the whole run)."


_ERRNO = re.compile(r"^\[Errno (\d+)\]")
_ABSOLUTE_PATH = re.compile(r": '/")


def describe_error(  # noqa: PLR0911 - one sentence per kind of error
    error: ChildError, filename: str, limits: Limits
) -> str:
    """A learner-facing sentence for an error the child reported."""
    kind = FailureKind.reported(error["kind"])
    message = error["message"]
    if kind is FailureKind.SYNTAX:
        return f"{filename} has a syntax error on line {error.get('line', '?')}: {message}"
    if kind is FailureKind.MISSING:
        return f"{filename}: {message}."
    if kind is FailureKind.SANDBOX:
        return f"The grader could not run {filename}: {message}. This is not your code's fault."
    if kind in {FailureKind.DEADLOCK, FailureKind.BUSY_LOOP, FailureKind.VIRTUAL_TIME_LIMIT}:
        return f"The run was stopped: {message}."
    if kind is FailureKind.FLOOD:
        return f"{filename} {message} and was stopped."
    if kind is FailureKind.EXIT:
        return f"{filename} called {message}, which ends the whole run."
    if kind is FailureKind.INTERRUPT:
        return f"{filename} raised KeyboardInterrupt, which ends the whole run."
    where = "".join(
        f"\n    line {frame['line']}, in {frame['function']}: {frame['code']}"
        for frame in error["frames"]
    )
    limit = _limit_hit(error, limits)
    if limit:
        return f"{filename} {limit}{where}"
    return f"{filename} raised {error['type']}: {message}{where}"


def _limit_hit(error: ChildError, limits: Limits) -> str:  # noqa: PLR0911 - a table
    """The sandbox limit behind an exception, said plainly ('' if it was none)."""
    kind, message = error["type"], error["message"]
    if kind == "MemoryError" or message.startswith(f"[Errno {errno.ENOMEM}]"):
        return f"ran out of memory (limit {limits.memory_bytes // MIB} MiB)."
    if kind == "RecursionError":
        return f"recursed too deeply ({message})."
    match = _ERRNO.match(message)
    number = int(match.group(1)) if match else None
    if number in {errno.EACCES, errno.EPERM} or kind == "PermissionError":
        return (
            f"tried to use a file, folder or process outside its sandbox ({message}). "
            "Code under the grader may only read and write its own folder."
        )
    if number == errno.ENOENT and _ABSOLUTE_PATH.search(message):
        return (
            f"tried to open a path that does not exist inside its sandbox ({message}). Code "
            "under the grader sees only its own folder and Python's standard library."
        )
    if number in {errno.EMFILE, errno.ENFILE}:
        return f"opened more files than allowed ({limits.open_files} at once)."
    code = " ".join(str(frame.get("code", "")) for frame in error["frames"])
    spawning = any(word in code for word in ("fork", "Popen", "spawn", "system", "Process"))
    if (number == errno.EAGAIN and spawning) or "can't start new thread" in message:
        return f"tried to start more processes or threads than allowed ({limits.processes})."
    if number == errno.EFBIG:
        return f"wrote a file larger than {limits.file_bytes // 1024} KiB."
    if number in {errno.ENOSPC, errno.EDQUOT}:
        return f"filled its folder (limit {limits.disk_bytes // MIB} MiB)."
    if number in {errno.ENETUNREACH, errno.ENETDOWN, errno.ECONNREFUSED, errno.EHOSTUNREACH}:
        return f"tried to use the network, which the grader does not allow ({message})."
    return ""
