"""HOSTILE: objects that claim to equal anything, printed and returned."""

from __future__ import annotations

import asyncio

class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


class EqStr(str):
    """A line that equals every expected line."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__

    def __str__(self):
        return self


class EqList(list):
    def __eq__(self, other):
        return True


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    print(EqStr("anything"))
    import sys
    sys.stdout.write(EqStr("A step 0\n"))
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))


_real_main = main


async def main(labels=None, steps=3):
    await _real_main(labels, steps)
    return AlwaysEqual()
