"""A task nobody awaits, but `main` sleeps.

`main` still does not await the task it created, but now it sleeps for 2 seconds before it
returns.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only tasks-sleep-in-main`
"""

import asyncio


async def sample_task() -> None:
    print("Hello, World!")
    await asyncio.sleep(1)
    print("Goodbye, World!")


async def main() -> None:
    task = asyncio.create_task(sample_task())  # noqa: F841 - created, never awaited
    await asyncio.sleep(2)


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = ["Hello, World!", "Goodbye, World!"]
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
