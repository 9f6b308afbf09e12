"""build_plan on a real-shaped catalog in a local registry: selected bundles, discovery, classify, compare."""

from __future__ import annotations

import pytest

from mirrorkit.catalog import build_plan, compare_mapping
from mirrorkit.imageset.model import AdditionalImage, BlockedImage, Channel, Mirror, Operator, Package
from mirrorkit.oci.client import OciClient
from tests.services.catalog import build_catalog, rhdh_like_packages

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(registry):
    return build_catalog(registry.host, "plan/redhat-operator-index", "v4.19", rhdh_like_packages())


@pytest.fixture(scope="module")
def plan(built):
    mirror = Mirror(
        operators=(
            Operator(
                catalog=built.ref,
                packages=(
                    Package(name="rhdh", channels=(Channel(name="fast", min_version="1.8.0"),)),
                    Package(name="logic-operator-rhel8", channels=(Channel(name="alpha"),)),
                ),
            ),
        ),
        additional_images=(AdditionalImage(name="registry.example.com/rhdh/extra:1.0"),),
    )
    return build_plan(mirror, OciClient(tls_verify=False))


def refs(images) -> set[str]:
    return {i.ref for i in images}


def test_operator_images_are_the_selected_bundles_and_their_related_images(built, plan) -> None:
    expected = built.images_of("rhdh", "1.8.0", "1.8.1") | built.images_of("logic-operator-rhel8", "1.36.0")
    assert refs(plan.of_kind("operator")) == expected
    bundle = built.bundle("rhdh", "1.8.1")
    entry = plan.classify(bundle.image)
    assert (entry.kind, entry.role, entry.package, entry.version, entry.bundle) == (
        "operator",
        "bundle",
        "rhdh",
        "1.8.1",
        "rhdh.v1.8.1",
    )
    assert plan.classify(bundle.related[0]).role == "related"
    assert refs(plan.of_kind("catalog")) == {built.ref}


def test_configmap_images_of_selected_bundles_only_are_discovered(built, plan) -> None:
    selected = built.bundle("logic-operator-rhel8", "1.36.0")
    unselected = built.bundle("logic-operator-rhel8", "1.35.0")
    found = plan.discovered_additional()
    assert refs(found) == set(selected.config_images)
    assert not refs(found) & set(unselected.config_images)
    first = found[0]
    assert (first.kind, first.package, first.version, first.bundle) == (
        "additional",
        "logic-operator-rhel8",
        "1.36.0",
        "logic-operator-rhel8.v1.36.0",
    )
    origin = first.origins[0]
    assert origin.file == "manifests/controllers_cfg_v1_configmap.yaml" and origin.path.startswith(
        'data["controllers_cfg.yaml"].'
    )
    # the operator image named in the CSV deployment is in relatedImages, so it is not "discovered"
    assert not refs(found) & set(selected.related)


def test_additional_images_and_json(plan) -> None:
    extra = plan.classify("docker://registry.example.com/rhdh/extra:1.0")
    assert extra is not None and (extra.kind, extra.role) == ("additional", "additional")
    doc = plan.to_json()
    assert doc["counts"]["operator"] == len(plan.of_kind("operator"))
    assert {i["ref"] for i in doc["images"]} == refs(plan.images)
    assert doc["catalogs"][0]["packages"] == [
        {"name": "logic-operator-rhel8", "channels": ["alpha"]},
        {"name": "rhdh", "channels": ["fast"]},
    ]


def test_compare_mapping_names_each_difference(built, plan) -> None:
    pairs = [(f"docker://{i.ref}", f"docker://localhost:55000/{i.ref.split('/', 1)[1]}") for i in plan.images]
    catalog_pinned = f"{built.host}/{built.repo}@{built.digest}"
    pairs = [(s, d) for s, d in pairs if built.repo not in s] + [(f"docker://{catalog_pinned}", "docker://localhost:55000/x")]
    assert compare_mapping(plan, pairs) == []
    missing = built.bundle("rhdh", "1.8.0").image
    extra = f"{built.host}/decoy/decoy-rhel9-operator:2.0.0"
    changed = [p for p in pairs if missing not in p[0]] + [(extra, "localhost:55000/decoy/decoy-rhel9-operator:2.0.0")]
    warnings = compare_mapping(plan, changed)
    assert warnings == [
        f"oc-mirror mirrors {extra}, which the plan did not predict",
        f"the plan expects {missing} (bundle image of rhdh 1.8.0 (bundle rhdh.v1.8.0)), which oc-mirror's mapping lacks",
    ]


def test_blocked_images_and_discovery_off(built) -> None:
    mirror = Mirror(
        operators=(Operator(catalog=built.ref, packages=(Package(name="logic-operator-rhel8"),)),),
        blocked_images=(BlockedImage(name=".*swf-builder.*"),),
    )
    plan = build_plan(mirror, OciClient(tls_verify=False))
    assert any("swf-builder" in ref for ref in plan.blocked)
    assert not any("swf-builder" in i.ref for i in plan.images)
    off = build_plan(mirror, OciClient(tls_verify=False), discover=False)
    assert off.discovered_additional() == () and not off.discovery


def test_no_packages_heads_of_every_package(built) -> None:
    plan = build_plan(Mirror(operators=(Operator(catalog=built.ref),)), OciClient(tls_verify=False), discover=False)
    bundles = {(i.package, i.version) for i in plan.images if i.role == "bundle"}
    assert bundles == {
        ("logic-operator-rhel8", "1.36.0"),
        ("serverless-operator", "1.36.1"),
        ("serverless-operator", "1.35.0"),
        ("rhdh", "1.8.1"),
        ("rhdh", "1.7.1"),
        ("decoy-operator", "2.0.0"),
        ("another-decoy", "0.1.0"),
    }
