"""A run's private mount view (root only): the kit covered, scratch folders private and small.

The run folder becomes a tmpfs capped at the disk limit, `/tmp`, `/var/tmp` and `/dev/shm` are
private, the kit folder is covered by an empty tmpfs, and folders the child needs but its uid
could not reach are bind-mounted back. The fork server lays out its own view with the same plan.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
from pathlib import Path
from typing import Any

from grader.sandbox.isolation.layers import KIT_ROOT, WORLD_WRITABLE, Layer
from grader.sandbox.limits import Limits

_CLONE_NEWNS = 0x00020000
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18


def beneath(path: str, top: str) -> bool:
    """Whether `path` is `top` or inside it (both already resolved)."""
    return path == top or path.startswith(top.rstrip("/") + "/")


def outermost(paths: list[str]) -> list[str]:
    """The resolved `paths` without those inside another of them."""
    unique = sorted({os.path.realpath(path) for path in paths}, key=len)
    kept: list[str] = []
    for path in unique:
        if not any(beneath(path, other) for other in kept):
            kept.append(path)
    return kept


def closed_ancestor(path: str) -> str | None:
    """The outermost folder above `path` that other users may not pass through."""
    parts = Path(path).parts
    for depth in range(2, len(parts) + 1):
        folder = str(Path(*parts[:depth]))
        with contextlib.suppress(OSError):
            if not Path(folder).stat().st_mode & stat.S_IXOTH:
                return folder
    return None


def mount_plan(needed: list[str], work: str, layer: Layer) -> list[tuple[str, str, str]]:
    """The mounts that give the child its own view: (kind, path, tmpfs options)."""
    plan: list[tuple[str, str, str]] = []
    covers: list[str] = []

    def cover(path: str, options: str) -> None:
        if Path(path).is_dir() and not any(beneath(path, top) for top in covers):
            plan.append(("tmpfs", path, options))
            covers.append(path)

    for folder in WORLD_WRITABLE:
        cover(folder, "mode=1777,size=1m,nr_inodes=256")
    for target in (*needed, work):
        closed = closed_ancestor(target)
        if closed is not None:
            cover(closed, "mode=755,size=64k,nr_inodes=256")
    plan.extend(
        ("bind", target, "") for target in needed if any(beneath(target, top) for top in covers)
    )
    kit = str(KIT_ROOT)
    plan.append(("hide", kit, "mode=755,size=64k,nr_inodes=16"))
    plan.extend(("bind", target, "") for target in needed if beneath(target, kit))
    if not layer.has("pidns"):
        plan.append(("proc", "/proc", "hidepid=2"))
    return plan


_libc: Any = None


def _mount_call(source: str | None, target: str, kind: str | None, flags: int, data: str) -> None:
    result = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        kind.encode() if kind else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {kind or 'bind'} on {target}: {os.strerror(errno)}")


def _load_libc() -> Any:
    global _libc  # noqa: PLW0603 - loaded once, in the parent, before any fork
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def run_mount_plan(
    plan: list[tuple[str, str, str]],
    work: Path,
    files: dict[str, bytes],
    uid: int | None,
    limits: Limits,
) -> None:
    """In the forked child (root): a private mount namespace, laid out as planned."""
    libc = _libc
    if libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    _mount_call(None, "/", None, _MS_REC | _MS_PRIVATE, "")
    # Handles on what gets bind-mounted back, taken before anything covers it.
    sources = {
        path: os.open(path, os.O_PATH | os.O_DIRECTORY) for kind, path, _ in plan if kind == "bind"
    }
    flags = _MS_NOSUID | _MS_NODEV
    for kind, path, options in plan:
        if kind in {"tmpfs", "hide"} and Path(path).is_dir():
            _mount_call("tmpfs", path, "tmpfs", flags, options)
        elif kind == "bind":
            Path(path).mkdir(parents=True, exist_ok=True)
            _mount_call(f"/proc/self/fd/{sources[path]}", path, None, _MS_BIND | _MS_REC, "")
    for fd in sources.values():
        os.close(fd)
    # The run's own folder: a fresh tmpfs capped at the disk limit, owned by the run's uid.
    work.mkdir(parents=True, exist_ok=True)
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    size = f"mode=700,size={limits.disk_bytes},nr_inodes={limits.disk_files}{owner}"
    _mount_call("tmpfs", str(work), "tmpfs", flags, size)
    for name, data in files.items():
        (work / name).write_bytes(data)
        if uid is not None:
            os.chown(work / name, uid, uid)
    for kind, path, options in plan:
        if kind == "proc":
            _mount_call("proc", path, "proc", flags | _MS_NOEXEC, options)
    os.chdir(work)


def prepare_parent() -> None:
    """Load what the pre-exec steps need before forking (nothing may be imported after)."""
    _load_libc()
