"""One learner, the whole curriculum: how long `python -m grader` takes, and where the time goes.

Three measurements, each in a fresh process so no cache from an earlier one helps:

- the CLI as a learner runs it (`python -m grader --submission DIR --json X`), process start
  and exit included, with the peak memory of its process tree;
- the grading itself after start-up: a fresh process (`python -m grader.bench.learner whole`)
  imports the grader, then times one cold `grader.grade(kit, DIR, None)` - every truth
  snippet still to run, as in a real learner's run;
- the per-exercise breakdown (`... breakdown`): after one trivial sandbox run (so the isolation
  probe is not billed to the first exercise), `grade(kit, DIR, {id})` for each exercise in
  turn, cold (its truth and reference runs included), then again warm (those cached), while
  every call of `grader.sandbox.runs.execute` is recorded: how many sandbox runs each exercise made,
  their wall time, and the virtual time each run's clock reached (`Run.end_seconds`).

The real-clock time the snippets would have slept is the sum of the virtual end times over the
distinct runs (same file, function and arguments; runs under a misbelief left out): the truth
run of every prediction and every call of a program to change, which is what a grader on the
real clock would have to sit through. The distinct calls, with the lines each printed, are also
what the naive baseline (`naive`) replays.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.bench.procs import run_measured

#: A trivial program whose run pays the one-off costs (isolation probe, first child) up front.
_WARMUP_SOURCE = b"async def main() -> None:\n    pass\n"
#: Top-level results-JSON fields a grader may add to report its own timing (recorded as is).
_TIMING_FIELDS = ("timing", "timings", "seconds", "wall_seconds", "elapsed")
_PROCESS_TIMEOUT = 900.0


def clean_environment() -> dict[str, str]:
    """The environment the bench runs the grader in: no pytest options, plain output.

    The on-disk truth cache is off, so these figures keep their meaning (every truth and
    reference run made and counted); `ratios` measures what the cache saves, separately.
    """
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH"}
    }
    environment.update(NO_COLOR="1", COLUMNS="100", ASYNCIO_KIT_TRUTH_CACHE="0")
    return environment


@dataclass
class Call:
    """One recorded `execute` call: what ran, and what came back."""

    exercise: str
    filename: str
    options: dict[str, Any]
    wall_s: float
    ok: bool
    end_s: float = 0.0
    lines: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Calls with the same key run the same code the same way."""
        shown = {k: self.options.get(k) for k in ("entry", "args", "kwargs", "clock")}
        return json.dumps([self.filename, shown], sort_keys=True, default=repr)

    @property
    def misbelief(self) -> bool:
        """A run under a wrong mental model (feedback only, not something to grade)."""
        return bool(self.options.get("misbelief"))


