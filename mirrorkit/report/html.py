"""One self-contained HTML page: inline CSS, no scripts, no external assets, every value escaped.

It has to open from a USB stick on an air-gapped bastion, so nothing may be fetched; the only links
are relative ones to files written beside it (the SBOM). Long values (digests, integrities) wrap
inside their cell instead of widening the page, and a print stylesheet gives a PDF a change board can
file (no backgrounds lost, rows not split across pages).
"""

from __future__ import annotations

from html import escape

from mirrorkit.report.markdown import NAMED, category
from mirrorkit.report.model import Report, RootCause
from mirrorkit.report.openssl import FINGERPRINT_RECIPE, OPENSSL_VERIFY

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1b1b;background:#fafafa;max-width:100%}
h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.15rem;margin:1.4rem 0 .3rem}h3{font-size:1rem;margin:1rem 0 .2rem}
.verdict{display:inline-block;padding:.3rem .8rem;border-radius:4px;font-weight:700;color:#fff}
.verdict.ok{background:#2e7d32}.verdict.bad{background:#c62828}
.counts{font-weight:600}
.c-failed{color:#c62828}.c-warning{color:#a15c00}.c-passed{color:#2e7d32}.c-not_checked{color:#555}
.double{border:3px solid #c62828;background:#fdecea;color:#c62828;font-weight:700;padding:.6rem;margin:.8rem 0}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1rem;background:#fff;table-layout:fixed}
th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}
th{background:#eee}
.v,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem}
td.v{word-break:break-all}
pre{white-space:pre-wrap;word-break:break-all;background:#f0f0f0;padding:.5rem;border:1px solid #ddd}
tr.failed{background:#fdecea}tr.warning{background:#fff4e5}tr.not_checked{background:#f3f3f3}
table.ident td:first-child{width:16rem;font-weight:600}
col.status{width:6.5rem}col.category{width:9rem}col.subject{width:20%}col.value{width:20%}
col.size{width:11rem}col.result{width:9rem}
ol.causes li{margin:.4rem 0}ol.causes ul{font-size:.9rem}
@media print{
 body{margin:0;background:#fff;font-size:10pt}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 tr,li,pre{break-inside:avoid}
 h2,h3{break-after:avoid}
 thead{display:table-header-group}
 a{color:inherit}
}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _header(report: Report) -> str:
    rows = "".join(f'<tr><td>{_e(label)}</td><td class="v">{_e(value)}</td></tr>\n' for label, value in report.header())
    rows += "".join(
        f'<tr><td>Attached</td><td class="v"><a href="{_e(name)}">{_e(name)}</a></td></tr>\n' for name in report.attachments
    )
    double = f'<p class="double">{_e(report.provenance.oc_mirror_text)}</p>\n' if report.provenance.oc_mirror_is_double else ""
    return f'<h2>Provenance</h2>\n{double}<table class="ident">\n{rows}</table>\n'


def _cause(rc: RootCause) -> str:
    i = rc.item
    subs = [f"<li>consequence: {_e(c.category)} {_e(c.subject)}: {_e(c.actual)} ({_e(c.detail)})</li>" for c in rc.consequences]
    if rc.not_checked:
        names, more = rc.named_not_checked(NAMED)
        rest = f" and {more} more" if more else ""
        subs.append(f"<li>{len(rc.not_checked)} not checked because of it: {_e(', '.join(names))}{rest}</li>")
    detail = f"<br>{_e(i.detail)}" if i.detail else ""
    sub = f"<ul>{''.join(subs)}</ul>" if subs else ""
    return (
        f"<li><strong>{_e(i.category)} {_e(i.subject)}</strong>: expected {_e(i.expected)}; actual {_e(i.actual)}"
        f"{detail}{sub}</li>"
    )


def _causes(report: Report) -> str:
    causes = report.root_causes()
    if not causes:
        return ""
    return (
        f'<h2>Failures by root cause ({len(causes)})</h2>\n<ol class="causes">\n' + "\n".join(map(_cause, causes)) + "\n</ol>\n"
    )


def _carried(report: Report) -> str:
    sections = report.carried_sections()
    if not sections:
        return ""
    out = [f"<h2>What was carried</h2>\n<p>{_e(report.carried_text())}</p>"]
    for sec in sections:
        rows = "".join(
            f'<tr><td class="v">{_e(r.name)}</td><td class="v">{_e(r.reference)}</td><td>{_e(r.size)}</td><td>{_e(r.result)}</td></tr>'
            for r in sec.rows
        )
        out.append(
            f'<h3>{_e(sec.title)}</h3>\n<table class="carried"><colgroup><col><col><col class="size"><col class="result"></colgroup>'
            f"<thead><tr><th>Name</th><th>Digest / integrity</th><th>Size</th><th>Result</th></tr></thead>\n<tbody>{rows}</tbody></table>"
        )
    return "\n".join(out) + "\n"


def _groups(report: Report) -> str:
    groups = "\n".join(
        f'<tr class="{"passed" if g.ok and not g.not_checked else "failed"}"><td>{_e(name)}</td><td>{g.passed}</td>'
        f"<td>{g.all_failed}</td><td>{g.not_checked}</td><td>{g.warnings}</td></tr>"
        for name, g in report.group_summaries()
    )
    if not groups:
        return ""
    return (
        '<h2>By kind and package</h2>\n<table class="groups">\n<thead><tr><th>Group</th><th>Passed</th><th>Failed</th>'
        f"<th>Not checked</th><th>Warnings</th></tr></thead>\n<tbody>\n{groups}\n</tbody>\n</table>\n"
    )


def _items(report: Report) -> str:
    rows = "\n".join(
        f'<tr class="{_e(i.status.value)}"><td class="c-{_e(i.status.value)}">{_e(i.status.label)}</td>'
        f'<td>{_e(category(i))}</td><td class="v">{_e(i.subject)}</td><td class="v">{_e(i.expected)}</td>'
        f'<td class="v">{_e(i.actual)}</td><td>{_e(i.detail)}</td></tr>'
        for i in report.ordered_items()
    )
    return (
        '<h2>Every check</h2>\n<table class="items">\n<colgroup><col class="status"><col class="category"><col class="subject">'
        '<col class="value"><col class="value"><col></colgroup>\n<thead><tr><th>Status</th><th>Category</th><th>Subject</th>'
        f"<th>Expected</th><th>Actual</th><th>Detail</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n"
    )


def _recipes() -> str:
    return (
        "<h2>Check it without mirrorkit</h2>\n<p>The signer's key fingerprint (NAME.pub is the public key carried separately):</p>\n"
        f"<pre>{_e(FINGERPRINT_RECIPE)}</pre>\n<p>The signature, in the bundle folder:</p>\n<pre>{_e(OPENSSL_VERIFY)}</pre>\n"
    )


def render(report: Report) -> str:
    ok = report.ok
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
<p class="counts">{_e(report.summary.text)}</p>
{_header(report)}{_causes(report)}{_carried(report)}{_groups(report)}{_items(report)}{_recipes()}</body>
</html>
"""
