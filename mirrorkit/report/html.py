"""One self-contained HTML page: inline CSS, no scripts, no external assets, every value escaped.

It has to open from a USB stick on an air-gapped bastion, so nothing may be fetched.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from mirrorkit.report.markdown import category
from mirrorkit.report.model import Report, Status
from mirrorkit.report.openssl import FINGERPRINT_RECIPE, OPENSSL_VERIFY

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.15rem;margin:1.2rem 0 .3rem}
.verdict{display:inline-block;padding:.3rem .8rem;border-radius:4px;font-weight:700;color:#fff}
.verdict.ok{background:#2e7d32}.verdict.bad{background:#c62828}
.counts span{margin-right:1.2rem;font-weight:600}
.c-failed{color:#c62828}.c-warning{color:#a15c00}.c-passed{color:#2e7d32}
table{border-collapse:collapse;width:100%;margin:1rem 0;background:#fff}
th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}
td.v{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;word-break:break-all}
tr.failed{background:#fdecea}tr.warning{background:#fff4e5}
.ident td:first-child{width:12rem;font-weight:600}
table.items{table-layout:fixed}
col.status{width:5.5rem}col.category{width:6.5rem}col.subject{width:18%}col.value{width:22%}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _sbom_row(report: Report) -> str:
    """A link to the bundle's CycloneDX SBOM (layout.SBOM; for the scanner or the change board) when
    verify checked one; absolute, because the report usually lives outside the bundle."""
    if not report.identity.path or not any(i.category == "sbom" and i.status is not Status.WARNING for i in report.items):
        return ""
    uri = (Path(report.identity.path) / "sbom.cdx.json").absolute().as_uri()
    return f'<tr><td>SBOM</td><td class="v"><a href="{_e(uri)}">sbom.cdx.json</a> (CycloneDX 1.6)</td></tr>\n'


def render(report: Report) -> str:
    s = report.summary
    ok = report.ok
    ident = report.identity
    signer = report.signer_fingerprint or "none: UNAUTHENTICATED (no verify key given)"
    rows = "\n".join(
        f'<tr class="{_e(i.status.value)}"><td class="c-{_e(i.status.value)}">{_e(i.status.value)}</td>'
        f'<td>{_e(category(i))}</td><td class="v">{_e(i.subject)}</td><td class="v">{_e(i.expected)}</td>'
        f'<td class="v">{_e(i.actual)}</td><td>{_e(i.detail)}</td></tr>'
        for i in report.ordered_items()
    )
    groups = "\n".join(
        f'<tr class="{"ok" if g.ok else "failed"}"><td>{_e(name)}</td><td>{g.passed}</td><td>{g.failed}</td><td>{g.warnings}</td></tr>'
        for name, g in report.group_summaries()
    )
    by_group = (
        '<h2>By kind and package</h2>\n<table class="groups">\n<thead><tr><th>Group</th><th>Passed</th><th>Failed</th>'
        f"<th>Warnings</th></tr></thead>\n<tbody>\n{groups}\n</tbody>\n</table>\n"
        if groups
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(report.title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{_e(report.title)}</h1>
<p><span class="verdict {"ok" if ok else "bad"}">{"PASSED" if ok else "FAILED"}</span></p>
<p class="counts"><span class="c-passed">{s.passed} passed</span><span class="c-failed">{s.failed} failed</span>\
<span class="c-warning">{s.warnings} warnings</span><span>{s.total} checks</span></p>
<table class="ident">
<tr><td>Manifest sha256</td><td class="v">{_e(ident.manifest_sha256)}</td></tr>
<tr><td>Profile</td><td>{_e(ident.profile)}</td></tr>
<tr><td>Created</td><td>{_e(ident.created)}</td></tr>
<tr><td>Bundle</td><td class="v">{_e(ident.path)}</td></tr>
<tr><td>Signer fingerprint</td><td class="v">{_e(signer)}</td></tr>
<tr><td>Key fingerprint without mirrorkit</td><td class="v">{_e(FINGERPRINT_RECIPE)}</td></tr>
<tr><td>Signature check without mirrorkit</td><td class="v">{_e(OPENSSL_VERIFY)} (in the bundle folder)</td></tr>
{_sbom_row(report)}</table>
{by_group}<table class="items">
<colgroup><col class="status"><col class="category"><col class="subject"><col class="value"><col class="value"><col></colgroup>
<thead><tr><th>Status</th><th>Category</th><th>Subject</th><th>Expected</th><th>Actual</th><th>Detail</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""
