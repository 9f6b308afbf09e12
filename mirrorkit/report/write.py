"""Write all three renderings of a report beside each other, atomically, portable.

A report is attached to a ticket or carried to another machine, so nothing in it may point into the
machine that wrote it: absolute paths of the bundle, of the report folder and of the home folder are
rewritten relative to the report (:func:`portable`), and the bundle's SBOM, when verify checked it, is
copied beside the report and linked by its bare name.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from mirrorkit.fsutil import atomic_write_text
from mirrorkit.report import html, json, markdown
from mirrorkit.report.model import CheckItem, Report, Status

SBOM = "sbom.cdx.json"


def _roots(report: Report, out_dir: Path) -> list[tuple[str, str]]:
    """(absolute prefix, replacement) pairs, longest first, so the most specific rewrite wins."""
    out = out_dir.absolute()
    pairs = [(str(out), ".")]
    if report.identity.path:
        bundle = Path(report.identity.path).absolute()
        pairs.append((str(bundle), os.path.relpath(bundle, out)))
    home = str(Path.home())
    if home not in ("/", ""):
        pairs.append((home, "~"))
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def _rewrite(text: str, roots: list[tuple[str, str]]) -> str:
    for prefix, short in roots:
        text = text.replace(prefix, short)
    return text


def portable(report: Report, out_dir: Path) -> Report:
    """*report* with every absolute path of this machine made relative to *out_dir* (or ``~``)."""
    roots = _roots(report, Path(out_dir))

    def item(i: CheckItem) -> CheckItem:
        return dataclasses.replace(
            i,
            subject=_rewrite(i.subject, roots),
            expected=_rewrite(i.expected, roots),
            actual=_rewrite(i.actual, roots),
            detail=_rewrite(i.detail, roots),
            cause=_rewrite(i.cause, roots),
        )

    identity = dataclasses.replace(report.identity, path=_rewrite(report.identity.path, roots))
    return dataclasses.replace(report, identity=identity, items=tuple(item(i) for i in report.items))


def _attach_sbom(report: Report, out_dir: Path) -> Report:
    """Copy the bundle's SBOM beside the report when verify checked it and it passed."""
    checked = any(i.category == "sbom" and i.status is Status.PASSED for i in report.items)
    source = Path(report.identity.path) / SBOM if report.identity.path else None
    if not checked or source is None or source.is_symlink() or not source.is_file():
        return report
    shutil.copyfile(source, out_dir / SBOM)
    return dataclasses.replace(report, attachments=(*report.attachments, SBOM))


def write_reports(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write report.json, report.md and report.html into *out_dir*; returns {format: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = portable(_attach_sbom(report, out_dir), out_dir)
    paths = {
        "json": out_dir / "report.json",
        "markdown": out_dir / "report.md",
        "html": out_dir / "report.html",
    }
    atomic_write_text(paths["json"], json.render(report))
    atomic_write_text(paths["markdown"], markdown.render(report))
    atomic_write_text(paths["html"], html.render(report))
    return paths
