"""Tasks each `wait_for(..., timeout)` with the same timeout: fresh readings, set order."""

import asyncio


async def main() -> None:
    expired: list[str] = []

    async def one(name: str) -> None:
        try:
            await asyncio.wait_for(asyncio.sleep(1), 0.01)
        except asyncio.TimeoutError:
            expired.append(name)

    await asyncio.gather(*(one(name) for name in "abcdefg"))
    print(" ".join(expired))


if __name__ == "__main__":
    asyncio.run(main())
