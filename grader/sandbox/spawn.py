"""Runs code the grader does not trust in a child process, and brings back plain data.

The rule the kit is built on: learner code never runs in the process that decides or writes
scores. Each run gets a fresh temporary folder holding one module and a request, a child started
with `python -I -S -B` (no site, no environment, no current folder on the path, no bytecode
written), closed stdin, resource limits, and its own process group, inside the strongest
isolation layer the machine offers (`isolation.probe.current()`: a fresh uid, namespaces,
Landlock).
The parent enforces the wall-clock deadline, caps what it reads, watches the folder's size, and
once the run is over kills the whole process group and everything else the run started.

The child answers through a private pipe with JSON only, which `protocol.parse_result` checks
before anything looks at it. The answer must carry the run's one-time token, which the child
read from its request file and deleted before the learner's module loaded: a result written by
learner code that never saw the token is rejected.

The kit's own snippets run here too: they are trusted, but they get the same guards, so a slip
in a snippet cannot hang the grader either.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.model.text import clean
from grader.sandbox import forkserver, protocol
from grader.sandbox.isolation.jail import Jail, runtime_command
from grader.sandbox.isolation.layers import FLOOR, Layer
from grader.sandbox.isolation.mounts import prepare_parent
from grader.sandbox.limits import Limits, default_limits

RUNTIME_SOURCE = Path(__file__).resolve().parents[1] / "runtime"
_BOOT = "import sys; sys.path.insert(0, sys.argv[3]); import kitrt.child as c; c.main()"
#: After the child's first process ended, how long leftovers may keep its pipes open.
_EXIT_GRACE_S = 0.3
_POLL_S = 0.05
_UNSHARE_KILLED = "unshare: sigprocmask unblock failed: Invalid argument"
_SHELL_SIGNAL = 128


@dataclass
class ChildOutcome:
    """What came back from one child: a checked result, or why there is none."""

    result: protocol.ChildResult | None
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    timed_out: bool = False
    output_flooded: bool = False
    disk_full: bool = False
    problem: str | None = None
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    isolation: str = FLOOR
    uid: int | None = None
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


def run_child_in(
    layer: Layer,
    request: dict[str, Any],
    module_source: bytes,
    *,
    limits: Limits | None = None,
    use_server: bool = True,
) -> ChildOutcome:
    """Run `module_source` as the module of `request` in a child sandboxed by `layer`.

    `runs.run_child` passes the layer this process chose; the probe passes each it tries.

    `use_server=False` starts a fresh child even where a fork server could serve the run
    (the probe checks the layer itself; the server checks its own view when it starts).
    """
    limits = limits or default_limits()
    if use_server and forkserver.enabled() and forkserver.supports(layer):
        try:
            return _run_in_forkserver(layer, request, module_source, limits)
        except forkserver.ForkServerError as exc:
            # Grading goes on the slow way; the note says why.
            outcome = _run_spawned(layer, request, module_source, limits)
            outcome.notes.append(f"fork server unavailable: {exc}")
            return outcome
    return _run_spawned(layer, request, module_source, limits)


def _run_spawned(
    layer: Layer, request: dict[str, Any], module_source: bytes, limits: Limits
) -> ChildOutcome:
    """One run in a freshly started, freshly isolated interpreter."""
    nonce = secrets.token_hex(16)
    work = Path(tempfile.mkdtemp(prefix="asyncio-kit-run-"))
    try:
        full_request = {
            **request,
            "module": "exercise.py",
            "watchdog_s": max(0.2, limits.wall_seconds - 0.5),
            "nonce": nonce,
        }
        files = {
            "exercise.py": module_source,
            "request.json": json.dumps(full_request).encode(),
        }
        for name, data in files.items():
            (work / name).write_bytes(data)
        jail = Jail.open(layer, work, files, runtime_dir(), limits)
        spec = jail.confine_spec()
        if spec is not None:
            # The confinement folders are only known now (the run folder is new).
            full_request["confine"] = spec
            files["request.json"] = json.dumps(full_request).encode()
            (work / "request.json").write_bytes(files["request.json"])
        return _spawn(work, limits, jail, nonce)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _spawn(work: Path, limits: Limits, jail: Jail, nonce: str) -> ChildOutcome:
    result_read, result_write = os.pipe()
    command = runtime_command(
        jail.executable,
        _BOOT,
        "request.json",
        str(result_write),
        str(runtime_dir()),
    )
    prepare_parent()
    started = time.monotonic()
    try:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            jail.command(command),
            cwd=work,
            env=jail.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(result_write,),
            start_new_session=True,
            preexec_fn=jail.preexec,  # noqa: PLW1509 - limits and namespaces must be set there
        )
    except BaseException:
        os.close(result_read)
        raise
    finally:
        os.close(result_write)
    outcome = ChildOutcome(result=None, isolation=jail.layer.name, uid=jail.uid)
    reaper = _Reaper(process)
    assert process.stdout is not None
    assert process.stderr is not None
    streams = _Streams(process.stdout.fileno(), process.stderr.fileno(), result_read, limits)
    try:
        _collect(streams, limits, outcome, started, jail, reaper)
    finally:
        # Stop the run and everything it started (the fault handler's dump, written just
        # before the deadline, is already in the stderr pipe); then read what is left: every
        # writer is gone, so draining ends.
        if outcome.timed_out:
            outcome.cpu_seconds = jail.cpu_seconds()
        _kill_group(process.pid)
        jail.sweep()
        streams.drain(seconds=1.0)
        streams.close()
        os.close(result_read)
        reaper.wait(timeout=2.0)
        process.stdout.close()
        process.stderr.close()
    outcome.stdout = clean(streams.data(streams.out_fd))
    outcome.stderr = clean(streams.data(streams.err_fd))
    outcome.returncode, outcome.stderr = _exit_status(process.returncode, outcome.stderr, jail)
    outcome.cpu_seconds = max(outcome.cpu_seconds, reaper.cpu_seconds)
    outcome.wall_seconds = time.monotonic() - started
    return _conclude(outcome, bytes(streams.buffers[result_read]), nonce, limits)


def _run_in_forkserver(
    layer: Layer, request: dict[str, Any], module_source: bytes, limits: Limits
) -> ChildOutcome:
    """One run forked by a warm server that already sits inside the layer's isolation."""
    nonce = secrets.token_hex(16)
    full_request = {
        **request,
        "module": "exercise.py",
        "watchdog_s": max(0.2, limits.wall_seconds - 0.5),
        "nonce": nonce,
    }
    server = forkserver.POOL.borrow(layer, runtime_dir(), limits)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    result_read, result_write = os.pipe()
    started = time.monotonic()
    try:
        uid = server.start_run(
            full_request,
            {"exercise.py": module_source},
            limits,
            (out_write, err_write, result_write),
        )
    except forkserver.ForkServerError:
        for fd in (out_read, err_read, result_read):
            os.close(fd)
        raise
    finally:
        for fd in (out_write, err_write, result_write):
            os.close(fd)
    outcome = ChildOutcome(result=None, isolation=layer.name, uid=uid)
    streams = _Streams(out_read, err_read, result_read, limits)
    deadline = started + limits.wall_seconds
    ended: tuple[int, float] | None = None
    try:
        _read_until_closed(streams, outcome, deadline)
        if outcome.timed_out or outcome.output_flooded:
            server.kill_run()
        # The server kills every process of the run's uid before it reports the end, so
        # once it has, nothing can write to the pipes any more.
        ended = forkserver.wait_exit(server, max(time.monotonic(), deadline) + 2.0)
        streams.drain(seconds=0.5)
    finally:
        streams.close()
        for fd in (out_read, err_read, result_read):
            os.close(fd)
        if ended is None:
            server.close()
        forkserver.POOL.give_back(server)
    outcome.stdout = clean(streams.data(streams.out_fd))
    outcome.stderr = clean(streams.data(streams.err_fd))
    outcome.returncode, outcome.cpu_seconds = ended or (-signal.SIGKILL, 0.0)
    outcome.wall_seconds = time.monotonic() - started
    return _conclude(outcome, bytes(streams.buffers[result_read]), nonce, limits)


