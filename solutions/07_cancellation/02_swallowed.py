"""A task that catches its own cancellation.

This `worker` catches `asyncio.CancelledError` and returns early instead of letting it
through. `main` cancels it, awaits it, and asks whether it was cancelled.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only cancel-swallowed`
"""

import asyncio


async def worker() -> str:
    print("worker: started")
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("worker: cancelled, returning what it has")
        return "partial"
    return "complete"


async def main() -> None:
    task = asyncio.create_task(worker())
    await asyncio.sleep(0.1)
    task.cancel()
    print("main: cancel requested")
    result = await task
    print(f"main: got {result!r}")
    print(f"main: cancelled={task.cancelled()}")


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = [
    "worker: started",
    "main: cancel requested",
    "worker: cancelled, returning what it has",
    "main: got 'partial'",
    "main: cancelled=False",
]
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
