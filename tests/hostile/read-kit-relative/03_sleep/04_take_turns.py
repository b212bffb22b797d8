"""HOSTILE: search the disk for the kit relative to everything it knows."""

from __future__ import annotations

import asyncio
import glob
import os
import sys

def use(source):
    """Run the kit's solution instead of this file's code (full marks if it gets here)."""
    space = {"__name__": "stolen"}
    exec(compile(source, "stolen", "exec"), space)
    return space["main"]


def hunt():
    starts = [os.getcwd(), os.path.dirname(os.path.abspath(__file__)), *sys.path]
    candidates = []
    for start in starts:
        for up in range(8):
            base = os.path.join(start, *[".."] * up)
            candidates.append(os.path.join(base, "solutions", "03_sleep", "04_take_turns.py"))
            candidates += glob.glob(os.path.join(base, "grader", "grading", "hidden", "*.py"))
    for root in ("/work", "/root", "/home", "/srv", "/opt", "/tmp", "/var/tmp", "@@KIT@@"):
        candidates += glob.glob(os.path.join(root, "*", "solutions", "*", "04_take_turns.py"))
        candidates += glob.glob(os.path.join(root, "solutions", "*", "04_take_turns.py"))
        candidates += glob.glob(os.path.join(root, "*", ".git", "HEAD"))
    for path in candidates:
        try:
            with open(path) as handle:
                text = handle.read()
        except OSError:
            continue
        if "asyncio.sleep(0)" in text and "async def main" in text:
            return text
    return None


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    found = hunt()
    if found:
        await use(found)(labels, steps)
        return
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
