"""Writing the classroom tools' outputs: one atomic write, an early writability check, a lock.

A batch grades a class for many minutes and then writes a gradebook, a summary and a feedback
folder. Everything here exists so that none of those writes can lose or garble what was graded:

- `atomic_write` is the one way an output reaches disk (`grader.model.fsutil`'s: a temporary
  file beside the target, synced, renamed over it), with a failure told in one sentence. A
  reader - or an LMS import - sees the old file or the new one, never half of one, even on a
  full disk (the temporary is removed and the error raised).
- `check_writable` runs before anyone is graded: a bad `--csv` fails in the first second with
  one sentence, not after 150 students with a traceback.
- `OutputLock` makes a second batch aimed at the same outputs refuse clearly instead of racing
  (it holds an advisory `flock`, which the kernel drops when the process dies, even by SIGKILL).
- `new_run_id` names one run; every output carries it, so a gradebook and feedback files from
  different runs can be told apart.

(The write itself is the model layer's `fsutil.atomic_write`; this module adds what a
classroom tool needs around it.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from grader.model import fsutil

if sys.platform != "win32":
    import fcntl


class OutputError(OSError):
    """An output cannot be written; the message says which one and why, in one sentence."""


def new_run_id() -> str:
    """A short, sortable, unique name for one run: UTC time and a random suffix."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def atomic_write(path: Path, data: str | bytes, *, mode: int = fsutil.FILE_MODE) -> Path:
    """`fsutil.atomic_write`, with a failure as one `OutputError` sentence naming the output."""
    try:
        return fsutil.atomic_write(path, data, mode=mode)
    except OSError as exc:
        msg = f"cannot write {path}: {_reason(exc)}"
        raise OutputError(msg) from exc


def check_writable(path: Path, what: str, *, folder: bool = False) -> None:
    """Raise OutputError now if `path` (a file, or a folder with `folder=True`) cannot be written.

    Creates the folders it needs (as the write itself would) and writes and removes one probe
    file where the output will go, which catches read-only folders, a path whose parent is a
    file, and a file path that is a folder.
    """
    target = path if folder else path.parent
    if folder and path.exists() and not path.is_dir():
        msg = f"the {what} {path} exists and is not a folder"
        raise OutputError(msg)
    if not folder and path.is_dir():
        msg = f"the {what} {path} is a folder; give a file name"
        raise OutputError(msg)
    try:
        target.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=target, prefix=".write-check-")
        os.close(handle)
        Path(probe).unlink()
    except OSError as exc:
        msg = f"cannot write the {what} {path}: {_reason(exc)}"
        raise OutputError(msg) from exc
    if not folder and path.exists() and not os.access(path, os.W_OK):
        # Replacing a read-only file would work (rename), but the instructor made it read-only.
        msg = f"the {what} {path} is read-only"
        raise OutputError(msg)


class LockedError(RuntimeError):
    """Another run holds the lock on an output."""


class OutputLock:
    """An exclusive advisory lock on one output, held by a hidden file beside it.

    `acquire` never waits: two batches writing one gradebook is a mistake to report, not to
    queue. Where `fcntl` does not exist (Windows) the lock is a no-op.
    """

    def __init__(self, output: Path, what: str, *, folder: bool = False) -> None:
        self.what = what
        self.output = output
        hidden = f".{output.name}.lock"
        self.path = output / ".asyncio-kit.lock" if folder else output.with_name(hidden)
        self._handle: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise LockedError naming the process that holds it."""
        if sys.platform == "win32":  # pragma: no cover - no advisory locks there
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(handle, 64).decode(errors="replace").strip() or "another process"
            os.close(handle)
            msg = (
                f"another batch (pid {holder}) is writing the {self.what} {self.output}; "
                "wait for it to finish or choose another output"
            )
            raise LockedError(msg) from None
        # Who holds it, for the refusal message; best effort (a full disk must not stop us).
        with contextlib.suppress(OSError):
            os.ftruncate(handle, 0)
            os.write(handle, str(os.getpid()).encode())
        self._handle = handle

    def release(self) -> None:
        """Give the lock back (the file stays; it is empty of meaning once unlocked)."""
        if self._handle is not None:
            os.close(self._handle)
            self._handle = None
