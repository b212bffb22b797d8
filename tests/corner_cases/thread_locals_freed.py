"""A worker thread's locals go when its function returns, even while it waited on the loop.

The loop looks at threads' frames to tell a worker waiting on it from one that works; that look
must not keep the frames, and every local in them, alive until a garbage collection. A real
loop frees the parcel as `target` returns, before its result reaches the loop. The cancelled
call's parcel stays silent: its frame goes with the exception's traceback, which on 3.13 waits
for a garbage collection, whose moment no order can rely on (tests/test_loop_references.py
checks that path with the collector off).
"""

import asyncio


class Parcel:
    """Something the worker owns; announces when it is freed."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __del__(self) -> None:
        if self.name != "quiet parcel":
            print(self.name, "freed")


async def add(label: str, cancel: bool) -> int:
    await asyncio.sleep(0.005)
    print("adding for", label)
    if cancel:
        task = asyncio.current_task()
        if task is not None:
            task.cancel()
        await asyncio.sleep(0)
    return 3


async def main() -> None:
    loop = asyncio.get_running_loop()

    def target(name: str, cancel: bool) -> int:
        parcel = Parcel(name)  # a local of the frame the loop looks at while this thread waits
        return asyncio.run_coroutine_threadsafe(add(parcel.name, cancel), loop).result()

    print("result", await loop.run_in_executor(None, target, "first parcel", False))
    try:
        await loop.run_in_executor(None, target, "quiet parcel", True)
    except asyncio.CancelledError:
        print("cancelled")
    print("main done")


if __name__ == "__main__":
    asyncio.run(main())
