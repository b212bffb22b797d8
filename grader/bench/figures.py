"""The benchmark's derived figures: how cost grows with N, the naive ratios, the speed targets.

Pure functions over the measured rows, kept apart from the measuring so that each can be read
(and checked) on its own. The targets are information, never assertions: a slow machine or a
loaded one misses them without anything failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: The speed targets: one learner in about a second, a class of 200 in about 20 s.
LEARNER_TARGET_S = 1.0
CLASS_N = 200
CLASS_TARGET_S = 20.0
PER_SUBMISSION_TARGET_S = 0.1
MEMORY_TARGET_MIB = 1024.0
SPEEDUP_TARGET = 50.0
#: "Linear": the per-submission cost at the largest N is at most this multiple of the smallest's.
LINEAR_TOLERANCE = 1.25


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """Least-squares slope and intercept of ys over xs; None with fewer than two distinct xs."""
    if len(xs) != len(ys) or len(set(xs)) < 2:  # noqa: PLR2004 - a line needs two points
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x


def measured(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The class rows that were measured (not skipped, not failed), by N."""
    return sorted((r for r in rows if r.get("status") == "measured"), key=lambda r: r["n"])


def growth(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How the class's wall time grows with N: fitted slope and intercept, per-submission ratio."""
    done = measured(rows)
    fit = linear_fit([r["n"] for r in done], [r["wall_s"] for r in done])
    ratio = None
    if len(done) >= 2 and done[0]["per_submission_s"] > 0:  # noqa: PLR2004
        ratio = done[-1]["per_submission_s"] / done[0]["per_submission_s"]
    return {
        "sizes": [r["n"] for r in done],
        "slope_s_per_submission": fit[0] if fit else None,
        "intercept_s": fit[1] if fit else None,
        "per_submission_ratio": ratio,
        "linear": ratio <= LINEAR_TOLERANCE if ratio is not None else None,
    }


def class_wall_at(rows: Sequence[dict[str, Any]], n: int) -> tuple[float | None, str]:
    """The class wall time at N=n: measured, else extrapolated from the fit; and how it was got."""
    done = measured(rows)
    for row in done:
        if row["n"] == n:
            return row["wall_s"], "measured"
    fit = linear_fit([r["n"] for r in done], [r["wall_s"] for r in done])
    if fit is not None:
        sizes = ",".join(str(r["n"]) for r in done)
        return fit[1] + fit[0] * n, f"extrapolated from N={sizes}"
    if done:
        row = done[-1]
        return row["per_submission_s"] * n, f"extrapolated from N={row['n']}"
    return None, "not measured"


def add_naive(rows: Sequence[dict[str, Any]], naive_mean_s: float | None) -> None:
    """Put the naive baseline extrapolated to each N, and the speed-up, on each class row."""
    for row in rows:
        extrapolated = naive_mean_s * row["n"] if naive_mean_s is not None else None
        row["naive_extrapolated_s"] = extrapolated
        wall = row.get("wall_s") if row.get("status") == "measured" else None
        row["speedup"] = extrapolated / wall if extrapolated is not None and wall else None


@dataclass(frozen=True)
class Target:
    """One of the speed targets, the figure measured for it, and whether it was met."""

    name: str
    target: str
    value: float | None
    shown: str
    met: bool | None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """For the results file."""
        return {
            "name": self.name,
            "target": self.target,
            "value": self.value,
            "shown": self.shown,
            "met": self.met,
            "note": self.note,
        }


def _check(value: float | None, ok: bool) -> bool | None:
    return None if value is None else ok


def targets(
    learner: dict[str, Any], rows: Sequence[dict[str, Any]], naive_mean_s: float | None
) -> list[Target]:
    """The speed targets against this run's figures."""
    grading = learner.get("grading_median_s")
    wall, how = class_wall_at(rows, CLASS_N)
    per = wall / CLASS_N if wall is not None else None
    grow = growth(rows)
    ratio = grow["per_submission_ratio"]
    peaks = [r["peak_rss_mib"] for r in measured(rows) if r.get("peak_rss_mib") is not None]
    peak = max(peaks) if peaks else None
    naive = naive_mean_s * CLASS_N if naive_mean_s is not None else None
    speedup = naive / wall if naive is not None and wall else None
    grading_shown = "-" if grading is None else f"{grading:.2f} s"
    note = "" if how == "measured" else how
    return [
        Target(
            "one learner: grading after start-up",
            f"< {LEARNER_TARGET_S:g} s",
            grading,
            grading_shown,
            _check(grading, grading is not None and grading < LEARNER_TARGET_S),
        ),
        Target(
            f"class of {CLASS_N}: total wall",
            f"< {CLASS_TARGET_S:g} s",
            wall,
            "-" if wall is None else f"{wall:.1f} s",
            _check(wall, wall is not None and wall < CLASS_TARGET_S),
            note,
        ),
        Target(
            f"class of {CLASS_N}: per submission",
            f"< {PER_SUBMISSION_TARGET_S * 1000:g} ms",
            per,
            "-" if per is None else f"{per * 1000:.0f} ms",
            _check(per, per is not None and per < PER_SUBMISSION_TARGET_S),
            note,
        ),
        Target(
            "class: cost linear in N",
            f"per-submission cost at largest N <= {LINEAR_TOLERANCE:g}x smallest",
            ratio,
            "-" if ratio is None else f"{ratio:.2f}x",
            grow["linear"],
        ),
        Target(
            "class: peak memory (process tree)",
            f"< {MEMORY_TARGET_MIB / 1024:g} GiB",
            peak,
            "-" if peak is None else f"{peak:.0f} MiB",
            _check(peak, peak is not None and peak < MEMORY_TARGET_MIB),
        ),
        Target(
            f"class of {CLASS_N}: vs naive baseline",
            f">= {SPEEDUP_TARGET:g}x faster",
            speedup,
            "-" if speedup is None else f"{speedup:.1f}x",
            _check(speedup, speedup is not None and speedup >= SPEEDUP_TARGET),
            note,
        ),
    ]
