"""HOSTILE (honest mistake): a syntax error."""

import asyncio


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        await asyncio.sleep(0
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
