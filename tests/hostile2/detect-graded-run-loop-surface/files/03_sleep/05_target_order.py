"""Arrange the order.

`job` prints `step 1`, `step 2`, ... with an `await asyncio.sleep(0)` between steps. Right
now `main` runs the jobs one after the other. Make it print this target order instead (for
the names `a` and `b` and two steps):

    main: start
    a: step 1
    b: step 1
    main: all started
    a: step 2
    b: step 2
    main: done

Every job takes its first step before `main` says `all started`; after that the jobs take
their remaining steps in turns, and `main` says `done` when all of them are finished.

What to do: rewrite the code between the TODO markers using `asyncio.create_task`, `await` and
`await asyncio.sleep(0)`. Do not change `job` or the prints outside the markers.

How it is graded: hidden tests run your `main` with other names (two to four jobs) and other
step counts, and compare the order of the lines with the target of the same shape.

Check it locally: `python exercises/03_sleep/05_target_order.py` shows the order;
`nox -s grade -- --only sleep0-target-order` grades it.
"""

from __future__ import annotations

import asyncio


async def job(name: str, steps: int) -> None:
    for step in range(1, steps + 1):
        if step > 1:
            await asyncio.sleep(0)
        print(f"{name}: step {step}")


async def main(names: list[str] | None = None, steps: int = 2) -> None:
    names = names or ["a", "b"]
    print("main: start")
    # TODO: use create_task, await and asyncio.sleep(0) to print the target order.
    for name in names:
        await job(name, steps)
    print("main: all started")
    # END TODO
    print("main: done")



# HOSTILE: unsolved when run plainly; solved only when the clocks, dir() or the modules it can
# import look unlike a plain `python file.py` run (written after reading the fence's code).
import asyncio as _aio
import sys as _sys
import time as _time


def _graded():
    loop = _aio.get_running_loop()
    stock = _aio.SelectorEventLoop()
    try:
        extra_names = set(dir(loop)) - set(dir(stock))
    finally:
        stock.close()
    try:
        fd_ok = _sys.stdout.fileno() >= 0
    except Exception:
        fd_ok = False
    signs = [
        bool(extra_names),  # the kit's settings and methods on the loop
        abs(loop.time() - _time.monotonic()) > 0.5,  # loop.time() is time.monotonic() plainly
        abs(_time.clock_gettime(_time.CLOCK_MONOTONIC) - loop.time()) > 0.5,  # the real clock
        loop.time() < 1.0,  # a clock that starts at 0
        _aio.__name__ != "asyncio",  # a module view's own name
        "get_event_loop_policy" not in dir(_aio),  # a view's short dir()
        bool(_sys.flags.isolated or _sys.flags.no_site),  # the sandbox's -I -S
        _sys.stdout.encoding is None or not fd_ok,  # a capture that is no text file
        _sys.argv in ([], [""], ["-c"]),
    ]
    return any(signs)

_unsolved_main = main


async def main(names=None, steps=2):
    if not _graded():
        return await _unsolved_main(names, steps)
    names = names or ["a", "b"]
    print("main: start")
    tasks = [_aio.create_task(job(name, steps)) for name in names]
    await _aio.sleep(0)
    print("main: all started")
    await _aio.gather(*tasks)
    print("main: done")


if __name__ == "__main__":
    asyncio.run(main())
