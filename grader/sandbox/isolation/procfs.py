"""Uids and processes, read from `/proc`: a fresh uid per run, and every process a run left.

Fresh uids come from a range far above real users, system users and subuid ranges; every
child's environment carries a per-run token, so after the run any process that still has it
is found here and killed (the last net under daemons, whatever the layer).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
from pathlib import Path

from grader.sandbox.isolation.layers import WORLD_WRITABLE

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

    true = shutil.which("true") or "/bin/true"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(  # noqa: S603 - a fixed binary; kill(-1) must run as that uid
            [true],
            user=uid,
            group=uid,
            extra_groups=[],
            preexec_fn=kill_all,
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
        )


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
