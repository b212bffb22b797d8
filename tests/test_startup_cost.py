"""What a one-shot grade does not pay for again: the probe, the fork server's wait, unused modules.

The proved isolation layer is read from disk while nothing that decides it changed (and only
from a file the grader's own user alone may write); a fork server launched early is the one
the first run uses; `--only` imports only the hidden modules it needs; a produce exercise's
expected runs come from the truth cache; a grade that runs no child imports no asyncio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.grading import produce, truth, truth_cache
from grader.grading.session import GradingSession
from grader.model import curriculum
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.sandbox import forkserver, runs, spawn
from grader.sandbox.isolation import layers, probe, remembered
from grader.sandbox.limits import default_limits

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def probe_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(remembered.ENV_DIR, str(tmp_path))
    monkeypatch.delenv(remembered.ENV_OFF, raising=False)
    if not remembered.enabled():
        pytest.skip("the probe is remembered on Linux only")
    probe.reset()
    yield tmp_path / "probe"
    probe.reset()


def test_a_proved_layer_is_read_back_without_a_probe_child(
    probe_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proved = probe.current()
    assert len(list(probe_dir.glob("*.json"))) == 1
    probe.reset()

    def no_probe(_layer: layers.Layer) -> str | None:
        raise AssertionError("probed again")

    monkeypatch.setattr(probe, "probe", no_probe)
    monkeypatch.setattr(probe, "choose", lambda: (_ for _ in ()).throw(AssertionError))
    assert probe.current() == proved


def test_another_isolation_setting_is_another_entry(
    probe_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = remembered.key(0)
    monkeypatch.setenv(layers.ENV_VAR, "rlimits")
    assert remembered.key(0) != first
    assert remembered.key(1) != remembered.key(0)


@pytest.mark.parametrize("damage", ["group-writable", "corrupt", "other-key", "bad-part"])
def test_an_entry_not_to_be_believed_is_a_miss(probe_dir: Path, damage: str) -> None:
    key = remembered.key(0)
    remembered.store(key, layers.Layer(("uid", "mntns")))
    path = probe_dir / f"{key}.json"
    assert remembered.load(key) == layers.Layer(("uid", "mntns"))
    if damage == "group-writable":
        path.chmod(0o664)
    elif damage == "corrupt":
        path.write_bytes(path.read_bytes()[:20])
    elif damage == "other-key":
        path.write_text(json.dumps({**json.loads(path.read_text()), "key": "x"}))
    else:
        path.write_text(json.dumps({**json.loads(path.read_text()), "components": ["root"]}))
    assert remembered.load(key) is None


def test_the_memory_can_be_switched_off(probe_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(remembered.ENV_OFF, "0")
    probe.current()
    assert not probe_dir.exists()


def test_a_launched_fork_server_serves_the_first_run() -> None:
    layer = probe.current()
    if not (forkserver.enabled() and forkserver.supports(layer)):
        pytest.skip(f"no fork server for {layer.name} here")
    pool = forkserver.Pool()
    try:
        pool.launch(layer, spawn.runtime_dir(), default_limits())
        launched = pool._launched[layer.name][0]
        pool.launch(layer, spawn.runtime_dir(), default_limits())  # one is at hand: no second
        assert pool._launched[layer.name] == [launched]
        assert pool.borrow(layer, spawn.runtime_dir(), default_limits()) is launched
        assert launched.alive
    finally:
        pool.close()


def test_a_launched_server_that_fails_its_check_sends_runs_the_spawn_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = probe.current()
    if not (forkserver.enabled() and forkserver.supports(layer)):
        pytest.skip(f"no fork server for {layer.name} here")
    pool = forkserver.Pool()
    try:
        pool.launch(layer, spawn.runtime_dir(), default_limits())
        monkeypatch.setattr(
            forkserver.ForkServer, "_check_view", lambda _self, _message: "the kit is visible"
        )
        with pytest.raises(forkserver.ForkServerError, match="does not hold"):
            pool.borrow(layer, spawn.runtime_dir(), default_limits())
        with pytest.raises(forkserver.ForkServerError):  # refused from now on: no retry
            pool.borrow(layer, spawn.runtime_dir(), default_limits())
        assert pool._all == []
    finally:
        pool.close()


def test_only_collects_just_the_modules_it_needs(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "test_alpha.py").write_text('pytestmark = pytest.mark.exercise("alpha")\n')
    (hidden / "test_two.py").write_text(
        'pytestmark = pytest.mark.exercise("alpha")\n@pytest.mark.exercise("beta")\n'
    )
    (hidden / "test_any.py").write_text("marks=[pytest.mark.exercise(exercise.id)]\n")
    (hidden / "more").mkdir()
    session = GradingSession(kit, curriculum, tmp_path, {"beta"})
    kept = {Path(path).name for path in session.hidden_files(hidden)}
    assert kept == {"more", "test_two.py", "test_any.py"}
    everything = GradingSession(kit, curriculum, tmp_path, None)
    assert everything.hidden_files(hidden) == [str(hidden)]


def test_a_produce_exercise_s_expected_run_comes_from_the_truth_cache(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(truth_cache.ENV_DIR, str(tmp_path))
    monkeypatch.delenv(truth_cache.ENV_OFF, raising=False)
    exercise = next(e for e in curriculum if e.kind == "produce" and e.supported())
    first = truth.kit_call(kit, exercise, exercise.entry, [], {})
    assert len(list(tmp_path.glob("*.json"))) == 1
    runs._RESULTS.clear()
    produce._reference_cache.clear()

    def no_run(*_args: object, **_kwargs: object) -> runs.Run:
        raise AssertionError("ran the kit's solution again")

    monkeypatch.setattr(truth, "execute", no_run)
    again = truth.kit_call(kit, exercise, exercise.entry, [], {})
    assert again.lines == first.lines
    assert again.trace == first.trace


def test_the_curriculum_is_parsed_once_per_text(kit: Kit, tmp_path: Path) -> None:
    copy = tmp_path / "info.toml"
    copy.write_bytes(kit.curriculum_file.read_bytes())
    assert curriculum.load(copy) is curriculum.load(copy)
    copy.write_text(copy.read_text().replace("points = ", "points =  ", 1))
    assert curriculum.load(copy) is not curriculum.load(kit.curriculum_file)


def test_a_grade_that_runs_no_child_imports_neither_asyncio_nor_the_junit_writer(
    tmp_path: Path,
) -> None:
    probe_code = (
        "import runpy, sys\n"
        "sys.argv = ['grader', '--submission', 'solutions', '--only', 'sleep-interleave']\n"
        "try:\n    runpy.run_module('grader', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('asyncio', 'grader.runtime.zygote', 'xml.etree.ElementTree')"
        " if m in sys.modules))\n"
    )
    env = {**os.environ, "NO_COLOR": "1"}
    subprocess.run(  # the truths on disk first
        [sys.executable, "-m", "grader", "--only", "sleep-interleave"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-c", probe_code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
