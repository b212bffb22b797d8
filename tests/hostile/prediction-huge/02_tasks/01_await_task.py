"""HOSTILE: an enormous file (the harness pads it to 300 KiB)."""

import asyncio


async def sample_task() -> None:
    print("Hello, World!")
    await asyncio.sleep(1)
    print("Goodbye, World!")


async def main() -> None:
    task = asyncio.create_task(sample_task())
    await task


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = ["Hello, World!", "Goodbye, World!"]
# END TODO
