"""The kernel calls that give one run its own world: mounts, IPC, keyring, syscall filter, caps.

Every run must start from nothing that an earlier run (or the kit) left behind, and must leave
nothing for the next one (rule 10 of the design). The fork server's run process and the spawn
path's pre-exec step both call these, with ctypes on the C library, before any learner code:

- `own_view`: a private mount namespace and IPC namespace for this run alone, with fresh,
  small tmpfs on `/tmp`, `/var/tmp` and `/dev/shm` (what must stay visible below them, such as
  the runtime copy, is bind-mounted back) and the run's folder as a tmpfs capped at the disk
  limit. Everything of it vanishes when the run's last process ends.
- `next_child_in_new_pid_namespace`: the fork server makes each run the first process of a PID
  namespace of its own, so everything the run starts dies with it and the server is invisible
  to it (`mount_own_proc` then gives the run a /proc of that namespace only).
- `fresh_session_keyring`: the grader's session keyring (which a process keeps across fork and
  setuid) is replaced by a new, empty one, so learner code cannot read or plant keys in it.
- `deny_syscalls`: a seccomp filter refusing (EPERM) what no exercise needs and what would
  outlive the run or reach another process: kernel keyrings, System V IPC, POSIX message
  queues, ptrace and cross-process memory access, and every syscall of a foreign ABI (i386 or
  x32 on x86-64). Objects that cannot be created need no cleaning up.
- `drop_capabilities`: a run made by a server inside a user namespace is uid 0 there; it
  gives up every capability (and the bounding set, so an exec cannot bring them back).

Standard library only: this module runs in the sandbox's server and run processes.
"""

from __future__ import annotations

import ctypes
import errno as errnos
import os
import platform
import struct
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_SECCOMP_MODE_FILTER = 2
_KEYCTL_JOIN_SESSION_KEYRING = 1
_CAP_VERSION_3 = 0x20080522

# Per architecture: (AUDIT_ARCH value, first number of a foreign ABI sharing this arch or None,
# the syscall numbers of keyctl, and every number the filter refuses).
_X86_64_DENIED = (
    29, 30, 31, 67,  # shmget shmat shmctl shmdt
    64, 65, 66, 220,  # semget semop semctl semtimedop
    68, 69, 70, 71,  # msgget msgsnd msgrcv msgctl
    240, 241, 242, 243, 244, 245,  # mq_open ... mq_getsetattr
    248, 249, 250,  # add_key request_key keyctl
    101, 310, 311,  # ptrace process_vm_readv process_vm_writev
)  # fmt: skip
_GENERIC_DENIED = (
    194, 195, 196, 197,  # shmget shmctl shmat shmdt
    190, 191, 192, 193,  # semget semctl semtimedop semop
    186, 187, 188, 189,  # msgget msgctl msgrcv msgsnd
    180, 181, 182, 183, 184, 185,  # mq_open ... mq_getsetattr
    217, 218, 219,  # add_key request_key keyctl
    117, 270, 271,  # ptrace process_vm_readv process_vm_writev
)  # fmt: skip
_ARCHES: dict[str, tuple[int, int | None, int, tuple[int, ...]]] = {
    "x86_64": (0xC000003E, 0x40000000, 250, _X86_64_DENIED),
    "aarch64": (0xC00000B7, None, 219, _GENERIC_DENIED),
    "riscv64": (0xC00000F3, None, 219, _GENERIC_DENIED),
}

_libc_handle: Any = None


def libc() -> Any:
    """The C library, loaded once (a forked run must not need to open files to find it)."""
    global _libc_handle  # noqa: PLW0603 - loaded once per process, before any fork
    if _libc_handle is None:
        handle = ctypes.CDLL(None, use_errno=True)
        handle.syscall.restype = ctypes.c_long
        handle.prctl.restype = ctypes.c_int
        _libc_handle = handle
    return _libc_handle


def _fail(what: str) -> OSError:
    number = ctypes.get_errno()
    return OSError(number, f"{what}: {os.strerror(number)}")


