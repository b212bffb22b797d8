"""A warm fork server that never sees what it runs: a pristine template, one fork per run.

Starting a fresh Python for every run costs tens of milliseconds (interpreter, `asyncio`, the
runtime) and, with isolation, more again (namespaces, mounts). A grading run needs dozens of
runs per submission, so the grader starts this server once, inside the isolation layer's
namespaces and mount view, and asks it for each run.

The server is a *template*: it imports everything, and then only ever reads fixed-size control
records - never a request, a module or a file. For each run it forks; the fork (the *run
process*) reads its own payload (request, files, limits, confinement) from a pipe that only it
holds, and becomes the run. So no process that learner code is forked from ever held kit
content (the solution files sent for truth and reference runs, hidden-test arguments) or
another run's data: every run starts as a copy of the same pristine memory, plus its own
payload. Freed memory is never cleared by Python or the C library, so "parse, then forget" would
not be enough.

Each run process then takes a world of its own (`jail.py`): a private mount and IPC namespace
with fresh `/tmp`, `/var/tmp`, `/dev/shm` and a capped work tmpfs; it is the first process of
a PID namespace of its own (the server makes one for each fork), so everything it starts dies
with it; then a fresh session keyring, limits, a fresh uid (as root) or no capabilities at
all (in a user namespace), a syscall filter, and finally Landlock (`child.serve`). Runs are
served one at a time; after each, every process left in the server's PID namespace (or of the
run's uid) is killed.

Control protocol, over the UNIX socket the parent passed (16-byte records: an op byte, a
32-bit and a 64-bit integer):

    server -> parent  one JSON message (4-byte length first): {"op": "ready", ...facts}
    parent -> server  RUN  + SCM_RIGHTS [stdout, stderr, result, payload]
    server -> parent  STARTED (uid or -1)        or FAILED (errno)
    parent -> run     the payload, on the payload pipe: a 4-byte length, JSON, the files' bytes
    parent -> server  KILL                       (optional: the deadline passed, or a flood)
    server -> parent  EXIT (exit status, CPU microseconds)

Standard library only: this module runs in the sandbox's server process.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import json
import os
import secrets
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

from . import child, confine, jail

try:
    import resource
except ImportError:  # Windows: no fork server there, but its importers must still load
    resource = None  # type: ignore[assignment]

_HEADER = struct.Struct(">I")
RECORD = struct.Struct(">cxxxiq")
RUN, KILL, STARTED, FAILED, EXIT = b"R", b"K", b"S", b"F", b"E"
_MAX_READY = 1 << 16
_SWEEP_LIMIT_S = 5.0
UID_BASE = 0x6000_0000
UID_SPAN = 1 << 24


# --- messages -----------------------------------------------------------------------------------
def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one length-prefixed JSON message (only the server's own facts travel this way)."""
    data = json.dumps(message).encode()
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive(sock: socket.socket) -> dict[str, Any]:
    """Receive one length-prefixed JSON message."""
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > _MAX_READY:
        msg = f"message of {size} bytes"
        raise ValueError(msg)
    message = json.loads(_recv_exact(sock, size))
    if type(message) is not dict:
        msg = "not a JSON object"
        raise ValueError(msg)
    return message


def send_record(
    sock: socket.socket, op: bytes, a: int = 0, b: int = 0, fds: list[int] | None = None
) -> None:
    """Send one fixed-size control record, with file descriptors if given."""
    payload = RECORD.pack(op, a, b)
    if fds:
        sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(payload)


def receive_record(sock: socket.socket) -> tuple[bytes, int, int, list[int]]:
    """Receive one control record and the file descriptors that came with it."""
    fds: list[int] = []
    op, a, b = RECORD.unpack(_recv_exact(sock, RECORD.size, fds))
    return op, a, b, fds


def _recv_exact(sock: socket.socket, size: int, fds: list[int] | None = None) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        data, ancillary, _, _ = sock.recvmsg(size - len(chunks), socket.CMSG_SPACE(4 * 4))
        if not data:
            raise EOFError
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                received = array.array("i")
                received.frombytes(raw[: len(raw) - (len(raw) % received.itemsize)])
                if fds is None:
                    for fd in received:
                        os.close(fd)
                else:
                    fds.extend(received)
        chunks += data
    return bytes(chunks)


def encode_payload(
    request: dict[str, Any], files: dict[str, bytes], settings: dict[str, Any]
) -> bytes:
    """What the parent writes on a run's payload pipe (read by `read_payload` in the run)."""
    head = json.dumps(
        {"request": request, "settings": settings, "files": [[n, len(d)] for n, d in files.items()]}
    ).encode()
    return b"".join([_HEADER.pack(len(head)), head, *files.values()])


