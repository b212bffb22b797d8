"""The parent's side of the warm fork server (`runtime/zygote.py`): start it, hand it runs.

A grading process makes dozens of runs per submission. Instead of starting a fresh, freshly
isolated interpreter for each, it starts one server per isolation layer, inside that layer's
namespaces and mount view (the kit hidden, private temporary folders, no network), and asks it
to fork a run: the fork takes a fresh uid, the run's limits and its Landlock confinement in the
server, so every run is as isolated as a freshly started child, for a fraction of the cost.

The server is used only where it keeps every guarantee of the spawn path: as root, with a
fresh uid per run and a private mount namespace. Anywhere else (a laptop, a CI runner without
root) `sandbox` starts each child itself, as before. `ASYNCIO_KIT_FORKSERVER=0` turns the
server off.

Servers are pooled: a thread that finds every server busy starts another, so runs made side by
side (the kit's real-clock tests) stay side by side.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from grader.runtime import zygote
from grader.sandbox.isolation.jail import Jail, runtime_command
from grader.sandbox.isolation.layers import KIT_ROOT, Layer
from grader.sandbox.isolation.mounts import mount_plan, prepare_parent, run_mount_plan
from grader.sandbox.limits import Limits

ENV_VAR = "ASYNCIO_KIT_FORKSERVER"
_BOOT = "import sys; sys.path.insert(0, sys.argv[3]); import kitrt.zygote as z; z.main()"
_START_TIMEOUT_S = 20.0


class ForkServerError(RuntimeError):
    """The server could not be started or stopped answering; the run falls back to a spawn."""


def enabled() -> bool:
    """Whether runs may use a fork server (on unless ASYNCIO_KIT_FORKSERVER=0)."""
    return os.environ.get(ENV_VAR, "1").strip().lower() not in {"0", "no", "off", "false"}


def supports(layer: Layer) -> bool:
    """A server keeps the layer's guarantees only with a fresh uid and a private mount view."""
    return layer.has("uid") and layer.has("mntns") and hasattr(os, "pidfd_open")


