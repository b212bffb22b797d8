"""HOSTILE: wait forever without blocking."""

from __future__ import annotations

import asyncio


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    await asyncio.get_running_loop().create_future()
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
