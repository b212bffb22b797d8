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



# HOSTILE: unsolved; first reads its whole address space (inherited from the fork server) for kit lines
# @@INCLUDE:memscan@@
_unsolved_main = main


async def main(*args, **kwargs):
    report(scan_memory())
    return await _unsolved_main(*args, **kwargs)


if __name__ == "__main__":
    asyncio.run(main())
