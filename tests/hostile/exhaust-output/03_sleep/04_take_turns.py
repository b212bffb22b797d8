"""HOSTILE: flood the real stdout, under the line capture."""

from __future__ import annotations

import asyncio
import os


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    line = b"A step 0 " * 1000 + b"\n"
    while True:
        os.write(1, line)
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
