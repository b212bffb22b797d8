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



# HOSTILE: everything above is the unsolved stub, untouched. Below, `main` is wrapped.
# @@INCLUDE:oracle@@

_EXERCISE = 'target-order'
_unsolved_main = main


async def main(*args, **kwargs):
    install_json_hook(_EXERCISE, kwargs)
    result = await _unsolved_main(*args, **kwargs)
    _loop = _aio.get_running_loop()
    forged = forge_recorder(_loop.observer, _loop, _EXERCISE, kwargs)
    result = forged if forged is not None else result
    return result


if __name__ == "__main__":
    asyncio.run(main())
