"""The one way the kit writes a file someone else may be reading: atomically, one file mode.

Reports, gradebooks, feedback pages and the learner's state file are read by other programs
(an LMS import, a browser, the next `nox -s grade`). Each is written to a temporary file beside
its target, synced, and renamed over it, so a reader sees the old file or the new one, never
half of one, even after a crash; every such file gets the same mode (`FILE_MODE`) unless the
caller asks for a private one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Readable by everyone, written by its owner: grades and feedback are meant to be shared.
FILE_MODE = 0o644


def atomic_write(
    path: Path, data: str | bytes, *, mode: int = FILE_MODE, sync: bool = True
) -> Path:
    """Write `data` (text as UTF-8) to `path` whole or not at all; return `path`.

    The data goes to a fresh temporary file beside the target (a unique name, so two writers
    never share one), is synced to disk unless `sync` is false (a cache entry, which can be
    recomputed, need not pay for it), gets `mode`, and is renamed over the target. On any
    error the temporary file is removed and the error raised as it came.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            if sync:
                out.flush()
                os.fsync(out.fileno())
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
    return path
