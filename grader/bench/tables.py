"""The benchmark's tables on the terminal (rich), all drawn from the results JSON.

Drawing only from the results data means a saved `bench-results.json` shows the same tables
again (`python -m grader.bench --show PATH`), and two versions can be compared side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.bench.synth import KINDS


def _s(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f} s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MiB"


def _mark(met: bool | None) -> Text:
    if met is None:
        return Text("- n/a", style="dim")
    return Text("✓ pass", style="green") if met else Text("✗ miss", style="red")


def machine_table(results: dict[str, Any]) -> Table:
    """Where and with what the figures were measured."""
    machine, kit, learner = results["machine"], results["kit"], results["learner"]
    table = Table(title="Machine and grader", show_header=False)
    table.add_column("what")
    table.add_column("value")
    cores = f"{machine['cpus']} ({machine['usable_cpus']} usable by this process)"
    table.add_row("cores", cores)
    table.add_row("python", Text(f"{machine['python']} ({machine['implementation']})"))
    table.add_row("platform", Text(machine["platform"]))
    commit = kit.get("commit") or "-"
    table.add_row("kit commit", Text(f"{commit}{' (+ local changes)' if kit.get('dirty') else ''}"))
    table.add_row("isolation (one learner)", Text(str(learner.get("isolation") or "-")))
    batch = sorted({layer for row in results["class"] for layer in row.get("isolation", [])})
    table.add_row("isolation (batch)", Text(", ".join(batch) or "-"))
    start, end = machine.get("loadavg_start"), machine.get("loadavg_end")
    if start and end:
        table.add_row("load average (1 min)", f"{start[0]:.2f} at start, {end[0]:.2f} at end")
    table.add_row("batch jobs", str(results.get("options", {}).get("batch_jobs", "-")))
    table.add_row("bench wall", _s(results.get("seconds"), 0))
    return table


def learner_table(learner: dict[str, Any], target: dict[str, Any] | None) -> Table:
    """One learner, the whole curriculum."""
    submission = learner.get("submission", "")
    table = Table(title=f"One learner, whole curriculum ({submission})", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("how", style="dim")
    walls = ", ".join(f"{w:.2f}" for w in learner.get("cli_wall_s", []))
    table.add_row(
        "python -m grader, process wall",
        _s(learner.get("cli_median_s")),
        f"median of {walls or '-'} s (start and exit included)",
    )
    grading = learner.get("grading_median_s")
    row = Text(_s(grading))
    if target is not None:
        row.append("  ").append_text(_mark(target["met"]))
    table.add_row(
        "grading after start-up",
        row,
        "grade() in a fresh process after its imports, cold",
    )
    startup = learner.get("startup_s")
    noise = " (< 0: within the noise)" if startup is not None and startup < 0 else ""
    table.add_row(
        "start-up and exit",
        _s(startup),
        f"the two above subtracted{noise}; imports {_s(learner.get('import_median_s'))}",
    )
    table.add_row(
        "sandbox runs",
        str(learner.get("sandbox_runs", "-")),
        f"{_s(learner.get('sandbox_s'))} inside them (breakdown below, cold)",
    )
    table.add_row(
        "real-clock sleep avoided",
        _s(learner.get("virtual_sleep_s"), 1),
        "virtual end time of every distinct run, summed",
    )
    table.add_row("peak memory", _mib(learner.get("peak_rss_mib")), "RSS summed over its tree")
    table.add_row(
        "score", f"{learner.get('score', '-')}/{learner.get('max_score', '-')}", "sanity check"
    )
    return table


def exercise_table(learner: dict[str, Any]) -> Table:
    """Where one learner's grading time goes, exercise by exercise."""
    table = Table(title="Per exercise (grade(kit, solutions, {id}) in one process)")
    for name, justify in [
        ("exercise", "left"),
        ("kind", "left"),
        ("status", "left"),
        ("cold", "right"),
        ("warm", "right"),
        ("runs", "right"),
        ("in sandbox", "right"),
        ("would sleep", "right"),
    ]:
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    rows = learner.get("exercises", [])
    for row in rows:
        table.add_row(
            Text(row["id"]),
            row["kind"],
            row["status"],
            _s(row.get("cold_s")),
            _s(row.get("warm_s")),
            str(row.get("runs", "-")),
            _s(row.get("sandbox_s")),
            _s(row.get("virtual_s"), 1),
        )
    if rows:
        table.add_section()
        table.add_row(
            "total",
            "",
            "",
            _s(sum(r.get("cold_s", 0.0) for r in rows)),
            _s(sum(r.get("warm_s", 0.0) for r in rows)),
            str(sum(r.get("runs", 0) for r in rows)),
            _s(sum(r.get("sandbox_s", 0.0) for r in rows)),
            _s(sum(r.get("virtual_s", 0.0) for r in rows), 1),
        )
    table.caption = (
        "cold: first grading of the exercise in the process (truth and reference runs "
        "included); warm: again, those cached; each includes a pytest session's overhead"
    )
    return table


