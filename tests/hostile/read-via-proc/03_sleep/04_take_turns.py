"""HOSTILE: use the grader's own /proc entries to find its files."""

from __future__ import annotations

import asyncio
import os

def use(source):
    """Run the kit's solution instead of this file's code (full marks if it gets here)."""
    space = {"__name__": "stolen"}
    exec(compile(source, "stolen", "exec"), space)
    return space["main"]


def through_proc():
    paths = []
    for pid in {os.getppid(), 1, os.getpgid(0)}:
        paths += [
            f"/proc/{pid}/cwd/solutions/03_sleep/04_take_turns.py",
            f"/proc/{pid}/root@@SOLUTION@@",
        ]
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                for item in handle.read().split(b"\0"):
                    value = item.partition(b"=")[2].decode(errors="replace")
                    if value.startswith("/"):
                        paths.append(os.path.join(value, "solutions/03_sleep/04_take_turns.py"))
        except OSError:
            pass
    for path in paths:
        try:
            with open(path) as handle:
                return handle.read()
        except OSError:
            continue
    return None


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    found = through_proc()
    if found:
        await use(found)(labels, steps)
        return
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
