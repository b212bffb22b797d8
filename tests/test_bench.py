"""The speed benchmark (grader/bench): its synthetic class, its figures, and one tiny real run.

The bench measures time, so nothing here asserts a duration: the tests check what the bench
generates, computes and writes (the documented fields, the counts, the sanity checks it makes of
the grades), with a class of 2 and 3 uploads, one baseline submission and two exercises.
"""

from __future__ import annotations

import ast
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from grader.bench import cli, cohort, figures, naive, procs, ratios, synth, tables
from grader.model.answers import AnswerError, read_prediction
from grader.model.curriculum import Exercise
from grader.model.kit import Kit

ROOT = Path(__file__).resolve().parent.parent
ONLY = ["tasks-await", "sleep0-take-turns"]


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*.py"))
    }


# --- the synthetic class -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, {"correct": 1, "partial": 0, "wrong": 0, "broken": 0, "hostile": 0}),
        (3, {"correct": 1, "partial": 1, "wrong": 1, "broken": 0, "hostile": 0}),
        (25, {"correct": 8, "partial": 8, "wrong": 5, "broken": 3, "hostile": 1}),
        (200, {"correct": 70, "partial": 60, "wrong": 40, "broken": 20, "hostile": 10}),
    ],
)
def test_class_mix_follows_the_shares_and_adds_up(n: int, expected: dict[str, int]) -> None:
    mix = synth.class_mix(n)
    assert mix == expected
    assert sum(mix.values()) == n


