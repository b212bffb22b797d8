"""Which operating-system isolation a sandboxed child gets, probed once per grading process.

Resource limits and a process group of its own are the floor every child gets ("rlimits").
On top of that, where the machine allows it, and strongest first:

- `uid`: as root, every child runs under a fresh unprivileged uid/gid with no supplementary
  groups. It cannot signal the grader, read the grader's memory through `/proc`, or outlive
  the run: every process of that uid is killed afterwards. `RLIMIT_NPROC` binds it (it never
  binds root).
- `mntns`: as root, a private mount namespace: the kit folder (solutions, hidden tests, `.git`)
  is covered by an empty tmpfs, `/tmp`, `/var/tmp` and `/dev/shm` are small private tmpfs, and
  the run's folder is a tmpfs capped at the disk limit. Folders the child needs but that its
  uid could not reach (a Python under `/root`) are bind-mounted back.
- `netns`, `pidns`: no network at all, and a PID namespace whose processes all die with its
  first process (`unshare --net --pid --ipc --fork --kill-child --mount-proc`; unprivileged
  users get a user namespace too). `bwrap`, if installed, stands in when `unshare` cannot.
- `landlock`: the child confines itself before any learner code runs (`runtime/confine.py`):
  reads only Python's files, the runtime copy and the run folder, writes only the run folder,
  no TCP, no signals outside the sandbox.

`choose()` tries the strongest combination the machine offers first; `probe.current()` proves
each with one probe child that reports what it can see, falling back one step at a time; the
results file names what was used ("uid+mntns+netns+pidns+landlock", ..., "rlimits").
`ASYNCIO_KIT_ISOLATION` limits the choice (e.g. `rlimits` forces the floor, `uid+landlock`
allows only those two).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.runtime import confine
from grader.sandbox.protocol import Confinement

ENV_VAR = "ASYNCIO_KIT_ISOLATION"
#: Canonical order of the parts of a layer's name.
COMPONENTS = ("uid", "mntns", "netns", "pidns", "bwrap", "landlock")
FLOOR = "rlimits"
#: The kit folder (solutions, hidden tests, .git): what a mount namespace covers and what
#: Landlock never lets a child read.
KIT_ROOT = Path(__file__).resolve().parents[3]
#: Shared scratch folders: covered by private ones under mntns, swept after a uid layer's run.
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108 - covered, never used


class IsolationError(RuntimeError):
    """A layer could not be set up for a run (the probe said it works: this is unexpected)."""


@dataclass(frozen=True)
class Layer:
    """A combination of isolation mechanisms; `name` is what the results file reports."""

    components: tuple[str, ...] = ()
    landlock_abi: int = 0
    unshare: str | None = None
    bwrap: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """`uid+mntns+netns+pidns+landlock`, ..., or `rlimits` for the floor alone."""
        return "+".join(self.components) or FLOOR

    def has(self, component: str) -> bool:
        """Whether this layer uses `component`."""
        return component in self.components


# --- choosing the layer --------------------------------------------------------------------------
def requested() -> set[str] | None:
    """The components ASYNCIO_KIT_ISOLATION allows (None: any, the default `auto`)."""
    value = os.environ.get(ENV_VAR, "auto").strip().lower()
    if value in {"", "auto"}:
        return None
    parts = {part.strip() for part in value.split("+") if part.strip()}
    unknown = parts - set(COMPONENTS) - {FLOOR}
    if unknown:
        msg = f"{ENV_VAR}={value!r}: unknown part(s) {sorted(unknown)}; known: {COMPONENTS}"
        raise IsolationError(msg)
    return parts - {FLOOR}


def candidates(
    *, root: bool, landlock_abi: int, unshare: str | None, bwrap: str | None
) -> list[tuple[str, ...]]:
    """Every combination worth trying on this machine, strongest first, ending with the floor."""
    bases: list[tuple[str, ...]] = [("uid", "mntns"), ("uid",), ("mntns",), ()] if root else [()]
    spaces: list[tuple[str, ...]] = []
    if unshare:
        spaces.append(("netns", "pidns"))
    if bwrap:
        spaces.append(("bwrap",))
    spaces.append(())
    tails: list[tuple[str, ...]] = [("landlock",), ()] if landlock_abi > 0 else [()]
    found: list[tuple[str, ...]] = []
    for base in bases:
        for space in spaces:
            if "uid" in base and space == ("bwrap",):
                continue  # bwrap would have to run as the fresh uid: not worth the tangle
            for tail in tails:
                combo = tuple(c for c in COMPONENTS if c in {*base, *space, *tail})
                if combo not in found:
                    found.append(combo)
    return found


def choose(probe: Callable[[Layer], str | None]) -> Layer:
    """Try the candidates strongest first; return the first one the probe accepts.

    A misspelt ASYNCIO_KIT_ISOLATION is noted and ignored: grading goes on with the strongest
    layer, which is the safe direction to be wrong in.
    """
    notes: list[str] = []
    try:
        allowed = requested()
    except IsolationError as exc:
        notes.append(f"ignored: {exc}")
        allowed = None
    abi = confine.abi()
    unshare = shutil.which("unshare")
    bwrap = shutil.which("bwrap")
    root = os.geteuid() == 0
    for combo in candidates(root=root, landlock_abi=abi, unshare=unshare, bwrap=bwrap):
        if allowed is not None and not set(combo) <= allowed:
            continue
        layer = Layer(combo, landlock_abi=abi, unshare=unshare, bwrap=bwrap)
        if not combo:
            return Layer((), landlock_abi=abi, notes=tuple(notes))
        problem = probe(layer)
        if problem is None:
            return Layer(combo, abi, unshare, bwrap, tuple(notes))
        notes.append(f"{layer.name}: {problem}")
    return Layer((), landlock_abi=abi, notes=tuple(notes))


def verify(layer: Layer, facts: Any, confined: Confinement | None, uid: int | None) -> str | None:
    """Check a probe child's report against what `layer` promises; None if all holds."""
    if not isinstance(facts, dict):
        return "probe child returned no facts"
    checks: list[tuple[bool, str]] = []
    if layer.has("uid"):
        checks.append((facts.get("uid") == uid and facts.get("gid") == uid, "uid not changed"))
        checks.append((facts.get("groups") == [], "supplementary groups kept"))
    if layer.has("mntns"):
        checks.append((facts.get("kit") in {"hidden", "denied"}, "kit folder still visible"))
    if layer.has("netns") or layer.has("bwrap"):
        checks.append((facts.get("nets") == ["lo"], f"network visible: {facts.get('nets')}"))
        checks.append((isinstance(facts.get("pid"), int) and facts["pid"] <= 2, "no PID namespace"))  # noqa: PLR2004 - bwrap's program is pid 2
    if layer.has("landlock"):
        applied = isinstance(confined, dict) and confined.get("landlock", 0) >= 1
        checks.append((applied, "Landlock not applied"))
        checks.append((facts.get("outside") == "denied", "files outside still readable"))
        checks.append((facts.get("kit") in {"hidden", "denied"}, "kit files still readable"))
    failed = [message for ok, message in checks if not ok]
    return "; ".join(failed) or None
