"""HOSTILE: a PREDICTION that equals every answer (it has to run to exist)."""

import asyncio


async def sample_task() -> None:
    print("Hello, World!")
    await asyncio.sleep(1)
    print("Goodbye, World!")


async def main() -> None:
    task = asyncio.create_task(sample_task())
    await task


class AlwaysEqual(list):
    def __eq__(self, other):
        return True


# TODO: write the printed lines, in order, e.g. ["first line", "second line"].
PREDICTION: list[str] = AlwaysEqual(["x"])
# END TODO


if __name__ == "__main__":
    asyncio.run(main())
