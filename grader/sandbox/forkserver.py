"""The parent's side of the warm fork server (`runtime/zygote.py`): start it, hand it runs.

A grading process makes dozens of runs per submission. Instead of starting a fresh, freshly
isolated interpreter for each, it starts one server per isolation layer, inside that layer's
namespaces and mount view (the kit hidden, private temporary folders, no network), and asks it
to fork a run. The server is a pristine template: it never reads a request or a file. Each run
process reads its own payload from a pipe only it holds, takes its own mount and IPC namespace
(fresh `/tmp`, `/var/tmp`, `/dev/shm`), a fresh session keyring, its limits, a fresh uid (as
root) or no capabilities (in a user namespace), a syscall filter and Landlock: every run is as
isolated as a freshly started child, and starts from the same memory as every other.

Where it runs:
- as root, for layers with a fresh uid and a private mount view (`uid+mntns...`);
- as an ordinary user, for layers with network and PID namespaces (`netns+pidns...`): the
  server runs inside `unshare --user --map-root-user --mount --net --pid --ipc`, lays out its
  own view (the kit hidden, private temporary folders), and each run gives up every capability
  it has in that namespace before any learner code.
Anywhere else, and whenever a server cannot start or check its own view, `sandbox` starts each
child itself, as before (the probe always does). `ASYNCIO_KIT_FORKSERVER=0` turns it off.

Servers are pooled: a thread that finds every server busy starts another, so runs made side by
side (the kit's real-clock tests) stay side by side. A server's folder is removed when it stops,
also when it died on its own.

A grade that will run learner code can `launch` its server before it imports and collects the
hidden tests: the server boots on another core meanwhile, and the first run only waits for
whatever of its start-up is left (then checks its view, as every server does). The parent
imports the server's module (`runtime/zygote.py`, which loads asyncio and the child runtime)
only once a server is used, so a grade that runs no child does not pay for it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.sandbox.isolation.jail import Jail, runtime_command
from grader.sandbox.isolation.layers import KIT_ROOT, Layer
from grader.sandbox.isolation.mounts import (
    mount_plan,
    prepare_parent,
    run_mount_plan,
    run_view_plan,
)
from grader.sandbox.isolation.procfs import processes_of
from grader.sandbox.limits import Limits

ENV_VAR = "ASYNCIO_KIT_FORKSERVER"
_BOOT = "import sys; sys.path.insert(0, sys.argv[3]); import kitrt.zygote as z; z.main()"
_START_TIMEOUT_S = 20.0


def _zygote() -> ModuleType:
    """The server's own module, for its wire format (imported only once a server is used)."""
    from grader.runtime import zygote  # noqa: PLC0415 - loads asyncio: only when needed

    return zygote


class ForkServerError(RuntimeError):
    """The server could not be started or stopped answering; the run falls back to a spawn."""


def enabled() -> bool:
    """Whether runs may use a fork server (on unless ASYNCIO_KIT_FORKSERVER=0)."""
    return os.environ.get(ENV_VAR, "1").strip().lower() not in {"0", "no", "off", "false"}


def supports(layer: Layer) -> bool:
    """Whether a server keeps every guarantee of `layer` (see the module's docstring)."""
    if not hasattr(os, "pidfd_open"):
        return False
    if os.geteuid() == 0:
        return layer.has("uid") and layer.has("mntns")
    return layer.has("netns") and layer.has("pidns") and layer.unshare is not None