def read_payload(fd: int) -> tuple[dict[str, Any], dict[str, bytes], dict[str, Any]]:
    """In the run process: read the whole payload from its pipe, then close it."""
    data = bytearray()
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    (size,) = _HEADER.unpack_from(data)
    head = json.loads(bytes(data[_HEADER.size : _HEADER.size + size]))
    files: dict[str, bytes] = {}
    offset = _HEADER.size + size
    for name, length in head["files"]:
        files[os.path.basename(name)] = bytes(data[offset : offset + length])
        offset += length
    return head["request"], files, head["settings"]


# --- limits and sweeping --------------------------------------------------------------------------
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


def _kill_namespace() -> bool:
    """As a PID namespace's first process: SIGKILL every other one; True while any is left."""
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        _reap()
        return False
    _reap()
    return True


def key_owners() -> set[int]:
    """The uids that own at least one key (from /proc/key-users)."""
    owners: set[int] = set()
    with contextlib.suppress(OSError), open("/proc/key-users", encoding="ascii") as handle:
        for row in handle:
            owner = row.partition(":")[0].strip()
            if owner.isdigit():
                owners.add(int(owner))
    return owners


def clear_keys(uid: int) -> None:
    """Invalidate every key a run's fresh uid still owns, its user keyrings included.

    The syscall filter lets no run make keys; this is for a kernel without seccomp. A helper
    that has become the uid finds its keys in /proc/keys by id (asking for the user keyring by
    its special number would make a new one) and invalidates each: the kernel frees them.
    """
    number = jail.keyctl_number()
    if number is None or uid not in key_owners():
        return
    pid = os.fork()
    if pid == 0:  # pragma: no cover - a short-lived helper that becomes the uid
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            invalidate_own_keys()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def invalidate_own_keys() -> None:
    """As the uid whose keys must go: invalidate each key of this uid listed in /proc/keys."""
    number = jail.keyctl_number()
    if number is None:
        return
    libc = jail.libc()
    uid = str(os.getuid())
    with open("/proc/keys", encoding="ascii") as handle:
        rows = [row.split() for row in handle]
    for row in rows:
        if len(row) > 5 and row[5] == uid:  # noqa: PLR2004 - the uid column
            key = ctypes.c_long(int(row[0], 16))
            libc.syscall(ctypes.c_long(number), ctypes.c_long(21), key)  # KEYCTL_INVALIDATE


