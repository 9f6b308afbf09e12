"""Two independent readings of one catalog agree: `mirrorkit plan --json` vs the oc-mirror double's dry run.

The double (tests/ocmirror_double) filters the FBC with its own code; mirrorkit's plan must predict
exactly the images in its `working-dir/dry-run/mapping.txt` for the same configuration, and
compare_mapping must find nothing to warn about.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from mirrorkit.catalog import build_plan, compare_mapping
from mirrorkit.imageset import ImageSetConfig
from mirrorkit.oci.client import OciClient
from mirrorkit.ocmirror import MirrorToDiskOptions, dry_run, find_oc_mirror
from tests.services.catalog import build_catalog, rhdh_like_packages

pytestmark = pytest.mark.integration

CASES = {
    "heads": "    - name: rhdh\n    - name: logic-operator-rhel8\n",
    "channel-range": "    - name: rhdh\n      channels:\n      - {name: fast, minVersion: 1.7.1, maxVersion: 1.8.0}\n",
    "package-range": "    - name: rhdh\n      minVersion: 1.8.0\n    - name: serverless-operator\n      channels: [{name: stable}]\n",
    "default-override": "    - name: rhdh\n      defaultChannel: fast-1.7\n      channels: [{name: fast-1.7}]\n",
}


@pytest.fixture(scope="module")
def built(registry):
    return build_catalog(registry.host, "double/redhat-operator-index", "v4.19", rhdh_like_packages())


@pytest.fixture
def tool(oc_mirror_double: Path, skopeo: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MIRRORKIT_OC_MIRROR", raising=False)
    monkeypatch.setenv(
        "PATH", os.pathsep.join([str(oc_mirror_double.parent), str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    return find_oc_mirror()


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_equals_the_double_dry_run_mapping(case, built, tool, tmp_path, cli_run) -> None:
    isc = tmp_path / "isc.yaml"
    isc.write_text(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n"
        f"  operators:\n  - catalog: {built.ref}\n    packages:\n{CASES[case]}"
        "  additionalImages:\n  - name: " + built.bundle("decoy-operator", "1.0.0").image + "\n"
    )
    result = dry_run(
        tool,
        MirrorToDiskOptions(archive_dir=tmp_path / "a", config=isc, cache_dir=tmp_path / "c", src_tls_verify=False),
        progress=False,
    )
    assert result.result.ok, result.result.summary
    # the double reads discovery-free oc-mirror behaviour: compare with discovery off, then on
    plan = build_plan(ImageSetConfig.load(isc).mirror, OciClient(tls_verify=False), discover=False)
    assert compare_mapping(plan, result.mapping) == []
    code, out, err = cli_run("plan", "--config", isc, "--no-tls-verify", "--json", "--no-discover")
    assert code == 0, err
    planned = {i["ref"] for i in json.loads(out)["images"] if i["kind"] != "catalog"}
    mapped = {src for src, _ in result.mapping if plan.classify(src) is None or plan.classify(src).kind != "catalog"}
    assert planned == mapped and len(mapped) >= 3