class ForkServer:
    """One template process and the socket to it; used by one run at a time.

    With `wait=False` the server is only started: `ready()` waits for it and checks its view,
    and must succeed before it serves a run (`Pool.borrow` sees to that).
    """

    def __init__(self, layer: Layer, runtime: Path, limits: Limits, *, wait: bool = True) -> None:
        self.layer = layer
        self._ready = False
        self.base = Path(tempfile.mkdtemp(prefix=f"asyncio-kit-zygote-{os.getpid()}-"))
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = parent_sock
        jail = Jail(layer, self.base / "run", {}, runtime, limits)
        self.confine_spec = jail.confine_spec()
        needed = jail.needed_folders()
        self.view = run_view_plan(needed)
        self.root = os.geteuid() == 0
        # RLIMIT_NPROC counts every process of the real uid, the user's own included (counted
        # once per server: reading every process's status costs milliseconds).
        self.own_processes = 0 if self.root else processes_of(os.geteuid())
        plan = mount_plan(needed, str(self.base), layer)
        arguments = [str(self.base), str(child_sock.fileno()), str(runtime), str(_hidden())]
        if not self.root:
            # In a user namespace the server lays out its own view: the grader cannot.
            arguments.append(json.dumps([list(step) for step in plan if step[0] != "proc"]))
        command = runtime_command(jail.executable, _BOOT, *arguments)
        wrapper = [layer.unshare or "unshare"]
        if not self.root:
            wrapper += ["--user", "--map-root-user", "--mount"]
        wrapper += ["--net", "--pid", "--ipc", "--fork", "--kill-child", "--mount-proc", "--"]
        if layer.has("netns") and layer.unshare:
            command = [*wrapper, *command]

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
                preexec_fn=preexec if self.root else None,  # noqa: PLW1509 - the mount view
            )
        finally:
            child_sock.close()
        if wait:
            self.ready()

    def ready(self) -> None:
        """Wait until the server says it is ready and check its view; ForkServerError if not."""
        if self._ready:
            return
        self.sock.settimeout(_START_TIMEOUT_S)
        try:
            message = _zygote().receive(self.sock)
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
        self._ready = True

    def _check_view(self, message: dict[str, Any]) -> str | None:
        """What the server reported about its own view against what the layer promises."""
        if message.get("op") != "ready":
            return f"it said {message!r} instead of ready"
        if message.get("problem"):
            return str(message["problem"])
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
        """Have the server fork one run writing to `pipes`, hand it its payload; its uid.

        The payload goes to the run process alone, on a pipe of its own: the server never
        reads it (it stays a pristine template for every later run).
        """
        processes = limits.processes + self.own_processes
        settings = {
            "limits": {
                "cpu_seconds": limits.cpu_seconds,
                "memory_bytes": limits.memory_bytes,
                "file_bytes": limits.file_bytes,
                "open_files": limits.open_files,
                "processes": processes,
            },
            "disk_bytes": limits.disk_bytes,
            "disk_files": limits.disk_files,
            "view": self.view,
            "confine": self.confine_spec,
        }
        zygote = _zygote()
        payload_read, payload_write = os.pipe()
        try:
            zygote.send_record(self.sock, zygote.RUN, fds=[*pipes, payload_read])
            os.close(payload_read)
            payload_read = -1
            op, value, _, _ = zygote.receive_record(self.sock)
            if op != zygote.STARTED:
                msg = f"the fork server could not start the run ({os.strerror(value)})"
                raise ForkServerError(msg)
            with contextlib.suppress(BrokenPipeError):
                # A run that died before reading it all is reported by its exit status.
                _write_all(payload_write, zygote.encode_payload(request, files, settings))
        except (OSError, EOFError, struct.error) as exc:
            self.close()
            msg = f"the fork server stopped answering ({type(exc).__name__})"
            raise ForkServerError(msg) from exc
        finally:
            os.close(payload_write)
            if payload_read >= 0:
                os.close(payload_read)
        return None if value < 0 else value

    def poll_exit(self, timeout: float) -> tuple[int, float] | None:
        """The run's exit status and CPU seconds once it ended, else None after `timeout`."""
        zygote = _zygote()
        self.sock.settimeout(max(0.0, timeout))
        try:
            op, code, cpu, _ = zygote.receive_record(self.sock)
        except TimeoutError:
            return None
        except (OSError, EOFError, struct.error) as exc:
            self.close()
            msg = f"the fork server stopped answering ({type(exc).__name__})"
            raise ForkServerError(msg) from exc
        finally:
            with contextlib.suppress(OSError):
                self.sock.settimeout(None)
        if op != zygote.EXIT:
            self.close()
            msg = f"the fork server said {op!r} instead of the run's end"
            raise ForkServerError(msg)
        return code, cpu / 1e6

    def kill_run(self) -> None:
        """Tell the server to kill the run (the wall-clock deadline passed, or a flood)."""
        with contextlib.suppress(OSError):
            zygote = _zygote()
            zygote.send_record(self.sock, zygote.KILL)

    @property
    def alive(self) -> bool:
        """Whether the server process still runs."""
        return self.process.poll() is None and self.sock.fileno() >= 0

    def close(self) -> None:
        """Stop the server and everything in its namespaces, and remove its folder."""
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=2)
        shutil.rmtree(self.base, ignore_errors=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _hidden() -> Path:
    """A kit file the server must not see (its report says whether it does)."""
    return KIT_ROOT / "grader"


class Pool:
    """Idle servers per layer; a run borrows one, or starts one if all are busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[str, list[ForkServer]] = {}
        self._all: list[ForkServer] = []
        # Layers whose server could not start: their runs spawn without trying again.
        self._refused: dict[str, str] = {}
        # Servers started by `launch` that no run has waited for yet.
        self._launched: dict[str, list[ForkServer]] = {}

    def launch(self, layer: Layer, runtime: Path, limits: Limits) -> None:
        """Start a server for `layer` now, without waiting for it, unless one is at hand.

        The first run that borrows it waits for the rest of its start-up; a server that
        cannot even be started is left to `borrow`, which tries again and says why.
        """
        with self._lock:
            if (
                layer.name in self._refused
                or self._idle.get(layer.name)
                or self._launched.get(layer.name)
            ):
                return
        try:
            server = ForkServer(layer, runtime, limits, wait=False)
        except (OSError, subprocess.SubprocessError):
            return
        with self._lock:
            self._all.append(server)
            self._launched.setdefault(layer.name, []).append(server)

    def borrow(self, layer: Layer, runtime: Path, limits: Limits) -> ForkServer:
        """An idle server for `layer` (started if none is idle)."""
        dead: list[ForkServer] = []
        with self._lock:
            refused = self._refused.get(layer.name)
            idle = self._idle.setdefault(layer.name, [])
            found = None
            while idle and found is None:
                server = idle.pop()
                if server.alive:
                    found = server
                else:
                    dead.append(server)
        for server in dead:
            self._drop(server)
        if found is not None:
            return found
        if refused is not None:
            raise ForkServerError(refused)
        with self._lock:
            launched = self._launched.get(layer.name)
            waiting = launched.pop() if launched else None
        try:
            if waiting is None:
                started = ForkServer(layer, runtime, limits)
                with self._lock:
                    self._all.append(started)
                return started
            waiting.ready()
        except ForkServerError as exc:
            with self._lock:
                self._refused[layer.name] = str(exc)
                if waiting is not None:
                    with contextlib.suppress(ValueError):
                        self._all.remove(waiting)
            raise
        return waiting

    def give_back(self, server: ForkServer) -> None:
        """Return a server after its run (a dead one is stopped for good and its folder removed)."""
        if not server.alive:
            self._drop(server)
            return
        with self._lock:
            self._idle.setdefault(server.layer.name, []).append(server)

    def _drop(self, server: ForkServer) -> None:
        server.close()
        with self._lock, contextlib.suppress(ValueError):
            self._all.remove(server)

    def close(self) -> None:
        """Stop every server (at the end of the grading process)."""
        with self._lock:
            servers, self._all, self._idle = self._all, [], {}
            self._refused, self._launched = {}, {}
        for server in servers:
            server.close()


POOL = Pool()
# Stop the servers (and remove their folders) when the grading process ends.
atexit.register(POOL.close)


def wait_exit(server: ForkServer, deadline: float) -> tuple[int, float] | None:
    """Wait for the run's end until `deadline` (monotonic); None if it did not end."""
    return server.poll_exit(max(0.0, deadline - time.monotonic()))
