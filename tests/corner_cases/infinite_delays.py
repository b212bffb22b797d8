"""Infinite delays wait until cancelled, as on a real clock: no OverflowError."""

import asyncio
import math
import sys


async def forever(label: str) -> None:
    try:
        await asyncio.sleep(math.inf)
    except asyncio.CancelledError:
        print(label, "cancelled")
        raise


async def main() -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(forever("sleep(inf)"))
    await asyncio.sleep(0.005)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    handle = loop.call_later(1e300, print, "never")
    far = loop.call_at(math.inf, print, "never either")
    await asyncio.sleep(0.005)
    handle.cancel()
    far.cancel()
    print("call_later(1e300) and call_at(inf) cancelled")
    try:
        await asyncio.wait_for(asyncio.sleep(0.005, "done"), math.inf)
        print("wait_for(inf) returned")
    except OverflowError:
        print("overflow")
    if sys.version_info >= (3, 11):
        try:
            async with asyncio.timeout(math.inf) as scope:
                await asyncio.sleep(0.005)
                scope.reschedule(loop.time() + 0.005)
                await asyncio.sleep(1)
        except TimeoutError:
            print("timeout(inf) rescheduled, then expired")
    else:
        print("timeout(inf) rescheduled, then expired")
    waiter = asyncio.create_task(forever("wait"))
    await asyncio.sleep(0)
    loop.call_later(0.005, waiter.cancel)
    await asyncio.gather(waiter, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
