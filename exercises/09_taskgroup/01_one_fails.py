"""A `TaskGroup` in which one child fails.

Needs Python 3.11 or newer (older Pythons skip it).

`main` starts three children in an `asyncio.TaskGroup`: `fast` finishes after half a second,
`faulty` raises `ValueError` after one second, `slow` would need two seconds. Every child
reports when it is cancelled.

What to do: predict every line this program prints, in order, and write them in `PREDICTION`
(one string per line, exactly as printed). Decide first, then run it to check yourself.

How it is graded: the grader runs its own untouched copy of the code above `PREDICTION` and
compares your lines with what asyncio really printed; you get partial credit for the part of the
order you get right.

Check it locally: `nox -s grade -- --only taskgroup-one-fails`
"""

import asyncio


async def child(name: str, seconds: float, *, fail: bool = False) -> str:
    print(f"{name}: started")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        print(f"{name}: cancelled")
        raise
    if fail:
        print(f"{name}: raising ValueError")
        raise ValueError(f"{name} broke")
    print(f"{name}: finished")
    return name


async def main() -> None:
    try:
        async with asyncio.TaskGroup() as group:
            fast = group.create_task(child("fast", 0.5))
            faulty = group.create_task(child("faulty", 1, fail=True))
            slow = group.create_task(child("slow", 2))
            print("main: three children created")
        print("main: after the group")
    except ExceptionGroup as errors:  # noqa: F821 - a builtin from Python 3.11
        print(f"main: caught {[str(error) for error in errors.exceptions]}")
    print(f"main: fast={fast.result()!r}, slow cancelled={slow.cancelled()}")
    print(f"main: faulty failed={faulty.exception() is not None}")


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = []
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
