"""Write all three renderings of a report beside each other, atomically."""

from __future__ import annotations

from pathlib import Path

from mirrorkit.fsutil import atomic_write_text
from mirrorkit.report import html, json, markdown
from mirrorkit.report.model import Report


def write_reports(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write report.json, report.md and report.html into *out_dir*; returns {format: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "report.json",
        "markdown": out_dir / "report.md",
        "html": out_dir / "report.html",
    }
    atomic_write_text(paths["json"], json.render(report))
    atomic_write_text(paths["markdown"], markdown.render(report))
    atomic_write_text(paths["html"], html.render(report))
    return paths
