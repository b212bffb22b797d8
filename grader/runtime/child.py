"""The sandboxed side of a run: load one module, run it under the virtual clock, report data.

The grader never runs learner code (nor a snippet) in its own process. It starts a child, which
runs this module: it reads a JSON request, imports the module it names (never as `__main__`, so
the file's own `asyncio.run(main())` guard stays quiet unless asked for), calls the entry point
under the virtual-clock loop with stdout captured line by line, and writes one JSON result to a
file descriptor the parent gave it. Nothing the child says is trusted for a score: the parent
checks its types and compares it with the truth, which the child never sees.

Before the learner's module loads, the child takes the run's one-time token out of the request
and deletes the request file (only the real result carries the token), and, if the request
asks for it, confines itself with Landlock (`confine.py`). Copies of the process made by the
learner's `os.fork()` never answer.

Usage (by the sandbox, in a fresh temporary folder):
    python -I -S -B -c "import sys; sys.path.insert(0, sys.argv[3]); import kitrt.child as c; \
        c.main()" REQUEST.json RESULT_FD RUNTIME_DIR

Standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import importlib.util
import inspect
import json
import os
import sys
import threading
import time
import traceback
import warnings
from typing import Any

from . import confine, guard, helpers, loop_route, virtual_time
from .tracing import LineCapture, OutputFloodError, RecorderHandle, TraceRecorder
from .virtual_loop import LoopGuardError, VirtualClockLoop

PROTOCOL = 1
_ORIGIN_FOLD_NS = (1 << 21) * 1_000_000_000
_MAX_FRAMES = 8
_MAX_TEXT = 400


class _Run:
    """One request's state: the recorder, the learner module's path, collected warnings."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.module_path = os.path.abspath(request["module"])
        self.recorder = TraceRecorder()
        self.route: loop_route.LoopRoute | None = None
        self.helper_stats: dict[str, dict[str, Any]] = {}

    def learner_frames(self, tb: Any) -> list[dict[str, Any]]:
        frames = [
            {"line": frame.lineno, "function": frame.name, "code": (frame.line or "")[:_MAX_TEXT]}
            for frame in traceback.extract_tb(tb)
            if os.path.abspath(frame.filename) == self.module_path
        ]
        return frames[-_MAX_FRAMES:]

    def error(self, kind: str, exc: BaseException) -> dict[str, Any]:
        message = str(exc)[:_MAX_TEXT]
        info: dict[str, Any] = {
            "kind": kind,
            "type": type(exc).__name__,
            "message": message,
            "frames": self.learner_frames(exc.__traceback__),
        }
        if isinstance(exc, SyntaxError):
            info["line"] = exc.lineno or 0
            info["message"] = (exc.msg or "")[:_MAX_TEXT]
        return info


def _load_module(path: str, fence: guard.Guard | None) -> Any:
    spec = importlib.util.spec_from_file_location("learner_exercise", path)
    if spec is None or spec.loader is None:
        msg = f"cannot load {os.path.basename(path)}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    # The module's own builtins and import: what it can name leads nowhere near the harness.
    if fence is not None:
        module.__dict__["__builtins__"] = fence.builtins
    sys.modules["learner_exercise"] = module
    spec.loader.exec_module(module)
    return module


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return {"$unserializable": type(value).__name__}
    return value


def _execute(run: _Run, fence: guard.Guard | None) -> tuple[Any, dict[str, Any] | None]:
    request = run.request
    module = _load_module(run.module_path, fence)
    entry_name = request.get("entry", "main")
    entry = getattr(module, entry_name, None)
    if entry is None or not callable(entry):
        return None, {
            "kind": "missing",
            "type": "AttributeError",
            "message": f"the file defines no function named `{entry_name}`",
            "frames": [],
        }
    args = helpers.build(request.get("args", []), run.helper_stats)
    kwargs = helpers.build(request.get("kwargs", {}), run.helper_stats)
    if inspect.iscoroutinefunction(entry):
        return asyncio.run(entry(*args, **kwargs)), None
    return entry(*args, **kwargs), None


