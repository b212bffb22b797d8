"""`python -m grader.bench` (what `nox -s bench` runs): measure grading speed, print, save JSON.

    python -m grader.bench [--sizes 25,50,100,200] [--baseline 3] [--json bench-results.json]
                           [--keep DIR] [--jobs N] [--repeats 3] [--budget 720] [--seed 0]
                           [--only ID ...]
    python -m grader.bench --show bench-results.json

In one run: one learner's whole curriculum (`learner`), the naive baseline on a few synthetic
submissions (`naive`), then a synthetic class for each N (`synth`, `cohort`), and the figures
derived from them (`figures`): growth with N, the ratio to the baseline, the kit's speed targets.
The tables (`tables`) are drawn from the results JSON, which is written whole at the end.

`--budget` keeps a run on a slow grader bounded: before each class size the bench predicts its
cost from the last size measured, and skips it (saying so) if it would end past the budget.

Exit status: 0 when the bench ran (whatever the figures), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from grader.bench import cohort, figures, learner, naive, ratios, synth, tables
from grader.model import curriculum as curriculum_module
from grader.model.fsutil import atomic_write
from grader.model.kit import Kit, KitError

EXIT_OK = 0
EXIT_USAGE = 2
SCHEMA = 1
DEFAULT_SIZES = (25, 50, 100, 200)
#: The kinds the naive baseline samples, in turn (hostile ones would only measure its timeout).
BASELINE_KINDS = ("correct", "partial", "wrong", "broken")
_LOG_WIDTH = 120


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        msg = f"--sizes wants numbers separated by commas, like 25,50,100,200; not {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not sizes or sizes[0] < 1:
        msg = "--sizes wants at least one class size, each at least 1"
        raise argparse.ArgumentTypeError(msg)
    return sizes


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader.bench`."""
    parser = argparse.ArgumentParser(
        prog="python -m grader.bench",
        description="Measure how fast the kit grades: one learner, a class, the naive baseline.",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=DEFAULT_SIZES,
        metavar="N,N,...",
        help="class sizes to grade with batch (default: 25,50,100,200)",
    )
    parser.add_argument(
        "--baseline",
        type=int,
        default=3,
        metavar="K",
        help="submissions the naive baseline grades, extrapolated to each N (default 3)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=Path("bench-results.json"),
        metavar="PATH",
        help="results file (default: bench-results.json)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the generated submissions and outputs in DIR (default: a temporary folder)",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="passed to batch (default: its own)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        metavar="R",
        help="fresh-process runs of the one-learner figures; the median is shown (default 3)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=720.0,
        metavar="S",
        help="skip a class size predicted to end more than S seconds after the first class "
        "started (default 720; 0: no limit)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the synthetic submissions (default 0)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="ID", default=None, help="grade only these exercise ids"
    )
    parser.add_argument(
        "--distinct",
        type=_sizes,
        default=(10, 30),
        metavar="N,N",
        help="sizes of the class of distinct uploads (default 10,30)",
    )
    parser.add_argument(
        "--no-ratios",
        action="store_true",
        help="skip the figures against a cold interpreter start (cold start, watch, user...)",
    )
    parser.add_argument(
        "--show", type=Path, default=None, metavar="PATH", help="print a saved results file"
    )
    return parser


