"""What `asyncio.run` does with tasks still running.

`main` starts three workers: `A` needs half a second, `B` and `C` ten seconds. `main` itself
returns after one second. Each worker reports when it is cancelled and always cleans up.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right. Where asyncio itself leaves the order of some lines open, any order of
those lines is accepted.

Check it locally: `nox -s grade -- --only cancel-at-exit`
"""

import asyncio


async def worker(name: str, seconds: float) -> None:
    print(f"{name}: started")
    try:
        await asyncio.sleep(seconds)
        print(f"{name}: finished")
    except asyncio.CancelledError:
        print(f"{name}: cancelled")
        raise
    finally:
        print(f"{name}: cleanup")


async def main() -> None:
    tasks = [
        asyncio.create_task(worker("A", 0.5)),
        asyncio.create_task(worker("B", 10)),
        asyncio.create_task(worker("C", 10)),
    ]
    await asyncio.sleep(1)
    print(f"main: returning, {sum(not task.done() for task in tasks)} tasks still running")


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
