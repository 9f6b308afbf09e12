"""Each report as people see it: rendered by headless Chromium at 1280 px (no horizontal overflow,
the key facts on the page), screenshotted, and printed to PDF (page count and text read back with
poppler). Screenshots and PDFs are kept in .cache/report-screenshots/ (named by scenario) for a look.

Under CI=true a missing chromium or poppler is a failure, never a skip (tests/conftest.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mirrorkit.report import write_reports
from tests import report_scenarios
from tests.conftest import service_missing

SHOTS = Path(__file__).resolve().parent.parent / ".cache" / "report-screenshots"
WIDTH = 1280
#: Measures the page after layout and writes the numbers into the DOM for --dump-dom (test copy only:
#: the report itself carries no script).
_PROBE = (
    "<script>addEventListener('load',()=>{const d=document.documentElement;"
    "document.body.setAttribute('data-widths',d.scrollWidth+' '+d.clientWidth)})</script>"
)


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium")
    if exe is None:
        service_missing("chromium is not installed (Debian package chromium; scripts/setup.sh installs it)")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={WIDTH},900", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def _poppler(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        service_missing(f"{tool} is not installed (Debian package poppler-utils; scripts/setup.sh installs it)")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, check=True).stdout


@pytest.mark.parametrize("name", report_scenarios.SCENARIOS)
def test_report_in_headless_chromium(name: str, tmp_path: Path) -> None:
    report = report_scenarios.make(name, tmp_path)
    page = write_reports(report, tmp_path / "rep")["html"]
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))

    dom = _chromium("--virtual-time-budget=3000", "--dump-dom", probe.as_uri()).stdout
    widths = re.search(r'data-widths="(\d+) (\d+)"', dom)
    assert widths, dom[:500]
    scroll, client = map(int, widths.groups())
    assert scroll <= client, f"{name}: horizontal overflow, content {scroll} px wide in a {client} px window"
    for fact in ("PASSED" if report.ok else "FAILED", report.summary.text, report.identity.manifest_sha256, "Provenance"):
        assert fact in dom, (name, fact)
    if not report.ok:
        assert "Failures by root cause" in dom

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    _chromium(f"--screenshot={shot}", page.as_uri())
    _chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    assert shot.stat().st_size > 10_000
    pages = int(re.search(r"Pages:\s+(\d+)", _poppler("pdfinfo", str(pdf))).group(1))  # type: ignore[union-attr]
    assert 1 <= pages <= 12, (name, pages)
    text = " ".join(_poppler("pdftotext", "-layout", str(pdf), "-").split())
    for fact in ("Provenance", "What was carried", "Manifest sha256", report.identity.manifest_sha256[:32]):
        assert fact in text, (name, fact)
    shutil.copy(shot, SHOTS / shot.name)
    shutil.copy(pdf, SHOTS / pdf.name)
