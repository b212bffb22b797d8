"""An executor thread waits on the loop: `run_coroutine_threadsafe(...).result()` each step."""

import asyncio


async def step(number: int) -> int:
    await asyncio.sleep(0.005)
    print("step", number)
    return number * 10


async def main() -> None:
    loop = asyncio.get_running_loop()

    def in_thread() -> int:
        total = 0
        for number in range(3):
            total += asyncio.run_coroutine_threadsafe(step(number), loop).result()
        return total

    print("thread total", await loop.run_in_executor(None, in_thread))
    print("to_thread total", await asyncio.to_thread(in_thread))


if __name__ == "__main__":
    asyncio.run(main())
