"""HOSTILE: a forked copy of the learner's process that outlives the run."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import stat
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


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    if os.fork() == 0:
        os.setsid()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        try:
            ctypes.CDLL(None).prctl(15, b"@@MARKER@@", 0, 0, 0)  # PR_SET_NAME
        except OSError:
            pass
        while True:
            for fd in pipes():
                try:
                    os.write(fd, forged(labels, steps))
                except OSError:
                    pass
            time.sleep(0.05)
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
