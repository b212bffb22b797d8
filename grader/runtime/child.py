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
import traceback
import warnings
from typing import Any

from . import confine, helpers, loop_route, virtual_time
from .tracing import LineCapture, OutputFloodError, TraceRecorder
from .virtual_loop import LoopGuardError

PROTOCOL = 1
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


def _load_module(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("learner_exercise", path)
    if spec is None or spec.loader is None:
        msg = f"cannot load {os.path.basename(path)}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules["learner_exercise"] = module
    spec.loader.exec_module(module)
    return module


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return {"$unserializable": type(value).__name__}
    return value


def _execute(run: _Run) -> tuple[Any, dict[str, Any] | None]:
    request = run.request
    module = _load_module(run.module_path)
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
            # The policy route on 3.10-3.13, a loop_factory on 3.14+ (or when the request asks).
            run.route = loop_route.install(
                request.get("loop_route"), observer=recorder, **request.get("loop", {})
            )

            def advance_outside(delta_ns: int) -> None:
                recorder.loop_time_offset_ns += delta_ns
                recorder.last_ns += delta_ns

            virtual_time.install(recorder.now_ns, advance_outside)
        if request.get("misbelief"):  # run the snippet as a wrong mental model says (feedback)
            from . import misbeliefs

            misbeliefs.apply(str(request["misbelief"]))
        capture = LineCapture(recorder)
        saved_stdout = sys.stdout
        sys.stdout = capture
        try:
            returned, error = _execute(run)
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
            guard = _first_guard(run)
            error = run.error(guard.kind, guard) if guard else run.error("exception", exc)
        finally:
            sys.stdout = saved_stdout
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


def _first_guard(run: _Run) -> LoopGuardError | None:
    if run.route is None:
        return None
    for loop in run.route.loops:
        if loop.guard_error is not None:
            return loop.guard_error
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
