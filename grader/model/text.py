r"""Makes text from learner code safe to show: decoded, stripped of control characters.

Learner output reaches terminals, Markdown, HTML and JSON. Escape sequences could repaint a
terminal or hide lines, and bidirectional overrides could make a wrong answer look right, so
every byte that came from a child passes through `clean` before anything displays it.

Lone UTF-16 surrogates (`"\ud800"` in a string literal, or a `\ud800` JSON escape from the
child) are valid Python strings that no UTF-8 writer accepts: one in a printed line or a
prediction would make every output that encodes it (the terminal, the results file, the
Markdown) fail. `readable` turns each into U+FFFD where learner text enters the grader (the
child's result, the prediction reader, `clean`), so nothing past that boundary meets one.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: A lone surrogate (a valid pair is one character in a Python string, never two).
_SURROGATE = re.compile("[\ud800-\udfff]")
#: What a lone surrogate is shown as: the replacement character, as UTF-8 decoders do.
REPLACEMENT = "\ufffd"


def readable(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD: encodable as UTF-8 everywhere."""
    return _SURROGATE.sub(REPLACEMENT, text)


def os_name(name: str) -> str:
    r"""A file name from the file system as text any output can hold, distinct names kept apart.

    On POSIX a name that is not UTF-8 decodes with each bad byte as a surrogate (`\udcff`);
    those bytes are shown as `\xff` escapes, which keep two such names different (U+FFFD
    would make them one). Any other lone surrogate becomes U+FFFD.
    """
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return readable(name)
    return raw.decode("utf-8", "backslashreplace")


def clean(data: bytes | str, *, limit: int | None = None) -> str:
    """Decode (replacing bad UTF-8), replace control characters with '?', and cap the length.

    Lone surrogates become U+FFFD (`readable`), as invalid UTF-8 bytes do when decoding.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else readable(data)
    if limit is not None and len(text) > limit:
        text = text[:limit] + " [...]"
    return _UNSAFE.sub("?", text)
