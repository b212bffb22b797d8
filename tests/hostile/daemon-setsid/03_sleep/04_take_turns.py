"""HOSTILE: daemons that leave the process group and the environment behind."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

SLEEPER = "import time\nwhile True:\n    time.sleep(1)"


def daemonize():
    """The classic double fork: a grandchild in its own session, with a clean environment."""
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execve(sys.executable, [sys.executable, "-c", SLEEPER, "@@MARKER@@"], {})
        os._exit(0)
    os.waitpid(pid, 0)


async def worker(label: str, steps: int) -> None:
    for step in range(steps):
        print(f"{label} step {step}")
        # TODO: give the other workers a turn before this one takes its next step.
        # END TODO


async def main(labels: list[str] | None = None, steps: int = 3) -> None:
    daemonize()
    subprocess.Popen(
        [sys.executable, "-c", SLEEPER, "@@MARKER@@"], start_new_session=True, env={},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    await asyncio.gather(*(worker(label, steps) for label in labels or ["A", "B"]))
