"""HOSTILE: fork until the process table is full."""

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
    if os.getuid() == 0 and os.getpid() != 1:
        # Safety net for the kit's own machine: never fork-bomb as root outside a sandbox.
        raise BlockingIOError(11, "Resource temporarily unavailable (refused to fork as root)")
    while True:
        if os.fork() == 0:
            while True:
                signal.pause()  # (time.sleep would be instant under the virtual clock)
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
