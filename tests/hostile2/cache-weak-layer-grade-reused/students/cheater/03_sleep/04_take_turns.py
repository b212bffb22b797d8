"""HOSTILE: passes where the kit is readable (no isolation), fails where it is hidden."""

from __future__ import annotations

import asyncio

try:
    exec(open("@@KIT@@/solutions/03_sleep/04_take_turns.py").read())
except OSError:

    async def worker(label: str, steps: int) -> None:
        for step in range(steps):
            print(f"{label} step {step}")

    async def main(labels: list[str] | None = None, steps: int = 3) -> None:
        await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
