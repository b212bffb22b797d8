"""A blocking call inside a coroutine.

`heartbeat` means to print a beat every second, with the time on the event loop's clock (in
whole seconds). `report` calls `time.sleep(2)`: an ordinary blocking call, not an `await`.
`main` runs both with `gather`.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed), times included. Decide first, then run it to check
yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only blocking-predict`
"""

import asyncio
import time


async def heartbeat() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(3):
        print(f"beat {n} at {loop.time() - start:.0f} s")
        await asyncio.sleep(1)


async def report() -> None:
    print("report: start")
    time.sleep(2)  # blocking: no await here
    print("report: done")


async def main() -> None:
    await asyncio.gather(heartbeat(), report())


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
