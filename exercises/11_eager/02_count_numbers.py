"""The two counters again, with eager tasks.

Needs Python 3.12 or newer (older Pythons skip it).

The article's `count_numbers` program (`f1` a bare coroutine, `f2` a task, half a second of
sleep per step), but `main` first switches the loop to `asyncio.eager_task_factory`, so
`create_task` runs `f2` at once, up to its first sleep.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). What changes compared with the ordinary task factory?
Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only eager-count-numbers`
"""

import asyncio


async def count_numbers(label: str, iterations: int) -> None:
    for i in range(iterations):
        print(f"Running from {label}: {i}")
        await asyncio.sleep(0.5)


async def main() -> None:
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
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
