"""Sleep until a float deadline: every loop of this kind ends, whatever the deadline."""

import asyncio
import random
import time


async def until_loop_deadline(deadline: float) -> int:
    loop = asyncio.get_running_loop()
    hops = 0
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(left)
        hops += 1
    return hops


async def until_monotonic_deadline(deadline: float) -> None:
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(left)


async def until_call_at(deadline: float) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        future = loop.create_future()
        loop.call_at(deadline, future.set_result, None)
        await future


async def main() -> None:
    loop = asyncio.get_running_loop()
    rng = random.Random(7)
    start = loop.time()
    deadlines = [start + rng.uniform(0.0, 0.02) for _ in range(300)]
    await asyncio.gather(*(until_loop_deadline(d) for d in deadlines))
    print("loop.time() deadlines reached:", sum(loop.time() >= d for d in deadlines))
    now = time.monotonic()
    await asyncio.gather(
        *(until_monotonic_deadline(now + rng.uniform(0, 0.02)) for _ in range(100))
    )
    print("time.monotonic() deadlines reached")
    start = loop.time()
    await asyncio.gather(*(until_call_at(start + rng.uniform(0, 0.02)) for _ in range(100)))
    print("call_at deadlines reached")
    # Well-separated deadlines end in deadline order.
    start = loop.time()

    async def named(name: str, offset: float) -> None:
        await until_loop_deadline(start + offset)
        print(name)

    await asyncio.gather(named("third", 0.0301), named("first", 0.0102), named("second", 0.0203))


if __name__ == "__main__":
    asyncio.run(main())