def _git(root: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - git, fixed arguments
            [git, *args], cwd=root, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _loadavg() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


def machine() -> dict[str, Any]:
    """The machine and interpreter the figures come from."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": os.cpu_count(),
        "usable_cpus": usable,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "isolation_env": os.environ.get("ASYNCIO_KIT_ISOLATION"),
        "limits_env": os.environ.get("ASYNCIO_KIT_LIMITS"),
        "loadavg_start": _loadavg(),
    }


def kit_digest(kit: Kit) -> str:
    """A hash of the kit's grader, curriculum and solutions, to notice a change during a run.

    Several people may work in one tree: a curriculum or grader edit in the middle of a run
    would make its figures (and its full-marks check) mix two versions.
    """
    digest = hashlib.sha256()
    for folder in (kit.root / "grader", kit.exercises, kit.solutions):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(kit.root).as_posix().encode() + b"\0")
                with contextlib.suppress(OSError):
                    digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write the results whole, then move them into place."""
    atomic_write(path, json.dumps(data, indent=2) + "\n")


class Bench:
    """One run of the benchmark: its options, folders and console."""

    def __init__(self, args: argparse.Namespace, kit: Kit, console: Console) -> None:
        self.args = args
        self.kit = kit
        self.console = console
        self.exercises = curriculum_module.load(kit.curriculum_file)
        self.started = time.perf_counter()
        self.problems: list[str] = []

    def progress(self, message: str) -> None:
        """A progress line on stderr's console, with the time since the bench started."""
        elapsed = time.perf_counter() - self.started
        self.console.print(Text(f"[{elapsed:6.1f} s] {message}", style="dim"))

    def run(self, work: Path) -> dict[str, Any]:
        """Every measurement, in order; the results data."""
        args = self.args
        results: dict[str, Any] = {
            "schema": SCHEMA,
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "kit": {
                "root": str(self.kit.root),
                "commit": _git(self.kit.root, "rev-parse", "--short=12", "HEAD"),
                "dirty": bool(_git(self.kit.root, "status", "--porcelain", "--untracked-files=no")),
                "digest": kit_digest(self.kit),
            },
            "options": {
                "sizes": list(args.sizes),
                "baseline": args.baseline,
                "jobs": args.jobs,
                "batch_jobs": args.jobs or os.cpu_count() or 1,
                "repeats": args.repeats,
                "budget_s": args.budget,
                "seed": args.seed,
                "only": args.only,
            },
        }
        only = args.only
        if not args.no_ratios:
            results["cold_ratios"] = ratios.measure(
                self.kit.root,
                work / "ratios",
                repeats=args.repeats,
                class_sizes=args.distinct,
                progress=self.progress,
            )
        results["learner"] = learner.measure(
            self.kit.root,
            self.kit.solutions,
            work / "learner",
            only=only,
            repeats=args.repeats,
            progress=self.progress,
        )
        self.problems += [f"one learner: {e}" for e in results["learner"]["errors"]]
        results["baseline"] = self._baseline(work / "baseline", results["learner"]["exercises"])
        results["class"] = self._classes(work / "class")
        mean = results["baseline"].get("mean_s")
        figures.add_naive(results["class"], mean)
        results["growth"] = figures.growth(results["class"])
        results["ratios"] = {
            str(row["n"]): row["speedup"] for row in results["class"] if row.get("speedup")
        }
        targets = figures.targets(results["learner"], results["class"], mean)
        results["targets"] = [target.to_json() for target in targets]
        results["machine"]["loadavg_end"] = _loadavg()
        results["kit"]["digest_end"] = kit_digest(self.kit)
        if results["kit"]["digest_end"] != results["kit"]["digest"]:
            self.problems.append(
                "the kit (grader, exercises or solutions) changed while the bench ran: the "
                "figures mix two versions and generated uploads may miss new exercises; run again"
            )
        results["seconds"] = time.perf_counter() - self.started
        results["problems"] = self.problems
        return results

    def _baseline(self, work: Path, exercises: list[dict[str, Any]]) -> dict[str, Any]:
        count = max(0, self.args.baseline)
        sample = [
            synth.generate_one(
                self.kit,
                self.exercises,
                BASELINE_KINDS[index % len(BASELINE_KINDS)],
                work / "submissions" / f"b{index + 1:03d}",
                rng=random.Random(f"{self.args.seed}:baseline:{index}"),  # noqa: S311 - seeded
            )
            for index in range(count)
        ]
        if not exercises:
            self.problems.append("naive baseline: no per-exercise calls recorded; main() only")
            exercises = [
                {"id": e.id, "kind": e.kind, "file": e.file}
                for e in self.exercises
                if e.supported() and (self.args.only is None or e.id in self.args.only)
            ]
        return naive.measure(
            sample, exercises, work / "tests", self.kit.root, progress=self.progress
        )

    def _classes(self, work: Path) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        budget = self.args.budget
        first: float | None = None
        per_upload: float | None = None
        for n in self.args.sizes:
            now = time.perf_counter()
            spent = now - first if first is not None else 0.0
            if budget > 0 and per_upload is not None and spent + per_upload * n > budget:
                reason = (
                    f"predicted {per_upload * n:.0f} s at {per_upload * 1000:.0f} ms per "
                    f"upload would end past the {budget:g} s budget ({spent:.0f} s spent; "
                    "--budget 0 runs it)"
                )
                rows.append({"n": n, "status": "skipped", "reason": reason})
                self.progress(f"class of {n}: skipped, {reason}")
                continue
            first = now if first is None else first
            folder = work / f"n{n}"
            if folder.exists():
                shutil.rmtree(folder)
            self.progress(f"class of {n}: generating the submissions")
            uploads = synth.generate_class(
                self.kit, self.exercises, n, folder / "submissions", self.args.seed
            )
            write_json(folder / "manifest.json", {"uploads": [u.to_json() for u in uploads]})
            self.progress(f"class of {n}: grading with batch")
            row = cohort.measure(
                n,
                uploads,
                folder / "submissions",
                folder / "out",
                self.kit.root,
                jobs=self.args.jobs,
                only=self.args.only,
            )
            rows.append(row)
            if row["status"] == "measured":
                per_upload = row["per_submission_s"]
                self.progress(f"class of {n}: {row['wall_s']:.1f} s")
            else:
                self.problems.append(f"class of {n}: {row.get('reason')}")
        return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(width=_LOG_WIDTH)  # logs and CI: wide enough for the tables
    if args.show is not None:
        try:
            tables.show(console, json.loads(args.show.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as exc:
            console.print(Text(f"usage error: cannot show {args.show}: {exc}", style="red"))
            return EXIT_USAGE
        return EXIT_OK
    kit = Kit.installed()
    try:
        bench = Bench(args, kit, console)
    except KitError as exc:
        console.print(Text(f"the kit is broken: {exc}", style="red"))
        return EXIT_USAGE
    known = {exercise.id for exercise in bench.exercises}
    unknown = sorted(set(args.only or ()) - known)
    if (
        unknown
        or args.baseline < 0
        or args.repeats < 1
        or (args.jobs is not None and args.jobs < 1)
    ):
        problem = (
            f"unknown exercise id(s): {', '.join(unknown)}"
            if unknown
            else "--baseline must be 0 or more, --repeats and --jobs at least 1"
        )
        console.print(Text(f"usage error: {problem}", style="red"))
        return EXIT_USAGE
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = bench.run(args.keep.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="asyncio-kit-bench-") as work:
            results = bench.run(Path(work))
    write_json(args.json, results)
    tables.show(console, results)
    console.print(Text(f"results: {args.json}"))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
