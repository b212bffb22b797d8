"""The forgotten task again, with eager tasks.

Needs Python 3.12 or newer (older Pythons skip it).

This is the article's task that nobody awaits, but `main` first switches the loop to
`asyncio.eager_task_factory`: from then on `create_task` starts running the new task's coroutine
at once, inside `create_task`, up to its first real suspension. A second task, `quick`, never
suspends at all.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). What changes compared with the ordinary task factory?
Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only eager-forgotten-task`
"""

import asyncio


async def sample_task() -> None:
    print("Hello, World!")
    await asyncio.sleep(1)
    print("Goodbye, World!")


async def quick() -> str:
    print("quick: runs to the end without awaiting")
    return "quick result"


async def main() -> None:
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    print("main: creating the task")
    task = asyncio.create_task(sample_task())
    print(f"main: task created, done={task.done()}")
    quick_task = asyncio.create_task(quick())
    print(f"main: quick task created, done={quick_task.done()}")


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
