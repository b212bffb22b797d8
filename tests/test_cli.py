"""`python -m grader` as a user runs it: exit statuses, the results file, a broken kit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import ROOT, run_grader

from grader.model.curriculum import by_id, load


def test_usage_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    missing = run_grader("--submission", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert "submission folder not found" in missing.stdout
    unknown = run_grader("--only", "no-such-exercise")
    assert unknown.returncode == 2
    assert "unknown exercise id(s): no-such-exercise" in unknown.stdout


def test_an_empty_submission_is_graded_completely_and_exits_0(
    tmp_path: Path, curriculum: tuple[object, ...]
) -> None:
    out = tmp_path / "deep" / "results.json"
    completed = run_grader("--submission", str(tmp_path), "--json", str(out))
    assert completed.returncode == 0, completed.stderr
    report = json.loads(out.read_text())
    assert report["score"] == 0
    assert len(report["exercises"]) == len(curriculum)
    assert {e["status"] for e in report["exercises"]} <= {"not-submitted", "skipped"}
    assert "total" in completed.stdout


def test_only_limits_grading_and_the_report(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    completed = run_grader(
        "--submission", str(ROOT / "solutions"), "--only", "tasks-await", "--json", str(out)
    )
    assert completed.returncode == 0
    report = json.loads(out.read_text())
    assert [e["id"] for e in report["exercises"]] == ["tasks-await"]
    assert report["score"] == report["max_score"] == report["exercises"][0]["max_score"]


def _copy_kit(target: Path) -> Path:
    for part in ("grader", "exercises", "solutions"):
        shutil.copytree(ROOT / part, target / part, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_a_snippet_that_fails_in_the_kit_is_a_broken_kit_exit_3(tmp_path: Path) -> None:
    kit = _copy_kit(tmp_path / "kit")
    exercise = by_id(load(kit / "exercises" / "info.toml"))["tasks-await"]
    snippet = kit / "solutions" / exercise.file
    source = snippet.read_text().replace(
        "async def main() -> None:\n",
        "async def main() -> None:\n    raise RuntimeError('kit bug')\n",
    )
    snippet.write_text(source)
    submission = kit / "solutions"
    completed = run_grader("--submission", str(submission), "--only", "tasks-await", cwd=kit)
    assert completed.returncode == 3
    assert "the kit is broken" in completed.stdout
    assert "kit bug" in completed.stdout


def test_malformed_curriculum_is_a_broken_kit_exit_3(tmp_path: Path) -> None:
    kit = _copy_kit(tmp_path / "kit")
    info = kit / "exercises" / "info.toml"
    info.write_text(info.read_text().replace('kind = "predict"', 'kind = "guess"', 1))
    completed = run_grader(cwd=kit)
    assert completed.returncode == 3
    assert "kind must be one of" in completed.stdout
