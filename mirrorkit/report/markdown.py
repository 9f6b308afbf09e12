"""Markdown report, meant to be pasted into a change ticket: summary first, then a table per status."""

from __future__ import annotations

from mirrorkit.report.model import CheckItem, Report, Status
from mirrorkit.report.openssl import FINGERPRINT_RECIPE, OPENSSL_VERIFY


def category(item: CheckItem) -> str:
    """The category cell: the item's group beside it when it has one (``image · operator rhdh 1.8.0``)."""
    return f"{item.category} · {item.group}" if item.group else item.category


def _cell(text: str) -> str:
    """Keep a value inside one table cell: escape pipes and backticks, fold newlines."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return " ".join(text.splitlines()) or " "


def render(report: Report) -> str:
    s = report.summary
    verdict = "PASSED" if report.ok else "FAILED"
    lines = [
        f"# {_cell(report.title)}",
        "",
        f"**Result: {verdict}**: {s.passed} passed, {s.failed} failed, {s.warnings} warnings ({s.total} checks)",
        "",
        "| Bundle | |",
        "|---|---|",
        f"| Manifest sha256 | {_cell(report.identity.manifest_sha256)} |",
        f"| Profile | {_cell(report.identity.profile)} |",
        f"| Created | {_cell(report.identity.created)} |",
        f"| Path | {_cell(report.identity.path)} |",
        f"| Signer | {_cell(report.signer_fingerprint or 'none: UNAUTHENTICATED (no verify key given)')} |",
        f"| Key fingerprint without mirrorkit | `{_cell(FINGERPRINT_RECIPE)}` |",
        f"| Signature check without mirrorkit | `{_cell(OPENSSL_VERIFY)}` (in the bundle folder) |",
        "",
    ]
    groups = report.group_summaries()
    if groups:
        lines += ["## By kind and package", "", "| Group | Passed | Failed | Warnings |", "|---|---|---|---|"]
        lines += [f"| {_cell(name)} | {g.passed} | {g.failed} | {g.warnings} |" for name, g in groups]
        lines.append("")
    for status, heading in ((Status.FAILED, "Failed"), (Status.WARNING, "Warnings"), (Status.PASSED, "Passed")):
        items = [i for i in report.items if i.status is status]
        if not items:
            continue
        lines += [
            f"## {heading} ({len(items)})",
            "",
            "| Category | Subject | Expected | Actual | Detail |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {_cell(category(i))} | {_cell(i.subject)} | {_cell(i.expected)} | {_cell(i.actual)} | {_cell(i.detail)} |"
            for i in items
        ]
        lines.append("")
    return "\n".join(lines)
