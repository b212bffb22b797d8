"""`run_in_executor` with a process pool: the function is pickled as it is."""

import asyncio
from concurrent.futures import ProcessPoolExecutor


async def main() -> None:
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=1) as pool:
        results = await asyncio.gather(*(loop.run_in_executor(pool, pow, 2, n) for n in range(5)))
    print("results", results)
    await asyncio.sleep(0.005)
    print("after")


if __name__ == "__main__":
    asyncio.run(main())
