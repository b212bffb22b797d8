"""HOSTILE: an exception from learner code: only learner frames may show."""

from __future__ import annotations

import asyncio

def check(label, step):
    if step == 1:
        raise ValueError(f"step {step} of {label}")


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        check(label, step)
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
