"""Uids and processes, read from `/proc`: a fresh uid per run, and every process a run left.

Fresh uids come from a range far above real users, system users and subuid ranges; every
child's environment carries a per-run token, so after the run any process that still has it
is found here and killed (the last net under daemons, whatever the layer).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from grader.runtime import jail as kernel
from grader.sandbox.isolation.layers import WORLD_WRITABLE

if TYPE_CHECKING:
    from collections.abc import Callable

#: The name of the per-run token in every child's environment.
TOKEN_VAR = "ASYNCIO_KIT_RUN"  # noqa: S105 - a variable name, not a secret
#: Fresh uids come from this range.
UID_BASE = 0x6000_0000
UID_SPAN = 1 << 24


def free_uid() -> int:
    """A uid of the range that no process has now."""
    in_use = uids_in_use()
    while True:
        uid = UID_BASE + secrets.randbelow(UID_SPAN)
        if uid not in in_use:
            return uid


_UID_LINE = re.compile(rb"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)", re.MULTILINE)


def uids_in_use() -> set[int]:
    """The owners of every process (a stat of /proc/PID is cheaper than reading its status)."""
    uids: set[int] = set()
    for pid in pids():
        with contextlib.suppress(OSError):
            uids.add(Path(f"/proc/{pid}").stat().st_uid)
    return uids


def processes_of(uid: int) -> int:
    """How many processes `uid` has."""
    return sum(
        1
        for status in proc_files("status")
        if (match := _UID_LINE.search(status)) and int(match.group(1)) == uid
    )


def proc_files(name: str) -> list[bytes]:
    """`/proc/PID/name` of every process that can be read."""
    contents: list[bytes] = []
    for entry in pids():
        with contextlib.suppress(OSError):
            contents.append(Path(f"/proc/{entry}/{name}").read_bytes())
    return contents


def pids() -> list[int]:
    """Every process id in `/proc`."""
    try:
        return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return []


def pids_with_token(token: str) -> list[int]:
    """The processes (other than this one) whose environment carries a run's token."""
    marker = f"{TOKEN_VAR}={token}".encode()
    found: list[int] = []
    for pid in pids():
        if pid == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker in Path(f"/proc/{pid}/environ").read_bytes():
                found.append(pid)
    return found


def kill_all_of(uid: int) -> None:
    """SIGKILL every process of `uid` at once: kill(-1) as that uid, from a short-lived helper."""

    def kill_all() -> None:
        os.kill(-1, signal.SIGKILL)

    as_uid(uid, kill_all)


def as_uid(uid: int, step: Callable[[], None]) -> None:
    """Run `step` in a short-lived helper process that has become `uid`."""
    true = shutil.which("true") or "/bin/true"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(  # noqa: S603 - a fixed binary; kill(-1) must run as that uid
            [true],
            user=uid,
            group=uid,
            extra_groups=[],
            preexec_fn=step,
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
        )


_SYSV_TABLES = (("shm", "shmid", 31, 0), ("msg", "msqid", 71, 0), ("sem", "semid", 66, 0))


def sysv_objects(uid: int | None = None) -> list[tuple[str, int, int]]:
    """System V IPC objects visible here, as (table, id, owner uid); only `uid`'s if given."""
    found: list[tuple[str, int, int]] = []
    for table, id_column, _, _ in _SYSV_TABLES:
        try:
            rows = Path(f"/proc/sysvipc/{table}").read_text(encoding="ascii").splitlines()
        except OSError:
            continue
        if not rows:
            continue
        header = rows[0].split()
        for row in rows[1:]:
            values = dict(zip(header, row.split(), strict=False))
            with contextlib.suppress(KeyError, ValueError):
                owners = {int(values["uid"]), int(values["cuid"])}
                if uid is None or uid in owners:
                    found.append((table, int(values[id_column]), int(values["uid"])))
    return found


def remove_ipc_of(uid: int) -> None:
    """Remove every System V shared memory segment, queue and semaphore set of `uid`."""
    objects = sysv_objects(uid)
    if not objects:
        return
    libc = kernel.libc()
    calls = {"shm": libc.shmctl, "msg": libc.msgctl, "sem": libc.semctl}
    for table, ident, _ in objects:
        if table == "sem":
            calls[table](ctypes.c_int(ident), ctypes.c_int(0), ctypes.c_int(0))  # IPC_RMID
        else:
            calls[table](ctypes.c_int(ident), ctypes.c_int(0), None)  # IPC_RMID


def _zygote() -> ModuleType:
    """The fork server's module, which holds the key calls (it loads asyncio: only when used)."""
    from grader.runtime import zygote  # noqa: PLC0415 - a grade that runs no child skips it

    return zygote


def key_users() -> set[int]:
    """The uids that own at least one key (from /proc/key-users; empty where unreadable)."""
    found: set[int] = _zygote().key_owners()
    return found


def clear_keys_of(uid: int) -> None:
    """Invalidate every key of a run's fresh uid, its user keyrings included."""
    if uid in key_users():
        # Imported here, in the parent, before the helper forks (nothing is imported after).
        as_uid(uid, _zygote().invalidate_own_keys)


def remove_files_of(uid: int) -> None:
    """Remove what `uid` created in world-writable folders (uid layer without mounts)."""
    for top in WORLD_WRITABLE:
        for folder, dirs, names in os.walk(top, topdown=False):
            for name in [*names, *dirs]:
                path = Path(folder) / name
                with contextlib.suppress(OSError):
                    info = path.lstat()
                    if info.st_uid == uid and stat.S_ISDIR(info.st_mode):
                        shutil.rmtree(path, ignore_errors=True)
                    elif info.st_uid == uid:
                        path.unlink()
