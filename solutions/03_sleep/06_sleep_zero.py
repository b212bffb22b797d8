"""What `asyncio.sleep(0)` really does.

`main` starts a task that counts with `asyncio.sleep(0)` between lines, takes one `sleep(0)`
itself, then counts the same way before it awaits the task. Nobody sleeps for any time at all.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only sleep0-predict`
"""

import asyncio


async def ping(label: str) -> None:
    for n in range(3):
        print(f"{label} {n}")
        await asyncio.sleep(0)


async def main() -> None:
    task = asyncio.create_task(ping("task"))
    print("main before")
    await asyncio.sleep(0)
    print("main after one sleep(0)")
    await ping("main")
    await task


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = [
    "main before",
    "task 0",
    "main after one sleep(0)",
    "main 0",
    "task 1",
    "main 1",
    "task 2",
    "main 2",
]
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
