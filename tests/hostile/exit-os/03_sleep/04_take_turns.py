"""HOSTILE: print what the visible example expects, then os._exit(0) before the runner reports."""

from __future__ import annotations

import asyncio
import os


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    for line in ["A step 0", "B step 0", "A step 1", "B step 1", "A step 2", "B step 2"]:
        print(line, flush=True)
    os._exit(0)
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
