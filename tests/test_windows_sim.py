"""The grader works where Windows' POSIX gaps are: the portable floor, in `tests/windows_sim.py`.

Every test runs a fresh interpreter through the launcher, which takes away what a Windows Python
lacks (`resource`, `fcntl`, `pwd`, `os.fork`, `os.killpg`, `os.getuid`, `select.poll`,
`signal.SIGKILL`, ...) before the grader is imported, in the grading process and in every child.

Grading all of `solutions/` and all the stubs under the simulation takes about a minute (no fork
server, a fresh interpreter per run): those two runs happen once per `nox -s tests`, on the
Python 3.11 session, or wherever `KIT_WINDOWS_SIM=1` (`=0` turns them off). The rest always runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from grader.model.curriculum import Exercise
from grader.runtime import confine
from grader.sandbox.isolation import jail, layers
from grader.sandbox.isolation.layers import Layer
from grader.sandbox.limits import Limits

LAUNCHER = ROOT / "tests" / "windows_sim.py"
FULL_VAR = "KIT_WINDOWS_SIM"


def simulated(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the launcher with `args` in a fresh interpreter, from the kit folder."""
    return subprocess.run(
        [sys.executable, str(LAUNCHER), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **(env or {})},
    )


def simulated_json(code: str, env: dict[str, str] | None = None) -> Any:
    """Run `code` under the simulation; it prints one JSON value as its last line."""
    completed = simulated("-c", textwrap.dedent(code), env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_one(source: str, limits: str = "") -> Any:
    """One sandboxed run of `source`'s `main()` under the simulation: what came back."""
    code = f"""
        import json
        from grader.sandbox import spawn
        from grader.sandbox.isolation import probe
        from grader.sandbox.limits import default_limits
        request = {{"entry": "main", "args": [], "kwargs": {{}}, "clock": "real", "loop": {{}}}}
        outcome = spawn.run_child_in(probe.current(), request, {source.encode()!r},
                                     limits=default_limits())
        print(json.dumps({{
            "problem": outcome.problem,
            "isolation": outcome.isolation,
            "return": outcome.result and outcome.result.get("return"),
            "stdout": len(outcome.stdout),
            "stderr": len(outcome.stderr),
        }}))
    """
    return simulated_json(code, env={"ASYNCIO_KIT_LIMITS": limits} if limits else None)


def test_the_grading_process_runs_without_what_windows_lacks() -> None:
    facts = simulated_json("""
        import importlib, json, os, selectors, signal
        from grader.sandbox.isolation import probe
        from grader.sandbox import portable
        try:
            importlib.import_module("resource")
            resource = "present"
        except ImportError:
            resource = "missing"
        print(json.dumps({
            "resource": resource,
            "fork": hasattr(os, "fork"),
            "sigkill": hasattr(signal, "SIGKILL"),
            "selector": selectors.DefaultSelector.__name__,
            "missing": portable.missing(),
            "layer": probe.current().name,
        }))
    """)
    assert facts["resource"] == "missing"
    assert not facts["fork"]
    assert not facts["sigkill"]
    assert facts["selector"] == "SelectSelector"
    assert {"resource", "os.fork", "os.killpg", "signal.SIGKILL"} <= set(facts["missing"])
    assert facts["layer"] == "portable"


def test_the_sandboxed_child_runs_under_the_simulation_too() -> None:
    source = """
import os, signal

def main():
    try:
        import fcntl  # a plain import: the fence around learner code refuses importlib
        found = "present"
    except ImportError:
        found = "missing"
    return [found, hasattr(os, "fork"), hasattr(signal, "SIGALRM")]
"""
    seen = run_one(source)
    assert seen["problem"] is None, seen
    assert seen["isolation"] == "portable"
    assert seen["return"] == ["missing", False, False]


def test_a_hang_is_killed_at_the_wall_clock_deadline() -> None:
    seen = run_one("def main():\n    while True:\n        pass\n", limits="wall_seconds=2")
    assert seen["problem"] == "timeout"
    assert seen["return"] is None


def test_a_flood_of_output_is_capped() -> None:
    # Straight to the descriptor: past the runtime's own line capture, onto the pipe.
    source = "import os\n\ndef main():\n    while True:\n        os.write(2, b'x' * 65536)\n"
    seen = run_one(source, limits="output_bytes=100000")
    assert seen["problem"] == "output-flood"
    assert seen["stderr"] <= 100000


def test_a_predict_and_a_produce_exercise_score_full_marks(
    curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    out = tmp_path / "two.json"
    ids = [
        next(item.id for item in curriculum if item.kind == kind) for kind in ("predict", "produce")
    ]
    completed = simulated(
        "-m", "grader", "--submission", "solutions", "--only", *ids, "--json", str(out)
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["isolation"] == "portable"
    assert report["max_score"] > 0
    assert report["score"] == report["max_score"]


def test_submission_files_are_read_without_dir_fd_and_links_still_refused(tmp_path: Path) -> None:
    (tmp_path / "topic").mkdir()
    (tmp_path / "topic" / "plain.py").write_text("x = 1\n")
    (tmp_path / "topic" / "link.py").symlink_to(ROOT / "solutions" / "README.md")
    (tmp_path / "linked").symlink_to(tmp_path / "topic")
    seen = simulated_json(f"""
        import json
        from pathlib import Path
        from grader.model.errors import LearnerCodeError
        from grader.sandbox import intake
        answers = {{}}
        for name in ("topic/plain.py", "topic/link.py", "linked/plain.py", "topic/gone.py"):
            try:
                data = intake.read_submission_file(Path({str(tmp_path)!r}), name)
                answers[name] = None if data is None else data.decode()
            except LearnerCodeError as exc:
                answers[name] = "refused: " + str(exc)
        print(json.dumps([intake._by_folder_fd(), answers]))
    """)
    by_fd, answers = seen
    assert by_fd is False
    assert answers["topic/plain.py"] == "x = 1\n"
    assert answers["topic/link.py"].startswith(
        "refused: topic/link.py was not graded: it is a symbolic"
    )
    assert "sits in `linked/`" in answers["linked/plain.py"]
    assert answers["topic/gone.py"] is None


def test_hint_and_watch_run_under_the_simulation(
    curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    hint = simulated("-m", "grader", "hint", "--state", str(state), curriculum[0].id)
    assert hint.returncode == 0, hint.stdout + hint.stderr
    assert hint.stdout.strip()
    # One poll of watch mode, grading in this process (the real one starts `--only`, tested above).
    graded = simulated_json(f"""
        import json
        from pathlib import Path
        from grader.commands import watch
        from grader.model.kit import Kit
        kit = Kit.installed()
        seen = []
        watch.watch(kit, Path({str(ROOT / "solutions")!r}), iterations=1, sleep=lambda _: None,
                    out=seen.append, grade=lambda *_: "")
        print(json.dumps(len(seen)))
    """)
    assert graded >= 1


def _full_runs_wanted() -> str | None:
    """Why the two full simulated gradings are skipped here, or None to run them."""
    wanted = os.environ.get(FULL_VAR, "")
    if wanted == "0":
        return f"{FULL_VAR}=0"
    if wanted != "1" and sys.version_info[:2] != (3, 11):
        return f"runs once per `nox -s tests`, on 3.11 (or set {FULL_VAR}=1)"
    return None


@pytest.mark.parametrize(("folder", "full"), [("solutions", True), ("exercises", False)])
def test_full_grading_in_the_simulation(folder: str, *, full: bool, tmp_path: Path) -> None:
    if (reason := _full_runs_wanted()) is not None:
        pytest.skip(reason)
    out = tmp_path / "results.json"
    completed = simulated("-m", "grader", "--submission", folder, "--json", str(out))
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["isolation"] == "portable", completed.stderr
    assert report["max_score"] > 0
    assert report["score"] == (report["max_score"] if full else 0), completed.stdout


# --- choosing the floor, in this process ---------------------------------------------------------
def _never(layer: Layer) -> str | None:
    msg = f"no probe child should start for {layer.name}"
    raise AssertionError(msg)


def test_portable_is_chosen_without_a_probe_where_the_posix_floor_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(layers.ENV_VAR, raising=False)
    monkeypatch.setattr(layers, "missing", lambda: ["resource", "os.fork"])
    chosen = layers.choose(_never)
    assert chosen.name == "portable"
    assert any("resource, os.fork" in note for note in chosen.notes)


def test_portable_can_be_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(layers.ENV_VAR, "portable")
    assert layers.choose(_never).name == "portable"


def test_off_linux_the_posix_floor_is_chosen_without_touching_linux_features(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # macOS, as root even: no Landlock syscall, no uid or mount layers, no unshare or bwrap.
    monkeypatch.delenv(layers.ENV_VAR, raising=False)
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(layers.shutil, "which", lambda _: None)
    assert confine.abi() == 0
    assert layers.choose(_never).name == "rlimits"


@pytest.mark.parametrize(("platform", "memory_capped"), [("linux", True), ("darwin", False)])
def test_macos_gets_every_limit_but_the_address_space_one(
    monkeypatch: pytest.MonkeyPatch, platform: str, *, memory_capped: bool
) -> None:
    import resource  # noqa: PLC0415 - POSIX only, as the floor under test

    applied: list[int] = []
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(resource, "setrlimit", lambda which, _: applied.append(which))
    jail.apply_rlimits(Limits())
    assert resource.RLIMIT_CPU in applied
    assert resource.RLIMIT_NPROC in applied
    assert (resource.RLIMIT_AS in applied) is memory_capped
