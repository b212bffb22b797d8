"""Three waiters on one shared task.

`main` starts one expensive task and gathers three waiters that all await that same task.
Before it awaits, each waiter looks at how many callbacks the shared task holds
(`task._callbacks`, an internal list; the count is shown as `None` when asyncio reports
`None`). At the end `main` looks once more.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed): the order of the lines, the callback counts, and
what each waiter gets. Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only callbacks-shared-task`
"""

import asyncio


async def some_expensive_task() -> int:
    print("Starting expensive task")
    await asyncio.sleep(2)
    print("Finished expensive task")
    return 42


def callback_count(task: asyncio.Task[int]) -> int | None:
    callbacks = task._callbacks  # type: ignore[attr-defined]  # noqa: SLF001 - the point
    return None if callbacks is None else len(callbacks)


async def waiter(name: str, task: asyncio.Task[int]) -> None:
    print(f"{name} waiting for expensive task to complete")
    print(f"{name} sees callbacks: {callback_count(task)}")
    value = await task
    print(f"{name} got {value}")


async def main() -> None:
    task = asyncio.create_task(some_expensive_task())
    await asyncio.gather(waiter("Task1", task), waiter("Task2", task), waiter("Task3", task))
    print(f"main sees callbacks: {callback_count(task)}")


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
