"""The bundle's image list and charts/ agree with its oc-mirror archives (issue 14, consistency).

Units: small hand-built tars in oc-mirror's archive layout (docker/registry/v2 revision links naming
their digest, manifest blobs, working-dir/helm/charts), split over two archives as real multi-archive
bundles are. Real archives: mirror to disk by the oc-mirror test double (its cache is a registry's
storage, archived as oc-mirror archives it) pass, and lose that pass when an image is taken out or its
manifest swapped. End to end: the Orchestrator helm-flow bundle (tests/services/orchestrator.py) is
cross-checked image by image; with one charts/ file swapped and the bundle re-signed with the real key,
verify fails on that chart and push touches no target.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import requests

from mirrorkit.bundle.archives import archive_consistency_items
from mirrorkit.bundle.manifest import FileEntry, ImageEntry, Manifest
from mirrorkit.bundle.sbom import add_sbom
from mirrorkit.bundle.signing import write_signature
from mirrorkit.report.model import Status
from tests.services.images import push_image, push_index
from tests.services.process import free_port

CHART = b"\x1f\x8b pretend chart bytes"
MANIFEST_A, MANIFEST_B, MANIFEST_C = (json.dumps({"schemaVersion": 2, "n": n}).encode() for n in "abc")
HEX_A, HEX_B, HEX_C = (hashlib.sha256(m).hexdigest() for m in (MANIFEST_A, MANIFEST_B, MANIFEST_C))
BODIES = {HEX_A: MANIFEST_A, HEX_B: MANIFEST_B, HEX_C: MANIFEST_C}


def _tar(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _link(repo: str, hex_: str) -> str:
    return f"docker/registry/v2/repositories/{repo}/_manifests/revisions/sha256/{hex_}/link"


def _blob(hex_: str) -> str:
    return f"docker/registry/v2/blobs/sha256/{hex_[:2]}/{hex_}/data"


def _cached(repo: str, hex_: str, prefix: str = "") -> dict[str, bytes]:
    """What oc-mirror archives for one cached image: its revision link (content: the digest) and its
    manifest blob (the layers and config are left out: the check reads neither)."""
    return {prefix + _link(repo, hex_): f"sha256:{hex_}".encode(), prefix + _blob(hex_): BODIES[hex_]}


def _manifest(root: Path, images: tuple[ImageEntry, ...], charts: dict[str, bytes] | None = None) -> Manifest:
    files = [FileEntry(p.relative_to(root).as_posix(), 0, "") for p in sorted((root / "images").glob("mirror_*.tar"))]
    for name, data in (charts or {}).items():
        files.append(FileEntry(f"charts/{name}", len(data), hashlib.sha256(data).hexdigest()))
    return Manifest(created="2026-01-01T00:00:00Z", mirrorkit_version="test", files=tuple(files), images=images)


def _run(root: Path, manifest: Manifest):
    return archive_consistency_items(root, manifest, {f.path for f in manifest.files})


IMAGES = (
    ImageEntry("quay.io/rhdh/hub:1.8", f"sha256:{HEX_A}", kind="helm", package="backstage", version="1.0.0"),
    ImageEntry("registry.redhat.io/ubi9/ubi@sha256:" + HEX_B, f"sha256:{HEX_B}"),
    ImageEntry("quay.io/acme/app:2", f"sha256:{HEX_C}", destination="localhost:55000/renamed/app:2"),
)


def test_real_layout_every_image_has_a_revision_link_across_archives(tmp_path):
    _tar(
        tmp_path / "images/mirror_000001.tar",
        {**_cached("rhdh/hub", HEX_A), **_cached("ubi9/ubi", HEX_B), "working-dir/helm/charts/backstage-1.0.0.tgz": CHART},
    )
    _tar(tmp_path / "images/mirror_000002.tar", _cached("renamed/app", HEX_C, prefix="./"))
    items = _run(tmp_path, _manifest(tmp_path, IMAGES, {"backstage-1.0.0.tgz": CHART}))
    assert [i.status for i in items] == [Status.PASSED, Status.PASSED], items
    assert {i.category for i in items} == {"chart", "archive"}


def test_real_layout_missing_revision_link_fails_naming_the_image(tmp_path):
    # the digest is there, but under another repository: not where oc-mirror would push it from
    _tar(
        tmp_path / "images/mirror_000001.tar",
        {**_cached("rhdh/hub", HEX_A), **_cached("ubi9/other", HEX_B), **_cached("renamed/app", HEX_C)},
    )
    items = _run(tmp_path, _manifest(tmp_path, IMAGES))
    failed = [i for i in items if i.status is Status.FAILED]
    assert [i.subject for i in failed] == [IMAGES[1].source], items
    assert "ubi9/ubi" in failed[0].detail


def test_revision_link_naming_another_digest_does_not_count(tmp_path):
    # the registry serves the digest the link file holds, not the one its directory is named after
    members = {**_cached("rhdh/hub", HEX_A), **_cached("ubi9/ubi", HEX_B), **_cached("renamed/app", HEX_C)}
    members[_link("ubi9/ubi", HEX_B)] = f"sha256:{HEX_C}".encode()
    _tar(tmp_path / "images/mirror_000001.tar", members)
    failed = [i for i in _run(tmp_path, _manifest(tmp_path, IMAGES)) if i.status is Status.FAILED]
    assert [(i.subject, i.actual) for i in failed] == [(IMAGES[1].source, "absent")], failed


@pytest.mark.parametrize("body", [None, MANIFEST_C], ids=["blob-missing", "blob-swapped"])
def test_manifest_blob_missing_or_not_the_digest_fails(tmp_path, body):
    members = {**_cached("rhdh/hub", HEX_A), **_cached("ubi9/ubi", HEX_B), **_cached("renamed/app", HEX_C)}
    del members[_blob(HEX_B)]
    if body is not None:
        members[_blob(HEX_B)] = body
    _tar(tmp_path / "images/mirror_000001.tar", members)
    failed = [i for i in _run(tmp_path, _manifest(tmp_path, IMAGES)) if i.status is Status.FAILED]
    assert [i.subject for i in failed] == [IMAGES[1].source], failed
    assert failed[0].actual == ("manifest blob absent" if body is None else f"manifest blob hashes to sha256:{HEX_C}")


def test_other_layout_is_one_warning_not_a_silent_pass(tmp_path):
    _tar(tmp_path / "images/mirror_000001.tar", {"cache/quay.io/rhdh/hub/manifest.json": b"{}", "working-dir/x": b""})
    items = _run(tmp_path, _manifest(tmp_path, IMAGES))
    assert len(items) == 1 and items[0].status is Status.WARNING, items
    assert "not" in items[0].detail and "cross-checked" in items[0].detail


@pytest.mark.parametrize("archived", [CHART + b"!", None])
def test_chart_differing_from_or_missing_in_the_archive_fails(tmp_path, archived):
    members = {**_cached("rhdh/hub", HEX_A), **_cached("ubi9/ubi", HEX_B), **_cached("renamed/app", HEX_C)}
    if archived is not None:
        members["working-dir/helm/charts/backstage-1.0.0.tgz"] = archived
    _tar(tmp_path / "images/mirror_000001.tar", members)
    items = _run(tmp_path, _manifest(tmp_path, IMAGES, {"backstage-1.0.0.tgz": CHART}))
    failed = [i for i in items if i.status is Status.FAILED]
    assert [i.subject for i in failed] == ["charts/backstage-1.0.0.tgz"], items
    assert ("differs" if archived else "not in any archive") in failed[0].actual


def test_helm_image_naming_a_chart_the_bundle_does_not_carry_is_a_warning(tmp_path):
    _tar(tmp_path / "images/mirror_000001.tar", {"working-dir/helm/charts/other-2.0.0.tgz": CHART})
    items = _run(tmp_path, _manifest(tmp_path, IMAGES[:1], {"other-2.0.0.tgz": CHART}))
    warned = [i for i in items if i.status is Status.WARNING and i.category == "chart"]
    assert [i.subject for i in warned] == [IMAGES[0].source], items


def test_unreadable_archive_is_the_one_not_cross_checked_warning(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images/mirror_000001.tar").write_bytes(b"not a tar" * 200)
    items = _run(tmp_path, _manifest(tmp_path, IMAGES))
    assert [i.status for i in items] == [Status.WARNING] and "images/mirror_000001.tar is not a readable tar" in items[0].detail


# -- real archives: mirror to disk by the oc-mirror test double ----------------------------------------


@dataclasses.dataclass
class DoubleArchive:
    root: Path  # a bundle-like tree: images/mirror_*.tar
    images: tuple[ImageEntry, ...]
    cache_repos: dict[str, str]  # source -> repository oc-mirror cached it under


@pytest.fixture(scope="module")
def double_archive(registry_factory, oc_mirror_double, skopeo, tmp_path_factory) -> DoubleArchive:
    """Two images (a single-arch one by tag, an index by digest under a targetRepo) archived by the double."""
    source, root = registry_factory(), tmp_path_factory.mktemp("double-archive")
    app = push_image(source.host, "acme/app", "1.0", docker=True)
    multi = push_index(source.host, "acme/multi", "2.0")
    isc = root / "isc.yaml"
    isc.write_text(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n"
        f"  - name: {app.ref}\n  - name: {multi.by_digest}\n    targetRepo: renamed/multi\n"
    )
    argv = [str(oc_mirror_double), "--v2", "-c", str(isc), "--cache-dir", str(root / "cache"), "--port", str(free_port())]
    argv += ["--src-tls-verify=false", f"file://{root / 'images'}"]
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    images = (
        ImageEntry(app.ref, app.digest, destination=app.repo),
        ImageEntry(multi.by_digest, multi.digest, destination="renamed/multi"),
    )
    return DoubleArchive(root, images, {app.ref: app.repo, multi.by_digest: "renamed/multi"})


def _rewrite(archive: Path, out: Path, change) -> None:
    """Copy the tar *archive* to *out*, member by member through *change(name, data) -> data | None*."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src:
            data = src.extractfile(member).read() if member.isfile() else b""
            data = change(member.name, data)
            if data is not None:
                member.size = len(data)
                dst.addfile(member, io.BytesIO(data))


