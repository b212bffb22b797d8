"""The isolation layer a probe proved, remembered on disk until the machine could have changed.

Proving a layer costs one freshly isolated child (and one more per layer that fails), which every
fresh `python -m grader` process used to pay before grading anything: a good part of a one-shot
grade. What a probe finds depends only on the machine, never on the learner, so it is kept.

Invalidation rule, the whole of it: an entry's key is a SHA-256 over everything that can change
which layers work - the boot (`/proc/sys/kernel/random/boot_id`), the kernel (`uname`), the
namespaces the grader itself runs in (a fresh container has new ones), the real and effective
uid and gid, the Python (`sys.executable`, `sys.version`), `ASYNCIO_KIT_ISOLATION`, the paths
and versions of `unshare`/`bwrap`, the Landlock ABI, the kernel switches for unprivileged user
namespaces, and the sandbox's and runtime's sources (name, size, modification time). A reboot,
a kernel or Python upgrade, another container, a changed sysctl or an edited sandbox all mean a
fresh probe.

Only Linux remembers (the only system whose layers need a probe child, and the only one with a
boot id). The file must be a regular file owned by the grader's own user and writable by no one
else, or it is not believed; an unreadable or corrupt entry is a miss. Every child that could
write the kit folder runs as the grader's own user with no fence of its own, and could as well
edit the grader: the entry asks no more trust than the grader's own files. The fork server still
checks its own view each time it starts. `ASYNCIO_KIT_PROBE_CACHE=0` turns this off; the folder
is `ASYNCIO_KIT_CACHE_DIR` or `.kit-cache/` in the kit, under `probe/`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

from grader.model.fsutil import atomic_write
from grader.sandbox.isolation.layers import COMPONENTS, ENV_VAR, KIT_ROOT, Layer
from grader.sandbox.portable import PORTABLE

ENV_OFF = "ASYNCIO_KIT_PROBE_CACHE"
ENV_DIR = "ASYNCIO_KIT_CACHE_DIR"
FORMAT = 1
#: Entries kept (one per user and setting in use; the oldest go first).
MAX_ENTRIES = 32
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
#: Kernel switches that decide whether an ordinary user may make namespaces.
_SWITCHES = (
    "/proc/sys/kernel/unprivileged_userns_clone",
    "/proc/sys/user/max_user_namespaces",
    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
    "/sys/kernel/security/lsm",
)
_NAMESPACES = ("user", "mnt", "pid", "net", "ipc", "uts", "cgroup")
#: What decides how a child is isolated: the sandbox's sources and the runtime the child runs.
_SOURCES = tuple(KIT_ROOT / "grader" / part for part in ("sandbox", "sandbox/isolation", "runtime"))


def enabled() -> bool:
    """Whether a proved layer may be read from and written to disk (Linux only)."""
    off = os.environ.get(ENV_OFF, "1").strip().lower() in {"0", "no", "off", "false"}
    # No uid calls: a Python without them (Windows, or the kit's simulation of it) never probes.
    posix = hasattr(os, "getuid") and hasattr(os, "geteuid")
    return not off and posix and sys.platform.startswith("linux") and _BOOT_ID.exists()


def folder() -> Path:
    """Where the entries live."""
    configured = os.environ.get(ENV_DIR, "").strip()
    top = Path(configured) if configured else KIT_ROOT / ".kit-cache"
    return top / "probe"


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "-"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        return "-"
    try:
        info = Path(found).stat()
    except OSError:
        return found
    return f"{found}:{info.st_size}:{info.st_mtime_ns}"


def _sources_digest() -> list[str]:
    """Name, size and modification time of each source (any edit or checkout changes one)."""
    found: list[str] = []
    for top in _SOURCES:
        with contextlib.suppress(OSError), os.scandir(top) as entries:
            for entry in entries:
                if entry.name.endswith(".py"):
                    info = entry.stat()
                    found.append(f"{top.name}/{entry.name}:{info.st_size}:{info.st_mtime_ns}")
    return sorted(found)


def _namespace(name: str) -> str:
    """Which namespace of this kind the grader runs in (`mnt:[4026531841]`)."""
    try:
        return str(Path(f"/proc/self/ns/{name}").readlink())
    except OSError:
        return f"{name}:-"


def key(landlock_abi: int) -> str:
    """The key of this machine's entry: see the invalidation rule in the module docstring."""
    uname = os.uname()
    namespaces = [_namespace(name) for name in _NAMESPACES]
    parts: list[Any] = [
        f"format={FORMAT}",
        _read(_BOOT_ID),
        [uname.sysname, uname.release, uname.version, uname.machine],
        namespaces,
        [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
        sys.executable,
        sys.version,
        os.environ.get(ENV_VAR, "auto").strip().lower(),
        [_tool("unshare"), _tool("bwrap")],
        landlock_abi,
        [_read(path) for path in _SWITCHES],
        _sources_digest(),
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _trusted(path: Path) -> bool:
    """A regular file of the grader's own user that no one else may write."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def load(entry_key: str) -> Layer | None:
    """The layer stored under `entry_key`, or None (no entry, not believed, or corrupt)."""
    path = folder() / f"{entry_key}.json"
    if not _trusted(path):
        return None
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") != FORMAT or data.get("key") != entry_key:
            return None
        components = tuple(str(part) for part in data["components"])
        if components != (PORTABLE,) and not set(components) <= set(COMPONENTS):
            return None
        unshare, bwrap = data["unshare"], data["bwrap"]
        return Layer(
            components,
            landlock_abi=int(data["landlock_abi"]),
            unshare=None if unshare is None else str(unshare),
            bwrap=None if bwrap is None else str(bwrap),
            notes=tuple(str(note) for note in data["notes"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store(entry_key: str, layer: Layer) -> None:
    """Keep `layer` under `entry_key`; a failure to write is ignored (the next run probes)."""
    entry = {
        "format": FORMAT,
        "key": entry_key,
        "components": list(layer.components),
        "landlock_abi": layer.landlock_abi,
        "unshare": layer.unshare,
        "bwrap": layer.bwrap,
        "notes": list(layer.notes),
    }
    target = folder() / f"{entry_key}.json"
    with contextlib.suppress(OSError):
        atomic_write(target, json.dumps(entry).encode())
        # Entries of other users or settings stay; those of older boots are never read again.
        entries = sorted(target.parent.glob("*.json"), key=lambda path: path.stat().st_mtime)
        for old in entries[:-MAX_ENTRIES]:
            old.unlink(missing_ok=True)
