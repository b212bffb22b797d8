"""The portable floor: a child process, a wall-clock kill and capped output, and nothing else.

Windows has no `resource`, no `fork`, no POSIX signals and no `select` on pipes, so the
`rlimits` floor (`isolation/jail.py`: limits set in a pre-exec hook, a process group killed
with SIGKILL) cannot be built there. This floor needs only `subprocess` and threads:

- the run is a separate interpreter (`python -I -S -B`, closed stdin, a minimal environment)
  in its own process group (`CREATE_NEW_PROCESS_GROUP` on Windows, a new session elsewhere);
- the parent kills it at the wall-clock deadline, and when stdout or stderr goes over its cap
  or the run folder over its size: on Windows the whole tree (`taskkill /T /F`, then
  `TerminateProcess`), elsewhere the process group;
- stdout and stderr are read by one thread each (Windows pipes cannot be `select`ed), which
  keep at most the cap and flag a flood;
- the result comes back through a file in the run folder that the parent reads after the
  run (capped), checked as every result is (`protocol.parse_result`, the run's token).

It does not limit CPU, memory, file sizes, open files or processes, does not hide any file
the learner's user can read, and does not stop network access or signals to other processes
of that user; a child that detaches from its process group (or, on Windows, whose tree
`taskkill` cannot walk) can outlive the run. That is fine for a learner grading their own
code on their own machine, and not for grading other people's code (see docs/support.md).
`layers.choose` picks it whenever `missing()` names anything, and on request
(`ASYNCIO_KIT_ISOLATION=portable`); results name it `portable`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.limits import Limits

#: The layer's name in results files and in ASYNCIO_KIT_ISOLATION.
PORTABLE = "portable"
#: The file the child writes its result to, in the run folder.
RESULT_FILE = "result.json"
_POLL_S = 0.05
#: After a kill, how long the reader threads may take to see the pipes close.
_KILL_GRACE_S = 2.0
_CHUNK = 65536


def missing() -> list[str]:
    """What the `rlimits` floor needs and this interpreter lacks (empty on Linux and macOS)."""
    gaps: list[str] = []
    if importlib.util.find_spec("resource") is None:
        gaps.append("resource")
    gaps += [
        f"os.{name}" for name in ("fork", "killpg", "geteuid", "wait4") if not hasattr(os, name)
    ]
    if not hasattr(signal, "SIGKILL"):
        gaps.append("signal.SIGKILL")
    return gaps


@dataclass
class Ended:
    """What one portable run left: its output, its result bytes, and how it ended."""

    stdout: bytes
    stderr: bytes
    result: bytes
    returncode: int | None
    timed_out: bool = False
    output_flooded: bool = False
    disk_full: bool = False
    wall_seconds: float = 0.0
    #: CPU time of the child's first process (Windows only; 0 where it cannot be read).
    cpu_seconds: float = 0.0


def environment(token_var: str, token: str) -> dict[str, str]:
    """A minimal environment for the child: what an interpreter needs to start, and the token."""
    env = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", token_var: token}
    if os.name == "nt":
        # Without SYSTEMROOT a Windows Python cannot initialise its random source or sockets.
        for name in ("SYSTEMROOT", "SYSTEMDRIVE", "PATH", "TEMP", "TMP"):
            if name in os.environ:
                env[name] = os.environ[name]
    else:
        env["PATH"] = "/usr/bin:/bin"
    return env


class _Reader(threading.Thread):
    """Reads one pipe to its end, keeping at most `cap` bytes; `flooded` once it went over."""

    def __init__(self, stream: object, cap: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.cap = cap
        self.data = bytearray()
        self.flooded = threading.Event()

    def run(self) -> None:
        read = getattr(self.stream, "read1", None) or self.stream.read  # type: ignore[attr-defined]
        with contextlib.suppress(OSError, ValueError):
            while chunk := read(_CHUNK):
                if len(self.data) <= self.cap:
                    self.data += chunk
                if len(self.data) > self.cap:
                    self.flooded.set()
                    # Keep reading and throwing away: a writer blocked on a full pipe would
                    # otherwise never notice that it is being killed.


def run(
    command: list[str],
    work: Path,
    env: dict[str, str],
    limits: Limits,
    too_big: Callable[[], bool] | None = None,
) -> Ended:
    """Run `command` in `work` under the portable floor; `too_big` says the folder is full."""
    started = time.monotonic()
    group: dict[str, object] = {}
    if hasattr(subprocess, "CREATE_NEW_PROCESS_GROUP"):
        group["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        group["start_new_session"] = True
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        command,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **group,  # type: ignore[call-overload]
    )
    out = _Reader(process.stdout, limits.output_bytes)
    err = _Reader(process.stderr, limits.output_bytes)
    out.start()
    err.start()
    ended = Ended(b"", b"", b"", None)
    deadline = started + limits.wall_seconds
    try:
        while process.poll() is None:
            if time.monotonic() >= deadline:
                ended.timed_out = True
                break
            if out.flooded.is_set() or err.flooded.is_set():
                ended.output_flooded = True
                break
            if too_big is not None and too_big():
                ended.disk_full = True
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(min(_POLL_S, max(deadline - time.monotonic(), 0.0)))
    finally:
        # Busy or blocked, for the learner's timeout message: read before the process is gone.
        ended.cpu_seconds = cpu_seconds(process)
        # Whatever the run left (its own children included) goes with it.
        kill_tree(process)
        for reader in (out, err):
            reader.join(_KILL_GRACE_S)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    ended.output_flooded = ended.output_flooded or out.flooded.is_set() or err.flooded.is_set()
    ended.stdout = bytes(out.data[: limits.output_bytes])
    ended.stderr = bytes(err.data[: limits.output_bytes])
    ended.returncode = process.returncode
    ended.result = read_result(work / RESULT_FILE, limits.result_bytes + 1)
    ended.wall_seconds = time.monotonic() - started
    return ended


def read_result(path: Path, cap: int) -> bytes:
    """At most `cap` bytes of the result file (one over the limit is enough to refuse it)."""
    try:
        with path.open("rb") as handle:
            return handle.read(cap)
    except OSError:
        return b""


if sys.platform == "win32":  # a platform, not a feature: mypy checks each branch on its own

    def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
        """The CPU time `process` used so far (GetProcessTimes; 0 if it cannot be read)."""
        import ctypes  # noqa: PLC0415 - Windows only
        from ctypes import wintypes  # noqa: PLC0415

        times = [wintypes.FILETIME() for _ in range(4)]  # created, exited, kernel, user
        handle = wintypes.HANDLE(int(getattr(process, "_handle", 0)))
        if not ctypes.windll.kernel32.GetProcessTimes(handle, *map(ctypes.byref, times)):
            return 0.0
        ticks = sum(t.dwHighDateTime << 32 | t.dwLowDateTime for t in times[2:])
        return float(ticks) / 10_000_000  # FILETIME counts 100 ns

else:

    def cpu_seconds(process: subprocess.Popen[bytes]) -> float:  # noqa: ARG001 - as on Windows
        """Unknown here (0): on POSIX the `rlimits` floor, not this one, is used."""
        return 0.0


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill the run and what it started, with what this platform has; then reap it."""
    if os.name == "nt" and process.poll() is None:
        taskkill = shutil.which("taskkill")
        if taskkill:
            # /T walks the tree by parent pid: children the run started die with it.
            subprocess.run(  # noqa: S603 - a system tool, fixed arguments
                [taskkill, "/T", "/F", "/PID", str(process.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
    kill_group = getattr(os, "killpg", None)
    strongest = getattr(signal, "SIGKILL", signal.SIGTERM)
    if kill_group is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill_group(process.pid, strongest)
    if process.poll() is None:
        with contextlib.suppress(OSError):
            if os.name == "nt":
                process.kill()  # TerminateProcess: cannot be caught
            else:
                os.kill(process.pid, strongest)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(_KILL_GRACE_S)