def test_the_class_is_the_same_for_a_seed_and_changes_with_it(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    first = synth.generate_class(kit, curriculum, 12, tmp_path / "a", seed=7)
    again = synth.generate_class(kit, curriculum, 12, tmp_path / "b", seed=7)
    other = synth.generate_class(kit, curriculum, 12, tmp_path / "c", seed=8)
    assert [u.to_json() for u in first] == [u.to_json() for u in again]
    assert [_files(u.path) for u in first] == [_files(u.path) for u in again]
    assert [_files(u.path) for u in first] != [_files(u.path) for u in other]


def test_every_upload_holds_every_exercise_file_and_correct_ones_are_the_solutions(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    uploads = synth.generate_class(kit, curriculum, 40, tmp_path, seed=0)
    assert {u.kind for u in uploads} == set(synth.KINDS)
    assert len({u.student for u in uploads}) == 40
    solutions = _files(kit.solutions)
    for upload in uploads:
        files = _files(upload.path)
        assert set(files) == {exercise.file for exercise in curriculum}
        if upload.kind == "correct":
            assert files == solutions
        else:
            assert files != solutions, upload


def test_hostile_uploads_carry_their_attack_in_one_program_to_change(
    kit: Kit, curriculum: tuple[Exercise, ...], tmp_path: Path
) -> None:
    uploads = synth.generate_class(kit, curriculum, 60, tmp_path, seed=0)
    hostile = [u for u in uploads if u.kind == "hostile"]
    assert [u.detail.split(": ")[1] for u in hostile] == ["exit", "loop", "flood"]
    produce = {e.id: e.file for e in curriculum if e.kind == "produce"}
    attack = {"exit": b"os._exit(3)", "loop": b"while True:", "flood": b"flood"}
    for upload in hostile:
        exercise_id, how = upload.detail.split(": ")
        source = (upload.path / produce[exercise_id]).read_bytes()
        ast.parse(source)  # hostile, not broken: it must run to do harm
        assert attack[how] in source
        changed = [f for f, text in _files(upload.path).items() if text != _files(kit.solutions)[f]]
        assert changed == [produce[exercise_id]]


def test_a_wrong_prediction_is_still_a_literal_and_differs(
    kit: Kit, curriculum: tuple[Exercise, ...]
) -> None:
    for exercise in curriculum:
        if exercise.kind != "predict":
            continue
        solution = (kit.solutions / exercise.file).read_bytes()
        for seed in range(5):
            wrong, how = synth.wrong_prediction(solution, random.Random(seed))
            assert how
            assert read_prediction(wrong, exercise.file).lines != (
                read_prediction(solution, exercise.file).lines
            )


def test_broken_variants_break_the_way_they_say(kit: Kit, curriculum: tuple[Exercise, ...]) -> None:
    predict = next(e for e in curriculum if e.kind == "predict")
    produce = next(e for e in curriculum if e.kind == "produce")
    predict_source = (kit.solutions / predict.file).read_bytes()
    produce_source = (kit.solutions / produce.file).read_bytes()
    with pytest.raises(SyntaxError):
        ast.parse(synth.replace_todo(produce_source, ["def broken(:"]))
    as_code = synth.replace_todo(predict_source, ['PREDICTION = sorted(["b", "a"])'])
    with pytest.raises(AnswerError):
        read_prediction(as_code, predict.file)
    raising = synth.replace_todo(produce_source, ['raise RuntimeError("broken on purpose")'])
    ast.parse(raising)
    start, end, _ = synth.todo_region(raising)
    assert end == start + 2  # the region now holds just the raise


def test_a_file_without_one_todo_region_is_refused() -> None:
    with pytest.raises(synth.SynthError):
        synth.todo_region(b"x = 1\n")
    with pytest.raises(synth.SynthError):
        synth.todo_region(b"# TODO\n# END TODO\n# TODO\n# END TODO\n")


def test_the_kit_digest_notices_an_edit_but_not_bytecode(tmp_path: Path) -> None:
    for folder in ("grader", "exercises", "solutions"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.py").write_text("x = 1\n", encoding="utf-8")
    kit = Kit(tmp_path)
    before = cli.kit_digest(kit)
    (tmp_path / "grader" / "__pycache__").mkdir()
    (tmp_path / "grader" / "__pycache__" / "a.pyc").write_bytes(b"compiled")
    assert cli.kit_digest(kit) == before
    (tmp_path / "solutions" / "a.py").write_text("x = 2\n", encoding="utf-8")
    assert cli.kit_digest(kit) != before


# --- figures -------------------------------------------------------------------------------


def _row(n: int, wall: float, peak: float = 100.0) -> dict[str, Any]:
    return {
        "n": n,
        "status": "measured",
        "wall_s": wall,
        "per_submission_s": wall / n,
        "peak_rss_mib": peak,
    }


def test_linear_fit_recovers_a_line_and_needs_two_points() -> None:
    fit = figures.linear_fit([25, 50, 100], [3.5, 6.0, 11.0])
    assert fit is not None
    assert fit[0] == pytest.approx(0.1)
    assert fit[1] == pytest.approx(1.0)
    assert figures.linear_fit([25], [3.0]) is None
    assert figures.linear_fit([25, 25], [3.0, 4.0]) is None


def test_growth_reports_slope_and_per_submission_ratio() -> None:
    rows = [_row(25, 10.0), _row(50, 20.0), {"n": 100, "status": "skipped"}, _row(200, 100.0)]
    grown = figures.growth(rows)
    assert grown["sizes"] == [25, 50, 200]
    assert grown["per_submission_ratio"] == pytest.approx(0.5 / 0.4)
    assert grown["linear"] is True
    assert figures.growth([_row(25, 10.0), _row(50, 40.0)])["linear"] is False


def test_class_wall_is_measured_at_200_or_extrapolated() -> None:
    assert figures.class_wall_at([_row(200, 15.0)], 200) == (15.0, "measured")
    wall, how = figures.class_wall_at([_row(25, 3.5), _row(50, 6.0)], 200)
    assert wall == pytest.approx(21.0)
    assert how == "extrapolated from N=25,50"
    assert figures.class_wall_at([], 200) == (None, "not measured")


def test_naive_ratios_and_targets() -> None:
    rows = [_row(100, 8.0), _row(200, 16.0, peak=2048.0), {"n": 400, "status": "skipped"}]
    figures.add_naive(rows, naive_mean_s=5.0)
    assert rows[0]["naive_extrapolated_s"] == pytest.approx(500.0)
    assert rows[0]["speedup"] == pytest.approx(62.5)
    assert rows[2]["naive_extrapolated_s"] == pytest.approx(2000.0)
    assert rows[2]["speedup"] is None
    met = {t.name: t.met for t in figures.targets({"grading_median_s": 0.4}, rows, 5.0)}
    assert met == {
        "one learner: grading after start-up": True,
        "class of 200: total wall": True,
        "class of 200: per submission": True,
        "class: cost linear in N": True,
        "class: peak memory (process tree)": False,
        "class of 200: vs naive baseline": True,
    }
    unknown = figures.targets({}, [], None)
    assert all(target.met is None for target in unknown)


# --- reading what batch and pytest leave behind --------------------------------------------


def test_student_seconds_come_from_the_batch_log_lines() -> None:
    log = (
        "[ 1/3] s001: 69/69 (2.5 s)\n"
        "[ 2/3] s002: NOT GRADED - the zip is damaged\n"
        "[ 3/3] s003: 12.5/69 (unchanged, reused)\n"
        "[10/12] s010: 3/69 (0.1 s)\n"
    )
    assert cohort.student_seconds(log) == {"s001": 2.5, "s010": 0.1}


def test_per_kind_counts_grades_and_full_marks(tmp_path: Path) -> None:
    book = tmp_path / "grades.csv"
    book.write_text(
        "student,total,max,status,error\ns1,69,69,graded,\ns2,60,69,graded,\ns3,,,error,damaged\n",
        encoding="utf-8",
    )
    uploads = [
        synth.Synthetic("s1", "correct", "", tmp_path),
        synth.Synthetic("s2", "correct", "", tmp_path),
        synth.Synthetic("s3", "broken", "", tmp_path),
    ]
    kinds = cohort.per_kind(uploads, cohort.read_gradebook(book))
    assert kinds["correct"] == {
        "count": 2,
        "graded": 2,
        "not_graded": 0,
        "mean_total": 64.5,
        "max": 69.0,
        "full_marks": 1,
    }
    assert kinds["broken"]["not_graded"] == 1
    assert "wrong" not in kinds


def test_naive_cases_skip_what_the_grader_skips_and_fall_back_to_main() -> None:
    rows = [
        {"id": "a", "kind": "predict", "file": "a.py", "status": "passed", "calls": []},
        {"id": "b", "kind": "predict", "file": "b.py", "status": "skipped", "calls": []},
        {
            "id": "c",
            "kind": "produce",
            "file": "c.py",
            "calls": [
                {"entry": "main", "args": [], "kwargs": {}, "lines": ["x"], "virtual_s": 1.5},
                {"entry": "main", "args": [], "kwargs": {"n": 2}, "lines": ["y"], "virtual_s": 2},
            ],
        },
    ]
    cases = naive.cases_from(rows)
    assert [case["id"] for case in cases] == ["a-1", "c-1", "c-2"]
    assert cases[0]["entry"] == "main"
    assert cases[0]["expected"] is None
    assert cases[2]["kwargs"] == {"n": 2}
    assert cases[2]["expected"] == ["y"]


# --- measuring a process tree --------------------------------------------------------------

_CHILD_HOLDS_MEMORY = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c",
    "import sys, time; block = bytearray(64 * 1024 * 1024); sys.stdout.write('ready\\\\n'); "
    "sys.stdout.flush(); time.sleep(1)"], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline() == "ready\\n"
child.wait()
print("done")
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_sampler_sums_memory_over_the_process_tree(tmp_path: Path) -> None:
    measured = procs.run_measured(
        [sys.executable, "-c", _CHILD_HOLDS_MEMORY], cwd=tmp_path, timeout=120
    )
    assert measured.returncode == 0, measured.stderr
    assert measured.stdout.strip() == "done"
    assert measured.peak_processes is not None
    assert measured.peak_processes >= 2
    assert measured.peak_rss_mib is not None
    assert measured.peak_rss_mib >= 64


def test_a_command_that_outlives_its_timeout_is_stopped(tmp_path: Path) -> None:
    measured = procs.run_measured(
        [sys.executable, "-c", "import time; time.sleep(600)"], cwd=tmp_path, timeout=1
    )
    assert measured.timed_out
    assert measured.returncode is None


# --- one tiny real run ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    work = tmp_path_factory.mktemp("bench")
    out = work / "results" / "bench.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.bench",
            "--sizes",
            "3,2",
            "--baseline",
            "1",
            "--repeats",
            "1",
            "--budget",
            "0",
            "--jobs",
            "2",
            "--only",
            *ONLY,
            "--json",
            str(out),
            "--keep",
            str(work / "keep"),
            "--no-ratios",  # measured by the test of `ratios` below, on a smaller scale
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(out.read_text(encoding="utf-8")), completed.stdout, work / "keep"


def test_the_run_writes_every_documented_section(bench_run: tuple[dict[str, Any], str, Path]):
    results, _, _ = bench_run
    assert results["schema"] == 1
    assert set(results) >= {
        "machine",
        "kit",
        "options",
        "learner",
        "baseline",
        "class",
        "growth",
        "ratios",
        "targets",
        "seconds",
        "problems",
    }
    # Several people share this tree: an edit during the run is reported, and is no failure.
    assert [p for p in results["problems"] if "changed while the bench ran" not in p] == []
    assert results["kit"]["digest"]
    assert results["machine"]["cpus"] >= 1
    assert results["machine"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert results["options"]["sizes"] == [2, 3]
    assert results["options"]["only"] == ONLY


def test_one_learner_figures(bench_run: tuple[dict[str, Any], str, Path]) -> None:
    learner = bench_run[0]["learner"]
    assert learner["score"] == learner["max_score"] == 6.0
    assert learner["isolation"]
    assert learner["breakdown_isolation"] == learner["isolation"]
    assert len(learner["cli_wall_s"]) == 1
    assert learner["cli_median_s"] > 0
    assert learner["grading_median_s"] > 0
    assert [row["id"] for row in learner["exercises"]] == ONLY
    by_id = {row["id"]: row for row in learner["exercises"]}
    # Virtual time is deterministic: tasks-await's task sleeps 1 s; sleep(0) turns take none.
    assert by_id["tasks-await"]["virtual_s"] == 1.0
    assert by_id["sleep0-take-turns"]["virtual_s"] == 0.0
    assert learner["virtual_sleep_s"] == 1.0
    assert by_id["tasks-await"]["runs"] == 1  # the truth snippet, once
    # The take-turns hidden tests: the visible call and three variants, each learner and
    # reference; the baseline replays the four distinct calls.
    assert by_id["sleep0-take-turns"]["runs"] == 8
    assert len(by_id["sleep0-take-turns"]["calls"]) == 4
    assert by_id["sleep0-take-turns"]["warm_runs"] == 4  # the reference runs are cached
    for row in learner["exercises"]:
        assert row["status"] == "passed"
        assert row["cold_s"] > 0
        assert row["warm_s"] > 0


def test_the_naive_baseline_replays_the_same_calls(
    bench_run: tuple[dict[str, Any], str, Path],
) -> None:
    baseline = bench_run[0]["baseline"]
    assert baseline["cases_per_submission"] == 5
    assert baseline["real_sleep_s"] == 1.0
    [row] = baseline["submissions"]
    assert row["kind"] == "correct"
    assert (row["passed"], row["failed"], row["errors"]) == (5, 0, 0)
    assert not row["timed_out"]
    assert baseline["mean_s"] == row["wall_s"]


def test_each_class_size_is_graded_whole_and_checked(
    bench_run: tuple[dict[str, Any], str, Path],
) -> None:
    results, _, keep = bench_run
    rows = results["class"]
    assert [row["n"] for row in rows] == [2, 3]
    learner_isolation = results["learner"]["isolation"]
    for row in rows:
        assert row["status"] == "measured", row
        assert row["rows"] == row["graded"] == row["n"]
        assert row["returncode"] == 0
        assert row["isolation"] == [learner_isolation]
        assert row["peak_rss_mib"] is None or row["peak_rss_mib"] > 0
        assert row["per_submission_s"] == pytest.approx(row["wall_s"] / row["n"])
        assert row["students_timed"] == row["n"]
        correct = row["kinds"]["correct"]
        assert correct["full_marks"] == correct["count"] >= 1
        assert row["naive_extrapolated_s"] == pytest.approx(
            results["baseline"]["mean_s"] * row["n"]
        )
        assert results["ratios"][str(row["n"])] == pytest.approx(row["speedup"])
        manifest = json.loads((keep / "class" / f"n{row['n']}" / "manifest.json").read_text())
        assert len(manifest["uploads"]) == row["n"]
    assert results["growth"]["sizes"] == [2, 3]
    assert results["growth"]["slope_s_per_submission"] is not None
    assert {t["name"] for t in results["targets"]} == {
        "one learner: grading after start-up",
        "class of 200: total wall",
        "class of 200: per submission",
        "class: cost linear in N",
        "class: peak memory (process tree)",
        "class of 200: vs naive baseline",
    }
    assert all(t["met"] in {True, False} for t in results["targets"])


def test_the_tables_are_printed_and_can_be_shown_again(
    bench_run: tuple[dict[str, Any], str, Path], tmp_path: Path
) -> None:
    results, stdout, _ = bench_run
    for title in ("One learner", "Per exercise", "Naive baseline", "A class graded", "Targets"):
        assert title in stdout
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(results), encoding="utf-8")
    shown = subprocess.run(
        [sys.executable, "-m", "grader.bench", "--show", str(saved)],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},  # wide enough that no exercise id is folded
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "Targets for grading speed" in shown.stdout
    assert "sleep0-take-turns" in shown.stdout


@pytest.mark.parametrize(
    "args",
    [["--sizes", "0"], ["--sizes", "a,b"], ["--only", "no-such-exercise"], ["--repeats", "0"]],
)
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "grader.bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "usage error" in completed.stdout or "error:" in completed.stderr


@pytest.mark.full_suite  # version-independent and slow: the class's Python runs it
def test_watch_latency_is_measured_from_save_to_feedback(tmp_path: Path) -> None:
    row = ratios.watch_latency(ROOT, tmp_path, env=ratios.environment(), saves=2)
    assert row.get("failures") == 0, row
    assert len(row["runs_s"]) == 2
    assert all(seconds > 0 for seconds in row["runs_s"])


@pytest.mark.full_suite  # version-independent and slow: the class's Python runs it
def test_a_distinct_class_makes_every_upload_unique(tmp_path: Path) -> None:
    rows = ratios.distinct_class(ROOT, tmp_path, (1, 2), env=ratios.environment())
    assert [row["n"] for row in rows] == [1, 2]
    assert all(row["status"] == "measured" for row in rows), rows
    grades = (tmp_path / "n2" / "grades.csv").read_text(encoding="utf-8")
    assert grades.count("student000") == 2  # two rows: no upload was taken for another
    summary = ratios._distinct_ratios(rows, unit=0.05)
    assert summary["marginal_per_upload_s"] is not None
    assert summary["rows"][0]["ratio"] == pytest.approx(rows[0]["per_upload_s"] / 0.05)


def test_the_ratio_table_reads_each_figure_against_its_ceiling() -> None:
    row = {"median_s": 0.3, "runs_s": [0.3], "failures": 0, "ratio": 3.0}
    data = {
        "unit_s": 0.1,
        "root": True,
        "rows": {
            "cold_start": {"median_s": 0.1},
            "curriculum": row,
            "watch": {**row, "ratio": 3.0},
        },
        "user": {"status": "skipped", "reason": "not root"},
        "distinct_class": {"rows": [], "marginal_per_upload_s": None, "marginal_ratio": None},
    }
    console = Console(width=160, record=True)
    console.print(tables.ratio_table(data))
    text = console.export_text()
    assert "whole curriculum" in text
    assert "3.0x" in text
    assert "not root" in text
    watch_line = next(line for line in text.splitlines() if "warm watch" in line)
    assert "miss" in watch_line  # 3x is over the 2x ceiling