def _install_virtual_clock(run: _Run) -> None:
    """Route every new loop to the sealed virtual one, and make `time` follow its clock."""
    recorder = run.recorder
    request = run.request
    # The policy route on 3.10-3.13, a loop_factory on 3.14+ (or when the request asks).
    # The loop holds a handle, never the recorder; the loop it makes is sealed.
    # The clock starts where a plain run's would: at the real monotonic clock (folded
    # below 2**21 s, where a float still holds every nanosecond of an hour's run).
    origin = time.monotonic_ns() % _ORIGIN_FOLD_NS

    def origin_of() -> int:  # each loop's clock goes on from the trace's, as time does
        return origin + recorder.now_ns()

    run.route = loop_route.install(
        request.get("loop_route"),
        loop_class=_GradedLoop,
        observer=RecorderHandle(recorder),
        origin_of=origin_of,
        **request.get("loop", {}),
    )
    virtual_time.install(recorder.now_ns, recorder.advance_outside, origin_ns=origin)


def run_request(request: dict[str, Any]) -> dict[str, Any]:
    """Run one request in this process and return the result as JSON data."""
    run = _Run(request)
    recorder = run.recorder
    returned: Any = None
    error: dict[str, Any] | None = None
    # Warnings from here on, the kit's own loop routing included, are returned as data: a
    # kit test checks that no run, on any route, reports a DeprecationWarning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if request.get("clock", "virtual") == "virtual":
            _install_virtual_clock(run)
        if request.get("misbelief"):  # run the snippet as a wrong mental model says (feedback)
            from . import misbeliefs

            misbeliefs.apply(str(request["misbelief"]))
        capture = LineCapture(recorder)
        # `"fence": false` is for the kit's own tests of the layers beneath it (the sandbox's
        # memory and namespaces must hold with no fence at all); the grader never sends it.
        fence, before = _fence(run) if request.get("fence", True) is not False else (None, {})
        saved_stdout = sys.stdout
        sys.stdout = capture
        try:
            returned, error = _execute(run, fence)
            capture.flush()
        except OutputFloodError as exc:
            error = run.error("flood", exc)
        except LoopGuardError as exc:
            first = _first_guard(run) or exc
            error = run.error(first.kind, first)
        except SyntaxError as exc:
            error = run.error("syntax", exc)
        except SystemExit as exc:
            error = run.error("exit", exc)
            error["message"] = f"sys.exit({exc.code!r})"[:_MAX_TEXT]
        except KeyboardInterrupt as exc:
            error = run.error("interrupt", exc)
        except BaseException as exc:  # noqa: BLE001 - any learner failure is reported as data
            tripped = _first_guard(run)
            error = run.error(tripped.kind, tripped) if tripped else run.error("exception", exc)
        finally:
            sys.stdout = saved_stdout
    breach = _breach(fence, before) if fence is not None else None
    if breach is not None:
        error = breach
    return {
        "protocol": PROTOCOL,
        "status": "error" if error else "ok",
        "error": error,
        "trace": recorder.to_json(),
        "return": _jsonable(returned),
        "helpers": _jsonable(run.helper_stats),
        "warnings": [
            {
                "category": w.category.__name__,
                "message": str(w.message)[:_MAX_TEXT],
                "line": w.lineno,
            }
            for w in caught[:20]
        ],
        "flooded": recorder.flooded,
        "loop_route": run.route.name if run.route else None,
    }


