"""The isolation layers: how the probe chooses, and that each layer keeps what it promises.

The choosing logic is tested with a fake probe (any machine); the promises are tested by running
real children under every combination this machine offers: a layer that is not available here
is skipped with the probe's reason, never silently passed.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from grader.runtime import confine
from grader.sandbox import spawn
from grader.sandbox.isolation import layers as isolation
from grader.sandbox.isolation import probe, procfs
from grader.sandbox.limits import Limits

REQUEST: dict[str, Any] = {
    "mode": "call",
    "entry": "main",
    "args": [],
    "kwargs": {},
    "clock": "real",
    "loop": {},
}
ROOT = isolation.KIT_ROOT
MACHINE = isolation.candidates(
    root=os.geteuid() == 0,
    landlock_abi=confine.abi(),
    unshare=shutil.which("unshare"),
    bwrap=shutil.which("bwrap"),
)


def run(layer: isolation.Layer, source: str, *args: Any, **limits: Any) -> dict[str, Any]:
    """Run `main(*args)` of `source` under `layer`; return the checked result."""
    outcome = spawn.run_child_in(
        layer,
        {**REQUEST, "args": list(args)},
        source.encode(),
        limits=Limits(**limits) if limits else None,
    )
    assert outcome.result is not None, (outcome.problem, outcome.stderr)
    assert outcome.isolation == layer.name
    return outcome.result


def returned(layer: isolation.Layer, source: str, *args: Any) -> Any:
    result = run(layer, source, *args)
    assert result["status"] == "ok", result["error"]
    return result["return"]


@pytest.fixture(scope="module")
def available() -> dict[tuple[str, ...], str | None]:
    """For every combination worth trying here: None if it works, else why not."""
    return {
        combo: probe.probe(isolation.Layer(combo, confine.abi(), *_tools()))
        for combo in MACHINE
        if combo
    }


def _tools() -> tuple[str | None, str | None]:
    return shutil.which("unshare"), shutil.which("bwrap")


def layer_with(available: dict[tuple[str, ...], str | None], *components: str) -> isolation.Layer:
    """The smallest working layer that has `components` (skip if there is none)."""
    for combo, problem in sorted(available.items(), key=lambda item: len(item[0])):
        if set(components) <= set(combo) and problem is None:
            return isolation.Layer(combo, confine.abi(), *_tools())
    reasons = [f"{'+'.join(c)}: {p}" for c, p in available.items() if set(components) <= set(c)]
    pytest.skip(f"no working layer with {'+'.join(components)} here ({'; '.join(reasons)})")


# --- choosing ----------------------------------------------------------------------------------
def test_candidates_go_strongest_first_and_end_with_the_floor() -> None:
    found = isolation.candidates(root=True, landlock_abi=7, unshare="/u", bwrap="/b")
    assert found[0] == ("uid", "mntns", "netns", "pidns", "landlock")
    assert found[-1] == ()
    assert ("uid", "mntns", "bwrap") not in found  # bwrap never runs under a fresh uid
    assert found.index(("netns", "pidns", "landlock")) < found.index(("landlock",))
    unprivileged = isolation.candidates(root=False, landlock_abi=0, unshare="/u", bwrap=None)
    assert unprivileged == [("netns", "pidns"), ()]
    assert isolation.candidates(root=False, landlock_abi=0, unshare=None, bwrap=None) == [()]


def test_choose_falls_back_one_step_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(isolation.ENV_VAR, raising=False)
    tried: list[str] = []

    def probe(layer: isolation.Layer) -> str | None:
        tried.append(layer.name)
        return None if layer.name == "landlock" else "refused"

    monkeypatch.setattr(isolation.confine, "abi", lambda: 7)
    monkeypatch.setattr(isolation.shutil, "which", lambda name: None)
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 1000)
    chosen = isolation.choose(probe)
    assert chosen.name == "landlock"
    assert tried == ["landlock"]
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 0)
    tried.clear()
    chosen = isolation.choose(probe)
    assert tried[0] == "uid+mntns+landlock"
    assert tried[-1] == "landlock"
    assert chosen.name == "landlock"
    assert chosen.notes[0].startswith("uid+mntns+landlock: refused")


def test_choose_never_probes_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(isolation.ENV_VAR, raising=False)
    chosen = isolation.choose(lambda layer: "refused")
    assert chosen.name == "rlimits"
    assert chosen.components == ()
    assert all(": refused" in note for note in chosen.notes)


@pytest.mark.parametrize(
    ("value", "allowed"),
    [("rlimits", set()), ("uid+landlock", {"uid", "landlock"}), ("AUTO", None), ("", None)],
)
def test_the_environment_variable_limits_the_choice(
    monkeypatch: pytest.MonkeyPatch, value: str, allowed: set[str] | None
) -> None:
    monkeypatch.setenv(isolation.ENV_VAR, value)
    assert isolation.requested() == allowed
    chosen = isolation.choose(lambda layer: None)
    if allowed is not None:
        assert set(chosen.components) <= allowed


def test_an_unknown_layer_name_is_noted_and_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(isolation.ENV_VAR, "uid+chroot")
    with pytest.raises(isolation.IsolationError, match="chroot"):
        isolation.requested()
    chosen = isolation.choose(lambda layer: None)
    assert (
        chosen.components
        == isolation.candidates(
            root=os.geteuid() == 0,
            landlock_abi=confine.abi(),
            unshare=shutil.which("unshare"),
            bwrap=shutil.which("bwrap"),
        )[0]
    )
    assert "chroot" in chosen.notes[0]


def test_forcing_the_floor_gives_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(isolation.ENV_VAR, "rlimits")
    monkeypatch.setattr(probe, "_current", None)
    layer = probe.current()
    assert layer.name == "rlimits"
    assert returned(layer, "import os\ndef main():\n    return os.getpid() > 1\n") is True


@pytest.mark.parametrize(
    ("components", "facts", "complaint"),
    [
        (("uid",), {"uid": 0, "gid": 7, "groups": []}, "uid not changed"),
        (("uid",), {"uid": 7, "gid": 7, "groups": [0]}, "supplementary groups kept"),
        (("mntns",), {"kit": "readable"}, "kit folder still visible"),
        (("netns", "pidns"), {"nets": ["eth0", "lo"], "pid": 1}, "network visible"),
        (("netns", "pidns"), {"nets": ["lo"], "pid": 4242}, "no PID namespace"),
        (("landlock",), {"outside": "readable", "kit": "denied"}, "files outside"),
    ],
)
def test_verify_names_every_broken_promise(
    components: tuple[str, ...], facts: dict[str, Any], complaint: str
) -> None:
    layer = isolation.Layer(components)
    problem = isolation.verify(layer, facts, {"landlock": 7}, uid=7)
    assert problem is not None
    assert complaint in problem


def test_verify_accepts_a_layer_that_holds() -> None:
    layer = isolation.Layer(("uid", "mntns", "netns", "pidns", "landlock"))
    facts = {
        "uid": 7,
        "gid": 7,
        "groups": [],
        "nets": ["lo"],
        "pid": 1,
        "kit": "hidden",
        "outside": "denied",
    }
    assert isolation.verify(layer, facts, {"landlock": 7}, uid=7) is None
    assert "Landlock not applied" in str(isolation.verify(layer, facts, None, uid=7))


# --- this machine ------------------------------------------------------------------------------
def test_this_machine_gets_the_strongest_layer_it_offers(
    available: dict[tuple[str, ...], str | None],
) -> None:
    layer = probe.choose()
    assert set(layer.components) <= set(isolation.COMPONENTS)
    working = [combo for combo, problem in available.items() if problem is None]
    expected = working[0] if working and isolation.requested() is None else None
    if expected is not None:
        assert layer.components == expected
    print(f"isolation here: {layer.name}; not available: {layer.notes}")


def test_the_ci_machine_gets_every_layer() -> None:
    """CI runs as root with unshare and Landlock: it must get the full combination."""
    if os.geteuid() != 0 or not shutil.which("unshare") or confine.abi() < 1:
        pytest.skip("needs root, util-linux unshare and Landlock (as on CI)")
    if isolation.requested() is not None:
        pytest.skip(f"{isolation.ENV_VAR} limits the layers")
    assert probe.choose().name == "uid+mntns+netns+pidns+landlock"


@pytest.mark.parametrize("combo", [c for c in MACHINE if c], ids="+".join)
def test_every_layer_this_machine_offers_keeps_its_promises(
    available: dict[tuple[str, ...], str | None], combo: tuple[str, ...]
) -> None:
    problem = available[combo]
    if problem is not None:
        pytest.skip(f"not available here: {problem}")
    layer = isolation.Layer(combo, confine.abi(), *_tools())
    assert returned(layer, "def main():\n    return 'ok'\n") == "ok"


# --- what each layer stops ---------------------------------------------------------------------
SIGNAL_PARENT = """
import os, signal

