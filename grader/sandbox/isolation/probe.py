"""Proves an isolation layer by running one child under it: the only isolation module that runs one.

`layers.choose` walks the candidate layers strongest first; this module gives it the probe
that starts a real child (through `spawn`) and checks what that child could see, and keeps
the layer chosen for the rest of the grading process.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from grader.runtime import confine
from grader.sandbox import spawn
from grader.sandbox.isolation import remembered
from grader.sandbox.isolation.layers import IsolationError, Layer, verify
from grader.sandbox.isolation.layers import choose as choose_among

_PROBE_SOURCE = b"""
import os, socket

def main(kit_file, outside_file):
    facts = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid()}
    try:
        facts["nets"] = sorted(name for _, name in socket.if_nameindex())
    except OSError as exc:
        facts["nets"] = [type(exc).__name__]
    for key, path in (("kit", kit_file), ("outside", outside_file)):
        try:
            with open(path, "rb"):
                facts[key] = "readable"
        except FileNotFoundError:
            facts[key] = "hidden"
        except PermissionError:
            facts[key] = "denied"
    return facts
"""


def probe(layer: Layer) -> str | None:
    """Run one child under `layer`; None if it ran and saw what the layer promises."""
    request = {
        "entry": "main",
        "args": [str(Path(__file__).resolve()), "/etc/passwd"],
        "kwargs": {},
        "clock": "real",
        "loop": {},
    }
    try:
        outcome = spawn.run_child_in(layer, request, _PROBE_SOURCE, use_server=False)
    except (OSError, subprocess.SubprocessError, IsolationError) as exc:
        return f"could not start ({type(exc).__name__}: {exc})"
    result = outcome.result
    if result is None or result["status"] != "ok":
        detail = outcome.problem or (result.get("error") if result else None)
        return f"probe child failed ({detail}; {outcome.stderr.strip()[-300:]})"
    return verify(layer, result.get("return"), result.get("confined"), outcome.uid)


def choose(probe_with: Callable[[Layer], str | None] = probe) -> Layer:
    """The strongest layer this machine offers that `probe_with` accepts (see `layers.choose`)."""
    return choose_among(probe_with)


_current: Layer | None = None
#: The fork server may be started from another thread while the tests ask for the layer.
_lock = threading.Lock()


def current() -> Layer:
    """The isolation layer this process uses for every child (probed on first use).

    A layer proved on this machine since it last could have changed is read from disk instead
    of being proved again (`remembered`); a fresh proof is written there.
    """
    global _current  # noqa: PLW0603 - probed once per process
    if _current is not None:
        return _current
    with _lock:
        if _current is None:
            _current = _remembered_or_chosen()
    return _current


def _remembered_or_chosen() -> Layer:
    if not remembered.enabled():
        return choose()
    key = remembered.key(confine.abi())
    layer = remembered.load(key)
    if layer is None:
        layer = choose()
        remembered.store(key, layer)
    return layer


def probed() -> Layer | None:
    """The layer this process has chosen so far, or None while no child has been run.

    A grade whose truths all came from the on-disk cache runs no child at all; its report says
    so instead of paying for a probe whose answer nothing used.
    """
    return _current


def reset() -> None:
    """Forget the probed layer (tests that change ASYNCIO_KIT_ISOLATION use it)."""
    global _current  # noqa: PLW0603 - see current()
    with _lock:
        _current = None