def test_double_archive_has_oc_mirrors_layout_and_order(double_archive):
    with tarfile.open(double_archive.root / "images/mirror_000001.tar") as tar:
        names = tar.getnames()
    regions = [n.split("/")[0] if not n.startswith("docker/") else "/".join(n.split("/")[:4]) for n in names]
    order = list(dict.fromkeys(regions))  # repositories, then blobs, then working-dir, then the ISC copy
    assert order[:3] == ["docker/registry/v2/repositories", "docker/registry/v2/blobs", "working-dir"], order
    assert len(order) == 4 and order[3].startswith("isc_"), order
    for image in double_archive.images:
        hex_ = image.digest.split(":", 1)[1]
        assert _link(double_archive.cache_repos[image.source], hex_) in names
        assert _blob(hex_) in names


def test_double_archive_cross_checks_every_image(double_archive):
    manifest = _manifest(double_archive.root, double_archive.images)
    items = _run(double_archive.root, manifest)
    assert [(i.status, i.actual) for i in items] == [(Status.PASSED, "2 found")], items


@pytest.mark.parametrize("tamper", ["image-removed", "manifest-swapped"])
def test_tampered_double_archive_fails_on_that_image(double_archive, tmp_path, tamper):
    app, multi = double_archive.images
    app_hex, multi_hex = app.digest.split(":", 1)[1], multi.digest.split(":", 1)[1]
    with tarfile.open(double_archive.root / "images/mirror_000001.tar") as tar:
        app_body = tar.extractfile(_blob(app_hex)).read()

    def change(name: str, data: bytes) -> bytes | None:
        if tamper == "image-removed" and (name.startswith("docker/registry/v2/repositories/renamed/") or multi_hex in name):
            return None
        if tamper == "manifest-swapped" and name == _blob(multi_hex):
            return app_body  # another image's manifest where the index should be
        return data

    _rewrite(double_archive.root / "images/mirror_000001.tar", tmp_path / "images/mirror_000001.tar", change)
    failed = [i for i in _run(tmp_path, _manifest(tmp_path, double_archive.images)) if i.status is Status.FAILED]
    assert [i.subject for i in failed] == [multi.source], failed
    assert failed[0].actual == ("absent" if tamper == "image-removed" else f"manifest blob hashes to {app.digest}")