def class_table(results: dict[str, Any]) -> Table:
    """The class, N by N, beside the naive baseline extrapolated to the same N."""
    table = Table(title="A class graded with `python -m grader batch` vs the naive baseline")
    for name in [
        "N",
        "wall",
        "per upload",
        "median student",
        "peak memory",
        "procs",
        "graded",
        "correct: full marks",
        "naive (est.)",
        "speed-up",
    ]:
        table.add_column(name, justify="right")
    notes: list[str] = []
    for row in results["class"]:
        if row.get("status") != "measured":
            status = Text(str(row.get("status")), style="yellow")
            table.add_row(str(row["n"]), status, *[""] * 7, _s(row.get("naive_extrapolated_s"), 0))
            notes.append(f"N={row['n']}: {row.get('reason', '')}")
            continue
        correct = row.get("kinds", {}).get("correct")
        full = f"{correct['full_marks']}/{correct['count']}" if correct else "-"
        speedup = row.get("speedup")
        table.add_row(
            str(row["n"]),
            _s(row["wall_s"], 1),
            _ms(row["per_submission_s"]),
            _s(row.get("median_student_s"), 1),
            _mib(row.get("peak_rss_mib")),
            str(row.get("peak_processes") or "-"),
            f"{row.get('graded', 0)}/{row['n']}",
            full,
            _s(row.get("naive_extrapolated_s"), 0),
            "-" if speedup is None else f"{speedup:.1f}x",
        )
    growth = results.get("growth", {})
    slope, ratio = growth.get("slope_s_per_submission"), growth.get("per_submission_ratio")
    if slope is not None:
        notes.insert(
            0,
            f"cost growth: {slope * 1000:.0f} ms per extra upload (least squares, intercept "
            f"{growth.get('intercept_s', 0.0):.1f} s); per-upload cost at the largest N is "
            f"{ratio:.2f}x the smallest's",
        )
    if notes:
        table.caption = "\n".join(notes)
    return table


def mix_table(results: dict[str, Any]) -> Table | None:
    """What the class held and how each kind scored, for the largest class measured."""
    done = [row for row in results["class"] if row.get("status") == "measured"]
    if not done:
        return None
    row = done[-1]
    table = Table(title=f"The class of {row['n']}: kinds of upload and their grades")
    for name in ["kind", "uploads", "graded", "mean total", "full marks"]:
        table.add_column(name, justify="right" if name != "kind" else "left")
    kinds: dict[str, Any] = row.get("kinds", {})
    for kind in KINDS:
        entry = kinds.get(kind)
        if entry is None:
            continue
        mean = entry.get("mean_total")
        table.add_row(
            kind,
            str(entry["count"]),
            str(entry["graded"]),
            "-" if mean is None else f"{mean:.1f}/{entry.get('max') or 0:g}",
            str(entry["full_marks"]),
        )
    return table


def naive_table(baseline: dict[str, Any]) -> Table:
    """The naive baseline's sample, one fresh pytest process per submission."""
    table = Table(title="Naive baseline: a fresh pytest per submission, real clock, no sandbox")
    for name in ["submission", "kind", "wall", "passed", "failed", "errors", "timed out"]:
        table.add_column(name, justify="left" if name in {"submission", "kind"} else "right")
    for row in baseline.get("submissions", []):
        table.add_row(
            Text(row["student"]),
            row["kind"],
            _s(row["wall_s"], 1),
            str(row["passed"]),
            str(row["failed"]),
            str(row["errors"]),
            "yes" if row["timed_out"] else "no",
        )
    table.caption = (
        f"mean {_s(baseline.get('mean_s'), 1)} per submission; "
        f"{baseline.get('cases_per_submission')} calls each, "
        f"{_s(baseline.get('real_sleep_s'), 1)} of real sleeping for a correct one"
    )
    return table


