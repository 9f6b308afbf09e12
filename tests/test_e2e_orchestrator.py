"""The curated profiles' real path, end to end: operators from an FBC catalog, Helm charts, additional
images and npm plugins through pack -> push -> verify, on real local registries, a real Helm
repository over HTTP and real Verdaccio servers (oc-mirror is the test double under tests/ocmirror_double).

What reaches the target is checked from the target itself (registry API, skopeo), never from
mirrorkit's own account of it: selected bundles and their images present, unselected ones absent,
the catalog in the target lists only what was mirrored, the CatalogSource points at it, the chart
images are there and the chart archives are handed out.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from mirrorkit.bundle.manifest import Manifest
from mirrorkit.oci.reference import ImageReference
from tests.services.catalog import bundle_versions, read_catalog
from tests.services.orchestrator import (
    CATALOG_REPO,
    CATALOG_TAG,
    CHART_VERSION,
    CHARTS,
    OrchestratorSources,
    fill_orchestrator_sources,
    write_orchestrator_profile,
)

pytestmark = pytest.mark.integration

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def mirrorkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mirrorkit", *args], env=env, capture_output=True, text=True, timeout=600)


@dataclass(frozen=True)
class Packed:
    sources: OrchestratorSources
    bundle: Path
    pub: Path
    env: dict[str, str]
    install: str
    profile: Path

    @property
    def manifest(self) -> Manifest:
        return Manifest.from_bytes((self.bundle / "manifest.json").read_bytes())


@pytest.fixture(scope="module")
def sources(registry_factory, verdaccio_factory, oc_mirror_double, skopeo, tmp_path_factory):
    source, source_npm = registry_factory(), verdaccio_factory()
    work = tmp_path_factory.mktemp("orchestrator-sources")
    filled = fill_orchestrator_sources(source.host, source_npm.url, source_npm.add_user("publisher", "pw-publisher"), work)
    yield filled
    filled.stop()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    from mirrorkit.bundle.signing import generate_keypair

    pem, pub, _ = generate_keypair(tmp_path_factory.mktemp("keys") / "key")
    return pem, pub


def _pack(sources: OrchestratorSources, keys, oc_mirror_double: Path, work: Path, install: str) -> Packed:
    profile = write_orchestrator_profile(sources, work / "profile.yaml")
    env = {
        **os.environ,
        "PATH": f"{oc_mirror_double.parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "XDG_CACHE_HOME": str(work / "xdg-cache"),
    }
    bundle = work / "bundle"
    proc = mirrorkit(
        "pack",
        "--profile",
        str(profile),
        "--install",
        install,
        "--output",
        str(bundle),
        "--sign-key",
        str(keys[0]),
        "--no-tls-verify",
        "-q",
        "--json",
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    # the plan (catalogs read by mirrorkit, charts rendered by the real helm) and oc-mirror's mapping agree
    assert result["warnings"] == [], result["warnings"]
    return Packed(sources, bundle, keys[1], env, install, profile)


@pytest.fixture(scope="module")
def helm_flow(sources, keys, oc_mirror_double, tmp_path_factory) -> Packed:
    return _pack(sources, keys, oc_mirror_double, tmp_path_factory.mktemp("helm-flow"), "helm")


@pytest.fixture(scope="module")
def operator_flow(sources, keys, oc_mirror_double, tmp_path_factory) -> Packed:
    return _pack(sources, keys, oc_mirror_double, tmp_path_factory.mktemp("operator-flow"), "operator")


def _push(packed: Packed, target, target_npm, out: Path) -> dict:
    env = {**packed.env, "NPM_TOKEN": target_npm.add_user("bastion", "pw-bastion")}
    proc = mirrorkit(
        "push",
        str(packed.bundle),
        "--target-registry",
        f"{target.host}/mirror",
        "--target-npm",
        target_npm.url,
        "--verify-key",
        str(packed.pub),
        "--output",
        str(out),
        "--no-tls-verify",
        "-q",
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((out / "report.json").read_text())


def in_target(host: str, ref: str, prefix: str = "mirror") -> bool:
    """Is the image *ref* (source reference, by digest or tag) in the target under *prefix*, by the
    registry's own answer? (disk-to-mirror keeps the repository path under the prefix)."""
    parsed = ImageReference.parse(ref)
    reference = parsed.digest or parsed.tag
    url = f"http://{host}/v2/{prefix}/{parsed.repository}/manifests/{reference}"
    return requests.head(url, headers={"Accept": ACCEPT}, timeout=30).status_code == 200


def by_name(refs) -> set[str]:
    return {ImageReference.parse(r).name for r in refs}


