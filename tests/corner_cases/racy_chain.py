"""Ten 1 ms hops against one 10.5 ms sleep: real wake-ups are late, so the order is racy."""
# racy on a real clock

import asyncio


async def chain() -> None:
    for _ in range(10):
        await asyncio.sleep(0.001)
    print("chain")


async def single() -> None:
    await asyncio.sleep(0.0105)
    print("single")


async def main() -> None:
    await asyncio.gather(chain(), single())


if __name__ == "__main__":
    asyncio.run(main())
