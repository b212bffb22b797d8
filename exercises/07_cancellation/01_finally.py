"""Cancelling a task that has a `finally`.

`worker` sleeps for a long time inside `try/finally`. `main` lets it start, cancels it and
awaits it. Then `main` creates a second worker and cancels it at once, before it ever ran.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only cancel-finally`
"""

import asyncio


async def worker() -> None:
    print("worker: started")
    try:
        await asyncio.sleep(10)
        print("worker: finished")
    finally:
        print("worker: cleaning up")


async def main() -> None:
    task = asyncio.create_task(worker())
    await asyncio.sleep(0.1)
    print("main: cancelling")
    task.cancel()
    print(f"main: cancel requested, done={task.done()}")
    try:
        await task
    except asyncio.CancelledError:
        print("main: awaiting it raised CancelledError")
    print(f"main: cancelled={task.cancelled()}")

    early = asyncio.create_task(worker())
    early.cancel()
    try:
        await early
    except asyncio.CancelledError:
        print("main: the second worker was cancelled")


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