def test_pack_labels_every_image_with_its_kind_and_provenance(helm_flow):
    m, src = helm_flow.manifest, helm_flow.sources
    kinds = {i.kind for i in m.images}
    assert kinds == {"additional", "operator", "helm", "catalog"}
    operator = {f"{ImageReference.parse(i.source).name}@{i.digest}": i for i in m.images if i.kind == "operator"}
    assert set(operator) == src.operator_images("helm")
    bundle = src.catalog.bundle("serverless-operator", "1.36.1")
    assert (operator[bundle.image].package, operator[bundle.image].version, operator[bundle.image].bundle) == (
        "serverless-operator",
        "1.36.1",
        "serverless-operator.v1.36.1",
    )
    additional = {i.source for i in m.images if i.kind == "additional"}
    # the additional image and the images catalog discovery found in the selected logic bundle's ConfigMap
    assert additional == {src.additional.ref} | src.discovered_images("helm")
    assert not additional & src.undiscovered_images()
    assert by_name(i.source for i in m.images if i.kind == "helm") == by_name(src.chart_images())
    (catalog,) = [i for i in m.images if i.kind == "catalog"]
    assert catalog.source.startswith(f"{src.registry_host}/{CATALOG_REPO}:{CATALOG_TAG}@{src.catalog.digest}")
    assert catalog.digest != src.catalog.digest  # the rebuilt (filtered) catalog, not the source one
    charts = sorted(f.path for f in m.files if f.path.startswith("charts/"))
    assert charts == sorted(f"charts/{c}-{CHART_VERSION}.tgz" for c in CHARTS)


