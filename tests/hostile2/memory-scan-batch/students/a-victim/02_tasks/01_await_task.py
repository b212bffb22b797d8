"""Awaiting a task.

`main` turns `sample_task()` into a task with `asyncio.create_task`, then awaits it.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right. Editing the code does not change the answer.

Check it locally: `nox -s grade -- --only tasks-await`
"""

import asyncio


async def sample_task() -> None:
    print("Hello, World!")
    await asyncio.sleep(1)
    print("Goodbye, World!")


async def main() -> None:
    task = asyncio.create_task(sample_task())
    await task


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = ["# @@SECRET@@"]
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
