"""The terminal's view of a report: one line per problem, the first 20 only, then "and N more".

Why a cap: a hostile or badly broken bundle can produce hundreds of thousands of failed items, and
printing them all buries the one line that matters (and takes minutes). The report files keep every
item; the terminal shows enough to act on and says where the rest is.
"""

from __future__ import annotations

from collections.abc import Iterator

from mirrorkit.report.model import CheckItem, Report, Status
from mirrorkit.textutil import clip

#: Failed/warning lines printed before "... and N more".
SHOWN = 20
#: Longest line printed for one item (the report files keep the full text).
LINE = 400


def item_line(item: CheckItem) -> str:
    label = {Status.FAILED: "FAILED ", Status.WARNING: "WARNING", Status.NOT_CHECKED: "NOT CHECKED"}.get(item.status, "PASSED ")
    line = f"{label} {item.category} {item.subject}: expected {item.expected}; actual {item.actual}"
    if item.detail:
        line += f" ({item.detail})"
    return clip(line, LINE)


def problem_lines(report: Report, *, warnings: bool = True, limit: int = SHOWN) -> Iterator[str]:
    """Failures (then warnings, when asked) as lines, at most *limit*, then one "and N more" line."""
    wanted = [i for i in report.ordered_items() if i.status is Status.FAILED or (warnings and i.status is Status.WARNING)]
    for item in wanted[:limit]:
        yield item_line(item)
    if len(wanted) > limit:
        yield f"... and {len(wanted) - limit} more (every item is in the report files)"


__all__ = ["LINE", "SHOWN", "item_line", "problem_lines"]