def test_helm_flow_push_and_verify_carry_what_was_selected_and_nothing_else(
    helm_flow, registry_factory, verdaccio_factory, tmp_path
):
    src = helm_flow.sources
    target, target_npm = registry_factory(), verdaccio_factory()
    out = tmp_path / "install"
    report = _push(helm_flow, target, target_npm, out)
    assert report["ok"] is True and report["summary"]["failed"] == 0
    groups = {g["group"] for g in report["groups"]}
    assert {"operator serverless-operator 1.36.1", "operator logic-operator-rhel8 1.36.0", "catalog", "additional"} <= groups
    assert any(g.startswith("helm") for g in groups)

    for ref in src.operator_images("helm") | src.discovered_images("helm") | src.chart_images() | {src.additional.ref}:
        assert in_target(target.host, ref), f"{ref} missing from the target"
    # plan --json named, before anything was mirrored, exactly the chart images that reached the target
    planned = mirrorkit(
        "plan", "--profile", str(helm_flow.profile), "--install", "helm", "--json", "--no-tls-verify", "-q", env=helm_flow.env
    )
    assert planned.returncode == 0, planned.stderr
    plan_doc = json.loads(planned.stdout)
    chart_refs = {i["ref"] for i in plan_doc["images"] if i["kind"] == "helm"}
    assert plan_doc["charts"]["predicted"] is True and chart_refs == src.chart_images()
    assert chart_refs == {i.source for i in helm_flow.manifest.images if i.kind == "helm"}
    for ref in src.unselected_images("helm") | src.undiscovered_images():
        assert not in_target(target.host, ref), f"{ref} was not selected but reached the target"
    assert not any(in_target(target.host, ref) for ref in src.unselected_chart_images() - src.chart_images())

    # the catalog in the target lists exactly the mirrored bundles
    target_catalog = f"{target.host}/mirror/{CATALOG_REPO}:{CATALOG_TAG}"
    fbc = read_catalog(target_catalog)
    assert set(fbc) == {"logic-operator-rhel8", "serverless-operator"}
    assert bundle_versions(fbc, "logic-operator-rhel8") == {"1.36.0"}
    assert bundle_versions(fbc, "serverless-operator") == {"1.36.0", "1.36.1"}
    rebuilt = next(i for i in helm_flow.manifest.images if i.kind == "catalog")
    assert in_target(target.host, f"{src.registry_host}/{CATALOG_REPO}@{rebuilt.digest}")

    # cluster resources: the CatalogSource and ClusterCatalog point at the mirrored catalog
    cs = yaml.safe_load((out / "cluster-resources" / "cs-redhat-operator-index-v4-19.yaml").read_text())
    assert (cs["kind"], cs["metadata"]["name"], cs["spec"]["image"]) == (
        "CatalogSource",
        "cs-redhat-operator-index-v4-19",
        target_catalog,
    )
    cc = yaml.safe_load((out / "cluster-resources" / "cc-redhat-operator-index-v4-19.yaml").read_text())
    assert cc["spec"]["source"]["image"]["ref"] == target_catalog
    idms = list(yaml.safe_load_all((out / "cluster-resources" / "idms-oc-mirror.yaml").read_text()))
    assert {d["metadata"]["name"] for d in idms if d} >= {"idms-operator-0"}

    # the charts are handed out, byte for byte what the repository served, and the runbook uses them
    for chart in CHARTS:
        name = f"{chart}-{CHART_VERSION}.tgz"
        assert (out / "charts" / name).read_bytes() == (src.helm.root / name).read_bytes()
    runbook = (out / "INSTALL.md").read_text()
    assert f"helm install redhat-developer-hub charts/redhat-developer-hub-{CHART_VERSION}.tgz" in runbook
    assert "-f values.yaml" in runbook and "oc apply -f cluster-resources/cs-redhat-operator-index-v4-19.yaml" in runbook
    assert "serverless-operator.v1.36.1" in runbook  # the install plan to approve names the mirrored CSV
    infra = yaml.safe_load((out / "infra-values.yaml").read_text())
    assert infra["serverlessOperator"]["subscription"]["spec"]["source"] == "cs-redhat-operator-index-v4-19"
    assert "-f infra-values.yaml" in runbook

    # the runbook's verify line works when pasted as is, from the install folder
    pasted = next(line for line in runbook.splitlines() if line.startswith("mirrorkit verify "))
    proc = subprocess.run(
        [sys.executable, "-m", *shlex.split(pasted)], cwd=out, env=helm_flow.env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, pasted + proc.stdout + proc.stderr
    assert (out / "reports" / "report.json").is_file()

    proc = mirrorkit(
        "verify",
        str(helm_flow.bundle),
        "--verify-key",
        str(helm_flow.pub),
        "--target-registry",
        f"{target.host}/mirror",
        "--target-npm",
        target_npm.url,
        "--no-tls-verify",
        "--json",
        env=helm_flow.env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    images = [i for i in json.loads(proc.stdout)["items"] if i["category"] == "image"]
    assert len(images) == len(helm_flow.manifest.images) and all(i["status"] == "passed" for i in images)


def test_operator_flow_adds_the_rhdh_operator_and_no_charts(operator_flow, registry_factory, verdaccio_factory, tmp_path):
    src, m = operator_flow.sources, operator_flow.manifest
    assert not any(i.kind == "helm" for i in m.images) and not any(f.path.startswith("charts/") for f in m.files)
    rhdh = {i.bundle for i in m.images if i.package == "rhdh"}
    assert rhdh == {"rhdh.v1.8.1"}  # the head of fast-1.8, from the replaces graph
    target, target_npm = registry_factory(), verdaccio_factory()
    out = tmp_path / "install"
    report = _push(operator_flow, target, target_npm, out)
    assert report["ok"] is True
    for ref in src.operator_images("operator"):
        assert in_target(target.host, ref), ref
    assert not any(in_target(target.host, ref) for ref in src.catalog.images_of("rhdh", "1.7.0", "1.7.1", "1.8.0"))
    fbc = read_catalog(f"{target.host}/mirror/{CATALOG_REPO}:{CATALOG_TAG}")
    assert bundle_versions(fbc, "rhdh") == {"1.8.1"}
    package = next(o for o in fbc["rhdh"] if o["schema"] == "olm.package")
    assert package["defaultChannel"] == "fast-1.8"
    runbook = (out / "INSTALL.md").read_text()
    assert "startingCSV: rhdh.v1.8.1" in runbook and "helm install" not in runbook
    assert "-f operator/backstage.yaml" in runbook and "kind: Backstage" in (out / "operator" / "backstage.yaml").read_text()
    assert (out / "operator" / "backend-auth-secret.yaml").stat().st_mode & 0o777 == 0o600
    assert not (out / "charts").exists() or not any((out / "charts").iterdir())


def test_sbom_of_a_bundle_with_operators_and_charts(helm_flow, operator_flow):
    """Both flows' real bundles: valid CycloneDX 1.6, one component per image/package/chart of the
    manifest with its hashes, operator bundles and charts grouping their images."""
    from tests.test_sbom import assert_sbom_agrees

    for packed in (helm_flow, operator_flow):
        doc = assert_sbom_agrees(packed.bundle)
        refs = {c["bom-ref"] for c in doc["components"]}
        deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
        operators = [r for r in refs if r.startswith("operator-bundle:")]
        assert operators and all(deps[r] for r in operators), operators
        assert any(r.endswith("#catalog") or "#catalog:" in r for r in refs)
    charts = [r for r in {c["bom-ref"] for c in assert_sbom_agrees(helm_flow.bundle)["components"]} if r.startswith("chart:")]
    assert charts
