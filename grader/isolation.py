"""Which operating-system isolation a sandboxed child gets, probed once per grading process.

Resource limits and a process group of its own are the floor every child gets. Stronger
layers (a separate unprivileged uid, namespaces, Landlock) are added where the machine allows
them; the probe picks the strongest that works and the results file names it, so an
instructor can see what protected a run.
"""

from __future__ import annotations

import resource
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sandbox import Limits


class Layer:
    """The floor: rlimits and a process group of its own (works on any POSIX machine)."""

    name = "rlimits"

    def prepare_workdir(self, work: Path) -> None:
        """Make the run's folder usable by the child (nothing to do for the same uid)."""

    def wrap(self, command: list[str]) -> list[str]:
        """The command line that starts the child inside this layer."""
        return command

    def in_child(self, limits: Limits) -> None:
        """Runs in the forked child before exec: apply the resource limits."""
        apply_rlimits(limits)

    def cleanup(self) -> None:
        """Remove whatever the layer left after one run."""


def apply_rlimits(limits: Limits) -> None:
    """Set the child's CPU, memory, file-size, open-file, process and core-dump limits."""
    settings = (
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_CORE, 0),
    )
    for which, value in settings:
        resource.setrlimit(which, (value, value))


_current: Layer | None = None


def current() -> Layer:
    """The isolation layer this process uses for every child (probed on first use)."""
    global _current  # noqa: PLW0603 - probed once per process
    if _current is None:
        _current = Layer()
    return _current
