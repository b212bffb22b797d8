"""Two counters: a bare coroutine and a task.

`count_numbers` prints a line and sleeps half a second, three times. `main` makes `f1` a plain
coroutine and `f2` a task, then awaits `f1`, prints `Running f2` and awaits `f2`.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Where does `Running f2` fall? Decide first, then run
it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only sleep-interleave`
"""

import asyncio


async def count_numbers(label: str, iterations: int) -> None:
    for i in range(iterations):
        print(f"Running from {label}: {i}")
        await asyncio.sleep(0.5)


async def main() -> None:
    print("Running f1")
    f1 = count_numbers("f1", 3)
    f2 = asyncio.create_task(count_numbers("f2", 3))

    await f1

    print("Running f2")
    await f2


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
