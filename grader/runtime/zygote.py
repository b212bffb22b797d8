"""A warm fork server: one interpreter that has imported everything, forking a child per run.

Starting a fresh Python for every run costs tens of milliseconds (interpreter, `asyncio`, the
runtime) and, with isolation, more again (namespaces, mounts). A grading run needs dozens of
runs per submission, so the grader starts this server once (inside the isolation layer's
namespaces and mount view) and asks it for each run. The server forks; the fork takes a fresh
unprivileged uid, its limits and its Landlock confinement, and then runs the request exactly as
a freshly started child would (`child.serve`). The server itself never runs learner code.

Protocol, over the UNIX socket the parent passed (every message a 4-byte big-endian
length and a JSON object; a `run` message carries the run's stdout, stderr and result pipes as
SCM_RIGHTS file descriptors):

    parent -> server  {"op": "run", "files": {...}, "request": {...}, "limits": {...},
                       "uid": bool, "confine": bool}
    server -> parent  {"op": "started", "uid": ...} (or {"op": "failed", "message": ...})
    parent -> server  {"op": "kill"}               (optional: the wall-clock deadline passed)
    server -> parent  {"op": "exit", "code": int, "cpu": float}

Runs are served one at a time; after each, every process of the run's uid is killed and its
folder removed, so nothing of one run reaches the next.

Standard library only: this module runs in the sandbox's server process.
"""

from __future__ import annotations

import array
import base64
import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import struct
import sys
import time
from typing import Any

from . import child, confine

try:
    import resource
except ImportError:  # Windows: no fork server there, but its importers must still load
    resource = None  # type: ignore[assignment]

_HEADER = struct.Struct(">I")
_MAX_MESSAGE = 8 * 1024 * 1024
_SWEEP_LIMIT_S = 5.0
UID_BASE = 0x6000_0000
UID_SPAN = 1 << 24


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """Send one length-prefixed JSON message, with file descriptors if given."""
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, size: int, fds: list[int]) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        data, ancillary, _, _ = sock.recvmsg(size - len(chunks), socket.CMSG_SPACE(3 * 4))
        if not data:
            raise EOFError
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                received = array.array("i")
                received.frombytes(raw[: len(raw) - (len(raw) % received.itemsize)])
                fds.extend(received)
        chunks += data
    return bytes(chunks)


def receive(sock: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """Receive one message and the file descriptors that came with it."""
    fds: list[int] = []
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size, fds))
    if size > _MAX_MESSAGE:
        msg = f"message of {size} bytes"
        raise ValueError(msg)
    message = json.loads(_recv_exact(sock, size, fds))
    return message, fds


def apply_rlimits(limits: dict[str, int]) -> None:
    """The run's CPU, memory, file-size, open-file, process and core-dump limits."""
    cpu = int(limits["cpu_seconds"])
    settings = (
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, limits["memory_bytes"], limits["memory_bytes"]),
        (resource.RLIMIT_FSIZE, limits["file_bytes"], limits["file_bytes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"], limits["open_files"]),
        (resource.RLIMIT_NPROC, limits["processes"], limits["processes"]),
        (resource.RLIMIT_CORE, 0, 0),
    )
    for which, soft, wanted in settings:
        _, current = resource.getrlimit(which)
        hard = wanted if current == resource.RLIM_INFINITY else min(wanted, current)
        resource.setrlimit(which, (min(soft, hard), hard))


def _kill_uid(uid: int) -> bool:
    """SIGKILL every process owned by `uid` and reap the dead; True while any is left."""
    found = False
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{entry}").st_uid == uid:
                found = True
                os.kill(int(entry), signal.SIGKILL)
    _reap()
    return found


