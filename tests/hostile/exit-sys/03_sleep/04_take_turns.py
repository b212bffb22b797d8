"""HOSTILE: sys.exit(0) from a task, hoping 'exit 0' reads as success."""

from __future__ import annotations

import asyncio
import sys


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        if step == 1:
            sys.exit(0)
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
