"""Blob-level deltas on the curated profile's real shape (issue 27): an operator catalog carried in
full, Helm charts, additional images, plugins. The delta's ImageSetConfiguration still names every
operator package (the rebuilt catalog must list them all), so oc-mirror archives every operator image
again; what keeps the delta small is that their blobs are left to the base, which put them in the
target. Real registries and Verdaccio, the oc-mirror double, through the CLI as a user runs it."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
import yaml

from mirrorkit.bundle.manifest import Manifest
from tests.services.images import make_layer, push_image
from tests.test_e2e_orchestrator import (  # noqa: F401 (the module's fixtures, shared)
    Packed,
    _push,
    helm_flow,
    keys,
    mirrorkit,
    sources,
)

pytestmark = pytest.mark.integration


def _manifest(bundle: Path) -> Manifest:
    return Manifest.from_bytes((bundle / "manifest.json").read_bytes())


@pytest.fixture(scope="module")
def delta(helm_flow: Packed, keys, tmp_path_factory) -> Path:
    """The same release with one additional image added: a delta on the helm-flow bundle."""
    work = tmp_path_factory.mktemp("orchestrator-delta")
    extra = push_image(helm_flow.sources.registry_host, "rhdh/extra", "2.0", [make_layer({"extra": b"2.0"})])
    doc = yaml.safe_load(helm_flow.profile.read_text())
    doc["mirror"]["additionalImages"].append({"name": extra.ref})
    profile = work / "v2.yaml"
    profile.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = work / "delta"
    proc = mirrorkit(
        "pack", "--profile", str(profile), "--install", "helm", "-o", str(out), "--sign-key", str(keys[0]),
        "--base", str(helm_flow.bundle), "--no-tls-verify", "-q", "--json", env=helm_flow.env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_the_operator_images_carried_again_leave_their_blobs_to_the_base(helm_flow: Packed, delta: Path) -> None:
    base, new = helm_flow.manifest, _manifest(delta)
    assert new.base is not None
    kinds = {i.kind for i in new.images}
    assert {"operator", "catalog"} <= kinds, "operators are selected by package: carried again"
    left = {b.digest for b in new.base.blobs}
    assert {b.kind for b in new.base.blobs} == {"layer", "manifest"}
    # every operator image the delta archives again has its manifest left to the base
    for image in new.images:
        if image.kind == "operator" and image.digest in {i.digest for i in base.images}:
            assert image.digest in left, image.source
    # the image bytes (registry storage blobs) the delta's archive carries: the new image and little else
    carried, base_carried = _blob_bytes(delta), _blob_bytes(helm_flow.bundle)
    assert carried < base_carried / 10, (carried, base_carried)
    assert sum(b.size for b in new.base.blobs) > base_carried / 2


def _blob_bytes(bundle: Path) -> int:
    total = 0
    for archive in sorted((bundle / "images").glob("mirror_*.tar")):
        with tarfile.open(archive) as tar:
            total += sum(m.size for m in tar if m.name.startswith("docker/registry/v2/blobs/"))
    return total


def test_the_delta_loads_onto_the_target_holding_its_base_and_verifies_everywhere(
    helm_flow: Packed, delta: Path, registry_factory, verdaccio_factory, tmp_path
) -> None:
    target, npm = registry_factory(), verdaccio_factory()
    _push(helm_flow, target, npm, tmp_path / "base")
    pushed = Packed(helm_flow.sources, delta, helm_flow.pub, helm_flow.env, "helm", helm_flow.profile)
    report = _push(pushed, target, npm, tmp_path / "delta")
    assert report["ok"] is True and report["summary"]["failed"] == 0
    proc = mirrorkit(
        "verify", str(delta), "--verify-key", str(helm_flow.pub), "--target-registry", f"{target.host}/mirror",
        "--target-npm", npm.url, "--no-tls-verify", "--base", str(helm_flow.bundle), "--json", env=helm_flow.env,
    )  # fmt: skip
    verified = json.loads(proc.stdout)
    assert proc.returncode == 0, [i for i in verified["items"] if i["status"] != "passed"]
    # offline, every blob the delta leaves to the base is found in the base's archives
    blob_checks = [i for i in verified["items"] if i["category"] == "base" and i["subject"].startswith("blob ")]
    left = _manifest(delta).base
    assert left is not None and len(blob_checks) == len(left.blobs) > 0
    assert all(i["status"] == "passed" for i in blob_checks)