# -- end to end: the Orchestrator helm flow ------------------------------------------------------------

from tests.test_e2e_orchestrator import _pack, helm_flow, keys, mirrorkit, sources  # noqa: E402,F401 - module fixtures


@pytest.mark.integration
def test_verify_cross_checks_the_packed_charts_and_images(helm_flow, tmp_path):
    proc = mirrorkit(
        "verify",
        str(helm_flow.bundle),
        "--verify-key",
        str(helm_flow.pub),
        "--report",
        str(tmp_path),
        "--json",
        env=helm_flow.env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    items = json.loads((tmp_path / "report.json").read_text())["items"]
    charts = [i for i in items if i["category"] == "chart"]
    assert charts and all(i["status"] == "passed" for i in charts), charts
    assert {i["subject"] for i in charts} == {f.path for f in helm_flow.manifest.files if f.path.startswith("charts/")}
    layout = [i for i in items if i["category"] == "archive"]
    count = len(helm_flow.manifest.images)
    assert [(i["status"], i["actual"]) for i in layout] == [("passed", f"{count} found")], layout
    assert "not cross-checked" not in proc.stdout + proc.stderr


@pytest.mark.integration
def test_resigned_bundle_with_a_swapped_chart_fails_verify_and_push_touches_nothing(
    helm_flow,
    keys,
    registry_factory,
    verdaccio_factory,
    tmp_path,
):
    bundle = tmp_path / "bundle"
    shutil.copytree(helm_flow.bundle, bundle, symlinks=True)
    manifest = Manifest.from_bytes((bundle / "manifest.json").read_bytes())
    chart = next(f for f in manifest.files if f.path.startswith("charts/"))
    swapped = (bundle / chart.path).read_bytes() + b"\0" * 16  # still gunzips; not what oc-mirror read
    (bundle / chart.path).write_bytes(swapped)
    files = tuple(
        FileEntry(f.path, len(swapped), hashlib.sha256(swapped).hexdigest()) if f.path == chart.path else f
        for f in manifest.files
    )
    resealed = add_sbom(bundle, dataclasses.replace(manifest, files=files))  # an insider re-seals it all
    data = resealed.to_bytes()
    (bundle / "manifest.json").write_bytes(data)
    write_signature(bundle / "manifest.json.sig", data, keys[0])

    proc = mirrorkit(
        "verify", str(bundle), "--verify-key", str(helm_flow.pub), "--report", str(tmp_path / "v"), env=helm_flow.env
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    failed = [i for i in json.loads((tmp_path / "v" / "report.json").read_text())["items"] if i["status"] == "failed"]
    assert [(i["category"], i["subject"]) for i in failed] == [("chart", chart.path)], failed
    assert chart.path in proc.stdout

    target, target_npm = registry_factory(), verdaccio_factory()
    env = {**helm_flow.env, "NPM_TOKEN": target_npm.add_user("bastion", "pw-bastion")}
    out = tmp_path / "install"
    proc = mirrorkit(
        "push",
        str(bundle),
        "--target-registry",
        f"{target.host}/mirror",
        "--target-npm",
        target_npm.url,
        "--verify-key",
        str(helm_flow.pub),
        "--output",
        str(out),
        "--no-tls-verify",
        env=env,
    )
    assert proc.returncode != 0 and "nothing was pushed" in proc.stdout, proc.stdout + proc.stderr
    assert requests.get(f"{target.url}/v2/_catalog", timeout=30).json()["repositories"] == []
    assert not (out / "values.yaml").exists() and (out / "report.json").is_file()
    for package in helm_flow.manifest.npm:
        assert requests.get(f"{target_npm.url}/{package.name.replace('/', '%2f')}", timeout=30).status_code == 404