def targets_table(targets: Sequence[dict[str, Any]]) -> Table:
    """The kit's speed targets beside this run's figures (information, not a verdict)."""
    table = Table(title="Targets for grading speed")
    for name in ["target", "wanted", "measured", "", "note"]:
        table.add_column(name)
    for target in targets:
        table.add_row(
            Text(target["name"]),
            Text(target["target"]),
            Text(target["shown"]),
            _mark(target["met"]),
            Text(target.get("note", ""), style="dim"),
        )
    return table


#: The ceilings the cold-start ratios are read against (information, not a verdict).
RATIO_TARGETS = {
    "curriculum": 10.0,
    "one_exercise_produce": 8.0,
    "one_exercise_predict": 8.0,
    "watch": 2.0,
}
_RATIO_LABELS = {
    "curriculum_first": "whole curriculum, first grade (empty truth cache)",
    "curriculum": "whole curriculum",
    "one_exercise_produce": "one exercise (a program to change)",
    "one_exercise_predict": "one exercise (a prediction)",
    "watch": "warm watch, save to feedback",
}


def _distinct_rows(table: Table, distinct: dict[str, Any], who: str) -> None:
    """The class of distinct uploads: cost per upload at each size, and per extra upload."""
    for row in distinct.get("rows", []):
        if row.get("status") != "measured":
            continue
        ratio = row.get("ratio")
        table.add_row(
            f"class of {row['n']} distinct uploads, per upload",
            who,
            _ms(row["per_upload_s"]),
            "-" if ratio is None else f"{ratio:.1f}x",
            "<= 2x",
            _mark(None if ratio is None else ratio <= 2.0),  # noqa: PLR2004 - the ceiling shown
        )
    marginal = distinct.get("marginal_ratio")
    if marginal is not None:
        table.add_row(
            "distinct class, each extra upload",
            who,
            _ms(distinct["marginal_per_upload_s"]),
            f"{marginal:.1f}x",
            "<= 2x",
            _mark(marginal <= 2.0),  # noqa: PLR2004 - the ceiling shown
        )


def ratio_table(ratios: dict[str, Any]) -> Table:
    """Each figure as a multiple of a cold `python -I -c "import asyncio"` in the same run."""
    unit = ratios["unit_s"]
    table = Table(title=f"Against a cold interpreter start ({_ms(unit)} = 1x)")
    for column in ("figure", "as", "median", "x cold start", "ceiling", "met"):
        table.add_column(column, justify="left" if column in {"figure", "as"} else "right")

    def add(who: str, name: str, row: dict[str, Any]) -> None:
        if "median_s" not in row:
            table.add_row(
                _RATIO_LABELS.get(name, name), who, "-", "-", "", Text(row.get("reason", ""))
            )
            return
        ceiling = RATIO_TARGETS.get(name)
        ratio = row.get("ratio")
        met = None if ceiling is None or ratio is None else ratio <= ceiling
        table.add_row(
            _RATIO_LABELS.get(name, name),
            who,
            _ms(row["median_s"]),
            "-" if ratio is None else f"{ratio:.1f}x",
            "" if ceiling is None else f"<= {ceiling:g}x",
            _mark(met),
        )

    who = "root" if ratios.get("root") else "this user"
    for name, row in ratios["rows"].items():
        if name != "cold_start":
            add(who, name, row)
    user = ratios.get("user", {})
    if user.get("status") == "measured":
        for name, row in user["rows"].items():
            if name != "cold_start":
                add(f"unprivileged ({user.get('isolation') or '?'})", name, row)
    else:
        table.add_row("unprivileged user", "", "-", "-", "", Text(str(user.get("reason", ""))))
    _distinct_rows(table, ratios.get("distinct_class", {}), who)
    return table


def show(console: Console, results: dict[str, Any]) -> None:
    """Every table of a results file."""
    targets = results.get("targets", [])
    learner_target = next((t for t in targets if t["name"].startswith("one learner")), None)
    console.print(machine_table(results))
    if "cold_ratios" in results:
        console.print(ratio_table(results["cold_ratios"]))
    console.print(learner_table(results["learner"], learner_target))
    console.print(exercise_table(results["learner"]))
    console.print(naive_table(results["baseline"]))
    console.print(class_table(results))
    mix = mix_table(results)
    if mix is not None:
        console.print(mix)
    console.print(targets_table(targets))
    for problem in results.get("problems", []):
        console.print(Text(f"problem: {problem}", style="yellow"))
