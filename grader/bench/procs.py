"""Runs a command for the benchmark while sampling the memory of its whole process tree.

Grading a class starts many processes (batch, one grader per student or long-lived workers,
a sandbox child per run), so the peak memory that matters is the sum over the tree at one
moment, not the peak of one process. A thread reads `/proc/*/stat` every 50 ms, finds the
command's descendants by parent pid and sums their resident set sizes. Summing RSS counts pages
that forked processes share once per process, so the figure is an upper bound. Without `/proc`
(not Linux) the memory figures are None.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
#: Sampling period of the memory thread, in seconds.
INTERVAL = 0.05
#: After a timeout, the command gets this long to stop what it started (SIGINT) before SIGKILL.
_GRACE_S = 10.0
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PROC = Path("/proc")
# Fields of /proc/PID/stat after the `(comm)`: state is 0, ppid 1, rss (pages) 21.
_PPID, _RSS = 1, 21


@dataclass(frozen=True)
class Measured:
    """What one measured command did: status, wall time, memory peak and its output."""

    returncode: int | None
    wall_s: float
    peak_rss_mib: float | None
    peak_processes: int | None
    stdout: str
    stderr: str
    timed_out: bool = False


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, resident bytes) of a process, or None if it is gone or unreadable."""
    try:
        text = (_PROC / pid / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return int(fields[_PPID]), int(fields[_RSS]) * _PAGE
    except (IndexError, ValueError):
        return None


def tree(root: int) -> dict[int, int]:
    """Resident bytes of `root` and each of its descendants now, by pid."""
    parents: dict[int, int] = {}
    sizes: dict[int, int] = {}
    try:
        entries = os.listdir(_PROC)  # noqa: PTH208 - names only, 20 times a second
    except OSError:
        return {}
    for entry in entries:
        if not entry.isdigit():
            continue
        found = _stat(entry)
        if found is not None:
            parents[int(entry)], sizes[int(entry)] = found
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    members: dict[int, int] = {}
    todo = [root] if root in sizes else []
    while todo:
        pid = todo.pop()
        if pid in members:
            continue
        members[pid] = sizes[pid]
        todo.extend(children.get(pid, ()))
    return members


class TreeSampler:
    """Samples the summed RSS of a process tree in a thread; keeps the peak."""

    def __init__(self, root: int, interval: float = INTERVAL) -> None:
        self.root = root
        self.interval = interval
        self.available = _PROC.is_dir()
        self.peak_bytes = 0
        self.peak_processes = 0
        self.seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)

    def __enter__(self) -> TreeSampler:  # noqa: PYI034 - typing.Self needs Python 3.11
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def sample(self) -> None:
        """One look at the tree."""
        members = tree(self.root)
        self.seen.update(members)
        self.peak_bytes = max(self.peak_bytes, sum(members.values()))
        self.peak_processes = max(self.peak_processes, len(members))

    def _loop(self) -> None:
        self.sample()
        while not self._stop.wait(self.interval):
            self.sample()

    @property
    def peak_mib(self) -> float | None:
        """The peak in MiB, or None without /proc."""
        return self.peak_bytes / MIB if self.available else None


def run_measured(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float,
) -> Measured:
    """Run `command`, sampling its tree's memory; stop it (and what it started) at `timeout`.

    At the timeout the command gets SIGINT first, so a batch can stop its graders itself, then
    every process of its tree that is still there gets SIGKILL.
    """
    started = time.perf_counter()
    with (
        subprocess.Popen(  # noqa: S603 - the bench's own interpreter and modules, no shell
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        ) as process,
        TreeSampler(process.pid) as sampler,
    ):
        timed_out = False
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            stdout, stderr = _stop(process, sampler)
        wall = time.perf_counter() - started
    return Measured(
        returncode=None if timed_out else process.returncode,
        wall_s=wall,
        peak_rss_mib=sampler.peak_mib,
        peak_processes=sampler.peak_processes if sampler.available else None,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
    )


def _stop(process: subprocess.Popen[str], sampler: TreeSampler) -> tuple[str, str]:
    """Interrupt a command that ran out of time, then kill what is left of its tree."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    for pid in [process.pid, *tree(process.pid)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    sampler.sample()
    return process.communicate()
