"""oc-mirror v2's own configuration test cases, run through `mirrorkit imageset validate`'s code path.

The cases are data (tests/data/imageset/conformance/validation.yaml), transcribed from oc-mirror's
Go tests with the file and test they come from. Every case must get oc-mirror's answer: valid, or
refused with a problem at the key oc-mirror complains about. A case marked ``deliberate`` is one
where mirrorkit refuses on purpose what oc-mirror accepts; its message must then say what oc-mirror
would do, so that nobody mistakes the difference for a bug.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mirrorkit.imageset import ImageSetConfig, InvalidConfiguration
from mirrorkit.imageset.validate import target_identity
from mirrorkit.oci.reference import ImageReference

DATA = Path(__file__).parent / "data" / "imageset" / "conformance" / "validation.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))["cases"]
HEADER = {"apiVersion": "mirror.openshift.io/v2alpha1", "kind": "ImageSetConfiguration"}


def _document(case: dict[str, Any]) -> str:
    """The file oc-mirror's test reads: written out verbatim, or its `mirror:` struct as YAML."""
    if "document" in case:
        return str(case["document"])
    return yaml.safe_dump({**HEADER, "mirror": case["mirror"]}, sort_keys=False)


def _answer(case: dict[str, Any], tmp_path: Path) -> tuple[ImageSetConfig | None, list[Any]]:
    """mirrorkit's answer: the loaded config, or the problems it lists (as `imageset validate` does)."""
    target = tmp_path / f"{case['id']}.yaml"
    target.write_text(_document(case), encoding="utf-8")
    try:
        return ImageSetConfig.load(target), []
    except InvalidConfiguration as exc:
        return None, list(exc.issues)


def test_the_suite_is_big_enough_and_sourced():
    from_tests = [c for c in CASES if str(c["source"]).endswith("_test.go")]
    assert len(from_tests) >= 30
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert case["source"] and case["test"], case["id"]
        assert case["ocmirror"] == "valid" or {"stage", "error"} <= set(case["ocmirror"]), case["id"]
        assert ("document" in case) != ("mirror" in case), case["id"]
        refused = case["ocmirror"] != "valid" or "deliberate" in case
        assert refused == bool(case.get("expect")), case["id"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_oc_mirror_answer(case: dict[str, Any], tmp_path: Path):
    config, issues = _answer(case, tmp_path)
    if case["ocmirror"] == "valid" and "deliberate" not in case:
        assert config is not None, f"oc-mirror accepts {case['test']}; mirrorkit said {issues}"
        return
    assert config is None, f"oc-mirror refuses {case['test']} ({case['ocmirror']}); mirrorkit accepted it"
    for wanted in case["expect"]:
        at_path = [issue for issue in issues if issue.path == wanted["path"]]
        assert at_path, f"no problem at {wanted['path']!r}: {issues}"
        assert any(wanted["contains"] in issue.message for issue in at_path), at_path
        if "deliberate" in case:
            assert any("oc-mirror" in issue.message for issue in at_path), "say what oc-mirror would do"


UNIQUE = [c for c in CASES if "unique_names" in c or "image_unique_names" in c]


@pytest.mark.parametrize("case", UNIQUE, ids=[c["id"] for c in UNIQUE])
def test_unique_names_are_oc_mirrors(case: dict[str, Any], tmp_path: Path):
    """Where oc-mirror tracks each catalog and lands each image: the basis of the duplicate checks."""
    config, issues = _answer(case, tmp_path)
    assert config is not None, issues
    operators = [target_identity(ImageReference.parse(o.catalog or ""), o.target_catalog, o.target_tag) for o in config.operators]
    images = [
        target_identity(ImageReference.parse(i.name or ""), i.target_repo, i.target_tag)
        for i in (config.mirror.additional_images or ())
        if config.mirror
    ]
    assert operators == case.get("unique_names", [])
    assert images == case.get("image_unique_names", [])


def test_every_declared_field_survives_render(tmp_path: Path):
    """Fields oc-mirror reads reach the rendered ImageSetConfiguration exactly as written."""
    (case,) = [c for c in CASES if c["id"] == "types-every-declared-field"]
    config, issues = _answer(case, tmp_path)
    assert config is not None, issues
    assert yaml.safe_load(config.render()) == yaml.safe_load(_document(case))
    assert ImageSetConfig.loads(config.render()) == config


@pytest.mark.parametrize("case", CASES[::6], ids=[c["id"] for c in CASES[::6]])
def test_cli_gives_the_same_answer(cli_run, tmp_path: Path, case: dict[str, Any]):
    """`mirrorkit imageset validate` itself: exit 0 when the library accepts, 2 naming each key otherwise."""
    target = tmp_path / "isc.yaml"
    target.write_text(_document(case), encoding="utf-8")
    code, out, err = cli_run("imageset", "validate", str(target))
    if case["ocmirror"] == "valid" and "deliberate" not in case:
        assert (code, err) == (0, ""), err
        assert f"{target}: ok" in out
        return
    assert code == 2, (out, err)
    for wanted in case["expect"]:
        prefix = f"{target}: {wanted['path']}: "
        assert any(line.startswith(prefix) and wanted["contains"] in line for line in err.splitlines()), err
