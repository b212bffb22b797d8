"""The on-disk cache of kit-derived runs: what invalidates an entry, and that it never decides a grade.

A truth read from disk must be the truth a fresh run would compute; anything unreadable,
corrupt, torn or stored under another key is a miss, and a cache that cannot be written costs
speed only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.grading import truth, truth_cache
from grader.model.curriculum import Exercise
from grader.model.kit import Kit
from grader.sandbox import spawn
from grader.sandbox.runs import Run

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(truth_cache.ENV_DIR, str(folder))
    monkeypatch.delenv(truth_cache.ENV_OFF, raising=False)
    truth._cache.clear()
    return folder


@pytest.fixture
def predict(curriculum: tuple[Exercise, ...]) -> Exercise:
    return next(e for e in curriculum if e.kind == "predict" and e.supported())


def test_a_stored_truth_is_the_computed_one(kit: Kit, predict: Exercise, cache_dir: Path) -> None:
    computed = truth.truth_of(kit, predict)
    assert len(list(cache_dir.glob("*.json"))) == 1
    truth._cache.clear()
    read = truth.truth_of(kit, predict)
    assert read.lines == computed.lines
    assert read.trace == computed.trace


def test_the_key_changes_with_the_snippet_the_runtime_and_the_request(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = {"entry": "main", "misbelief": None}
    base = truth_cache.key_of(b"print(1)\n", request, "limits")
    assert truth_cache.key_of(b"print(1)\n", request, "limits") == base
    assert truth_cache.key_of(b"print(2)\n", request, "limits") != base
    assert truth_cache.key_of(b"print(1)\n", {**request, "misbelief": "x"}, "limits") != base
    assert truth_cache.key_of(b"print(1)\n", request, "other limits") != base
    monkeypatch.setattr(spawn, "runtime_digest", lambda: "a different runtime")
    assert truth_cache.key_of(b"print(1)\n", request, "limits") != base


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_text("{not json", encoding="utf-8"),
        lambda path: path.write_bytes(path.read_bytes()[:40]),
        lambda path: path.write_text(
            json.dumps({**json.loads(path.read_text()), "key": "another"}), encoding="utf-8"
        ),
        lambda path: path.write_text(
            json.dumps({**json.loads(path.read_text()), "format": 999}), encoding="utf-8"
        ),
    ],
    ids=["not-json", "torn", "other-key", "other-format"],
)
def test_a_damaged_entry_is_a_miss_and_is_computed_again(
    kit: Kit, predict: Exercise, cache_dir: Path, damage: object
) -> None:
    computed = truth.truth_of(kit, predict)
    (entry,) = cache_dir.glob("*.json")
    assert callable(damage)
    damage(entry)
    key = entry.stem
    assert truth_cache.load(kit, key) is None
    truth._cache.clear()
    assert truth.truth_of(kit, predict).lines == computed.lines
    assert isinstance(truth_cache.load(kit, key), Run)  # written again, whole


def test_an_unwritable_cache_costs_speed_only(kit: Kit, predict: Exercise, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("", encoding="utf-8")
    env = {**os.environ, truth_cache.ENV_DIR: str(blocked / "cache")}
    outputs = []
    for cache in (str(blocked / "cache"), str(tmp_path / "fine")):
        env[truth_cache.ENV_DIR] = cache
        out = tmp_path / f"{len(outputs)}.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "grader",
                "--submission",
                str(kit.solutions),
                "--only",
                predict.id,
                "--json",
                str(out),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        outputs.append(json.loads(out.read_text(encoding="utf-8")))
    assert outputs[0]["score"] == outputs[1]["score"] == outputs[1]["max_score"]


def test_the_cache_can_be_switched_off(
    kit: Kit, predict: Exercise, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(truth_cache.ENV_OFF, "0")
    truth.truth_of(kit, predict)
    assert not cache_dir.exists()


def test_a_belief_that_cannot_run_the_snippet_is_remembered_as_such(
    kit: Kit, cache_dir: Path
) -> None:
    truth_cache.store(kit, "k" * 64, "the snippet deadlocked under this belief")
    assert truth_cache.load(kit, "k" * 64) == "the snippet deadlocked under this belief"
    shutil.rmtree(cache_dir)
    assert truth_cache.load(kit, "k" * 64) is None