def _reap() -> None:
    """Collect every finished child (orphans are re-parented to this server)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


class Server:
    """The server loop: receive a run, fork it, watch it, sweep up after it."""

    def __init__(self, sock: socket.socket, base: str, environment: dict[str, str]) -> None:
        self.sock = sock
        self.base = base
        self.environment = environment
        self.counter = 0
        self.is_root = os.geteuid() == 0

    def serve_forever(self) -> None:
        """Serve runs until the parent closes the socket."""
        while True:
            try:
                message, fds = receive(self.sock)
            except (EOFError, OSError, ValueError):
                return
            if message.get("op") != "run" or len(fds) != 3:  # noqa: PLR2004 - out, err, result
                for fd in fds:
                    os.close(fd)
                send(self.sock, {"op": "failed", "message": "malformed run request"})
                continue
            self.run(message, fds)

    def _fresh_uid(self) -> int | None:
        return UID_BASE + secrets.randbelow(UID_SPAN) if self.is_root else None

    def run(self, message: dict[str, Any], fds: list[int]) -> None:
        """Serve one run from start to sweep."""
        self.counter += 1
        work = os.path.join(self.base, f"run-{self.counter}")
        uid = self._fresh_uid() if message.get("uid") else None
        try:
            os.mkdir(work, 0o700)
            for name, encoded in message["files"].items():
                path = os.path.join(work, os.path.basename(name))
                with open(path, "wb") as handle:
                    handle.write(base64.b64decode(encoded))
                if uid is not None:
                    os.chown(path, uid, uid)
            if uid is not None:
                os.chown(work, uid, uid)
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            shutil.rmtree(work, ignore_errors=True)
            send(self.sock, {"op": "failed", "message": f"{type(exc).__name__}: {exc}"})
            return
        if pid == 0:  # pragma: no cover - the forked run; it never returns
            self._become_run(message, fds, work, uid)
        for fd in fds:
            os.close(fd)
        send(self.sock, {"op": "started", "uid": uid})
        code, cpu = self._watch(pid)
        self._sweep(pid, uid)
        shutil.rmtree(work, ignore_errors=True)
        send(self.sock, {"op": "exit", "code": code, "cpu": cpu})

    def _watch(self, pid: int) -> tuple[int, float]:
        """Wait for the run's process, or kill it when the parent says so."""
        pidfd = os.pidfd_open(pid)
        try:
            while True:
                watched: list[Any] = [pidfd, self.sock]
                ready, _, _ = select.select(watched, [], [])
                if self.sock in ready:
                    try:
                        message, fds = receive(self.sock)
                    except (EOFError, OSError, ValueError):
                        message, fds = {"op": "kill"}, []
                    for fd in fds:
                        os.close(fd)
                    if message.get("op") == "kill":
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(pid, signal.SIGKILL)
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.kill(pid, signal.SIGKILL)
                if pidfd in ready:
                    _, status, usage = os.wait4(pid, 0)
                    return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
        finally:
            os.close(pidfd)

    def _sweep(self, pid: int, uid: int | None) -> None:
        """Kill whatever the run left (its process group; with a uid, every process of it)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        if uid is not None:
            # Every process of the run's uid, setsid daemons included. Scanning /proc is
            # cheap here: in the server's PID namespace it lists only the server's own tree.
            # Until none is left at all: one may fork while a pass runs, and a killed one
            # stays listed until it is dead and reaped (orphans are re-parented here).
            deadline = time.monotonic() + _SWEEP_LIMIT_S
            while _kill_uid(uid) and time.monotonic() < deadline:
                time.sleep(0.001)
        # Orphans of the run are re-parented here (this server may be a namespace's first
        # process): reap them so none lingers as a zombie.
        _reap()

    def _become_run(
        self, message: dict[str, Any], fds: list[int], work: str, uid: int | None
    ) -> None:
        """In the fork: take the run's pipes, folder, limits and uid, then serve the request."""
        try:
            os.setsid()
            out, err, result = fds
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.dup2(result, 3)
            os.closerange(4, 65536)
            os.chdir(work)
            os.environ.clear()
            os.environ.update(self.environment)
            apply_rlimits(message["limits"])
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - fd 1 as text
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            request = dict(message["request"])
            if message.get("confine") is not None:
                spec = dict(message["confine"])
                spec["write"] = [work]
                request["confine"] = spec
            # The run's token must live only where `serve` keeps it: the server's frames
            # above this one still hold the message, so empty it in place.
            message.clear()
            child.serve(request, 3)
        finally:
            os._exit(70)


def main() -> None:
    """Entry point: `BASE_FOLDER SOCKET_FD RUNTIME_DIR HIDDEN_PATH` on the command line."""
    base, sock_fd, hidden = sys.argv[1], int(sys.argv[2]), sys.argv[4]
    del sys.argv[1:]
    sock = socket.socket(fileno=sock_fd)
    confine.abi()  # load libc now: a confined fork must not need to open it
    environment = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    # The server's own clock and state must not leak into runs: nothing else is set up here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        nets = sorted(name for _, name in socket.if_nameindex())
    except OSError:
        nets = []
    # What the server sees, so the parent can check the isolation it was started in.
    send(sock, {"op": "ready", "pid": os.getpid(), "nets": nets, "sees": os.path.exists(hidden)})
    Server(sock, base, environment).serve_forever()
