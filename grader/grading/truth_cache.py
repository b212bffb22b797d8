"""Kit-derived runs kept on disk, so a one-shot grade does not re-run what cannot have changed.

The truth of a predict exercise, and the run of its snippet under each wrong belief, depend
only on the kit's own files and on the Python that runs them - never on the learner. Computing
them costs a sandboxed run each (tens of runs for the whole curriculum), which every fresh
`python -m grader` process used to pay again. This cache keeps them on disk.

Invalidation rule, the whole of it: an entry's key is a SHA-256 over everything that can change
the run - the Python (`sys.version`, implementation, platform), the digest of the sandbox
runtime (`grader/runtime/*.py`, the loop and the tracer), the pristine snippet's own bytes, the
request (entry, belief, or the hidden variant's call and arguments), the limits, and the test
switches that change how a snippet runs (`KIT_LOOP_ROUTE`, `ASYNCIO_KIT_FENCE`). Editing one
solution changes only that exercise's keys; changing the loop or upgrading Python changes every
key. Old entries are never read again and are pruned when the folder grows past `MAX_ENTRIES`.

The cache is an optimisation only: an unreadable, unwritable or corrupt entry is treated as a
miss and the run is made again. Entries are written atomically and carry their own key, so a
torn or renamed file is never believed. `ASYNCIO_KIT_TRUTH_CACHE=0` turns it off; the folder is
`ASYNCIO_KIT_CACHE_DIR` or `.kit-cache/` in the kit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any, cast

from grader.model.fsutil import atomic_write
from grader.model.kit import Kit
from grader.model.trace import Trace
from grader.sandbox import spawn
from grader.sandbox.runs import FENCE_VAR, LOOP_ROUTE_VAR, Run

ENV_OFF = "ASYNCIO_KIT_TRUTH_CACHE"
ENV_DIR = "ASYNCIO_KIT_CACHE_DIR"
FORMAT = 2
MAX_ENTRIES = 2_000
#: Entries larger than this are not kept: a kit snippet's trace is a few KiB.
MAX_ENTRY_BYTES = 1 << 20


def enabled() -> bool:
    """Whether kit-derived runs may be read from and written to disk."""
    return os.environ.get(ENV_OFF, "1").strip().lower() not in {"0", "no", "off", "false"}


def folder(kit: Kit) -> Path:
    """Where the entries live."""
    configured = os.environ.get(ENV_DIR, "").strip()
    return Path(configured) if configured else kit.root / ".kit-cache" / "truth"


def key_of(source: bytes, request: dict[str, Any], limits: Any) -> str:
    """The key of a kit-derived run: see the invalidation rule in the module docstring."""
    digest = hashlib.sha256()
    for part in (
        f"format={FORMAT}",
        sys.version,
        sys.implementation.cache_tag or "",
        platform.system(),
        # The runtime that runs in every child, as the run cache keys it: one digest.
        spawn.runtime_digest(),
        # The switches tests use to run snippets another way (`sandbox.runs`).
        f"{os.environ.get(LOOP_ROUTE_VAR, '')}|{os.environ.get(FENCE_VAR, '1')}",
        json.dumps(request, sort_keys=True),
        repr(limits),
    ):
        digest.update(part.encode() + b"\0")
    digest.update(source)
    return digest.hexdigest()


def load(kit: Kit, key: str) -> Run | str | None:
    """The stored run for `key` (or the message it failed with); None when there is none.

    A missing, unreadable or corrupt entry, or one stored under another key, is None.
    """
    if not enabled():
        return None
    path = folder(kit) / f"{key}.json"
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_ENTRY_BYTES:
            return None
        data = json.loads(raw)
        if data.get("format") != FORMAT or data.get("key") != key:
            return None
        if "failed" in data:
            return str(data["failed"])
        run = data["run"]
        return Run(
            trace=cast("Trace", dict(run["trace"])),
            returned=run["returned"],
            helpers=dict(run["helpers"]),
            warnings=tuple(str(w) for w in run["warnings"]),
            isolation=str(run["isolation"]),
            wall_seconds=float(run["wall_seconds"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store(kit: Kit, key: str, run: Run | str) -> None:
    """Keep `run` (or the message it failed with) under `key`; a failure to write is ignored."""
    if not enabled():
        return
    entry: dict[str, Any] = {"format": FORMAT, "key": key}
    if isinstance(run, str):
        entry["failed"] = run
    else:
        entry["run"] = {
            "trace": run.trace,
            "returned": run.returned,
            "helpers": run.helpers,
            "warnings": list(run.warnings),
            "isolation": run.isolation,
            "wall_seconds": run.wall_seconds,
        }
    try:
        data = json.dumps(entry).encode()
    except (TypeError, ValueError):
        return  # a return value JSON cannot hold: run it again next time
    if len(data) > MAX_ENTRY_BYTES:
        return
    target = folder(kit)
    with contextlib.suppress(OSError):
        target.mkdir(parents=True, exist_ok=True)
        _prune(target)
        atomic_write(target / f"{key}.json", data, sync=False)


def _prune(target: Path) -> None:
    """Remove the oldest entries once there are more than MAX_ENTRIES."""
    entries = list(target.glob("*.json"))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda path: path.stat().st_mtime)
    for path in entries[: len(entries) - MAX_ENTRIES // 2]:
        path.unlink(missing_ok=True)
