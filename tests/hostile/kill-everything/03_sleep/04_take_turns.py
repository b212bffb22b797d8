"""HOSTILE: kill(-1, SIGKILL)."""

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
    if os.getuid() != 0 or os.getpid() == 1:
        # (As root outside a PID namespace this would take down the machine running the kit's
        # tests: the guard makes a broken sandbox fail the test instead.)
        os.kill(-1, signal.SIGKILL)
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
