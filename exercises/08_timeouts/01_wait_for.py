"""`asyncio.wait_for`: what the slow coroutine sees.

`slow_query` reports whether it finished or was cancelled, and always closes its connection.
`main` gives a 2-second query half a second, then gives a 0.2-second query the same half
second.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only timeout-wait-for`
"""

import asyncio


async def slow_query(seconds: float) -> str:
    print(f"query ({seconds} s): started")
    try:
        await asyncio.sleep(seconds)
        print(f"query ({seconds} s): done")
        return "rows"
    except asyncio.CancelledError:
        print(f"query ({seconds} s): cancelled")
        raise
    finally:
        print(f"query ({seconds} s): connection closed")


async def main() -> None:
    try:
        result = await asyncio.wait_for(slow_query(2), timeout=0.5)
        print(f"main: got {result}")
    except asyncio.TimeoutError:
        print("main: gave up waiting")

    result = await asyncio.wait_for(slow_query(0.2), timeout=0.5)
    print(f"main: got {result}")


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
