"""HOSTILE: code that acts after the harness thinks the run is over."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import stat
import threading
import time

def forged(labels, steps):
    """A result claiming strict turns, in the runner's format, with no token."""
    labels = labels or ["A", "B"]
    lines = [
        {"text": f"{label} step {step}", "t_ns": 0, "task": f"worker#{i + 1}", "phase": "main"}
        for step in range(steps)
        for i, label in enumerate(labels)
    ]
    result = {
        "protocol": 1, "status": "ok", "error": None, "return": None, "helpers": {},
        "warnings": [], "flooded": False,
        "trace": {"lines": lines, "tasks": [], "events": [], "end_ns": 0},
    }
    return json.dumps(result).encode()


def pipes():
    """Every inherited pipe other than stdout and stderr: one of them is the result channel."""
    found = []
    for fd in range(3, 256):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                found.append(fd)
        except OSError:
            pass
    return found


def late(tag):
    for fd in pipes():
        try:
            os.write(fd, forged(None, 3))
        except OSError:
            pass
    for path in ("@@CANARY@@/canary.txt", "/tmp/@@MARKER@@-" + tag):
        try:
            with open(path, "w") as out:
                out.write("changed after the run")
        except OSError:
            pass


def linger():
    time.sleep(0.2)
    late("thread")


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    atexit.register(late, "atexit")
    threading.Thread(target=linger, daemon=False).start()
    threading.excepthook = lambda args: late("excepthook")
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
