"""HOSTILE: write everywhere it should not."""

from __future__ import annotations

import asyncio
import os


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    targets = [
        ("@@CANARY@@/canary.txt", "w"),
        ("@@CANARY@@/new-@@MARKER@@", "w"),
        ("@@KIT@@/README.md", "a"),
        ("@@SOLUTION@@", "a"),
        ("@@KIT@@/grader/grading/hidden/test_@@MARKER@@.py", "w"),
        ("@@KIT@@/solutions/@@MARKER@@.py", "w"),
        ("/tmp/@@MARKER@@", "w"),
        ("/var/tmp/@@MARKER@@", "w"),
        ("/dev/shm/@@MARKER@@", "w"),
    ]
    for path, mode in targets:
        try:
            with open(path, mode) as out:
                out.write("\n# @@MARKER@@ was here\ndef test_pwned():\n    pass\n")
        except OSError:
            pass
    for path in ("@@CANARY@@/canary.txt", "@@CANARY@@"):
        try:
            os.remove(path) if path.endswith(".txt") else os.rmdir(path)
        except OSError:
            pass
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
