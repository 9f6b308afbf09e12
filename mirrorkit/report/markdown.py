"""Markdown report, meant to be pasted into a change ticket: verdict and provenance first, then the
failures by root cause, what was carried, and every check in a table per status.

Commands are in fenced code blocks, never in table cells: a cell needs its pipes escaped, and an
escaped command no longer works when pasted.
"""

from __future__ import annotations

from mirrorkit.report.model import CheckItem, Report, RootCause, Status
from mirrorkit.report.openssl import FINGERPRINT_RECIPE, OPENSSL_VERIFY

_HEADINGS = {Status.FAILED: "Failed", Status.WARNING: "Warnings", Status.NOT_CHECKED: "Not checked", Status.PASSED: "Passed"}

#: Not-checked subjects named under a root cause before "and N more".
NAMED = 5


def category(item: CheckItem) -> str:
    """The category cell: the item's group beside it when it has one (``image · operator rhdh 1.8.0``)."""
    return f"{item.category} · {item.group}" if item.group else item.category


def _cell(text: str) -> str:
    """Keep a value inside one table cell: escape pipes and backticks, fold newlines."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return " ".join(text.splitlines()) or " "


def _header(report: Report) -> list[str]:
    lines = ["## Provenance", "", "| | |", "|---|---|"]
    lines += [f"| {label} | {_cell(value)} |" for label, value in report.header()]
    lines.append("")
    if report.provenance.oc_mirror_is_double:
        lines += [f"> **{_cell(report.provenance.oc_mirror_text)}**", ""]
    lines += [f"Attached beside this report: [{name}]({name})" for name in report.attachments]
    return lines + ([""] if report.attachments else [])


def _cause(n: int, rc: RootCause) -> list[str]:
    i = rc.item
    lines = [f"{n}. **{_cell(i.category)} {_cell(i.subject)}**: expected {_cell(i.expected)}; actual {_cell(i.actual)}"]
    if i.detail:
        lines.append(f"   {_cell(i.detail)}")
    lines += [
        f"   - consequence: {_cell(c.category)} {_cell(c.subject)}: {_cell(c.actual)} ({_cell(c.detail)})"
        for c in rc.consequences
    ]
    if rc.not_checked:
        names, more = rc.named_not_checked(NAMED)
        rest = f" and {more} more" if more else ""
        lines.append(f"   - {len(rc.not_checked)} not checked because of it: {', '.join(map(_cell, names))}{rest}")
    return lines


def _causes(report: Report) -> list[str]:
    causes = report.root_causes()
    if not causes:
        return []
    lines = [f"## Failures by root cause ({len(causes)})", ""]
    for n, rc in enumerate(causes, 1):
        lines += _cause(n, rc)
    return [*lines, ""]


def _carried(report: Report) -> list[str]:
    sections = report.carried_sections()
    if not sections:
        return []
    lines = ["## What was carried", "", report.carried_text(), ""]
    for sec in sections:
        lines += [f"### {_cell(sec.title)}", "", "| Name | Digest / integrity | Size | Result |", "|---|---|---|---|"]
        lines += [f"| {_cell(r.name)} | {_cell(r.reference)} | {_cell(r.size)} | {_cell(r.result)} |" for r in sec.rows]
        lines.append("")
    return lines


def _groups(report: Report) -> list[str]:
    groups = report.group_summaries()
    if not groups:
        return []
    lines = ["## By kind and package", "", "| Group | Passed | Failed | Not checked | Warnings |", "|---|---|---|---|---|"]
    lines += [f"| {_cell(name)} | {g.passed} | {g.all_failed} | {g.not_checked} | {g.warnings} |" for name, g in groups]
    return [*lines, ""]


def _items(report: Report) -> list[str]:
    lines: list[str] = []
    for status in sorted(Status, key=lambda s: s.rank):
        items = [i for i in report.items if i.status is status]
        if not items:
            continue
        lines += [
            f"## {_HEADINGS[status]} ({len(items)})",
            "",
            "| Category | Subject | Expected | Actual | Detail |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {_cell(category(i))} | {_cell(i.subject)} | {_cell(i.expected)} | {_cell(i.actual)} | {_cell(i.detail)} |"
            for i in items
        ]
        lines.append("")
    return lines


def _recipes() -> list[str]:
    return [
        "## Check it without mirrorkit",
        "",
        "The signer's key fingerprint (NAME.pub is the public key carried separately):",
        "",
        "```sh",
        FINGERPRINT_RECIPE,
        "```",
        "",
        "The signature, in the bundle folder:",
        "",
        "```sh",
        OPENSSL_VERIFY,
        "```",
        "",
    ]


def render(report: Report) -> str:
    verdict = "PASSED" if report.ok else "FAILED"
    lines = [f"# {_cell(report.title)}", "", f"**Result: {verdict}**: {report.summary.text}", ""]
    lines += _header(report) + _causes(report) + _carried(report) + _groups(report) + _items(report) + _recipes()
    return "\n".join(lines)
