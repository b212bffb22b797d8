"""Exercise ids typed by people: one message for an unknown id, with "did you mean".

Every command that takes an exercise id (`--only`, `hint`, `reset`, `list`) says the same
thing for an id it does not know: the id, the closest known ones (a typo is the usual cause),
and where the full list is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggestions(wanted: str, known: Iterable[str]) -> list[str]:
    """Known ids close to `wanted`, closest first (at most three)."""
    ids = list(known)
    close = difflib.get_close_matches(wanted, ids, n=3, cutoff=0.5)
    if not close:  # a part of an id (`vocabulary`, `to-thread`) finds the whole one
        close = [known_id for known_id in ids if wanted and wanted in known_id][:3]
    return close


def unknown_message(wanted: str, known: Iterable[str]) -> str:
    """One sentence about an unknown id: did you mean ..., and how to see them all."""
    close = suggestions(wanted, known)
    guess = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown exercise id {wanted!r}.{guess} `nox -s list` shows every id."
