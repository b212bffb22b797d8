"""Six tasks share one `timeout_at` deadline: their timeouts tie and fire in heap order."""
# needs Python 3.11 or newer

import asyncio


async def main() -> None:
    loop = asyncio.get_running_loop()
    expired: list[str] = []
    deadline = loop.time() + 0.01

    async def waiter(name: str) -> None:
        try:
            async with asyncio.timeout_at(deadline):
                await asyncio.sleep(1)
        except TimeoutError:
            expired.append(name)

    await asyncio.gather(*(waiter(name) for name in "abcdef"))
    print("shared", " ".join(expired))
    # Each task its own `timeout(d)`: each reads the clock, so they expire in set order.
    expired.clear()

    async def own(name: str) -> None:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(1)
        except TimeoutError:
            expired.append(name)

    await asyncio.gather(*(own(name) for name in "abcdef"))
    print("own", " ".join(expired))


if __name__ == "__main__":
    asyncio.run(main())
