"""Two counters that never sleep.

The same program as before, with one change: `count_numbers` no longer sleeps between lines.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only sleep-no-sleep`
"""

import asyncio


async def count_numbers(label: str, iterations: int) -> None:
    for i in range(iterations):
        print(f"Running from {label}: {i}")
        # (no `await asyncio.sleep(0.5)` here any more)


async def main() -> None:
    print("Running f1")
    f1 = count_numbers("f1", 3)
    f2 = asyncio.create_task(count_numbers("f2", 3))

    await f1

    print("Running f2")
    await f2


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = [
    "Running f1",
    "Running from f1: 0",
    "Running from f1: 1",
    "Running from f1: 2",
    "Running f2",
    "Running from f2: 0",
    "Running from f2: 1",
    "Running from f2: 2",
]
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
