"""HOSTILE: a prediction computed by code (reading the solution), plus side effects."""

import asyncio
import os

with open("@@CANARY@@/canary.txt", "w") as out:  # never runs: predictions are read, not run
    out.write("module code ran")


async def sample_task() -> None:
    print("Hello, World!")
    await asyncio.sleep(1)
    print("Goodbye, World!")


async def main() -> None:
    task = asyncio.create_task(sample_task())  # noqa: F841 - created, never awaited


# TODO: write the printed lines, in order (an empty program prints nothing: think!).
PREDICTION: list[str] = [line for line in open("@@SOLUTION@@").read().splitlines() if os.sep]
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
