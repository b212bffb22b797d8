"""HOSTILE: read solutions/ by absolute path."""

from __future__ import annotations

import asyncio

def use(source):
    """Run the kit's solution instead of this file's code (full marks if it gets here)."""
    space = {"__name__": "stolen"}
    exec(compile(source, "stolen", "exec"), space)
    return space["main"]


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    with open("@@SOLUTION@@") as handle:
        stolen = use(handle.read())
    await stolen(labels, steps)
    return
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
