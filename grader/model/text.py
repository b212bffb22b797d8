"""Makes text from learner code safe to show: decoded, stripped of control characters.

Learner output reaches terminals, Markdown, HTML and JSON. Escape sequences could repaint a
terminal or hide lines, and bidirectional overrides could make a wrong answer look right, so
every byte that came from a child passes through `clean` before anything displays it.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(data: bytes | str, *, limit: int | None = None) -> str:
    """Decode (replacing bad UTF-8), replace control characters with '?', and cap the length."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if limit is not None and len(text) > limit:
        text = text[:limit] + " [...]"
    return _UNSAFE.sub("?", text)
