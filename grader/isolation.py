"""Which operating-system isolation a sandboxed child gets, probed once per grading process.

Resource limits and a process group of its own are the floor every child gets ("rlimits").
On top of that, where the machine allows it, and strongest first:

- `uid`: as root, every child runs under a fresh unprivileged uid/gid with no supplementary
  groups. It cannot signal the grader, read the grader's memory through `/proc`, or outlive
  the run: every process of that uid is killed afterwards. `RLIMIT_NPROC` binds it (it never
  binds root).
- `mntns`: as root, a private mount namespace: the kit folder (solutions, hidden tests, `.git`)
  is covered by an empty tmpfs, `/tmp`, `/var/tmp` and `/dev/shm` are small private tmpfs, and
  the run's folder is a tmpfs capped at the disk limit. Folders the child needs but that its
  uid could not reach (a Python under `/root`) are bind-mounted back.
- `netns`, `pidns`: no network at all, and a PID namespace whose processes all die with its
  first process (`unshare --net --pid --ipc --fork --kill-child --mount-proc`; unprivileged
  users get a user namespace too). `bwrap`, if installed, stands in when `unshare` cannot.
- `landlock`: the child confines itself before any learner code runs (`runtime/confine.py`):
  reads only Python's files, the runtime copy and the run folder, writes only the run folder,
  no TCP, no signals outside the sandbox.

`current()` builds the strongest combination the machine offers, proves it with one probe
child that reports what it can see, and falls back one step at a time; the results file names
what was used ("uid+mntns+netns+pidns+landlock", ..., "rlimits"). `ASYNCIO_KIT_ISOLATION`
limits the choice (e.g. `rlimits` forces the floor, `uid+landlock` allows only those two).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import resource
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .runtime import confine, jail, zygote

if TYPE_CHECKING:
    from collections.abc import Callable

    from .sandbox import Limits

ENV_VAR = "ASYNCIO_KIT_ISOLATION"
#: Canonical order of the parts of a layer's name.
COMPONENTS = ("uid", "mntns", "netns", "pidns", "bwrap", "landlock")
FLOOR = "rlimits"
#: Every child's environment carries a per-run token under this name: after the run, any
#: process that still has it is killed (the last net under daemons, whatever the layer).
TOKEN_VAR = "ASYNCIO_KIT_RUN"  # noqa: S105 - a variable name, not a secret
#: Fresh uids come from this range: far above real users, system users and subuid ranges.
UID_BASE = 0x6000_0000
UID_SPAN = 1 << 24
KIT_ROOT = Path(__file__).resolve().parent.parent
_WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108 - covered, never used
_SYSTEM_LIBS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")

_CLONE_NEWNS = 0x00020000
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18


class IsolationError(RuntimeError):
    """A layer could not be set up for a run (the probe said it works: this is unexpected)."""


@dataclass(frozen=True)
class Layer:
    """A combination of isolation mechanisms; `name` is what the results file reports."""

    components: tuple[str, ...] = ()
    landlock_abi: int = 0
    unshare: str | None = None
    bwrap: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """`uid+mntns+netns+pidns+landlock`, ..., or `rlimits` for the floor alone."""
        return "+".join(self.components) or FLOOR

    def has(self, component: str) -> bool:
        """Whether this layer uses `component`."""
        return component in self.components

    def jail(self, work: Path, files: dict[str, bytes], runtime: Path, limits: Limits) -> Jail:
        """Set up one run: pick its uid, own its folder, plan its mounts and confinement."""
        jail = Jail(self, work, files, runtime, limits)
        jail.prepare()
        return jail


@dataclass
class Jail:
    """One run's share of a layer: its uid, token, command line, pre-exec steps and sweep."""

    layer: Layer
    work: Path
    files: dict[str, bytes]
    runtime: Path
    limits: Limits
    uid: int | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(12))
    _mounts: list[tuple[str, str, str]] = field(default_factory=list)
    _nproc: int = 0

    @property
    def executable(self) -> str:
        """The real Python binary (not a venv link, whose folder the child may not read)."""
        return os.path.realpath(sys.executable)

    # --- before the run ----------------------------------------------------------------------
    def prepare(self) -> None:
        """Choose the uid, hand it the run folder, plan the mounts, set the process limit."""
        layer = self.layer
        if layer.has("uid"):
            self.uid = _free_uid()
            for path in (self.work, *(self.work / name for name in self.files)):
                os.chown(path, self.uid, self.uid)
            self.work.chmod(0o700)
        if layer.has("mntns"):
            self._mounts = _mount_plan(self.needed_folders(), str(self.work), self.layer)
        # RLIMIT_NPROC counts every process of the uid: a fresh uid starts at zero; a shared
        # (non-root) uid already has its own processes, which must not use up the allowance.
        own = 0 if self.uid is not None or os.geteuid() == 0 else _processes_of(os.geteuid())
        self._nproc = own + self.limits.processes

    def needed_folders(self) -> list[str]:
        """Folders the child must read: Python's installation, its libraries, the runtime."""
        prefix = os.path.realpath(sys.base_prefix)
        folders = [prefix, str(Path(self.executable).parent), str(self.runtime)]
        libdir = sysconfig.get_config_var("LIBDIR")
        if isinstance(libdir, str) and Path(libdir).is_dir():
            folders.append(os.path.realpath(libdir))
        return _outermost(folders)

    def confine_spec(self) -> dict[str, Any] | None:
        """What Landlock lets the child touch (None when the layer has no Landlock)."""
        if not self.layer.has("landlock"):
            return None
        kit = str(KIT_ROOT)
        read = [
            path
            for path in (*self.needed_folders(), *_SYSTEM_LIBS)
            if Path(path).is_dir() and not _beneath(kit, os.path.realpath(path))
        ]
        if not any(_beneath(self.executable, path) for path in read):
            read = [path for path in read if path != os.path.realpath(sys.base_prefix)]
            read += [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")]
        files = {self.executable: "r", "/etc/ld.so.cache": "r", "/etc/localtime": "r"}
        files.update({"/dev/null": "rw", "/dev/zero": "r", "/dev/urandom": "r"})
        return {"read": read, "write": [str(self.work)], "files": files}

    def command(self, child: list[str]) -> list[str]:
        """The child's command line inside this layer's namespaces."""
        layer = self.layer
        if layer.has("netns") and layer.unshare:
            wrapper = [layer.unshare]
            if os.geteuid() != 0:
                wrapper += ["--user", "--map-current-user"]
            wrapper += ["--net", "--pid", "--ipc", "--fork", "--kill-child", "--mount-proc"]
            if self.uid is not None:
                wrapper += [f"--setuid={self.uid}", f"--setgid={self.uid}"]
            return [*wrapper, "--", *child]
        if layer.has("bwrap") and layer.bwrap:
            return [
                layer.bwrap,
                "--unshare-net",
                "--unshare-pid",
                "--unshare-ipc",
                "--die-with-parent",
                "--bind",
                "/",
                "/",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--chdir",
                str(self.work),
                "--",
                *child,
            ]
        return child

    def environment(self) -> dict[str, str]:
        """A minimal environment: nothing of the grader's, plus the run's token."""
        return {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            TOKEN_VAR: self.token,
        }

    def preexec(self) -> None:
        """Runs in the forked child before exec: mounts, limits, keyring, uid, syscall filter."""
        if self.uid is not None:
            os.setgroups([])
        if self._mounts:
            _run_mount_plan(self._mounts, self.work, self.files, self.uid, self.limits)
        # After the mounts: until exec closes them, the fork holds every file the parent has
        # open (many, when it runs children side by side), and the mount plan opens more.
        apply_rlimits(self.limits, nproc=self._nproc)
        # Not the grader's session keyring (kept across fork and setuid): a new, empty one.
        jail.fresh_session_keyring()
        # With `unshare`, the uid changes after the namespaces exist (that needs root).
        if self.uid is not None and not (self.layer.has("netns") and self.layer.unshare):
            os.setgid(self.uid)
            os.setuid(self.uid)
        # Last: no keyrings, System V IPC, message queues or ptrace for the run, whatever the
        # layer (the floor too). Where the kernel has no seccomp, the layer still holds.
        with contextlib.suppress(OSError):
            jail.deny_syscalls()

    @property
    def watch_disk(self) -> bool:
        """Whether the parent must watch the run folder's size (no capped tmpfs for it)."""
        return not self._mounts

    # --- after the run -----------------------------------------------------------------------
    def cpu_seconds(self) -> float:
        """CPU time used so far by the run's live processes (to tell busy from blocked)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in _pids_with_token(self.token):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def sweep(self) -> None:
        """Kill every process the run left, and (uid without mounts) the files it left."""
        # With a fresh uid inside a PID namespace, kill(-1) as that uid reaches every leftover
        # (the namespace dies with its first process anyway): no need to scan for the token.
        by_token = not (self.uid is not None and self.layer.has("pidns"))
        for _ in range(3):
            found = False
            if self.uid is not None:
                _kill_all_of(self.uid)
            for pid in _pids_with_token(self.token) if by_token else []:
                found = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if not found:
                break
        if self.uid is not None and not self._mounts and not self.layer.has("landlock"):
            _remove_files_of(self.uid)
        if self.uid is not None:
            # The syscall filter lets no run make these; should a kernel lack seccomp, what a
            # run of a fresh uid made in a shared IPC namespace or key table goes with it.
            remove_ipc_of(self.uid)
            clear_keys_of(self.uid)


def runtime_command(executable: str, boot: str, *args: str) -> list[str]:
    """A sandboxed interpreter's command line: isolated mode, no site, no bytecode written.

    `boot` runs with the runtime folder (the last argument) first on the import path.
    """
    return [executable, "-I", "-S", "-B", "-c", boot, *args]


# --- resource limits ---------------------------------------------------------------------------
def apply_rlimits(limits: Limits, *, nproc: int | None = None) -> None:
    """Set the child's CPU, memory, file-size, open-file, process and core-dump limits.

    The CPU hard limit is one second above the soft one: at the soft limit the kernel sends
    SIGXCPU (which a PID namespace's first process ignores), at the hard one SIGKILL.
    """
    settings = (
        (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_NPROC, nproc or limits.processes, nproc or limits.processes),
        (resource.RLIMIT_CORE, 0, 0),
    )
    for which, wanted_soft, wanted_hard in settings:
        _, current_hard = resource.getrlimit(which)
        hard = wanted_hard
        if current_hard != resource.RLIM_INFINITY:
            hard = min(wanted_hard, current_hard)
        resource.setrlimit(which, (min(wanted_soft, hard), hard))


# --- choosing the layer --------------------------------------------------------------------------
_current: Layer | None = None


def current() -> Layer:
    """The isolation layer this process uses for every child (probed on first use)."""
    global _current  # noqa: PLW0603 - probed once per process
    if _current is None:
        _current = choose()
    return _current


def reset() -> None:
    """Forget the probed layer (tests that change ASYNCIO_KIT_ISOLATION use it)."""
    global _current  # noqa: PLW0603 - see current()
    _current = None


def requested() -> set[str] | None:
    """The components ASYNCIO_KIT_ISOLATION allows (None: any, the default `auto`)."""
    value = os.environ.get(ENV_VAR, "auto").strip().lower()
    if value in {"", "auto"}:
        return None
    parts = {part.strip() for part in value.split("+") if part.strip()}
    unknown = parts - set(COMPONENTS) - {FLOOR}
    if unknown:
        msg = f"{ENV_VAR}={value!r}: unknown part(s) {sorted(unknown)}; known: {COMPONENTS}"
        raise IsolationError(msg)
    return parts - {FLOOR}


def candidates(
    *, root: bool, landlock_abi: int, unshare: str | None, bwrap: str | None
) -> list[tuple[str, ...]]:
    """Every combination worth trying on this machine, strongest first, ending with the floor."""
    bases: list[tuple[str, ...]] = [("uid", "mntns"), ("uid",), ("mntns",), ()] if root else [()]
    spaces: list[tuple[str, ...]] = []
    if unshare:
        spaces.append(("netns", "pidns"))
    if bwrap:
        spaces.append(("bwrap",))
    spaces.append(())
    tails: list[tuple[str, ...]] = [("landlock",), ()] if landlock_abi > 0 else [()]
    found: list[tuple[str, ...]] = []
    for base in bases:
        for space in spaces:
            if "uid" in base and space == ("bwrap",):
                continue  # bwrap would have to run as the fresh uid: not worth the tangle
            for tail in tails:
                combo = tuple(c for c in COMPONENTS if c in {*base, *space, *tail})
                if combo not in found:
                    found.append(combo)
    return found


def choose(probe: Callable[[Layer], str | None] | None = None) -> Layer:
    """Try the candidates strongest first; return the first one the probe accepts.

    A misspelt ASYNCIO_KIT_ISOLATION is noted and ignored: grading goes on with the strongest
    layer, which is the safe direction to be wrong in.
    """
    notes: list[str] = []
    try:
        allowed = requested()
    except IsolationError as exc:
        notes.append(f"ignored: {exc}")
        allowed = None
    abi = confine.abi()
    unshare = shutil.which("unshare")
    bwrap = shutil.which("bwrap")
    root = os.geteuid() == 0
    probe = probe or _probe
    for combo in candidates(root=root, landlock_abi=abi, unshare=unshare, bwrap=bwrap):
        if allowed is not None and not set(combo) <= allowed:
            continue
        layer = Layer(combo, landlock_abi=abi, unshare=unshare, bwrap=bwrap)
        if not combo:
            return Layer((), landlock_abi=abi, notes=tuple(notes))
        problem = probe(layer)
        if problem is None:
            return Layer(combo, abi, unshare, bwrap, tuple(notes))
        notes.append(f"{layer.name}: {problem}")
    return Layer((), landlock_abi=abi, notes=tuple(notes))


_PROBE_SOURCE = b"""
import os, socket

def main(kit_file, outside_file):
    facts = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid()}
    try:
        facts["nets"] = sorted(name for _, name in socket.if_nameindex())
    except OSError as exc:
        facts["nets"] = [type(exc).__name__]
    for key, path in (("kit", kit_file), ("outside", outside_file)):
        try:
            with open(path, "rb"):
                facts[key] = "readable"
        except FileNotFoundError:
            facts[key] = "hidden"
        except PermissionError:
            facts[key] = "denied"
    return facts
"""


def _probe(layer: Layer) -> str | None:
    """Run one child under `layer`; None if it ran and saw what the layer promises."""
    from . import sandbox  # noqa: PLC0415 - sandbox imports this module

    request = {
        "mode": "call",
        "entry": "main",
        "args": [str(Path(__file__).resolve()), "/etc/passwd"],
        "kwargs": {},
        "clock": "real",
        "loop": {},
    }
    try:
        outcome = sandbox.run_child_in(layer, request, _PROBE_SOURCE, use_server=False)
    except (OSError, subprocess.SubprocessError, IsolationError) as exc:
        return f"could not start ({type(exc).__name__}: {exc})"
    result = outcome.result
    if result is None or result.get("status") != "ok":
        detail = outcome.problem or (result or {}).get("error")
        return f"probe child failed ({detail}; {outcome.stderr.strip()[-300:]})"
    return verify(layer, result.get("return"), result.get("confined"), outcome.uid)


def verify(layer: Layer, facts: Any, confined: Any, uid: int | None) -> str | None:
    """Check a probe child's report against what `layer` promises; None if all holds."""
    if not isinstance(facts, dict):
        return "probe child returned no facts"
    checks: list[tuple[bool, str]] = []
    if layer.has("uid"):
        checks.append((facts.get("uid") == uid and facts.get("gid") == uid, "uid not changed"))
        checks.append((facts.get("groups") == [], "supplementary groups kept"))
    if layer.has("mntns"):
        checks.append((facts.get("kit") in {"hidden", "denied"}, "kit folder still visible"))
    if layer.has("netns") or layer.has("bwrap"):
        checks.append((facts.get("nets") == ["lo"], f"network visible: {facts.get('nets')}"))
        checks.append((isinstance(facts.get("pid"), int) and facts["pid"] <= 2, "no PID namespace"))  # noqa: PLR2004 - bwrap's program is pid 2
    if layer.has("landlock"):
        applied = isinstance(confined, dict) and confined.get("landlock", 0) >= 1
        checks.append((applied, "Landlock not applied"))
        checks.append((facts.get("outside") == "denied", "files outside still readable"))
        checks.append((facts.get("kit") in {"hidden", "denied"}, "kit files still readable"))
    failed = [message for ok, message in checks if not ok]
    return "; ".join(failed) or None


# --- uids and processes ---------------------------------------------------------------------
def _free_uid() -> int:
    in_use = _uids_in_use()
    while True:
        uid = UID_BASE + secrets.randbelow(UID_SPAN)
        if uid not in in_use:
            return uid


_UID_LINE = re.compile(rb"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)", re.MULTILINE)


def _uids_in_use() -> set[int]:
    """The owners of every process (a stat of /proc/PID is cheaper than reading its status)."""
    uids: set[int] = set()
    for pid in _pids():
        with contextlib.suppress(OSError):
            uids.add(Path(f"/proc/{pid}").stat().st_uid)
    return uids


def _processes_of(uid: int) -> int:
    return sum(
        1
        for status in _proc_files("status")
        if (match := _UID_LINE.search(status)) and int(match.group(1)) == uid
    )


def _proc_files(name: str) -> list[bytes]:
    contents: list[bytes] = []
    for entry in _pids():
        with contextlib.suppress(OSError):
            contents.append(Path(f"/proc/{entry}/{name}").read_bytes())
    return contents


def _pids() -> list[int]:
    try:
        return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return []


def _pids_with_token(token: str) -> list[int]:
    marker = f"{TOKEN_VAR}={token}".encode()
    found: list[int] = []
    for pid in _pids():
        if pid == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker in Path(f"/proc/{pid}/environ").read_bytes():
                found.append(pid)
    return found


def _kill_all_of(uid: int) -> None:
    """SIGKILL every process of `uid` at once: kill(-1) as that uid, from a short-lived helper."""

    def kill_all() -> None:
        os.kill(-1, signal.SIGKILL)

    _as_uid(uid, kill_all)


def _as_uid(uid: int, step: Callable[[], None]) -> None:
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
    libc = _load_libc()
    calls = {"shm": libc.shmctl, "msg": libc.msgctl, "sem": libc.semctl}
    for table, ident, _ in objects:
        if table == "sem":
            calls[table](ctypes.c_int(ident), ctypes.c_int(0), ctypes.c_int(0))  # IPC_RMID
        else:
            calls[table](ctypes.c_int(ident), ctypes.c_int(0), None)  # IPC_RMID


def key_users() -> set[int]:
    """The uids that own at least one key (from /proc/key-users; empty where unreadable)."""
    return zygote.key_owners()


def clear_keys_of(uid: int) -> None:
    """Invalidate every key of a run's fresh uid, its user keyrings included."""
    if uid in key_users():
        _as_uid(uid, zygote.invalidate_own_keys)


def _remove_files_of(uid: int) -> None:
    """Remove what `uid` created in world-writable folders (uid layer without mounts)."""
    for top in _WORLD_WRITABLE:
        for folder, dirs, names in os.walk(top, topdown=False):
            for name in [*names, *dirs]:
                path = Path(folder) / name
                with contextlib.suppress(OSError):
                    info = path.lstat()
                    if info.st_uid == uid and stat.S_ISDIR(info.st_mode):
                        shutil.rmtree(path, ignore_errors=True)
                    elif info.st_uid == uid:
                        path.unlink()


# --- mounts (root only) ---------------------------------------------------------------------
def _beneath(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _outermost(paths: list[str]) -> list[str]:
    unique = sorted({os.path.realpath(path) for path in paths}, key=len)
    kept: list[str] = []
    for path in unique:
        if not any(_beneath(path, other) for other in kept):
            kept.append(path)
    return kept


def _closed_ancestor(path: str) -> str | None:
    """The outermost folder above `path` that other users may not pass through."""
    parts = Path(path).parts
    for depth in range(2, len(parts) + 1):
        folder = str(Path(*parts[:depth]))
        with contextlib.suppress(OSError):
            if not Path(folder).stat().st_mode & stat.S_IXOTH:
                return folder
    return None


def _mount_plan(needed: list[str], work: str, layer: Layer) -> list[tuple[str, str, str]]:
    """The mounts that give the child its own view: (kind, path, tmpfs options)."""
    plan: list[tuple[str, str, str]] = []
    covers: list[str] = []

    def cover(path: str, options: str) -> None:
        if Path(path).is_dir() and not any(_beneath(path, top) for top in covers):
            plan.append(("tmpfs", path, options))
            covers.append(path)

    for folder in _WORLD_WRITABLE:
        cover(folder, "mode=1777,size=1m,nr_inodes=256")
    for target in (*needed, work):
        closed = _closed_ancestor(target)
        if closed is not None:
            cover(closed, "mode=755,size=64k,nr_inodes=256")
    plan.extend(
        ("bind", target, "") for target in needed if any(_beneath(target, top) for top in covers)
    )
    kit = str(KIT_ROOT)
    plan.append(("hide", kit, "mode=755,size=64k,nr_inodes=16"))
    plan.extend(("bind", target, "") for target in needed if _beneath(target, kit))
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


def _run_mount_plan(
    plan: list[tuple[str, str, str]],
    work: Path,
    files: dict[str, bytes],
    uid: int | None,
    limits: Limits,
) -> None:
    """In the forked child (root): a private mount namespace, laid out as planned."""
    libc = _libc
    # A mount namespace and an IPC namespace of the run's own (System V objects die with it).
    if libc.unshare(_CLONE_NEWNS | jail.CLONE_NEWIPC) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS | CLONE_NEWIPC)")
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
    jail.prepare_filter()


def run_view_plan(needed: list[str]) -> list[list[str]]:
    """Each fork-server run's own temporary folders: fresh tmpfs, with `needed` bound back."""
    plan = [
        ["tmpfs", folder, "mode=1777,size=1m,nr_inodes=256"]
        for folder in _WORLD_WRITABLE
        if Path(folder).is_dir()
    ]
    plan += [
        ["bind", target, ""]
        for target in needed
        if any(_beneath(target, top) for top in _WORLD_WRITABLE)
    ]
    return plan


processes_of = _processes_of


#: The fork server (`forkserver.py`) lays out its own mount view with the same plan.
mount_plan = _mount_plan
run_mount_plan = _run_mount_plan
