"""The report model and its three renderings."""

from __future__ import annotations

import json
import os
import stat
from html.parser import HTMLParser
from pathlib import Path

from mirrorkit.report import BundleIdentity, CheckItem, Report, Status, html, markdown, write_reports
from mirrorkit.report import json as report_json

EVIL = '<script>alert("x")</script>&|`'


def sample() -> Report:
    return Report(
        title="bundle check",
        identity=BundleIdentity(manifest_sha256="ab" * 32, profile="rhdh-1.8", created="2026-01-31T12:00:00Z", path="/media/usb"),
        signer_fingerprint="SHA256:abc",
        items=(
            CheckItem("file", "images/a.tar", "size 1, sha256 aa", "size 1, sha256 aa", Status.PASSED),
            CheckItem("signature", "manifest.json", "signed", "UNAUTHENTICATED", Status.WARNING),
            CheckItem("file", EVIL, "size 2, sha256 bb", "size 2, sha256 cc", Status.FAILED, "content differs"),
        ),
    )


def test_summary_and_order():
    r = sample()
    s = r.summary
    assert (s.passed, s.failed, s.warnings, s.total, r.ok) == (1, 1, 1, 3, False)
    assert [i.status for i in r.ordered_items()] == [Status.FAILED, Status.WARNING, Status.PASSED]
    ok = Report("t", items=(r.items[0], r.items[1]))
    assert ok.ok  # a warning alone does not fail


def test_json_is_stable_and_complete():
    doc = json.loads(report_json.render(sample()))
    assert doc["summary"] == {
        "passed": 1,
        "failed": 1,
        "warnings": 1,
        "not_checked": 0,
        "consequences": 0,
        "total": 3,
        "text": "1 failed, 1 passed, 0 not checked, 1 warnings (3 checks)",
    }
    assert doc["ok"] is False and doc["signer_fingerprint"] == "SHA256:abc"
    assert doc["items"][0]["subject"] == EVIL and doc["items"][0]["actual"] == "size 2, sha256 cc"
    assert report_json.render(sample()) == report_json.render(sample())


def test_markdown_has_summary_and_escapes_table_cells():
    text = markdown.render(sample())
    assert "**Result: FAILED**: 1 failed, 1 passed, 0 not checked, 1 warnings" in text
    assert text.index("## Failed") < text.index("## Warnings") < text.index("## Passed")
    failed_row = next(line for line in text.splitlines() if "content differs" in line and line.startswith("|"))
    assert failed_row.count(" | ") == 4  # the pipe inside the subject is escaped, not a new column


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.external.append(value)

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_escaped_and_complete():
    page = html.render(sample())
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert "script" not in parser.tags and "link" not in parser.tags and not parser.external
    text = "".join(parser.text)
    assert EVIL in text  # shown literally, as text
    assert "1 passed" in text and "1 failed" in text and "SHA256:abc" in text and "rhdh-1.8" in text
    assert text.index(EVIL) < text.index("images/a.tar")  # failures first
    assert parser.tags.count("tr") == 12 + 1 + 3  # provenance rows + header + items
    assert "openssl pkeyutl -verify" in text  # the recipes, in <pre>


def test_unauthenticated_signer_is_spelled_out():
    r = Report("t", items=())
    assert "UNAUTHENTICATED" in html.render(r) and "UNAUTHENTICATED" in markdown.render(r)


def test_write_reports(tmp_path: Path):
    paths = write_reports(sample(), tmp_path / "out")
    assert {p.name for p in paths.values()} == {"report.json", "report.md", "report.html"}
    assert json.loads(paths["json"].read_text())["title"] == "bundle check"
    assert not [n for n in os.listdir(tmp_path / "out") if n.endswith(".part")]
    assert stat.S_ISREG(paths["html"].stat().st_mode)


def test_items_are_summarised_per_group_failing_groups_first() -> None:
    digest = "sha256:" + "1" * 64
    report = Report(
        title="targets",
        items=(
            CheckItem("image", "quay.io/a/x:1", digest, "present", Status.PASSED, group="additional"),
            CheckItem(
                "image", "reg/op/bundle@" + digest, digest, "present", Status.PASSED, group="operator serverless-operator 1.36.1"
            ),
            CheckItem(
                "image", "reg/op/related@" + digest, digest, "absent", Status.FAILED, group="operator serverless-operator 1.36.1"
            ),
            CheckItem("file", "npm/index.json", "x", "x", Status.PASSED),
        ),
    )
    groups = report.group_summaries()
    assert [name for name, _ in groups] == ["operator serverless-operator 1.36.1", "additional"]
    assert (groups[0][1].passed, groups[0][1].failed) == (1, 1)
    doc = json.loads(report_json.render(report))
    assert doc["groups"][0] == {
        "group": "operator serverless-operator 1.36.1",
        "passed": 1,
        "failed": 1,
        "warnings": 0,
        "not_checked": 0,
    }
    assert {i["subject"]: i["group"] for i in doc["items"]}["npm/index.json"] == ""
    md = markdown.render(report)
    assert "| operator serverless-operator 1.36.1 | 1 | 1 | 0 | 0 |" in md
    assert "| image · operator serverless-operator 1.36.1 | reg/op/related@" in md
    page = html.render(report)
    assert "<h2>By kind and package</h2>" in page and "image · additional" in page
    # no group at all: no per-group section
    assert "By kind and package" not in markdown.render(sample()) and "By kind and package" not in html.render(sample())
