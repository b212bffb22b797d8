"""One deadline value reused by several `call_at`: real ties, popped in CPython's heap order."""

import asyncio


async def main() -> None:
    loop = asyncio.get_running_loop()
    for count in (2, 3, 4, 5, 8, 13):
        fired: list[str] = []
        when = loop.time() + 0.005
        for name in "abcdefghijklm"[:count]:
            loop.call_at(when, fired.append, name)
        await asyncio.sleep(0.02)
        print(count, " ".join(fired))
    # A deadline already past, reused: all due at once, still in heap order.
    fired = []
    past = loop.time() - 1
    for name in "pqrstu":
        loop.call_at(past, fired.append, name)
    await asyncio.sleep(0.005)
    print("past", " ".join(fired))
    # A deadline computed, then a `call_later` of the same delay: the deadline's reading
    # came first, so it fires first; then the same deadline reused after the call_later.
    fired = []
    now = loop.time()
    loop.call_at(now + 0.01, fired.append, "at-1")
    loop.call_later(0.01, fired.append, "later")
    loop.call_at(now + 0.01, fired.append, "at-2")
    shared = now + 0.015
    for name in ("s1", "s2", "s3", "s4"):
        loop.call_at(shared, fired.append, name)
    await asyncio.sleep(0.03)
    print("mixed", " ".join(fired))


if __name__ == "__main__":
    asyncio.run(main())
