"""The install hand-out: INSTALL.md names exactly what this bundle carried, and charts are copied checked."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from mirrorkit.bundle.build import seal_bundle
from mirrorkit.bundle.manifest import ImageEntry, Manifest
from mirrorkit.errors import BundleError
from mirrorkit.install import hand_out_charts, install_context, render_runbook
from mirrorkit.ocmirror.result import ClusterResource

D = "sha256:" + "1" * 64
ISC = """apiVersion: mirror.openshift.io/v2alpha1
kind: ImageSetConfiguration
mirror:
  operators:
    - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19
      packages:
        - name: serverless-operator
          channels:
            - name: stable
              minVersion: 1.36.0
              maxVersion: 1.36.1
        - name: rhdh
          defaultChannel: fast-1.8
          channels:
            - name: fast-1.8
"""


def _manifest(**extra) -> Manifest:
    images = (
        ImageEntry(
            "registry.redhat.io/openshift-serverless-1/serverless-operator-bundle@" + D,
            D,
            kind="operator",
            package="serverless-operator",
            version="1.36.0",
            bundle="serverless-operator.v1.36.0",
        ),
        ImageEntry(
            "registry.redhat.io/openshift-serverless-1/serverless-operator-bundle@" + "sha256:" + "2" * 64,
            "sha256:" + "2" * 64,
            kind="operator",
            package="serverless-operator",
            version="1.36.1",
            bundle="serverless-operator.v1.36.1",
        ),
        ImageEntry(
            "registry.redhat.io/rhdh/rhdh-operator-bundle@" + "sha256:" + "3" * 64,
            "sha256:" + "3" * 64,
            kind="operator",
            package="rhdh",
            version="1.8.1",
            bundle="rhdh-operator.v1.8.1",
        ),
        ImageEntry("registry.redhat.io/redhat/redhat-operator-index:v4.19", "sha256:" + "4" * 64, kind="catalog"),
    )
    return Manifest(
        created="2026-12-03T10:00:00Z",
        mirrorkit_version="0",
        profile="rhdh-orchestrator-1.8",
        imageset_config=ISC,
        images=images,
        **extra,
    )


def _resources(out: Path) -> tuple[ClusterResource, ...]:
    folder = out / "cluster-resources"
    return (
        ClusterResource(
            folder / "cs-redhat-operator-index-v4-19.yaml",
            "operators.coreos.com/v1alpha1",
            "CatalogSource",
            "cs-redhat-operator-index-v4-19",
            "openshift-marketplace",
        ),
        ClusterResource(
            folder / "cc-redhat-operator-index-v4-19.yaml",
            "olm.operatorframework.io/v1",
            "ClusterCatalog",
            "cc-redhat-operator-index-v4-19",
        ),
        ClusterResource(folder / "idms-oc-mirror.yaml", "config.openshift.io/v1", "ImageDigestMirrorSet", "idms-operator-0"),
    )


def test_operator_flow_runbook_subscribes_to_the_mirrored_csvs(tmp_path):
    out = tmp_path / "out"
    ctx = install_context(
        _manifest(),
        output=out,
        registry="mirror.local:5000",
        npm_registry="http://npm.local:4873",
        resources=_resources(out),
        written=[out / "dynamic-plugins.yaml"],
    )
    assert ctx.operator_flow and not ctx.helm_flow
    assert [(o.package, o.channel, o.csv, o.source) for o in ctx.operators] == [
        ("serverless-operator", "stable", "serverless-operator.v1.36.1", "cs-redhat-operator-index-v4-19"),
        ("rhdh", "fast-1.8", "rhdh-operator.v1.8.1", "cs-redhat-operator-index-v4-19"),
    ]
    text = render_runbook(ctx)
    assert "oc apply -f cluster-resources/idms-oc-mirror.yaml" in text
    assert "oc apply -f cluster-resources/cs-redhat-operator-index-v4-19.yaml" in text
    assert "oc apply -f cluster-resources/cc-redhat-operator-index-v4-19.yaml" in text
    assert "  startingCSV: serverless-operator.v1.36.1" in text and "  startingCSV: rhdh-operator.v1.8.1" in text
    assert "namespace: openshift-serverless}" in text and "installPlanApproval: Manual" in text
    assert "oc patch installplan" in text and "-n rhdh-operator" in text
    assert 'oc apply -n "$RHDH_NAMESPACE" -f dynamic-plugins.yaml' in text
    assert "helm install" not in text
    assert ctx.manifest_sha256 in text and "3 operator image(s), 1 catalog image(s)" in text
    assert render_runbook(ctx) == text  # same inputs, same bytes


def test_helm_flow_runbook_installs_the_handed_out_charts_with_the_values(tmp_path):
    out = tmp_path / "out"
    written = [
        out / "values.yaml",
        out / "charts" / "redhat-developer-hub-1.8.0.tgz",
        out / "charts" / "redhat-developer-hub-orchestrator-infra-1.8.0.tgz",
    ]
    ctx = install_context(
        _manifest(),
        output=out,
        registry="mirror.local:5000",
        npm_registry="http://npm.local:4873",
        resources=(),
        written=written,
        bundle=tmp_path / "my bundle",
        verify_key=tmp_path / "signing.pub",
    )
    assert ctx.helm_flow and ctx.charts == (
        "charts/redhat-developer-hub-1.8.0.tgz",
        "charts/redhat-developer-hub-orchestrator-infra-1.8.0.tgz",
    )
    text = render_runbook(ctx)
    infra = text.index("helm install orchestrator-infra charts/redhat-developer-hub-orchestrator-infra-1.8.0.tgz")
    hub = text.index(
        'helm install redhat-developer-hub charts/redhat-developer-hub-1.8.0.tgz -n "$RHDH_NAMESPACE" -f values.yaml'
    )
    assert infra < hub  # the operators the hub needs come first
    assert "--set orchestrator.enabled=true" in text and "global.clusterRouterBase" in text
    bundle, key = shlex.quote(str((tmp_path / "my bundle").resolve())), str((tmp_path / "signing.pub").resolve())
    assert (
        f"mirrorkit verify {bundle} --verify-key {key} --target-registry mirror.local:5000 --target-npm http://npm.local:4873"
        in text
    )
    assert "cluster-resources/" not in text.split("## ")[1]  # no mirror sets were written: no such step


def test_charts_are_handed_out_only_when_their_bytes_match_the_manifest(tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "charts").mkdir(parents=True)
    (bundle / "charts" / "redhat-developer-hub-1.8.0.tgz").write_bytes(b"chart bytes")
    manifest = seal_bundle(bundle, cache_file=False, progress=False)
    out = tmp_path / "out"
    (out / "charts").mkdir(parents=True)
    (out / "charts" / "stale-0.1.0.tgz").write_bytes(b"from an earlier push")
    written = hand_out_charts(bundle, manifest, out)
    assert [p.name for p in written] == ["redhat-developer-hub-1.8.0.tgz"]
    assert sorted(p.name for p in (out / "charts").iterdir()) == ["redhat-developer-hub-1.8.0.tgz"]
    assert (out / "charts" / "redhat-developer-hub-1.8.0.tgz").read_bytes() == b"chart bytes"
    # swapped after verification: refused, and nothing half-written is left behind
    (bundle / "charts" / "redhat-developer-hub-1.8.0.tgz").write_bytes(b"chart bytez")
    with pytest.raises(BundleError, match="changed after the bundle was verified"):
        hand_out_charts(bundle, manifest, out)
    assert not any((out / "charts").glob("*.tgz")) and not any((out / "charts").glob(".*.part"))


def test_catalog_sources_are_matched_by_the_catalogs_last_path_element_even_with_a_registry_port():
    from mirrorkit.oci.reference import last_path_element

    assert last_path_element("registry.redhat.io/redhat/redhat-operator-index:v4.19") == "redhat-operator-index"
    assert last_path_element("127.0.0.1:5000/redhat/redhat-operator-index") == "redhat-operator-index"
    assert last_path_element("127.0.0.1:5000/redhat/redhat-operator-index@" + D) == "redhat-operator-index"
    assert last_path_element("my/target-catalog") == "target-catalog"


def test_operator_flow_points_the_plugin_installer_at_the_mirrored_catalog_index():
    """With a plugin catalog index in the bundle, the Backstage CR sets CATALOG_INDEX_IMAGE for the
    install-dynamic-plugins container to the mirrored index by digest (the Helm flow does it in values)."""
    from mirrorkit.install.resources import PLUGIN_INSTALLER, backstage_object
    from tests.services.schemas import BACKSTAGE_CRD, SchemaSet

    index = "mirror.local:5000/rhdh/plugin-catalog-index@sha256:" + "a" * 64
    cr = backstage_object(catalog_index=index)
    envs = cr["spec"]["application"]["extraEnvs"]["envs"]
    assert envs == [{"name": "CATALOG_INDEX_IMAGE", "value": index, "containers": [PLUGIN_INSTALLER]}]
    assert "envs" not in backstage_object()["spec"]["application"]["extraEnvs"]
    SchemaSet([BACKSTAGE_CRD]).validate_all([cr])
