"""The bundle's image list and charts/ agree with its oc-mirror archives (issue 14, consistency).

Units: small hand-built tars in oc-mirror's archive layout (docker/registry/v2 revision links,
working-dir/helm/charts), split over two archives as real multi-archive bundles are. End to end: the
Orchestrator helm-flow bundle (tests/services/orchestrator.py), with one charts/ file swapped and the
bundle re-signed with the real key: verify fails on that chart and push touches no target.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import requests

from mirrorkit.bundle.archives import archive_consistency_items
from mirrorkit.bundle.manifest import FileEntry, ImageEntry, Manifest
from mirrorkit.bundle.sbom import add_sbom
from mirrorkit.bundle.signing import write_signature
from mirrorkit.report.model import Status

HEX_A, HEX_B, HEX_C = "a" * 64, "b" * 64, "c" * 64
CHART = b"\x1f\x8b pretend chart bytes"


def _tar(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _link(repo: str, hex_: str) -> str:
    return f"docker/registry/v2/repositories/{repo}/_manifests/revisions/sha256/{hex_}/link"


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
        {_link("rhdh/hub", HEX_A): b"x", _link("ubi9/ubi", HEX_B): b"x", "working-dir/helm/charts/backstage-1.0.0.tgz": CHART},
    )
    _tar(tmp_path / "images/mirror_000002.tar", {"./" + _link("renamed/app", HEX_C): b"x"})
    items = _run(tmp_path, _manifest(tmp_path, IMAGES, {"backstage-1.0.0.tgz": CHART}))
    assert [i.status for i in items] == [Status.PASSED, Status.PASSED], items
    assert {i.category for i in items} == {"chart", "archive"}


def test_real_layout_missing_revision_link_fails_naming_the_image(tmp_path):
    # the digest is there, but under another repository: not where oc-mirror would push it from
    _tar(
        tmp_path / "images/mirror_000001.tar",
        {_link("rhdh/hub", HEX_A): b"x", _link("ubi9/other", HEX_B): b"x", _link("renamed/app", HEX_C): b"x"},
    )
    items = _run(tmp_path, _manifest(tmp_path, IMAGES))
    failed = [i for i in items if i.status is Status.FAILED]
    assert [i.subject for i in failed] == [IMAGES[1].source], items
    assert "ubi9/ubi" in failed[0].detail


def test_other_layout_is_one_warning_not_a_silent_pass(tmp_path):
    _tar(tmp_path / "images/mirror_000001.tar", {"cache/quay.io/rhdh/hub/manifest.json": b"{}", "working-dir/x": b""})
    items = _run(tmp_path, _manifest(tmp_path, IMAGES))
    assert len(items) == 1 and items[0].status is Status.WARNING, items
    assert "not" in items[0].detail and "cross-checked" in items[0].detail


@pytest.mark.parametrize("archived", [CHART + b"!", None])
def test_chart_differing_from_or_missing_in_the_archive_fails(tmp_path, archived):
    members = {_link("rhdh/hub", HEX_A): b"x", _link("ubi9/ubi", HEX_B): b"x", _link("renamed/app", HEX_C): b"x"}
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


# -- end to end: the Orchestrator helm flow ------------------------------------------------------------

from tests.test_e2e_orchestrator import _pack, helm_flow, keys, mirrorkit, sources  # noqa: E402,F401 - module fixtures


@pytest.mark.integration
def test_verify_cross_checks_the_packed_charts_and_warns_on_the_doubles_layout(helm_flow, tmp_path):
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
    assert len(layout) == 1 and layout[0]["status"] == "warning" and "not cross-checked" in layout[0]["detail"], layout


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
        "--registry",
        f"{target.host}/mirror",
        "--npm-registry",
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
