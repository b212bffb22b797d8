"""The one way the kit writes a file someone else may be reading: atomically, one file mode.

Reports, gradebooks, feedback pages and the learner's state file are read by other programs
(an LMS import, a browser, the next `nox -s grade`). Each is written to a temporary file beside
its target and renamed over it, so a reader sees the old file or the new one, never half of
one; every such file gets the same mode (`FILE_MODE`), whoever wrote it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Readable by everyone, written by its owner: grades and feedback are meant to be shared.
FILE_MODE = 0o644


def atomic_write(path: Path, data: str | bytes) -> Path:
    """Write `data` (text as UTF-8) to `path` atomically, creating its folder; return `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
        Path(temporary).chmod(FILE_MODE)
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
    return path
