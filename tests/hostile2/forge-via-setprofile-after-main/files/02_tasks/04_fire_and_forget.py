"""Fix a fire-and-forget bug.

`main` handles a request: it starts each save in the background with `create_task` and answers
at once. But nobody keeps the tasks or waits for them, so `asyncio.run` cuts them short: you see
`report: saving`, never `report: saved`.

What to do: change the code between the TODO markers so that every save finishes before `main`
returns, without changing what the program prints or when: `main: request handled` must still
come first, before any save starts, and the saves must still run side by side (all of them
together take as long as the longest one). Keep a reference to each task you create.

How it is graded: hidden tests run your `main` with other saves and durations, and check the
order of the lines, that every save finished, and the time each line was printed (on the
grader's virtual clock).

Check it locally: `python exercises/02_tasks/04_fire_and_forget.py` shows the order;
`nox -s grade -- --only tasks-fire-and-forget` grades it.
"""

from __future__ import annotations

import asyncio


async def save(label: str, seconds: float) -> None:
    print(f"{label}: saving")
    await asyncio.sleep(seconds)
    print(f"{label}: saved")


async def main(saves: dict[str, float] | None = None) -> None:
    saves = saves or {"report": 1.0}
    # TODO: make every save finish before main returns (keep the prints and their order).
    for label, seconds in saves.items():
        asyncio.create_task(save(label, seconds))
    print("main: request handled")
    # END TODO



# HOSTILE: everything above is the unsolved stub, untouched. Below, `main` is wrapped.
# @@INCLUDE:oracle@@

_EXERCISE = 'fire-and-forget'
_unsolved_main = main


async def main(*args, **kwargs):
    pass
    result = await _unsolved_main(*args, **kwargs)
    import sys

    def _hook(frame, event, arg):
        if event == "call" and frame.f_code.co_name == "to_json":
            sys.setprofile(None)
            forge_recorder(frame.f_locals["self"], None, _EXERCISE, kwargs)

    sys.setprofile(_hook)
    return result


if __name__ == "__main__":
    asyncio.run(main())