class ForkServer:
    """One server process and the socket to it; used by one run at a time."""

    def __init__(self, layer: Layer, runtime: Path, limits: Limits) -> None:
        self.layer = layer
        self.base = Path(tempfile.mkdtemp(prefix="asyncio-kit-zygote-"))
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = parent_sock
        jail = Jail(layer, self.base, {}, runtime, limits)
        self.confine_spec = jail.confine_spec()
        plan = mount_plan(jail.needed_folders(), str(self.base), layer)
        command = runtime_command(
            jail.executable,
            _BOOT,
            str(self.base),
            str(child_sock.fileno()),
            str(runtime),
            str(KIT_ROOT / "grader"),
        )
        if layer.has("netns") and layer.unshare:
            command = [
                layer.unshare,
                "--net",
                "--pid",
                "--ipc",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--",
                *command,
            ]

        def preexec() -> None:
            run_mount_plan(plan, self.base, {}, None, limits)
            # Runs live in folders below this one, each owned by its own uid.
            self.base.chmod(0o711)

        prepare_parent()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                command,
                cwd="/",
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(child_sock.fileno(),),
                start_new_session=True,
                preexec_fn=preexec,  # noqa: PLW1509 - the mount view must be set there
            )
        finally:
            child_sock.close()
        self.sock.settimeout(_START_TIMEOUT_S)
        try:
            message, _ = zygote.receive(self.sock)
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            msg = f"the fork server did not start ({type(exc).__name__}: {exc})"
            raise ForkServerError(msg) from exc
        self.sock.settimeout(None)
        problem = self._check_view(message)
        if problem is not None:
            self.close()
            msg = f"the fork server's isolation does not hold: {problem}"
            raise ForkServerError(msg)

    def _check_view(self, message: dict[str, Any]) -> str | None:
        """What the server reported about its own view against what the layer promises."""
        if message.get("op") != "ready":
            return f"it said {message!r} instead of ready"
        if message.get("sees"):
            return "the kit is visible"
        if self.layer.has("pidns") and message.get("pid") != 1:
            return f"no PID namespace (pid {message.get('pid')})"
        if self.layer.has("netns") and message.get("nets") != ["lo"]:
            return f"network visible: {message.get('nets')}"
        return None

    def start_run(
        self,
        request: dict[str, Any],
        files: dict[str, bytes],
        limits: Limits,
        pipes: tuple[int, int, int],
    ) -> int | None:
        """Ask the server to fork one run writing to `pipes`; return the run's uid."""
        message = {
            "op": "run",
            "request": request,
            "files": {name: base64.b64encode(data).decode() for name, data in files.items()},
            "limits": {
                "cpu_seconds": limits.cpu_seconds,
                "memory_bytes": limits.memory_bytes,
                "file_bytes": limits.file_bytes,
                "open_files": limits.open_files,
                "processes": limits.processes,
            },
            "uid": True,
            "confine": self.confine_spec,
        }
        try:
            zygote.send(self.sock, message, list(pipes))
            answer, _ = zygote.receive(self.sock)
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            msg = f"the fork server stopped answering ({type(exc).__name__})"
            raise ForkServerError(msg) from exc
        if answer.get("op") != "started":
            msg = f"the fork server could not start the run: {answer.get('message')}"
            raise ForkServerError(msg)
        uid = answer.get("uid")
        return uid if type(uid) is int else None

    def poll_exit(self, timeout: float) -> tuple[int, float] | None:
        """The run's exit status and CPU seconds once it ended, else None after `timeout`."""
        self.sock.settimeout(max(0.0, timeout))
        try:
            message, _ = zygote.receive(self.sock)
        except TimeoutError:
            return None
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            msg = f"the fork server stopped answering ({type(exc).__name__})"
            raise ForkServerError(msg) from exc
        finally:
            with contextlib.suppress(OSError):
                self.sock.settimeout(None)
        return int(message.get("code", -signal.SIGKILL)), float(message.get("cpu", 0.0))

    def kill_run(self) -> None:
        """Tell the server to kill the run (the wall-clock deadline passed, or a flood)."""
        with contextlib.suppress(OSError):
            zygote.send(self.sock, {"op": "kill"})

    @property
    def alive(self) -> bool:
        """Whether the server process still runs."""
        return self.process.poll() is None and self.sock.fileno() >= 0

    def close(self) -> None:
        """Stop the server and everything in its namespaces."""
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=2)
        shutil.rmtree(self.base, ignore_errors=True)


class Pool:
    """Idle servers per layer; a run borrows one, or starts one if all are busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[str, list[ForkServer]] = {}
        self._all: list[ForkServer] = []

    def borrow(self, layer: Layer, runtime: Path, limits: Limits) -> ForkServer:
        """An idle server for `layer` (started if none is idle)."""
        with self._lock:
            idle = self._idle.setdefault(layer.name, [])
            while idle:
                server = idle.pop()
                if server.alive:
                    return server
        server = ForkServer(layer, runtime, limits)
        with self._lock:
            self._all.append(server)
        return server

    def give_back(self, server: ForkServer) -> None:
        """Return a server after its run (a dead one is dropped)."""
        if not server.alive:
            return
        with self._lock:
            self._idle.setdefault(server.layer.name, []).append(server)

    def close(self) -> None:
        """Stop every server (at the end of the grading process)."""
        with self._lock:
            servers, self._all, self._idle = self._all, [], {}
        for server in servers:
            server.close()


POOL = Pool()
# Stop the servers (and remove their folders) when the grading process ends.
atexit.register(POOL.close)


def wait_exit(server: ForkServer, deadline: float) -> tuple[int, float] | None:
    """Wait for the run's end until `deadline` (monotonic); None if it did not end."""
    return server.poll_exit(max(0.0, deadline - time.monotonic()))
