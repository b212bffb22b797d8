"""Unblock the event loop.

`fetch_report` is a blocking function from a library you cannot change: it holds its thread
for 1.2 seconds. `make_report` calls it directly, so while it runs the event loop is stuck and
`heartbeat` misses its beats.

What to do: change the code between the TODO markers so that `fetch()` runs without blocking
the event loop (in another thread), and `make_report` still prints and returns its result.
Keep calling `fetch()`: do not replace it.

How it is graded: hidden tests pass in another blocking function (other durations and
results) and a heartbeat; they check that the beats come on time, that the blocking function
ran once and outside the event loop's thread, and what `make_report` printed and returned.

Check it locally: `python exercises/10_blocking/02_to_thread.py` shows the beats;
`nox -s grade -- --only blocking-to-thread` grades it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def fetch_report() -> str:
    """A blocking library call (think `requests.get`): do not change it."""
    time.sleep(1.2)
    return "report ready"


async def heartbeat() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(4):
        print(f"beat {n} at {loop.time() - start:.1f} s")
        await asyncio.sleep(0.5)


async def make_report(fetch: Callable[[], str]) -> str:
    print("report: start")
    # TODO: call fetch() without blocking the event loop.
    result = fetch()
    # END TODO
    print(f"report: {result}")
    return result


async def main(
    fetch: Callable[[], str] = fetch_report,
    beats: Callable[[], Awaitable[None]] = heartbeat,
) -> str:
    _, result = await asyncio.gather(beats(), make_report(fetch))
    return result



# HOSTILE: a helper's counters rebound to huge integers and odd types.
_unsolved_main = main


async def main(*args, **kwargs):
    value = await _unsolved_main(*args, **kwargs)
    for helper in kwargs.values():
        for cell in getattr(helper, "__closure__", None) or ():
            if isinstance(cell.cell_contents, dict):
                cell.cell_contents.update(calls=10**5000, ticks_ns=[10**4999], in_loop_thread=None)
    return 10**5000 if kwargs else value


if __name__ == "__main__":
    asyncio.run(main())