class Recorder:
    """Wraps `grader.sandbox.runs.execute` everywhere it was imported, and records every call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.phase = ""

    def install(self) -> int:
        """Patch `execute` in every loaded grader module (and later importers); count them."""
        from grader.sandbox import runs  # noqa: PLC0415 - imported after the start-up clock started

        original: Callable[..., Any] = runs.execute
        recorder = self

        def execute(source: bytes, filename: str, *args: Any, **options: Any) -> Any:
            started = time.perf_counter()
            try:
                run = original(source, filename, *args, **options)
            except Exception:
                recorder.calls.append(
                    Call(recorder.phase, filename, options, time.perf_counter() - started, ok=False)
                )
                raise
            recorder.calls.append(
                Call(
                    recorder.phase,
                    filename,
                    options,
                    time.perf_counter() - started,
                    ok=True,
                    end_s=float(run.end_seconds),
                    lines=list(run.lines),
                )
            )
            return run

        patched = 0
        for name, module in list(sys.modules.items()):
            if name.startswith("grader") and getattr(module, "execute", None) is original:
                setattr(module, "execute", execute)  # noqa: B010 - a module, typed as such
                patched += 1
        return patched

    def of(self, exercise: str) -> list[Call]:
        """The calls made while grading `exercise`."""
        return [call for call in self.calls if call.exercise == exercise]


def distinct(calls: Sequence[Call]) -> list[Call]:
    """The finished calls that differ in what they ran, misbelief runs left out."""
    seen: dict[str, Call] = {}
    for call in calls:
        if call.ok and not call.misbelief:
            seen.setdefault(call.key, call)
    return list(seen.values())


# --- inside the fresh process -------------------------------------------------------------


def _inner_whole(submission: Path, only: set[str] | None) -> dict[str, Any]:
    started = time.perf_counter()
    from grader.commands import cli  # noqa: F401, PLC0415 - what `python -m grader` imports is timed
    from grader.grading.runner import grade  # noqa: PLC0415
    from grader.model.kit import Kit  # noqa: PLC0415

    imported = time.perf_counter()
    report = grade(Kit.installed(), submission, only)
    graded = time.perf_counter()
    return {
        "import_s": imported - started,
        "grading_s": graded - imported,
        "isolation": report.isolation,
        "python": report.python,
        "score": report.score,
        "max_score": report.max_score,
    }


def _inner_breakdown(submission: Path, only: set[str] | None) -> dict[str, Any]:
    from grader.grading.runner import grade  # noqa: PLC0415
    from grader.model import curriculum  # noqa: PLC0415
    from grader.model.kit import Kit  # noqa: PLC0415
    from grader.sandbox import runs  # noqa: PLC0415

    kit = Kit.installed()
    recorder = Recorder()
    patched = recorder.install()
    recorder.phase = "warm-up"
    started = time.perf_counter()
    warmup = runs.execute(_WARMUP_SOURCE, "bench_warmup.py")
    warmup_s = time.perf_counter() - started
    selected = [e for e in curriculum.load(kit.curriculum_file) if only is None or e.id in only]
    rows: dict[str, dict[str, Any]] = {}
    for temperature in ("cold", "warm"):
        for exercise in selected:
            recorder.phase = exercise.id if temperature == "cold" else f"{exercise.id} (warm)"
            started = time.perf_counter()
            report = grade(kit, submission, {exercise.id})
            seconds = time.perf_counter() - started
            result = next(r for r in report.exercises if r.id == exercise.id)
            row = rows.setdefault(
                exercise.id,
                {
                    "id": exercise.id,
                    "kind": exercise.kind,
                    "status": result.status,
                    "score": result.score,
                    "max_score": result.max_score,
                },
            )
            row[f"{temperature}_s"] = seconds
    exercises = []
    for exercise in selected:
        row = rows[exercise.id]
        calls = recorder.of(exercise.id)
        unique = distinct(calls)
        row.update(
            runs=len(calls),
            warm_runs=len(recorder.of(f"{exercise.id} (warm)")),
            sandbox_s=sum(call.wall_s for call in calls),
            virtual_s=sum(call.end_s for call in unique),
            calls=[
                {
                    "entry": call.options.get("entry", "main"),
                    "args": call.options.get("args") or [],
                    "kwargs": call.options.get("kwargs") or {},
                    "lines": call.lines,
                    "virtual_s": call.end_s,
                }
                for call in unique
                if call.options.get("clock", "virtual") == "virtual"
            ],
            file=exercise.file,
        )
        exercises.append(row)
    return {
        "patched_modules": patched,
        "warmup_s": warmup_s,
        "isolation": warmup.isolation,
        "exercises": exercises,
    }


def inner_main(argv: Sequence[str] | None = None) -> int:
    """`python -m grader.bench.learner whole|breakdown SUBMISSION OUT [--only ID ...]`."""
    parser = argparse.ArgumentParser(prog="python -m grader.bench.learner")
    parser.add_argument("what", choices=("whole", "breakdown"))
    parser.add_argument("submission", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="+", default=None)
    args = parser.parse_args(argv)
    only = set(args.only) if args.only else None
    try:
        if args.what == "whole":
            data = _inner_whole(args.submission, only)
        else:
            data = _inner_breakdown(args.submission, only)
    except Exception as exc:  # noqa: BLE001 - reported to the bench, which carries on
        data = {"error": f"{type(exc).__name__}: {exc}"}
    args.out.write_text(json.dumps(data, default=repr), encoding="utf-8")
    return 0


# --- from the bench ---------------------------------------------------------------------


def _inner(
    what: str, root: Path, submission: Path, out: Path, only: Sequence[str] | None
) -> dict[str, Any]:
    command = [sys.executable, "-m", "grader.bench.learner", what, str(submission), str(out)]
    if only:
        command += ["--only", *only]
    measured = run_measured(command, cwd=root, env=clean_environment(), timeout=_PROCESS_TIMEOUT)
    try:
        data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = (measured.stderr or measured.stdout)[-600:]
        data = {"error": f"the {what} measurement gave no result: {tail.strip()}"}
    data["process_wall_s"] = measured.wall_s
    return data


def _cli(root: Path, submission: Path, out: Path, only: Sequence[str] | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "grader", "--submission", str(submission)]
    command += ["--json", str(out)]
    if only:
        command += ["--only", *only]
    measured = run_measured(command, cwd=root, env=clean_environment(), timeout=_PROCESS_TIMEOUT)
    row: dict[str, Any] = {
        "wall_s": measured.wall_s,
        "returncode": measured.returncode,
        "peak_rss_mib": measured.peak_rss_mib,
        "peak_processes": measured.peak_processes,
    }
    try:
        results = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        row["error"] = (measured.stderr or measured.stdout)[-600:].strip() or "no results file"
        return row
    row.update(
        isolation=results.get("isolation"),
        python=results.get("python"),
        score=results.get("score"),
        max_score=results.get("max_score"),
        reported_timing={k: results[k] for k in _TIMING_FIELDS if k in results} or None,
    )
    return row


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def measure(
    root: Path,
    submission: Path,
    work: Path,
    *,
    only: Sequence[str] | None = None,
    repeats: int = 3,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """All one-learner figures for `submission` (normally the kit's solutions)."""
    work.mkdir(parents=True, exist_ok=True)
    cli_runs: list[dict[str, Any]] = []
    whole_runs: list[dict[str, Any]] = []
    for index in range(max(1, repeats)):
        progress(f"one learner: python -m grader ({index + 1}/{repeats})")
        cli_runs.append(_cli(root, submission, work / f"cli-{index}.json", only))
        progress(f"one learner: grading after start-up ({index + 1}/{repeats})")
        whole_runs.append(_inner("whole", root, submission, work / f"whole-{index}.json", only))
    progress("one learner: per-exercise breakdown")
    breakdown = _inner("breakdown", root, submission, work / "breakdown.json", only)
    cli_walls = [run["wall_s"] for run in cli_runs if "error" not in run]
    grading = [run["grading_s"] for run in whole_runs if "error" not in run]
    imports = [run["import_s"] for run in whole_runs if "error" not in run]
    exercises: list[dict[str, Any]] = breakdown.get("exercises", [])
    first = next((run for run in cli_runs if "error" not in run), cli_runs[0])
    cli_median, grading_median = _median(cli_walls), _median(grading)
    errors = [run["error"] for run in [*cli_runs, *whole_runs, breakdown] if "error" in run]
    return {
        "submission": str(submission),
        "only": list(only) if only else None,
        "isolation": first.get("isolation"),
        "python": first.get("python"),
        "score": first.get("score"),
        "max_score": first.get("max_score"),
        "reported_timing": first.get("reported_timing"),
        "cli_wall_s": cli_walls,
        "cli_median_s": cli_median,
        "grading_s": grading,
        "grading_median_s": grading_median,
        "import_median_s": _median(imports),
        "startup_s": (
            cli_median - grading_median
            if cli_median is not None and grading_median is not None
            else None
        ),
        "peak_rss_mib": max(
            (r["peak_rss_mib"] for r in cli_runs if r.get("peak_rss_mib") is not None),
            default=None,
        ),
        "sandbox_runs": sum(row.get("runs", 0) for row in exercises),
        "sandbox_s": sum(row.get("sandbox_s", 0.0) for row in exercises),
        "virtual_sleep_s": sum(row.get("virtual_s", 0.0) for row in exercises),
        "breakdown_isolation": breakdown.get("isolation"),
        "warmup_s": breakdown.get("warmup_s"),
        "exercises": exercises,
        "errors": errors,
    }


if __name__ == "__main__":  # pragma: no cover
    sys.exit(inner_main())