def _read_until_closed(streams: _Streams, outcome: ChildOutcome, deadline: float) -> None:
    """Read the run's pipes until every writer is gone, the deadline passes or it floods."""
    while streams.open_fds:
        now = time.monotonic()
        if now >= deadline:
            outcome.timed_out = True
            return
        if streams.read_some(min(deadline - now, _POLL_S)):
            outcome.output_flooded = True
            return


def _conclude(outcome: ChildOutcome, raw: bytes, nonce: str, limits: Limits) -> ChildOutcome:
    """Decide what a finished run brought back: a problem, or a checked result."""
    outcome.problem = _problem(outcome, limits)
    if outcome.problem is not None:
        return outcome
    if not raw:
        outcome.problem = "no-result"
        return outcome
    try:
        outcome.result = protocol.parse_result(raw, max_bytes=limits.result_bytes, nonce=nonce)
    except protocol.ProtocolError as exc:
        outcome.problem = f"bad-result: {exc}"
    return outcome


def _exit_status(code: int | None, stderr: str, jail: Jail) -> tuple[int | None, str]:
    """The child's own exit status, seen through the wrapper that started it."""
    if code == 1 and _UNSHARE_KILLED in stderr:
        # `unshare` passes its child's death by signal on by raising the same signal, which
        # it cannot do for SIGKILL: it exits 1 with this line instead.
        return -signal.SIGKILL, stderr.replace(_UNSHARE_KILLED, "").strip()
    if jail.layer.has("bwrap") and code is not None and _SHELL_SIGNAL < code < _SHELL_SIGNAL + 65:
        # bwrap reports its child's death by signal N as exit status 128 + N, as shells do.
        return _SHELL_SIGNAL - code, stderr
    return code, stderr


