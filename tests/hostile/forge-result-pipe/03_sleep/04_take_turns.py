"""HOSTILE: forge the runner's result on the result pipe and exit before the runner answers."""

from __future__ import annotations

import asyncio
import json
import os
import stat

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
    for fd in pipes():
        os.write(fd, forged(labels, steps))
    os._exit(0)
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
