"""Where learners and classes really are, as ratios to a cold interpreter start in the same run.

Seconds on one machine say little about another; a ratio to `python -I -c "import asyncio"`
(the least any Python program that uses asyncio costs) measured minutes apart on the same
machine does. Every figure here is a median of fresh processes:

- `cold_start`: the unit, `python -I -c "import asyncio"`;
- `curriculum`: `python -m grader --submission SOLUTIONS` (every exercise), once with an empty
  truth cache (a learner's very first grade) and then as every later grade runs it;
- `one_exercise`: `--only ID` for a program to change and for a prediction (the edit-grade loop);
- `watch`: a warm `python -m grader watch` process, from a save to the end of its feedback;
- `user`: the curriculum and one exercise again as an unprivileged user with Debian's
  `/usr/bin/python3` in a fresh venv (root only: the bench creates the user; skipped elsewhere,
  with the reason);
- `distinct_class`: `python -m grader batch` over N copies of the solutions in which every file
  is made unique, so no cache can skip a run, for two class sizes (cost per upload, and how it
  grows with N).

Bytecode is written as on a learner's machine (a `PYTHONDONTWRITEBYTECODE` set for the bench's
own process is not passed on), and each command is run once before it is timed so that `.pyc`
files exist.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .procs import run_measured

#: The user the unprivileged figures run as (created when the bench runs as root).
BENCH_USER = "asyncio-kit-bench"
DEBIAN_PYTHON = Path("/usr/bin/python3")
_TIMEOUT = 600.0
PRODUCE_ID = "sleep0-take-turns"
PREDICT_ID = "sleep-interleave"
WATCHED_FILE = Path("03_sleep") / "04_take_turns.py"
WAITING = "(watching: save again to regrade; Ctrl-C stops)"


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured command: a learner's, bytecode written, plain output."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}
    }
    env.update(NO_COLOR="1", COLUMNS="100")
    env.update(extra or {})
    return env


def median_wall(
    command: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    repeats: int,
    before_each: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run `command` once untimed (bytecode, probe files), then `repeats` times; the median."""
    run_measured(command, cwd=cwd, env=env, timeout=_TIMEOUT)
    walls: list[float] = []
    failures = 0
    for _ in range(repeats):
        if before_each is not None:
            before_each()
        measured = run_measured(command, cwd=cwd, env=env, timeout=_TIMEOUT)
        failures += measured.returncode != 0
        walls.append(measured.wall_s)
    return {"median_s": statistics.median(walls), "runs_s": walls, "failures": failures}


def _ratio(row: dict[str, Any], unit: float) -> dict[str, Any]:
    row["ratio"] = row["median_s"] / unit if unit > 0 else None
    return row


