"""Discovery on bundles shaped like the published ones (RHDH, Serverless Logic): Dockerfiles in
ConfigMaps, templated multi-document ConfigMap values, tabs Go's YAML accepts, deprecated channels,
and two sources that land on one mirror repository and tag."""

from __future__ import annotations

from mirrorkit.catalog.bundle_image import collect_images
from mirrorkit.catalog.fbc import ChannelDef, ChannelEntry, Deprecation, Where
from mirrorkit.catalog.plan import PlannedImage, same_target_conflicts
from mirrorkit.catalog.reader import Catalog, PackageFbc
from mirrorkit.catalog.select import select
from mirrorkit.imageset.model import Channel, Operator, Package
from tests.services.catalog import dockerfile_configmap, tabbed_csv, templated_configmap
from tests.test_catalog_select import bundle

D1 = "registry.redhat.io/ubi9/openjdk-17@sha256:" + "1" * 64
D2 = "registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0"


def refs(files: dict[str, bytes]) -> tuple[set[str], tuple[str, ...]]:
    found, warnings = collect_images(files)
    return {f.ref for f in found}, warnings


def test_dockerfile_from_lines_are_images_the_operator_pulls() -> None:
    found, warnings = collect_images({"manifests/builder.configmap.yaml": dockerfile_configmap((D1, D2))})
    assert {f.ref for f in found} == {D1, D2}  # the stage name `builder` is not an image
    assert {s.path for f in found for s in f.sources} == {'data["Dockerfile"] FROM[0]', 'data["Dockerfile"] FROM[1]'}
    assert warnings == ()


def test_templated_multi_document_configmap_is_read() -> None:
    images = ("quay.io/rhdh/plugin-a:1.7", "registry.redhat.io/rhdh/plugin-b@sha256:" + "2" * 64)
    found, warnings = refs({"manifests/rhdh-plugin-deps.yaml": templated_configmap(images)})
    assert found == set(images)
    assert warnings == ()


def test_a_value_that_cannot_be_read_is_a_warning_naming_file_and_key() -> None:
    found, warnings = refs({"manifests/rhdh-plugin-deps.yaml": templated_configmap(("quay.io/rhdh/a:1",), broken=True)})
    assert found == {"quay.io/rhdh/a:1"}
    assert len(warnings) == 1
    assert "manifests/rhdh-plugin-deps.yaml" in warnings[0] and 'data["broken.yaml"]' in warnings[0]
    assert "may be missing" in warnings[0]


def test_tab_after_a_colon_is_read_as_go_reads_it() -> None:
    found, warnings = refs(
        {"manifests/x.clusterserviceversion.yaml": tabbed_csv("quay.io/x/op:1.0", "registry.redhat.io/x/op:1.0")}
    )
    assert found == {"quay.io/x/op:1.0", "registry.redhat.io/x/op:1.0"}
    assert warnings == ()


def test_selecting_a_deprecated_channel_is_a_warning() -> None:
    w = Where("configs/p/catalog.json", 1)
    entries = (ChannelEntry("p.v1.0.0"),)
    pkg = PackageFbc(
        "p",
        "stable",
        (ChannelDef("stable", "p", entries, w), ChannelDef("old", "p", entries, w)),
        (bundle("p", "1.0.0"),),
        (Deprecation("olm.channel", "old", "use stable"),),
    )
    catalog = Catalog("example.com/index:v1", "", "configs", ("p",), {"p": pkg})
    quiet = select(Operator(catalog=catalog.ref, packages=(Package(name="p", channels=(Channel(name="stable"),)),)), catalog)
    assert not [w for w in quiet.warnings if "deprecated" in w]
    loud = select(Operator(catalog=catalog.ref, packages=(Package(name="p"),)), catalog)
    assert [w for w in loud.warnings if "deprecated" in w] == [
        "deprecated: channel old of package p is selected (use stable); consider another channel or version"
    ]


class _Resolver:
    def __init__(self, digests: dict[str, str]) -> None:
        self.digests = digests

    def resolve_digest(self, ref: str) -> str:
        return self.digests[ref]


def _planned(ref: str) -> PlannedImage:
    return PlannedImage(ref, "operator", "related", "p", "1.0.0", "p.v1.0.0", ())


def test_two_sources_on_one_mirror_tag_with_different_digests_are_found_at_plan_time() -> None:
    a, b = "registry.redhat.io/rhdh/rhdh-rhel9-operator:1.7", "quay.io/rhdh/rhdh-rhel9-operator:1.7"
    images = [_planned(a), _planned(b), _planned("quay.io/other/x:1")]
    found = same_target_conflicts(images, _Resolver({a: "sha256:" + "a" * 64, b: "sha256:" + "b" * 64}))
    assert len(found) == 1 and a in found[0] and b in found[0] and "rhdh/rhdh-rhel9-operator:1.7" in found[0]
    assert "different digests" in found[0] and "blockedImages" in found[0]
    same = same_target_conflicts(images, _Resolver({a: "sha256:" + "a" * 64, b: "sha256:" + "a" * 64}))
    assert same == []
