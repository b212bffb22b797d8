"""Runs code the grader does not trust in a child process, and brings back plain data.

The rule the kit is built on: learner code never runs in the process that decides or writes
scores. Each run gets a fresh temporary folder holding one module and a request, a child started
with `python -I -S` (no site, no environment, no current folder on the path), closed stdin,
resource limits, and its own process group that the parent kills outright at the wall-clock
deadline or once the run is over. The child answers through a private pipe with JSON only,
which `protocol.parse_result` checks before anything looks at it.

The kit's own snippets run here too: they are trusted, but they get the same guards, so a slip
in a snippet cannot hang the grader either.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import isolation, protocol
from .text import clean

KIB = 1024
MIB = 1024 * KIB

RUNTIME_SOURCE = Path(__file__).parent / "runtime"
_BOOT = "import sys; sys.path.insert(0, sys.argv[3]); import kitrt.child as c; c.main()"


@dataclass(frozen=True)
class Limits:
    """What one child may use. The wall-clock deadline is enforced by the parent."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 5
    memory_bytes: int = 768 * MIB
    file_bytes: int = 1 * MIB
    open_files: int = 64
    processes: int = 32
    output_bytes: int = 64 * KIB
    result_bytes: int = 4 * MIB


@dataclass
class ChildOutcome:
    """What came back from one child: a checked result, or why there is none."""

    result: dict[str, Any] | None
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    timed_out: bool = False
    output_flooded: bool = False
    problem: str | None = None
    wall_seconds: float = 0.0
    isolation: str = "process"
    notes: list[str] = field(default_factory=list)


_runtime_dir: Path | None = None


def runtime_dir() -> Path:
    """A read-only copy of the sandbox runtime, made once per grading process."""
    global _runtime_dir  # noqa: PLW0603 - one copy per process, made lazily
    if _runtime_dir is None or not _runtime_dir.exists():
        top = Path(tempfile.mkdtemp(prefix="asyncio-kit-runtime-"))
        target = top / "kitrt"
        target.mkdir()
        for source in RUNTIME_SOURCE.glob("*.py"):
            shutil.copyfile(source, target / source.name)
            (target / source.name).chmod(0o444)
        target.chmod(0o555)
        top.chmod(0o755)
        _runtime_dir = top
    return _runtime_dir


def _child_env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def run_child(
    request: dict[str, Any],
    module_source: bytes,
    *,
    limits: Limits | None = None,
) -> ChildOutcome:
    """Run `module_source` as the module of `request` in a sandboxed child."""
    limits = limits or Limits()
    work = Path(tempfile.mkdtemp(prefix="asyncio-kit-run-"))
    try:
        (work / "exercise.py").write_bytes(module_source)
        full_request = {
            **request,
            "module": "exercise.py",
            "watchdog_s": max(0.2, limits.wall_seconds - 0.5),
        }
        (work / "request.json").write_text(json.dumps(full_request), encoding="utf-8")
        layer = isolation.current()
        layer.prepare_workdir(work)
        return _spawn(work, limits, layer)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _spawn(work: Path, limits: Limits, layer: isolation.Layer) -> ChildOutcome:
    result_read, result_write = os.pipe()
    command = [
        sys.executable,
        "-I",
        "-S",
        "-c",
        _BOOT,
        "request.json",
        str(result_write),
        str(runtime_dir()),
    ]
    started = time.monotonic()
    try:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            layer.wrap(command),
            cwd=work,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(result_write,),
            start_new_session=True,
            preexec_fn=lambda: layer.in_child(limits),  # noqa: PLW1509 - limits must be set there
        )
    finally:
        os.close(result_write)
    outcome = ChildOutcome(result=None, isolation=layer.name)
    try:
        raw = _collect(process, result_read, limits, outcome, started)
    finally:
        os.close(result_read)
        _kill_group(process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=2)
        # Popen leaves its pipes open: close them, or each run leaks two files.
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        layer.cleanup()
    outcome.returncode = process.returncode
    outcome.wall_seconds = time.monotonic() - started
    if outcome.timed_out:
        outcome.problem = "timeout"
        return outcome
    if outcome.output_flooded:
        outcome.problem = "output-flood"
        return outcome
    if not raw:
        outcome.problem = "no-result"
        return outcome
    try:
        outcome.result = protocol.parse_result(raw, max_bytes=limits.result_bytes)
    except protocol.ProtocolError as exc:
        outcome.problem = f"bad-result: {exc}"
    return outcome


def _collect(
    process: subprocess.Popen[bytes],
    result_fd: int,
    limits: Limits,
    outcome: ChildOutcome,
    started: float,
) -> bytes:
    """Read stdout, stderr and the result pipe together until all close or the deadline."""
    assert process.stdout is not None  # noqa: S101 - set by Popen above
    assert process.stderr is not None  # noqa: S101
    buffers: dict[int, bytearray] = {
        process.stdout.fileno(): bytearray(),
        process.stderr.fileno(): bytearray(),
        result_fd: bytearray(),
    }
    caps = {
        process.stdout.fileno(): limits.output_bytes,
        process.stderr.fileno(): limits.output_bytes,
        result_fd: limits.result_bytes + 1,
    }
    with selectors.DefaultSelector() as selector:
        for fd in buffers:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        open_fds = set(buffers)
        deadline = started + limits.wall_seconds
        while open_fds:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                outcome.timed_out = True
                break
            for key, _ in selector.select(min(remaining, 0.5)):
                fd = int(key.fd)
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(fd)
                    open_fds.discard(fd)
                    continue
                buffers[fd] += chunk
                if len(buffers[fd]) > caps[fd]:
                    outcome.output_flooded = True
                    open_fds.clear()
                    break
    if outcome.timed_out:
        # The fault handler's dump (written just before the deadline) says where it was stuck.
        _kill_group(process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=2)
        _drain(process.stderr.fileno(), buffers[process.stderr.fileno()], limits.output_bytes)
    outcome.stdout = clean(bytes(buffers[process.stdout.fileno()][: limits.output_bytes]))
    outcome.stderr = clean(bytes(buffers[process.stderr.fileno()][: limits.output_bytes]))
    return bytes(buffers[result_fd])


def _drain(fd: int, buffer: bytearray, cap: int) -> None:
    with contextlib.suppress(OSError):
        while len(buffer) < cap:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buffer += chunk


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
