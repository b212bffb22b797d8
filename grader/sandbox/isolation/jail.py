"""One run's share of an isolation layer: its uid, command line, pre-exec steps and sweep.

`Jail.open` sets a run up under a `Layer` (a fresh uid owning the run folder, the mount plan,
the process allowance); the spawner then asks it for the command line, the environment and
the steps to take in the forked child before exec, and has it sweep up after the run.
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import signal
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.sandbox.isolation.layers import KIT_ROOT, Layer
from grader.sandbox.isolation.mounts import beneath, mount_plan, outermost, run_mount_plan
from grader.sandbox.isolation.procfs import (
    TOKEN_VAR,
    free_uid,
    kill_all_of,
    pids_with_token,
    processes_of,
    remove_files_of,
)
from grader.sandbox.limits import Limits

#: System library folders a child may read under Landlock.
SYSTEM_LIBS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")


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

    @classmethod
    def open(
        cls, layer: Layer, work: Path, files: dict[str, bytes], runtime: Path, limits: Limits
    ) -> Jail:
        """Set up one run: pick its uid, own its folder, plan its mounts and confinement."""
        jail = cls(layer, work, files, runtime, limits)
        jail.prepare()
        return jail

    # --- before the run ----------------------------------------------------------------------
    def prepare(self) -> None:
        """Choose the uid, hand it the run folder, plan the mounts, set the process limit."""
        layer = self.layer
        if layer.has("uid"):
            self.uid = free_uid()
            for path in (self.work, *(self.work / name for name in self.files)):
                os.chown(path, self.uid, self.uid)
            self.work.chmod(0o700)
        if layer.has("mntns"):
            self._mounts = mount_plan(self.needed_folders(), str(self.work), self.layer)
        # RLIMIT_NPROC counts every process of the uid: a fresh uid starts at zero; a shared
        # (non-root) uid already has its own processes, which must not use up the allowance.
        own = 0 if self.uid is not None or os.geteuid() == 0 else processes_of(os.geteuid())
        self._nproc = own + self.limits.processes

    def needed_folders(self) -> list[str]:
        """Folders the child must read: Python's installation, its libraries, the runtime."""
        prefix = os.path.realpath(sys.base_prefix)
        folders = [prefix, str(Path(self.executable).parent), str(self.runtime)]
        libdir = sysconfig.get_config_var("LIBDIR")
        if isinstance(libdir, str) and Path(libdir).is_dir():
            folders.append(os.path.realpath(libdir))
        return outermost(folders)

    def confine_spec(self) -> dict[str, Any] | None:
        """What Landlock lets the child touch (None when the layer has no Landlock)."""
        if not self.layer.has("landlock"):
            return None
        kit = str(KIT_ROOT)
        read = [
            path
            for path in (*self.needed_folders(), *SYSTEM_LIBS)
            if Path(path).is_dir() and not beneath(kit, os.path.realpath(path))
        ]
        if not any(beneath(self.executable, path) for path in read):
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
        """Runs in the forked child before exec: mounts, then limits, then the uid."""
        if self.uid is not None:
            os.setgroups([])
        if self._mounts:
            run_mount_plan(self._mounts, self.work, self.files, self.uid, self.limits)
        # After the mounts: until exec closes them, the fork holds every file the parent has
        # open (many, when it runs children side by side), and the mount plan opens more.
        apply_rlimits(self.limits, nproc=self._nproc)
        # With `unshare`, the uid changes after the namespaces exist (that needs root).
        if self.uid is not None and not (self.layer.has("netns") and self.layer.unshare):
            os.setgid(self.uid)
            os.setuid(self.uid)

    @property
    def watch_disk(self) -> bool:
        """Whether the parent must watch the run folder's size (no capped tmpfs for it)."""
        return not self._mounts

    # --- after the run -----------------------------------------------------------------------
    def cpu_seconds(self) -> float:
        """CPU time used so far by the run's live processes (to tell busy from blocked)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in pids_with_token(self.token):
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
                kill_all_of(self.uid)
            for pid in pids_with_token(self.token) if by_token else []:
                found = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if not found:
                break
        if self.uid is not None and not self._mounts and not self.layer.has("landlock"):
            remove_files_of(self.uid)


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
