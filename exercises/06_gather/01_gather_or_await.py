"""One after another, or gathered?

`brew` prints when it starts, sleeps, prints when it is ready and returns its name. `main`
first awaits two brews one after the other, then runs the same two with `asyncio.gather`, and
prints how long each way took on the event loop's clock (in whole seconds) and what `gather`
returned.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed), times included. Decide first, then run it to check
yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only gather-vs-sequential`
"""

import asyncio


async def brew(name: str, seconds: float) -> str:
    print(f"{name} starts")
    await asyncio.sleep(seconds)
    print(f"{name} is ready")
    return name


async def main() -> None:
    loop = asyncio.get_running_loop()

    start = loop.time()
    await brew("tea", 2)
    await brew("toast", 1)
    print(f"one after another: {loop.time() - start:.0f} s")

    start = loop.time()
    results = await asyncio.gather(brew("tea", 2), brew("toast", 1))
    print(f"gathered: {loop.time() - start:.0f} s")
    print(f"results: {results}")


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
