"""`mirrorkit plan`: text grouped by kind and package, JSON, profiles with npm packages, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.services.catalog import build_catalog, rhdh_like_packages

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(registry):
    return build_catalog(registry.host, "plancli/redhat-operator-index", "v4.19", rhdh_like_packages())


def isc(tmp_path: Path, catalog: str, packages: str) -> Path:
    path = tmp_path / "isc.yaml"
    path.write_text(
        f"apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n"
        f"  operators:\n  - catalog: {catalog}\n    packages:\n{packages}"
        "  additionalImages:\n  - name: registry.example.com/extra/image:1.0\n"
    )
    return path


LOGIC = "    - name: logic-operator-rhel8\n"


def test_text_lists_every_image_with_provenance(cli_run, built, tmp_path) -> None:
    code, out, err = cli_run("plan", "--config", isc(tmp_path, built.ref, LOGIC), "--no-tls-verify", "-q")
    assert code == 0, err
    bundle = built.bundle("logic-operator-rhel8", "1.36.0")
    assert "\ncatalog\n" in out and "\noperator\n" in out and "\nadditional\n" in out
    assert "  logic-operator-rhel8 1.36.0 (bundle logic-operator-rhel8.v1.36.0)" in out
    assert f"bundle   {bundle.image}" in out
    for ref in bundle.config_images:
        assert f"discovered  {ref}" in out
    assert 'manifests/controllers_cfg_v1_configmap.yaml: data["controllers_cfg.yaml"]' in out
    assert "additional  registry.example.com/extra/image:1.0" in out
    assert built.bundle("logic-operator-rhel8", "1.35.0").image not in out


def test_json(cli_run, built, tmp_path) -> None:
    code, out, err = cli_run("plan", "--config", isc(tmp_path, built.ref, LOGIC), "--no-tls-verify", "--json")
    assert code == 0, err
    doc = json.loads(out)
    bundle = built.bundle("logic-operator-rhel8", "1.36.0")
    by_ref = {i["ref"]: i for i in doc["images"]}
    assert by_ref[bundle.image]["role"] == "bundle" and by_ref[bundle.image]["kind"] == "operator"
    assert {r for r, i in by_ref.items() if i["role"] == "discovered"} == set(bundle.config_images)
    assert doc["npm"] == {"registry": None, "packages": []}


def test_profile_lists_npm_packages(cli_run, built, tmp_path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(f"""apiVersion: mirrorkit/v1
kind: Profile
name: p
description: test
release: "1.0"
ocp: "4.19"
mirror:
  operators:
  - catalog: {built.host}/{built.repo}:v{{ocp}}
    packages:
    - name: rhdh
      channels: [{{name: fast}}]
npm:
  registry: https://npm.example.com
  packages:
  - "@redhat/backstage-plugin-orchestrator@1.8.0"
""")
    code, out, err = cli_run("plan", "--profile", profile, "--no-tls-verify", "-q")
    assert code == 0, err
    assert "npm (https://npm.example.com)\n    @redhat/backstage-plugin-orchestrator@1.8.0" in out
    assert built.bundle("rhdh", "1.8.1").image in out
    code, out, err = cli_run("plan", "--profile", profile, "--no-tls-verify", "--json")
    assert json.loads(out)["npm"]["packages"] == ["@redhat/backstage-plugin-orchestrator@1.8.0"]


@pytest.mark.parametrize(
    ("packages", "message"),
    [
        ("    - name: rhdhh\n", "package 'rhdhh' is not in catalog {ref}: packages there: rhdh, "),
        (
            "    - name: rhdh\n      channels: [{name: fast-18}]\n",
            "channel 'fast-18' of package 'rhdh' is not in catalog {ref}: its channels: fast-1.8, ",
        ),
        (
            "    - name: rhdh\n      channels: [{name: fast-1.8}]\n",
            'the default channel "fast" was filtered out, a new default channel must be configured',
        ),
    ],
)
def test_configuration_errors_are_one_line_exit_2(cli_run, built, tmp_path, packages, message) -> None:
    code, out, err = cli_run("plan", "--config", isc(tmp_path, built.ref, packages), "--no-tls-verify")
    assert code == 2 and out == ""
    assert message.format(ref=built.ref) in err and len(err.strip().splitlines()) == 1


def test_catalog_without_label_and_unreachable(cli_run, registry, tmp_path) -> None:
    from tests.services.images import push_image

    plain = push_image(registry.host, "plancli/not-a-catalog", "v1").ref
    code, _, err = cli_run("plan", "--config", isc(tmp_path, plain, LOGIC), "--no-tls-verify")
    assert code == 2 and "is not a File-Based Catalog image" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli_run("plan", "--config", isc(tmp_path, f"{registry.host}/plancli/absent:v1", LOGIC), "--no-tls-verify")
    assert code == 1 and "cannot read operator catalog" in err and len(err.strip().splitlines()) == 1


def test_usage(cli_run, tmp_path) -> None:
    code, _, err = cli_run("plan")
    assert code == 2 and "exactly one of --profile or --config" in err


def test_plan_follows_the_install_flow_like_pack(cli_run, built, tmp_path) -> None:
    """--install operator adds the RHDH Operator (package rhdh, channel fast-<release>) as pack does."""
    profile = tmp_path / "flow.yaml"
    profile.write_text(f"""apiVersion: mirrorkit/v1
kind: Profile
name: flow
description: test
release: "1.8"
ocp: "4.19"
mirror:
  operators:
  - catalog: {built.host}/{built.repo}:v{{ocp}}
    packages:
    - name: logic-operator-rhel8
      channels: [{{name: alpha}}]
""")
    code, out, err = cli_run("plan", "--profile", profile, "--no-tls-verify", "--no-discover", "--json")
    assert code == 0, err
    assert {i["package"] for i in json.loads(out)["images"] if i["kind"] == "operator"} == {"logic-operator-rhel8"}
    code, out, err = cli_run("plan", "--profile", profile, "--install", "operator", "--no-tls-verify", "--no-discover", "--json")
    assert code == 0, err
    rhdh = {i["bundle"] for i in json.loads(out)["images"] if i["package"] == "rhdh"}
    assert rhdh == {"rhdh.v1.8.1"}  # the head of fast-1.8
