"""The three renderings of one report say the same thing: every fact of the model (counts, provenance
header, root causes with what they caused, every carried row with its result, every check) appears in
the JSON, the Markdown and the HTML, for each scenario a change board meets."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mirrorkit.report import Report, write_reports
from mirrorkit.report.markdown import _cell
from mirrorkit.report.write import portable
from tests import report_scenarios


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def facts(report: Report) -> list[str]:
    """What a reader must find in every rendering."""
    out = [report.summary.text]
    out += [value for _, value in report.header() if value]
    for rc in report.root_causes():
        out += [rc.item.subject, rc.item.actual, *(c.subject for c in rc.consequences)]
    for sec in report.carried_sections():
        out.append(sec.title)
        out += [x for row in sec.rows for x in (row.name, row.reference, row.size, row.result) if x]
    out += [i.subject for i in report.items]
    return out


@pytest.mark.parametrize("name", report_scenarios.SCENARIOS)
def test_json_markdown_and_html_say_the_same_thing(name: str, tmp_path: Path) -> None:
    made = report_scenarios.make(name, tmp_path)
    paths = write_reports(made, tmp_path / "rep")
    doc = json.loads(paths["json"].read_text())
    md = paths["markdown"].read_text()
    parser = _Text()
    parser.feed(paths["html"].read_text())
    html_text = "".join(parser.parts)
    json_text = json.dumps(doc, ensure_ascii=False)
    header = {h["label"]: h["value"] for h in doc["header"]}
    for fact in facts(portable(made, tmp_path / "rep")):  # the model as written: paths made relative
        assert fact in json_text or json.dumps(fact)[1:-1] in json_text, (name, "json", fact)
        assert _cell(fact) in md, (name, "markdown", fact)
        assert fact in html_text, (name, "html", fact)
    for label, value in header.items():
        assert f"| {label} | {_cell(value)} |" in md and value in html_text, (name, label)
    assert doc["summary"]["text"] in md and doc["summary"]["text"] in html_text


def test_dead_registry_is_one_failure_and_the_images_are_not_checked(tmp_path: Path) -> None:
    report = report_scenarios.make("dead-target", tmp_path)
    (cause,) = report.root_causes()
    assert cause.item.category == "target" and cause.item.subject == report_scenarios.DEAD_REGISTRY
    assert len(cause.not_checked) == len(report.carried.images) and report.summary.failed == 1
    assert "5 images not checked" in cause.item.detail
    sources = {i.source for i in report.carried.images}
    rows = [row for sec in report.carried_sections() for row in sec.rows if row.name in sources]
    assert len(rows) == len(sources) and {row.result for row in rows} == {"not checked"}


def test_a_changed_file_is_one_failure_with_its_consequences(tmp_path: Path) -> None:
    report = report_scenarios.make("tampered-tarball", tmp_path)
    (cause,) = report.root_causes()
    assert cause.item.subject == "npm/backstage-plugin-notifications-0.5.0.tgz"
    assert {c.category for c in cause.consequences} == {"npm-index", "sbom"}
    assert report.summary.failed == 1 and report.summary.consequences == 2 and not report.ok


def test_parts_list_each_file_once_and_reports_hold_no_absolute_path(tmp_path: Path) -> None:
    paths = write_reports(report_scenarios.make("parts", tmp_path), tmp_path / "rep")
    doc = json.loads(paths["json"].read_text())
    subjects = [i["subject"] for i in doc["items"] if i["category"] in ("file", "part-file")]
    assert len(subjects) == len(set(subjects))
    for path in paths.values():
        text = path.read_text()
        assert str(tmp_path) not in text and "file://" not in text


def test_markdown_fingerprint_command_pastes_as_is(tmp_path: Path) -> None:
    from mirrorkit.report.openssl import FINGERPRINT_RECIPE

    paths = write_reports(report_scenarios.make("passed", tmp_path), tmp_path / "rep")
    assert f"```sh\n{FINGERPRINT_RECIPE}\n```" in paths["markdown"].read_text()
    assert "printf 'SHA256:%s\\n'" in FINGERPRINT_RECIPE  # one backslash: printf's newline


def test_test_double_is_said_loudly(tmp_path: Path) -> None:
    paths = write_reports(report_scenarios.make("passed", tmp_path), tmp_path / "rep")
    assert "TEST DOUBLE, NOT THE REAL OC-MIRROR" in paths["html"].read_text()
    assert "> **" in paths["markdown"].read_text()
    assert json.loads(paths["json"].read_text())["provenance"]["oc_mirror_is_test_double"] is True
