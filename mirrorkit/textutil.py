"""Text that reaches a terminal, a report or an error message: one line, a readable length."""

from __future__ import annotations

#: Longest free text (a profile name, one error) copied into a report or a message by default.
MAX_TEXT = 300


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """*text* on one line, cut to *limit* characters with a visible marker (the full text belongs in
    the log). Hostile input (a 1 MB profile name) cannot flood a report or a terminal through it."""
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: max(0, limit - 8)] + " …(cut)"


def shorten_middle(text: str, limit: int) -> str:
    """*text* on one line, its middle cut when longer than *limit*: an error's cause is at its end
    ("... dial tcp: lookup x: no such host") and what failed at its start, so both are kept."""
    one_line = " ".join(str(text).split())
    if len(one_line) <= limit:
        return one_line
    head = max(0, limit // 3)
    tail = max(0, limit - head - 3)
    return one_line[:head].rstrip() + " … " + one_line[len(one_line) - tail :].lstrip()


__all__ = ["MAX_TEXT", "clip", "shorten_middle"]