def measure(
    kit_root: Path,
    work: Path,
    *,
    repeats: int,
    class_sizes: Sequence[int],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Every ratio figure, in one run."""
    work.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    env = environment()
    progress("ratios: the cold interpreter start")
    cold = median_wall(
        [python, "-I", "-c", "import asyncio"], cwd=kit_root, env=env, repeats=max(5, repeats)
    )
    unit = cold["median_s"]
    solutions = kit_root / "solutions"
    grade = [python, "-m", "grader", "--submission", str(solutions)]
    cache = work / "truth-cache"
    first_env = environment({"ASYNCIO_KIT_CACHE_DIR": str(cache)})
    progress("ratios: the whole curriculum, first grade and later grades")
    first = median_wall(
        grade,
        cwd=kit_root,
        env=first_env,
        repeats=repeats,
        before_each=lambda: shutil.rmtree(cache, ignore_errors=True),
    )
    later = median_wall(grade, cwd=kit_root, env=first_env, repeats=repeats)
    progress("ratios: one exercise")
    produce = median_wall(
        [*grade, "--only", PRODUCE_ID], cwd=kit_root, env=first_env, repeats=repeats
    )
    predict = median_wall(
        [*grade, "--only", PREDICT_ID], cwd=kit_root, env=first_env, repeats=repeats
    )
    progress("ratios: warm watch, save to feedback")
    watch = watch_latency(kit_root, work / "watch", env=first_env, saves=max(5, repeats))
    progress("ratios: an unprivileged user")
    user = unprivileged(kit_root, repeats=repeats)
    progress("ratios: a class of distinct uploads")
    distinct = distinct_class(kit_root, work / "distinct", class_sizes, env=first_env)
    rows = {
        "cold_start": cold,
        "curriculum_first": _ratio(first, unit),
        "curriculum": _ratio(later, unit),
        "one_exercise_produce": _ratio(produce, unit),
        "one_exercise_predict": _ratio(predict, unit),
        "watch": _ratio(watch, unit) if "median_s" in watch else watch,
    }
    return {
        "unit_s": unit,
        "root": os.geteuid() == 0,
        "rows": rows,
        "user": user,
        "distinct_class": _distinct_ratios(distinct, unit),
    }


def watch_latency(kit_root: Path, work: Path, *, env: dict[str, str], saves: int) -> dict[str, Any]:
    """Seconds from a save to the end of the feedback a warm watch prints for it."""
    folder = work / "exercises"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(kit_root / "solutions", folder)
    target = folder / WATCHED_FILE
    original = target.read_text(encoding="utf-8")
    command = [sys.executable, "-m", "grader", "watch", "--submission", str(folder)]
    latencies: list[float] = []
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command,
        cwd=kit_root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        try:
            if not _read_until(process, "Watching "):
                return {"status": "failed", "reason": "watch did not start"}
            for index in range(saves + 1):
                time.sleep(0.2)  # the poll must see a new modification time
                started = time.perf_counter()
                target.write_text(original + f"\n# save {index}\n", encoding="utf-8")
                if not _read_until(process, WAITING):
                    return {"status": "failed", "reason": "watch stopped answering"}
                if index:  # the first save still pays what warm-up could not load
                    latencies.append(time.perf_counter() - started)
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            if process.poll() is None:
                process.kill()
    return {"median_s": statistics.median(latencies), "runs_s": latencies, "failures": 0}


def _read_until(process: subprocess.Popen[str], marker: str) -> bool:
    """Read the process's output until a line holds `marker`; False if it ended first."""
    assert process.stdout is not None
    return any(marker in line for line in process.stdout)


def unprivileged(kit_root: Path, *, repeats: int) -> dict[str, Any]:
    """The curriculum and one exercise as an ordinary user, or why that was not measured."""
    if os.geteuid() != 0:
        return {"status": "skipped", "reason": "the bench is not root, so it cannot make a user"}
    if not DEBIAN_PYTHON.exists() or shutil.which("useradd") is None:
        return {"status": "skipped", "reason": f"needs {DEBIAN_PYTHON} and useradd"}
    with contextlib.suppress(KeyError):
        pwd.getpwnam(BENCH_USER)
        return _as_user(kit_root, repeats=repeats)
    made = subprocess.run(  # noqa: S603 - fixed arguments
        ["useradd", "--system", "--no-create-home", BENCH_USER],  # noqa: S607
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        return {"status": "skipped", "reason": f"useradd failed: {made.stderr.decode()[:200]}"}
    return _as_user(kit_root, repeats=repeats)


def _as_user(kit_root: Path, *, repeats: int) -> dict[str, Any]:
    entry = pwd.getpwnam(BENCH_USER)
    home = Path(tempfile.mkdtemp(prefix="asyncio-kit-bench-user-"))
    try:
        kit = home / "kit"
        shutil.copytree(
            kit_root,
            kit,
            ignore=shutil.ignore_patterns(".git", ".nox", ".venv", "__pycache__", ".kit-cache"),
        )
        for path in [home, *home.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        runas = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
        env = environment({"HOME": str(home), "PATH": "/usr/bin:/bin"})
        venv = home / "venv"
        setup = subprocess.run(  # noqa: S603 - fixed arguments
            [*runas, str(DEBIAN_PYTHON), "-m", "venv", str(venv)],
            capture_output=True,
            env=env,
            check=False,
        )
        python = venv / "bin" / "python"
        if setup.returncode == 0:
            setup = subprocess.run(  # noqa: S603 - fixed arguments
                [
                    *runas,
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "pytest",
                    "pytest-timeout",
                    "rich",
                ],
                capture_output=True,
                env=env,
                check=False,
            )
        if setup.returncode != 0:
            return {
                "status": "skipped",
                "reason": "could not set up the user's venv: "
                + setup.stderr.decode(errors="replace")[-300:],
            }
        cold = median_wall(
            [*runas, str(python), "-I", "-c", "import asyncio"],
            cwd=kit,
            env=env,
            repeats=max(5, repeats),
        )
        grade = [*runas, str(python), "-m", "grader", "--submission", str(kit / "solutions")]
        whole = median_wall(grade, cwd=kit, env=env, repeats=repeats)
        one = median_wall([*grade, "--only", PRODUCE_ID], cwd=kit, env=env, repeats=repeats)
        probe = subprocess.run(  # noqa: S603 - fixed arguments
            [*grade, "--only", PRODUCE_ID, "--json", str(home / "r.json")],
            cwd=kit,
            env=env,
            capture_output=True,
            check=False,
        )
        layer = ""
        with contextlib.suppress(OSError, ValueError):
            import json  # noqa: PLC0415 - only for this read

            layer = json.loads((home / "r.json").read_text())["isolation"]
        unit = cold["median_s"]
        return {
            "status": "measured" if probe.returncode == 0 else "failed",
            "python": str(DEBIAN_PYTHON),
            "isolation": layer,
            "unit_s": unit,
            "rows": {
                "cold_start": cold,
                "curriculum": _ratio(whole, unit),
                "one_exercise_produce": _ratio(one, unit),
            },
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def distinct_class(
    kit_root: Path, work: Path, sizes: Sequence[int], *, env: dict[str, str]
) -> list[dict[str, Any]]:
    """Batch over N uploads that are all different (each file of the solutions made unique)."""
    rows = []
    for n in sizes:
        folder = work / f"n{n}"
        shutil.rmtree(folder, ignore_errors=True)
        submissions = folder / "submissions"
        for index in range(n):
            upload = submissions / f"student{index:04d}"
            shutil.copytree(kit_root / "solutions", upload)
            for path in upload.rglob("*.py"):
                with path.open("a", encoding="utf-8") as stream:
                    stream.write(f"\n# upload {index}: {path.name}\n")
        command = [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(submissions),
            "--regrade",
            "--csv",
            str(folder / "grades.csv"),
            "--feedback",
            str(folder / "feedback"),
            "--any-python",  # speed on the Python that runs the bench, not the class's
        ]
        measured = run_measured(command, cwd=kit_root, env=env, timeout=_TIMEOUT)
        rows.append(
            {
                "n": n,
                "status": "measured" if measured.returncode == 0 else "failed",
                "wall_s": measured.wall_s,
                "per_upload_s": measured.wall_s / n,
                "peak_rss_mib": measured.peak_rss_mib,
            }
        )
        shutil.rmtree(submissions, ignore_errors=True)
    return rows


def _distinct_ratios(rows: list[dict[str, Any]], unit: float) -> dict[str, Any]:
    measured = [row for row in rows if row["status"] == "measured"]
    for row in measured:
        row["ratio"] = row["per_upload_s"] / unit if unit > 0 else None
    growth = None
    if len(measured) >= 2:  # noqa: PLR2004 - two sizes give a slope
        small, large = measured[0], measured[-1]
        growth = (large["wall_s"] - small["wall_s"]) / (large["n"] - small["n"])
    return {
        "rows": rows,
        "marginal_per_upload_s": growth,
        "marginal_ratio": growth / unit if growth is not None and unit > 0 else None,
    }