def _reap() -> None:
    """Collect every finished child (orphans are re-parented to this server)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


class Server:
    """The template's loop: fork a run per control record, watch it, sweep up after it."""

    def __init__(self, sock: socket.socket, base: str, environment: dict[str, str]) -> None:
        self.sock = sock
        self.work = os.path.join(base, "run")
        self.environment = environment
        self.is_root = os.geteuid() == 0 and not _in_user_namespace()
        self.first = os.getpid() == 1
        self.pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY)

    def _own_pid_namespace(self) -> bool:
        """Make the next run the first process of a PID namespace of its own, where possible.

        Everything the run starts then dies with it, and it cannot see this server. Without
        it (a kernel that refuses), the sweep below still kills everything the run left.
        """
        try:
            jail.next_child_in_new_pid_namespace(self.pid_namespace)
        except OSError:
            return False
        return True

    def serve_forever(self) -> None:
        """Serve runs until the parent closes the socket."""
        while True:
            try:
                op, _, _, fds = receive_record(self.sock)
            except (EOFError, OSError, struct.error):
                return
            if op != RUN or len(fds) != 4:  # noqa: PLR2004 - out, err, result, payload
                for fd in fds:
                    os.close(fd)
                send_record(self.sock, FAILED, 0)
                continue
            self.run(fds)

    def run(self, fds: list[int]) -> None:
        """Serve one run from fork to sweep."""
        uid = UID_BASE + secrets.randbelow(UID_SPAN) if self.is_root else None
        try:
            own_pids = self._own_pid_namespace()
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            send_record(self.sock, FAILED, exc.errno or 0)
            return
        if pid == 0:  # pragma: no cover - the run process; it never returns
            self._become_run(fds, uid)
        if own_pids:
            # This server's later forks (a key-clearing helper, the next run) start from here.
            jail.children_in_own_pid_namespace(self.pid_namespace)
        for fd in fds:
            os.close(fd)
        send_record(self.sock, STARTED, -1 if uid is None else uid)
        code, cpu = self._watch(pid)
        self._sweep(pid, uid)
        send_record(self.sock, EXIT, code, int(cpu * 1e6))

    def _watch(self, pid: int) -> tuple[int, float]:
        """Wait for the run's process, or stop it when the parent says so.

        The run process stops its PID namespace's first process itself on SIGTERM and waits
        for it, so the CPU time the run used is still counted; if it does not end within a
        second, its whole process group is killed.
        """
        pidfd = os.pidfd_open(pid)
        hard_kill_at: float | None = None
        try:
            while True:
                watched: list[Any] = [pidfd, self.sock]
                timeout = (
                    None if hard_kill_at is None else max(0.0, hard_kill_at - time.monotonic())
                )
                ready, _, _ = select.select(watched, [], [], timeout)
                if self.sock in ready:
                    try:
                        op = receive_record(self.sock)[0]
                    except (EOFError, OSError, struct.error):
                        op = KILL
                    if op == KILL and hard_kill_at is None:
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.kill(pid, signal.SIGTERM)
                        hard_kill_at = time.monotonic() + 1.0
                if pidfd in ready:
                    _, status, usage = os.wait4(pid, 0)
                    return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
                if hard_kill_at is not None and time.monotonic() >= hard_kill_at:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
        finally:
            os.close(pidfd)

    def _sweep(self, pid: int, uid: int | None) -> None:
        """Kill whatever the run left: every other process of the PID namespace, or of the uid.

        Until none is left at all: one may fork while a pass runs, and a killed one stays
        listed until it is dead and reaped (orphans are re-parented here). The run's mount and
        IPC namespaces, its temporary folders and its System V objects go with its last process.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + _SWEEP_LIMIT_S
        if self.first:
            while _kill_namespace() and time.monotonic() < deadline:
                time.sleep(0.0005)
        elif uid is not None:
            while _kill_uid(uid) and time.monotonic() < deadline:
                time.sleep(0.001)
        _reap()
        if uid is not None:
            clear_keys(uid)

    def _become_run(self, fds: list[int], uid: int | None) -> None:
        """In the fork: read the payload, take a world of its own, then serve the request."""
        try:
            os.setsid()
            out, err, result, payload = fds
            request, files, settings = read_payload(payload)
            jail.own_view(
                settings["view"],
                self.work,
                uid,
                (int(settings["disk_bytes"]), int(settings["disk_files"])),
            )
            for name, data in files.items():
                path = os.path.join(self.work, name)
                with open(path, "wb") as handle:
                    handle.write(data)
                if uid is not None:
                    os.chown(path, uid, uid)
            del files
            if os.getpid() == 1:
                jail.mount_own_proc()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.dup2(result, 3)
            os.closerange(4, 65536)
            os.chdir(self.work)
            os.environ.clear()
            os.environ.update(self.environment)
            apply_rlimits(settings["limits"])
            jail.fresh_session_keyring()
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            else:
                jail.drop_capabilities()
            jail.deny_syscalls()
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - fd 1 as text
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            if settings.get("confine") is not None:
                spec = dict(settings["confine"])
                spec["write"] = [self.work]
                request["confine"] = spec
            del settings
            child.serve(request, 3)
        finally:
            os._exit(70)


def _in_user_namespace() -> bool:
    """Whether this process runs in a user namespace other than the machine's first one."""
    try:
        with open("/proc/self/uid_map", encoding="ascii") as handle:
            first = handle.read().split()
    except OSError:
        return False
    return first[:3] != ["0", "0", "4294967295"]


def main() -> None:
    """Entry point: `BASE_FOLDER SOCKET_FD RUNTIME_DIR HIDDEN_PATH [PLAN_JSON]`."""
    base, sock_fd, hidden = sys.argv[1], int(sys.argv[2]), sys.argv[4]
    plan = json.loads(sys.argv[5]) if len(sys.argv) > 5 else []  # noqa: PLR2004 - optional plan
    del sys.argv[1:]
    sock = socket.socket(fileno=sock_fd)
    confine.abi()  # load libc now: a confined fork must not need to open it
    jail.prepare_filter()
    problem = None
    try:
        # A server inside a user namespace lays out its own view (the grader could not).
        jail.apply_plan(plan)
    except OSError as exc:
        problem = f"mounts: {exc}"
    # Same-uid processes must not read this server's memory or take it over with ptrace.
    with contextlib.suppress(OSError):
        libc = jail.libc()
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
    environment = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        nets = sorted(name for _, name in socket.if_nameindex())
    except OSError:
        nets = []
    # What the server sees, so the parent can check the isolation it was started in.
    send(
        sock,
        {
            "op": "ready",
            "pid": os.getpid(),
            "nets": nets,
            "sees": os.path.exists(hidden),
            "problem": problem,
        },
    )
    if problem is None:
        Server(sock, base, environment).serve_forever()
