"""`async with asyncio.timeout(...)`, and a coroutine that will not stop.

Needs Python 3.11 or newer (older Pythons skip it).

`main` runs a 2-second query inside a half-second `asyncio.timeout` block. Then it does the
same with a stubborn query that catches its cancellation and returns stale rows anyway.
`expired()` says whether the deadline passed.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only timeout-block`
"""

import asyncio


async def slow_query(seconds: float) -> str:
    print(f"query ({seconds} s): started")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        print(f"query ({seconds} s): cancelled")
        raise
    print(f"query ({seconds} s): done")
    return "rows"


async def stubborn_query(seconds: float) -> str:
    print(f"stubborn ({seconds} s): started")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        print(f"stubborn ({seconds} s): cancelled, but returns anyway")
        return "stale rows"
    return "rows"


async def main() -> None:
    try:
        async with asyncio.timeout(0.5) as deadline:
            result = await slow_query(2)
            print(f"main: got {result}")
        print("main: after the first block")
    except TimeoutError:
        print(f"main: TimeoutError, expired={deadline.expired()}")

    async with asyncio.timeout(0.5) as deadline:
        result = await stubborn_query(2)
        print(f"main: got {result}")
    print(f"main: after the second block, expired={deadline.expired()}")


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
