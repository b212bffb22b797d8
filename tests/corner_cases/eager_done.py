"""Eager tasks that finish inside `create_task` without printing anything (3.12+)."""
# needs Python 3.12 or newer

import asyncio


async def quick(number: int) -> int:
    return number * 2


async def slow(number: int) -> int:
    await asyncio.sleep(0.005)
    return number


async def main() -> None:
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    done = [asyncio.create_task(quick(n)) for n in range(3)]
    print("done at once:", [task.done() for task in done])
    later = asyncio.create_task(slow(7))
    print("slow done at once:", later.done())
    print("results", [task.result() for task in done], await later)


if __name__ == "__main__":
    asyncio.run(main())
