"""HOSTILE: eat all the memory."""

from __future__ import annotations

import asyncio
import mmap


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    hoard = []
    try:
        hoard.append([0] * 10**10)
    except MemoryError:
        pass
    while True:
        hoard.append(mmap.mmap(-1, 256 << 20))
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