# --- the fence around learner code (see guard.py and docs/produce-integrity.md) -------------------
class _Missing:
    """A name the kit's loop has and asyncio's lacks, as learner code meets it: not there.

    The kit reaches what stands behind it through `VirtualClockLoop` itself (its class, never
    an instance lookup), so the graded loop answers `loop.observer` or `hasattr(loop,
    "block_for")` as asyncio's own loop does: with an AttributeError.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        msg = f"{type(instance).__name__!r} object has no attribute {self.name!r}"
        raise AttributeError(msg, name=self.name, obj=instance)

    def __set__(self, instance: object, value: object) -> None:
        msg = f"`loop.{self.name}` cannot be replaced under the grader"
        sys.audit("kitrt.refused", msg)
        raise AttributeError(msg)


class _GradedLoop(VirtualClockLoop):
    """The virtual loop as learner code meets it: sealed, and looking like asyncio's own.

    Learner code reaches the running loop (`asyncio.get_running_loop()`), so it must not be
    able to replace what the harness relies on (`loop.block_for = ...` would make a blocking
    call free, `loop.time = ...` would move the helpers' clock), nor tell it from a plain run
    by its name (`repr(loop)`), its clock (`loop.time()` starts where `time.monotonic()` is,
    as in a plain run) or its attributes (`dir(loop)` lists what asyncio's own loop has; the
    kit's own names read as missing).
    """

    _kit_sealed = False

    def __init__(self, *, origin_of: Any = None, **options: Any) -> None:
        origin = int(origin_of()) if origin_of is not None else 0
        super().__init__(origin_ns=origin, **options)
        self._kit_sealed = True

    def __setattr__(self, name: str, value: object) -> None:
        if self._kit_sealed and not name.startswith("_"):
            msg = f"`loop.{name}` cannot be replaced under the grader"
            sys.audit("kitrt.refused", msg)
            raise AttributeError(msg)
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if self._kit_sealed and not name.startswith("_"):
            msg = f"`loop.{name}` cannot be deleted under the grader"
            sys.audit("kitrt.refused", msg)
            raise AttributeError(msg)
        super().__delattr__(name)

    def __dir__(self) -> list[str]:
        return list(_stock_loop_names())


#: The kit's loop names that asyncio's own loop lacks (its public methods and settings).
_KIT_LOOP_NAMES = sorted(
    {name for name in dir(VirtualClockLoop) if not name.startswith("_")}
    - set(dir(asyncio.SelectorEventLoop))
)
for _name in _KIT_LOOP_NAMES:
    setattr(_GradedLoop, _name, _Missing(_name))
_GradedLoop.__name__ = asyncio.SelectorEventLoop.__name__
_GradedLoop.__qualname__ = asyncio.SelectorEventLoop.__qualname__
_GradedLoop.__module__ = asyncio.SelectorEventLoop.__module__

_STOCK_NAMES: list[str] = []


def _stock_loop_names() -> list[str]:
    """What `dir()` shows for asyncio's own loop (made once, the first time it is asked)."""
    if not _STOCK_NAMES:
        stock = asyncio.SelectorEventLoop()
        try:
            _STOCK_NAMES.extend(dir(stock))
        finally:
            stock.close()
    return _STOCK_NAMES


def _class_snapshot() -> dict[type, dict[str, Any]]:
    """The classes whose methods the harness relies on while it records, as they are now.

    Learner code that changes one of them (even through a public name reachable from a module
    view, `asyncio.BaseEventLoop.call_soon = ...`) changes how the loop runs or records: the
    loop's whole class hierarchy, the policy, timers, the selector, threads and the kit's own
    recording classes. Other classes (locks, queues, executors: importing the thread pool just
    to watch it would cost every run milliseconds) change behaviour, which is then recorded as
    it happened.
    """
    import selectors

    roots: list[type] = [
        _GradedLoop, loop_route.LoopRoute, RecorderHandle, LineCapture, TraceRecorder,
        asyncio.Handle, asyncio.TimerHandle, selectors.DefaultSelector,
        threading.Thread, threading.Event,
    ]  # fmt: skip
    snapshot: dict[type, dict[str, Any]] = {}
    for root in roots:
        for cls in root.__mro__:
            if cls is not object and cls not in snapshot:
                snapshot[cls] = dict(vars(cls))
    return snapshot


def _changed_class(snapshot: dict[type, dict[str, Any]]) -> str | None:
    for cls, before in snapshot.items():
        now = vars(cls)
        if now.keys() != before.keys() or any(now[k] is not v for k, v in before.items()):
            changed = sorted(
                set(now.keys() ^ before.keys())
                | {k for k, v in before.items() if k in now and now[k] is not v}
            )
            return f"`{cls.__module__}.{cls.__qualname__}.{changed[0]}` was replaced"
    return None


def _no_dumps() -> None:
    """Make this process non-dumpable, so no program it starts can rewrite it from outside.

    No process of the same uid may then trace it or open its /proc memory. Programs may still
    be started (the sandbox's own tests and isolation handle those); only
    root can still trace a non-dumpable process.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


_PR_SET_DUMPABLE = 4


def _fence(run: _Run) -> tuple[guard.Guard, dict[type, dict[str, Any]]]:
    """Put the fence up, last thing before learner code loads; note the classes as they are."""
    _no_dumps()
    sys.argv[:] = [os.path.basename(run.module_path)]  # as `python exercise.py` sets it
    fence = guard.arm(run.module_path, os.path.dirname(os.path.abspath(__file__)))
    fence.hidden_classes.add(_GradedLoop)  # named like asyncio's own, so listed by hand
    if run.route is not None and run.route.name == "policy":  # the same for the kit's policy
        fence.hidden_classes.add(type(asyncio.events.get_event_loop_policy()))
    return fence, _class_snapshot()


def _breach(fence: guard.Guard, before: dict[type, dict[str, Any]]) -> dict[str, Any] | None:
    """The error for a run that reached into the harness (nothing it recorded counts)."""
    refused = fence.refusals()
    changed = _changed_class(before)
    if not refused and changed is None:
        return None
    what = refused[0] if refused else changed
    return {
        "kind": "refused",
        "type": "GuardRefusal",
        "message": str(what)[:_MAX_TEXT],
        "frames": [],
    }


def _first_guard(run: _Run) -> LoopGuardError | None:
    if run.route is None:
        return None
    for loop in run.route.loops:
        error = VirtualClockLoop.guard_error.fget(loop)  # type: ignore[attr-defined]
        if error is not None:
            return error  # type: ignore[no-any-return]
    return None


def main() -> None:
    """Entry point: `REQUEST_PATH RESULT_FD RUNTIME_DIR` on the command line.

    RESULT_FD may be a file name instead (the portable floor: Windows cannot pass a pipe).
    """
    request_path, target = sys.argv[1], sys.argv[2]
    result_fd: int | str = int(target) if target.isdigit() else target
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    # The run's token goes back only with the real result: delete the file before the
    # learner's module loads, so learner code cannot stamp a forged result with it.
    with contextlib.suppress(OSError):
        os.unlink(request_path)
    del sys.argv[1:]
    serve(request, result_fd)


def serve(request: dict[str, Any], result_fd: int | str) -> None:
    """Run one request in this process, write its result to `result_fd`, and exit.

    Called by `main` in a freshly started child, and by the fork server in each fork.
    """
    first_pid = os.getpid()
    nonce = request.pop("nonce", None)
    confined: dict[str, Any] | None = None
    result: dict[str, Any]
    try:
        if request.get("confine"):
            confined = confine.apply(request["confine"])
    except OSError as exc:
        result = _sandbox_failure(exc)
    else:
        # Just before the parent's deadline, write every thread's stack to stderr: the parent
        # turns it into "stuck at line N" when it has to kill a run that never came back.
        faulthandler.dump_traceback_later(float(request.get("watchdog_s", 9.0)), file=sys.stderr)
        result = run_request(request)
    if os.getpid() != first_pid:
        os._exit(0)  # a copy made by the learner's os.fork(): only the runner itself answers
    result["nonce"] = nonce
    result["confined"] = confined
    data = json.dumps(result, allow_nan=False).encode()
    with open(result_fd, "wb") as out:
        out.write(data)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip atexit hooks and lingering threads: the learner's code has nothing more to say.
    os._exit(0)


def _sandbox_failure(exc: OSError) -> dict[str, Any]:
    """The result when the sandbox itself could not be set up (no learner code ran)."""
    return {
        "protocol": PROTOCOL,
        "status": "error",
        "error": {
            "kind": "sandbox",
            "type": type(exc).__name__,
            "message": f"the sandbox could not confine the run: {exc}"[:_MAX_TEXT],
            "frames": [],
        },
        "trace": TraceRecorder().to_json(),
        "return": None,
        "helpers": {},
        "warnings": [],
        "flooded": False,
    }