def mount(source: str | None, target: str, kind: str | None, flags: int, data: str) -> None:
    """Mount a file system (mount(2)); raises OSError naming the target."""
    result = libc().mount(
        source.encode() if source else None,
        target.encode(),
        kind.encode() if kind else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        raise _fail(f"mount {kind or 'bind'} on {target}")


def unshare(flags: int) -> None:
    """Leave the namespaces named by `flags` for new ones (unshare(2))."""
    if libc().unshare(ctypes.c_int(flags)) != 0:
        raise _fail("unshare")


def apply_plan(plan: list[list[str]]) -> None:
    """Lay out mounts as planned by the grader: `tmpfs`/`hide` over a folder, `bind` back.

    Handles on every folder to bind back are taken first, before anything covers it.
    """
    sources = {
        path: os.open(path, os.O_PATH | os.O_DIRECTORY)
        for kind, path, _ in plan
        if kind == "bind" and os.path.isdir(path)
    }
    flags = _MS_NOSUID | _MS_NODEV
    try:
        for kind, path, options in plan:
            if kind in {"tmpfs", "hide"} and os.path.isdir(path):
                mount("tmpfs", path, "tmpfs", flags, options)
            elif kind == "bind" and path in sources:
                os.makedirs(path, exist_ok=True)
                mount(f"/proc/self/fd/{sources[path]}", path, None, _MS_BIND | _MS_REC, "")
            elif kind == "proc":
                mount("proc", path, "proc", flags | _MS_NOEXEC, options)
    finally:
        for fd in sources.values():
            os.close(fd)


def own_view(plan: list[list[str]], work: str, owner: int | None, disk: tuple[int, int]) -> None:
    """A mount and IPC namespace of the run's own: fresh temporary folders, a capped work tmpfs.

    `plan` covers `/tmp`, `/var/tmp` and `/dev/shm` (and binds back what lies below them);
    `disk` is the work folder's (bytes, files) cap; `owner` its uid (None: the current one).
    """
    unshare(CLONE_NEWNS | CLONE_NEWIPC)
    mount(None, "/", None, _MS_REC | _MS_PRIVATE, "")
    apply_plan(plan)
    os.makedirs(work, mode=0o755, exist_ok=True)
    size, files = disk
    owned = f",uid={owner},gid={owner}" if owner is not None else ""
    mount(
        "tmpfs",
        work,
        "tmpfs",
        _MS_NOSUID | _MS_NODEV,
        f"mode=700,size={size},nr_inodes={files}{owned}",
    )


def keyctl_number() -> int | None:
    """The keyctl syscall's number on this machine (None: an architecture not known here)."""
    arch = _ARCHES.get(platform.machine())
    return None if arch is None else arch[2]


def next_child_in_new_pid_namespace(own: int) -> None:
    """Make this process's next child the first process of a new PID namespace.

    `own` is an open `/proc/self/ns/pid` of this process: a process can make a new PID namespace
    for its children only from its own, so the previous run's is left first. Call
    `children_in_own_pid_namespace` right after the fork.
    """
    children_in_own_pid_namespace(own)
    unshare(CLONE_NEWPID)


def children_in_own_pid_namespace(own: int) -> None:
    """Put this process's later children back in its own PID namespace."""
    if libc().setns(ctypes.c_int(own), ctypes.c_int(CLONE_NEWPID)) != 0:
        raise _fail("setns(CLONE_NEWPID)")


def mount_own_proc() -> None:
    """A /proc that lists this PID namespace's processes only (after `own_view`)."""
    mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "")


def fresh_session_keyring() -> bool:
    """Join a new, empty, anonymous session keyring; False where the kernel has no keyrings."""
    arch = _ARCHES.get(platform.machine())
    if arch is None:
        return False
    result = libc().syscall(
        ctypes.c_long(arch[2]), ctypes.c_long(_KEYCTL_JOIN_SESSION_KEYRING), None
    )
    return int(result) >= 0


def _bpf(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


_LD_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_RET = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000


def seccomp_program() -> bytes | None:
    """The classic-BPF filter for this machine's architecture (None: not known here)."""
    arch = _ARCHES.get(platform.machine())
    if arch is None:
        return None
    audit_arch, foreign_from, _, denied = arch
    refuse = _bpf(_RET, 0, 0, _RET_ERRNO | errnos.EPERM)
    body = [_bpf(_LD_ABS, 0, 0, 4), _bpf(_JEQ, 1, 0, audit_arch), refuse, _bpf(_LD_ABS, 0, 0, 0)]
    if foreign_from is not None:
        body += [_bpf(_JGE, 0, 1, foreign_from), refuse]
    for number in denied:
        body += [_bpf(_JEQ, 0, 1, number), refuse]
    body.append(_bpf(_RET, 0, 0, _RET_ALLOW))
    return b"".join(body)


class _Program(ctypes.Structure):
    _fields_ = (("length", ctypes.c_ushort), ("filter", ctypes.c_void_p))


_prepared: tuple[Any, _Program] | None = None


def prepare_filter() -> None:
    """Build the filter in memory now: a pre-exec step must not allocate much or import."""
    global _prepared  # noqa: PLW0603 - built once per process, before any fork
    libc()
    if _prepared is None:
        code = seccomp_program()
        if code is not None:
            buffer = ctypes.create_string_buffer(code, len(code))
            _prepared = (buffer, _Program(len(code) // 8, ctypes.addressof(buffer)))


def deny_syscalls() -> bool:
    """Install the filter on this process and all it starts; False if unknown here."""
    prepare_filter()
    if _prepared is None:
        return False
    handle = libc()
    if handle.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")
    if handle.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(_prepared[1]), 0, 0):
        raise _fail("prctl(PR_SET_SECCOMP)")
    return True


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def drop_capabilities() -> None:
    """Give up every capability, for good: the bounding set, ambient, then the sets themselves."""
    handle = libc()
    for number in range(64):
        if handle.prctl(_PR_CAPBSET_DROP, number, 0, 0, 0) != 0:
            if ctypes.get_errno() == errnos.EINVAL:
                break  # past the last capability this kernel knows
            raise _fail(f"prctl(PR_CAPBSET_DROP, {number})")
    handle.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    if handle.capset(ctypes.byref(header), data) != 0:
        raise _fail("capset")
