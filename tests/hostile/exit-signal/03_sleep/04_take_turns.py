"""HOSTILE: signals to itself (a PID namespace's first process ignores them; elsewhere they kill)."""

from __future__ import annotations

import asyncio
import os
import signal


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    signal.raise_signal(signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGKILL)
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
