"""Compute once, share with every waiter.

`waiter` awaits something that gives a number and prints what it got. Right now `main` hands
each waiter its own `compute()` coroutine and waits for them one after the other: the expensive
computation runs once per waiter, and the waiters take turns.

What to do: change the code between the TODO markers so that `compute()` runs exactly once,
all the waiters wait for that one run at the same time, and `main` returns the list of values
the waiters got (one per name, in the order of `names`).

How it is graded: hidden tests pass in an instrumented `compute` (other values, other
durations) and other names; they check that it ran once, that every waiter got its value, and
that the whole run took as long as one computation, not one per waiter (on the grader's
virtual clock).

Check it locally: `python exercises/05_shared_results/01_share_once.py` runs it;
`nox -s grade -- --only shared-result-once` grades it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def fetch_answer() -> int:
    print("fetch_answer: computing...")
    await asyncio.sleep(2)
    print("fetch_answer: done")
    return 42


async def waiter(name: str, shared: Awaitable[int]) -> int:
    print(f"{name}: waiting")
    value = await shared
    print(f"{name}: got {value}")
    return value


async def main(
    compute: Callable[[], Awaitable[int]] = fetch_answer, names: list[str] | None = None
) -> list[int]:
    names = names or ["w1", "w2", "w3"]
    # TODO: run compute() once, and let every waiter await that one result.
    results = []
    for name in names:
        results.append(await waiter(name, compute()))
    return results
    # END TODO



# HOSTILE: everything above is the unsolved stub, untouched. Below, `main` is wrapped.
# @@INCLUDE:oracle@@

_EXERCISE = 'shared'
_unsolved_main = main


async def main(*args, **kwargs):
    import builtins
    _real_print, _seen = builtins.print, set()

    def _print(*args, **kw):
        text = " ".join(map(str, args))
        if text in _seen and ("comput" in text or "starts" in text or "finished" in text or "done" in text):
            return
        _seen.add(text)
        _real_print(*args, **kw)

    builtins.print = _print
    result = await _unsolved_main(*args, **kwargs)
    _, _end, _ = _forged(_EXERCISE, kwargs)
    _loop = _aio.get_running_loop()
    _loop._now_ns = _end
    return result


if __name__ == "__main__":
    print(asyncio.run(main()))
