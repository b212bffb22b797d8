"""Taking turns with `asyncio.sleep(0)`.

`worker` prints one line per step, and `main` runs several workers at once with `gather`. Right
now each worker runs all its steps before the next one starts: `A step 0`, `A step 1`, ...

What to do: change `worker` so the workers take strict turns - `A step 0`, `B step 0`,
`A step 1`, `B step 1`, ... - by adding one line between the TODO markers. Keep the printed text
as it is.

How it is graded: hidden tests run your `main` with other labels, two to four workers and other
step counts, and compare the order of the lines with strict turns.

Check it locally: `python exercises/03_sleep/04_take_turns.py` shows the order;
`nox -s grade -- --only sleep0-take-turns` grades it.
"""

from __future__ import annotations

import asyncio


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))



# HOSTILE: unsolved when run plainly; solved only when a name a plain run has is missing: the
# kit's own loop names answered, the fence's hidden module names answered as missing.
import asyncio as _aio
import inspect as _inspect
import sys as _sys


def _graded():
    loop = _aio.get_running_loop()
    signs = [
        any(hasattr(loop, name) for name in ("observer", "block_for", "now_ns", "phase")),
        not hasattr(_sys, "modules"),  # hidden in the sys view
        not hasattr(_inspect, "getmembers"),  # inspect reduced to its predicates
        not hasattr(_aio, "get_event_loop_policy"),  # hidden policy API
    ]
    try:
        from typing import get_type_hints  # noqa: F401 - a hidden name, imported by name
    except ImportError:
        signs.append(True)
    return any(signs)


async def _fair_worker(label, steps):
    for step in range(steps):
        print(f"{label} step {step}")
        await _aio.sleep(0)

_unsolved_main = main


async def main(labels=None, steps=3):
    if _graded():
        await _aio.gather(*(_fair_worker(label, steps) for label in labels or ["A", "B"]))
        return
    await _unsolved_main(labels, steps)


if __name__ == "__main__":
    asyncio.run(main())
