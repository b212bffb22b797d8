"""Reads one file of a submission, refusing anything that is not a plain file of the learner's.

A submission is a folder the learner controls. Reading `exercises/x.py` from it naively follows
a symbolic link to the kit's `solutions/x.py` (full marks for nothing), blocks forever on a FIFO,
or reads a device. So the grader walks the path one folder at a time without following links,
opens the file with `O_NOFOLLOW`, and checks the open file itself: a regular file, not hard-
linked elsewhere, not over the size cap. Every refusal says what was wrong, for that exercise
only. The bytes read here are all the grader ever uses: later changes to the file do not count.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path, PurePosixPath

from grader.model.errors import FailureKind, LearnerCodeError

MAX_BYTES = 256 * 1024
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def forbidden(relative: str, why: str) -> LearnerCodeError:
    """The error for a file the grader refuses to read."""
    return LearnerCodeError(
        f"{relative} was not graded: {why}. Submit your exercise files as plain files, in the "
        "same folders as in exercises/.",
        FailureKind.FORBIDDEN,
    )


def read_submission_file(root: Path, relative: str, max_bytes: int = MAX_BYTES) -> bytes | None:
    """The bytes of `root/relative`; None if it does not exist; LearnerCodeError if refused."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise forbidden(relative, "the path leaves the submission folder")
    fds: list[int] = []
    try:
        try:
            fds.append(os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        except OSError:
            return None
        for part in parts[:-1]:
            fd = _open_in(fds[-1], part, relative, os.O_RDONLY | os.O_DIRECTORY)
            if fd is None:
                return None
            fds.append(fd)
        fd = _open_in(fds[-1], parts[-1], relative, os.O_RDONLY | os.O_NONBLOCK)
        if fd is None:
            return None
        fds.append(fd)
        return _read_checked(fd, relative, max_bytes)
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def _open_in(folder_fd: int, name: str, relative: str, flags: int) -> int | None:
    """Open `name` inside an already-open folder without following a link."""
    try:
        info = os.lstat(name, dir_fd=folder_fd)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        where = "is" if name == PurePosixPath(relative).name else f"sits in `{name}/`, which is"
        raise forbidden(relative, f"it {where} a symbolic link (links are never followed)")
    if flags & os.O_DIRECTORY and not stat.S_ISDIR(info.st_mode):
        return None
    if not flags & os.O_DIRECTORY and not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
        raise forbidden(relative, f"it is {kind}, not a regular file")
    try:
        return os.open(name, flags | _NOFOLLOW, dir_fd=folder_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        # ELOOP: it became a link between the check and the open.
        raise forbidden(relative, f"it could not be opened safely ({exc.strerror})") from exc


def _read_checked(fd: int, relative: str, max_bytes: int) -> bytes:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise forbidden(relative, "it is not a regular file")
    if info.st_nlink > 1:
        raise forbidden(
            relative, f"it is a hard link shared with {info.st_nlink - 1} other name(s)"
        )
    if info.st_size > max_bytes:
        msg = f"{relative} is larger than {max_bytes // 1024} KiB"
        raise LearnerCodeError(msg, FailureKind.TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    os.set_blocking(fd, True)
    while size <= max_bytes:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        msg = f"{relative} is larger than {max_bytes // 1024} KiB"
        raise LearnerCodeError(msg, FailureKind.TOO_LARGE)
    return data
