"""Timelines as inline SVG, for the HTML feedback page: no script, no font, no network.

The same `timeline.Timeline` the terminal draws, drawn for a browser: one column per task with
its lane line (solid while it waits or is ready, dashed while it sleeps), a dot where it printed,
each row a step down in virtual time, rows that differ from the prediction tinted. Text that is
too long for its column is cut with an ellipsis and given in full as a tooltip. Every piece of
learner text is XML-escaped: a printed `<script>` stays text.

Example:
    >>> from grader.feedback.timeline import Timeline, Row
    >>> svg = to_svg(Timeline("t", ("main",), (Row(0, "print", "<hi>", 0, 1),), timed=True))
    >>> "&lt;hi&gt;" in svg and "<hi>" not in svg
    True

"""

from __future__ import annotations

from html import escape

from grader.feedback.timeline import ALIVE, EXTRA, MISSED, MOVED, SLEEPING, Row, Timeline, seconds

ROW = 22
CHAR = 7.2  # width of one character of the 12 px monospace font, near enough
LANE_MIN = 130
LANE_MAX = 250
TOP = 48
_MARK_FILL = {MOVED: "#fde2e1", EXTRA: "#fff1c2", MISSED: "#fde2e1"}
_MARK_GLYPH = {MOVED: "✗", EXTRA: "+", MISSED: "\u2212"}  # U+2212: a minus sign
_MARK_COLOR = {MOVED: "#b3261e", EXTRA: "#8a6100", MISSED: "#b3261e"}


def _text(text: str) -> str:
    return escape(text, quote=True)


def _fit(text: str, width: float) -> str:
    limit = max(4, int(width / CHAR))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lane_width(timeline: Timeline) -> int:
    longest = max(
        [len(row.text) for row in timeline.rows if row.lane >= 0]
        + [len(label) for label in timeline.lanes]
        + [8]
    )
    return int(min(LANE_MAX, max(LANE_MIN, longest * CHAR + 24)))


def to_svg(timeline: Timeline) -> str:
    """One timeline as a standalone `<svg>` element (to inline in HTML)."""
    return "\n".join(_Drawing(timeline).parts())


class _Drawing:
    """The geometry of one timeline picture and the SVG elements that draw it."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.lane_width = _lane_width(timeline)
        self.number_x = 18 + 24
        self.time_x = 18 + 30
        self.left = 18 + 30 + (52 if timeline.timed else 0)
        lanes_end = self.left + self.lane_width * max(1, len(timeline.lanes)) + 8
        # Wide enough for the title and the legend too (proportional text, ~7 px a character).
        words = max([len(timeline.title), *(len(item) for item in timeline.legend)])
        self.width = max(lanes_end, int(words * 7.4) + 12)
        self.legend_top = TOP + ROW * len(timeline.rows) + 14
        self.height = self.legend_top + 16 * len(timeline.legend) + 6

    def lane_x(self, lane: int) -> int:
        """Where a lane's line runs."""
        return self.left + lane * self.lane_width + 5

    def parts(self) -> list[str]:
        """Every element, in drawing order."""
        timeline, width, height = self.timeline, self.width, self.height
        title = _text(timeline.title)
        parts = [
            (
                f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
                f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
                f'aria-label="{title}" font-family="ui-monospace, Menlo, Consolas, monospace" '
                'font-size="12">'
            ),
            f"<title>{title}</title>",
            (
                '<text x="4" y="16" font-weight="bold" font-family="system-ui, sans-serif" '
                f'font-size="13">{title}</text>'
            ),
        ]
        if timeline.timed:
            parts.append(f'<text x="{self.time_x}" y="38" fill="#777">time</text>')
        for lane, label in enumerate(timeline.lanes):
            parts.append(
                f'<text class="lane-label" x="{self.lane_x(lane) - 5}" y="38" font-weight="bold">'
                f"<title>{_text(label)}</title>{_text(_fit(label, self.lane_width - 8))}</text>"
            )
        parts.append(f'<line x1="4" y1="{TOP - 6}" x2="{width - 4}" y2="{TOP - 6}" stroke="#ccc"/>')
        previous_time: int | None = None
        for number, row in enumerate(timeline.rows):
            show_time = row.t_ns is not None and row.t_ns != previous_time
            if row.t_ns is not None:
                previous_time = row.t_ns
            parts.extend(self.row(row, TOP + number * ROW, show_time=show_time))
        parts.extend(
            f'<text x="4" y="{self.legend_top + 16 * number}" fill="#666" '
            f'font-family="system-ui, sans-serif">{_text(item)}</text>'
            for number, item in enumerate(timeline.legend)
        )
        parts.append("</svg>")
        return parts

    def row(self, row: Row, y: int, *, show_time: bool) -> list[str]:
        """The elements of one row: tint and mark, number, time, lane lines, its own content."""
        parts: list[str] = []
        middle = y + ROW // 2
        if row.mark:
            parts.append(
                f'<rect x="2" y="{y}" width="{self.width - 4}" height="{ROW}" '
                f'fill="{_MARK_FILL[row.mark]}" rx="3"/>'
            )
            parts.append(
                f'<text x="5" y="{middle + 4}" fill="{_MARK_COLOR[row.mark]}" '
                f'font-weight="bold">{_MARK_GLYPH[row.mark]}</text>'
            )
        if row.number is not None:
            parts.append(
                f'<text x="{self.number_x}" y="{middle + 4}" fill="#888" '
                f'text-anchor="end">{row.number}</text>'
            )
        if self.timeline.timed and show_time and row.t_ns is not None:
            label = seconds(row.t_ns)
            parts.append(f'<text x="{self.time_x}" y="{middle + 4}" fill="#0b6e8a">{label}</text>')
        for lane in range(len(self.timeline.lanes)):
            state = row.states[lane] if lane < len(row.states) else ""
            if lane == row.lane or state in {ALIVE, SLEEPING}:
                x = self.lane_x(lane)
                dash = ' stroke-dasharray="3 3"' if state == SLEEPING and lane != row.lane else ""
                parts.append(
                    f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + ROW}" stroke="#9aa"{dash}/>'
                )
        parts.extend(self.content(row, middle))
        return parts

    def content(self, row: Row, middle: int) -> list[str]:
        """A row's own mark on its lane: a dot and the printed line, or a step, or a rule."""
        if row.lane < 0:
            rule = (
                f'<line x1="{self.left}" y1="{middle}" x2="{self.width - 4}" y2="{middle}" '
                'stroke="#b3261e" stroke-dasharray="6 4"/>'
            )
            label = f'<text x="{self.left + 8}" y="{middle - 3}" fill="#b3261e">'
            return [rule, f"{label}{_text(row.text)}</text>"]
        x = self.lane_x(row.lane)
        shown = _text(_fit(row.text, self.lane_width - 16))
        if row.kind == "print":
            color = _MARK_COLOR.get(row.mark, "#111")
            dot = f'<circle cx="{x}" cy="{middle}" r="4" fill="{color}"/>'
            start = f'<text class="line" x="{x + 9}" y="{middle + 4}" fill="{color}">'
            return [dot, f"{start}<title>{_text(row.text)}</title>{shown}</text>"]
        return [
            f'<rect x="{x - 3}" y="{middle - 3}" width="6" height="6" fill="#9aa"/>',
            f'<text x="{x + 9}" y="{middle + 4}" fill="#777" font-style="italic">{shown}</text>',
        ]
