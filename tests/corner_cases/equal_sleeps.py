"""Eight tasks sleep the same delay: each `call_later` reads the clock anew, so set order."""

import asyncio


async def sleeper(name: str) -> None:
    await asyncio.sleep(0.01)
    print(name)


async def main() -> None:
    await asyncio.gather(*(sleeper(name) for name in "abcdefgh"))
    tasks = [asyncio.create_task(sleeper(name)) for name in "ABCDEF"]
    await asyncio.wait(tasks)


if __name__ == "__main__":
    asyncio.run(main())