def main(parent):
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        return "invisible"
    except PermissionError:
        return "refused"
    return "reachable"
"""


@pytest.mark.parametrize("component", ["uid", "pidns", "landlock"])
def test_the_grader_cannot_be_signalled(
    available: dict[tuple[str, ...], str | None], component: str
) -> None:
    layer = layer_with(available, component)
    if component == "landlock" and confine.abi() < 6:
        pytest.skip("Landlock scopes signals from ABI 6")
    assert returned(layer, SIGNAL_PARENT, os.getpid()) in {"invisible", "refused"}


def test_the_floor_does_not_stop_signals() -> None:
    """The floor's limits are real, but it shares the grader's uid: documented, not defended."""
    assert returned(isolation.Layer(), SIGNAL_PARENT, os.getpid()) == "reachable"


READ_KIT = """
def main(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(20).decode()
    except FileNotFoundError:
        return "hidden"
    except PermissionError:
        return "denied"
"""


@pytest.mark.parametrize("component", ["mntns", "landlock"])
@pytest.mark.parametrize("secret", ["solutions", "grader/grading/hidden/__init__.py", "README.md"])
def test_the_kit_cannot_be_read(
    available: dict[tuple[str, ...], str | None], component: str, secret: str
) -> None:
    layer = layer_with(available, component)
    path = ROOT / secret
    if path.is_dir():
        path = next(path.rglob("*.py"))
    assert returned(layer, READ_KIT, str(path)) in {"hidden", "denied"}


def test_the_runtime_copy_is_read_only(available: dict[tuple[str, ...], str | None]) -> None:
    layer = layer_with(available, "uid")
    source = """
import os, sys

def main():
    target = os.path.join(sys.path[0], "kitrt", "child.py")
    try:
        with open(target, "a") as out:
            out.write("# patched")
    except OSError as exc:
        return type(exc).__name__
    return "written"
"""
    assert returned(layer, source) == "PermissionError"


WRITE_OUTSIDE = """
def main(path):
    try:
        with open(path, "w") as out:
            out.write("escaped")
    except OSError as exc:
        return type(exc).__name__
    return "written"
"""


@pytest.mark.parametrize("component", ["uid", "mntns", "landlock"])
def test_nothing_outside_the_run_folder_changes(
    available: dict[tuple[str, ...], str | None], component: str, tmp_path: Path
) -> None:
    layer = layer_with(available, component)
    target = tmp_path / "outside.txt"
    in_tmp = Path("/tmp") / f"asyncio-kit-test-{os.getpid()}-{component}"
    returned(layer, WRITE_OUTSIDE, str(target))
    returned(layer, WRITE_OUTSIDE, str(in_tmp))
    assert not target.exists()
    assert not in_tmp.exists()


def test_the_network_is_unreachable(available: dict[tuple[str, ...], str | None]) -> None:
    layer = layer_with(available, "netns")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        source = """
import socket

def main(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        return type(exc).__name__
    return "connected"
"""
        assert returned(layer, source, port) != "connected"


def test_landlock_refuses_tcp(available: dict[tuple[str, ...], str | None]) -> None:
    if confine.abi() < 4:
        pytest.skip("Landlock handles TCP from ABI 4")
    layer = isolation.Layer(("landlock",), confine.abi())
    if available.get(("landlock",)) is not None:
        pytest.skip(f"Landlock alone is not available: {available.get(('landlock',))}")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        source = """
import socket

def main(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        return type(exc).__name__
    return "connected"
"""
        assert returned(layer, source, server.getsockname()[1]) == "PermissionError"
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected


def test_a_fresh_uid_per_child_and_no_groups(available: dict[tuple[str, ...], str | None]) -> None:
    layer = layer_with(available, "uid")
    source = "import os\ndef main():\n    return [os.getuid(), os.getgid(), os.getgroups()]\n"
    first, second = returned(layer, source), returned(layer, source)
    assert first[0] >= procfs.UID_BASE
    assert first[1] == first[0]
    assert first[2] == []
    assert first[0] != second[0]


def test_the_process_limit_binds_the_fresh_uid(
    available: dict[tuple[str, ...], str | None],
) -> None:
    layer = layer_with(available, "uid")
    source = """
import os, signal

def main():
    children = 0
    try:
        while children < 200:
            if os.fork() == 0:
                signal.pause()
            children += 1
    except OSError as exc:
        return [children, type(exc).__name__]
    return [children, "unlimited"]
"""
    children, error = returned(layer, source)
    assert error == "BlockingIOError"
    assert children < Limits().processes


def test_a_pid_namespace_makes_the_child_its_first_process(
    available: dict[tuple[str, ...], str | None],
) -> None:
    layer = layer_with(available, "pidns")
    source = "import os\ndef main():\n    return [os.getpid(), os.getppid()]\n"
    assert returned(layer, source) == [1, 0]


def test_mount_namespace_gives_a_private_capped_tmp(
    available: dict[tuple[str, ...], str | None],
) -> None:
    layer = layer_with(available, "mntns")
    source = """
import os

def main():
    seen = sorted(os.listdir("/tmp"))
    with open("/tmp/private", "w") as out:
        out.write("x")
    try:
        for number in range(4):
            with open(f"/tmp/part{number}", "wb") as out:
                out.write(b"y" * (512 << 10))
    except OSError as exc:
        return [seen, exc.errno]
    return [seen, "no cap"]
"""
    seen, error = returned(layer, source)
    assert error == errno.ENOSPC  # /tmp is a 1 MiB tmpfs of its own
    assert all(not name.startswith("pytest-") for name in seen)
    assert not Path("/tmp/private").exists()
