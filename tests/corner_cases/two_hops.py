"""Two short sleeps against one long one ending at the same instant: the long one first."""

import asyncio


async def two_hops() -> None:
    await asyncio.sleep(0.007)
    await asyncio.sleep(0.003)
    print("two hops")


async def one_hop() -> None:
    await asyncio.sleep(0.01)
    print("one hop")


async def main() -> None:
    await asyncio.gather(two_hops(), one_hop())
    await asyncio.gather(one_hop(), two_hops())


if __name__ == "__main__":
    asyncio.run(main())
