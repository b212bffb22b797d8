"""What one sandboxed child may use: the typed limits every layer of the sandbox shares.

A leaf module on purpose: the spawner, the fork server and the isolation layers all take a
`Limits`, and none of them has to import another to name its type.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

KIB = 1024
MIB = 1024 * KIB

#: `name=value,...` overrides of the defaults (an operator's knob for slow machines).
LIMITS_VAR = "ASYNCIO_KIT_LIMITS"


@dataclass(frozen=True)
class Limits:
    """What one child may use. The wall-clock deadline is enforced by the parent."""

    wall_seconds: float = 10.0
    # A run of any exercise needs well under 0.1 s of CPU (sleeps are virtual): one second is
    # ample, and keeps a `while True: pass` from costing a class's batch more than that.
    cpu_seconds: int = 1
    memory_bytes: int = 768 * MIB
    file_bytes: int = 1 * MIB
    open_files: int = 64
    processes: int = 32
    output_bytes: int = 64 * KIB
    result_bytes: int = 4 * MIB
    disk_bytes: int = 16 * MIB
    disk_files: int = 256


def default_limits() -> Limits:
    """`Limits()`, with any field overridden by ASYNCIO_KIT_LIMITS (`name=value,...`)."""
    spec = os.environ.get(LIMITS_VAR, "").strip()
    if not spec:
        return Limits()
    fields = {item.name: item.type for item in dataclasses.fields(Limits)}
    changes: dict[str, Any] = {}  # each value is the field's own type
    for part in spec.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in fields:
            msg = f"{LIMITS_VAR}: unknown limit {name!r}; known: {', '.join(fields)}"
            raise ValueError(msg)
        changes[name] = float(value) if name == "wall_seconds" else int(value)
    return dataclasses.replace(Limits(), **changes)
