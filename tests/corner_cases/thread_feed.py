"""A plain thread feeds the loop with `call_soon_threadsafe`, 60 results 1 ms apart."""

import asyncio
import threading
import time


async def main() -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int] = asyncio.Queue()

    def produce() -> None:
        for number in range(60):
            time.sleep(0.001)
            loop.call_soon_threadsafe(queue.put_nowait, number)

    thread = threading.Thread(target=produce)
    thread.start()
    total = 0
    for _ in range(60):
        total += await queue.get()
    thread.join()
    print("received 60 results, sum", total)
    # A thread that finishes its work first, then posts: the loop waits for it.
    done = loop.create_future()
    threading.Thread(
        target=lambda: (time.sleep(0.05), loop.call_soon_threadsafe(done.set_result, "late"))
    ).start()
    print("got", await done)


if __name__ == "__main__":
    asyncio.run(main())