def _problem(outcome: ChildOutcome, limits: Limits) -> str | None:
    if outcome.timed_out:
        return "timeout"
    if outcome.output_flooded:
        return "output-flood"
    if outcome.disk_full:
        return "disk"
    code = outcome.returncode
    cpu_spent = outcome.cpu_seconds >= limits.cpu_seconds - 0.05
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and cpu_spent):
        return "cpu"
    return None


class _Reaper:
    """Waits for the child's first process with `wait4`, keeping its CPU time."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.cpu_seconds = 0.0

    @property
    def exited(self) -> bool:
        return self.process.returncode is not None

    def poll(self) -> bool:
        if self.exited:
            return True
        try:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
        except ChildProcessError:
            self.process.returncode = self.process.returncode or -signal.SIGKILL
            return True
        if pid == 0:
            return False
        self.process.returncode = os.waitstatus_to_exitcode(status)
        # wait4 counts the process and every descendant it waited for (`unshare`'s child).
        self.cpu_seconds = usage.ru_utime + usage.ru_stime
        return True

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.poll() and time.monotonic() < deadline:
            time.sleep(0.01)


class _Streams:
    """The child's stdout, stderr and result pipe, read together with a cap on each."""

    def __init__(self, out_fd: int, err_fd: int, result_fd: int, limits: Limits) -> None:
        self.out_fd, self.err_fd, self.result_fd = out_fd, err_fd, result_fd
        self.caps = {out_fd: limits.output_bytes, err_fd: limits.output_bytes}
        # One byte over the result cap is enough for the protocol check to refuse it.
        self.caps[result_fd] = limits.result_bytes + 1
        self.buffers: dict[int, bytearray] = {fd: bytearray() for fd in self.caps}
        self.selector = selectors.DefaultSelector()
        for fd in self.caps:
            os.set_blocking(fd, False)
            self.selector.register(fd, selectors.EVENT_READ)
        self.open_fds = set(self.caps)

    def read_some(self, timeout: float) -> bool:
        """Read what is ready; True if stdout or stderr went over its cap (a flood)."""
        for key, _ in self.selector.select(timeout):
            fd = int(key.fd)
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.selector.unregister(fd)
                self.open_fds.discard(fd)
                continue
            buffer = self.buffers[fd]
            if len(buffer) <= self.caps[fd]:
                buffer += chunk
            if fd != self.result_fd and len(buffer) > self.caps[fd]:
                return True
        return False

    def drain(self, seconds: float) -> None:
        """Read until every pipe is closed (all writers gone) or `seconds` pass."""
        until = time.monotonic() + seconds
        while self.open_fds and time.monotonic() < until:
            self.read_some(_POLL_S)

    def data(self, fd: int) -> bytes:
        return bytes(self.buffers[fd][: self.caps[fd]])

    def close(self) -> None:
        self.selector.close()


def _collect(  # noqa: PLR0917 - one private call site, every argument needed
    streams: _Streams,
    limits: Limits,
    outcome: ChildOutcome,
    started: float,
    jail: Jail,
    reaper: _Reaper,
) -> None:
    """Read until every pipe closes, the deadline, a flood, a full disk, or leftovers."""
    deadline = started + limits.wall_seconds
    exited_at: float | None = None
    while streams.open_fds:
        now = time.monotonic()
        if now >= deadline:
            outcome.timed_out = True
            return
        if exited_at is None and reaper.poll():
            exited_at = now
        if exited_at is not None and now - exited_at > _EXIT_GRACE_S:
            return  # the first process is gone; whatever still holds the pipes is a leftover
        if jail.watch_disk and _folder_too_big(jail.work, limits):
            outcome.disk_full = True
            return
        if streams.read_some(min(deadline - now, _POLL_S)):
            outcome.output_flooded = True
            return


def _folder_too_big(work: Path, limits: Limits) -> bool:
    """Whether the run folder holds more than the disk limit (files or bytes)."""
    total, count = 0, 0
    for folder, dirs, names in os.walk(work):
        count += len(dirs) + len(names)
        if count > limits.disk_files:
            return True
        for name in names:
            with contextlib.suppress(OSError):
                total += (Path(folder) / name).lstat().st_size
        if total > limits.disk_bytes:
            return True
    return False


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
