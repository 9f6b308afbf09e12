"""Blob-level deltas, the parts that need no services (issue 27): the manifest's ``base.blobs``, the
history file oc-mirror reads, the check that an archive lacks only what the base put in the target,
and push's refusal when the target lacks such a blob. The end-to-end runs are in test_delta_e2e.py
and test_delta_orchestrator.py."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mirrorkit.bundle.archives import scan_archives
from mirrorkit.bundle.manifest import BaseBlob, BaseRef, Manifest
from mirrorkit.deltablobs import BaseBlobs, base_blobs, left_out, missing_blobs, read_archives, write_history
from mirrorkit.deltapush import require_base_on_target
from mirrorkit.errors import BundleError, CheckFailed, MirrorError

STORAGE = "docker/registry/v2"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _archive(path: Path, repo: str, layers: list[bytes], carry: set[str] | None = None) -> tuple[str, list[str]]:
    """An oc-mirror-like archive of one image in *repo*; only blobs in *carry* (all when None) have data."""
    config = b'{"architecture":"amd64"}'
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config), "size": len(config)},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": _digest(x), "size": len(x)} for x in layers
            ],
        }
    ).encode()
    blobs = {_digest(b): b for b in (manifest, config, *layers)}
    top = _digest(manifest)
    with tarfile.open(path, "w") as tar:
        hex_ = top.split(":")[1]
        _add(tar, f"{STORAGE}/repositories/{repo}/_manifests/revisions/sha256/{hex_}/link", top.encode())
        for digest in blobs:
            if digest != top:
                _add(tar, f"{STORAGE}/repositories/{repo}/_layers/sha256/{digest.split(':')[1]}/link", digest.encode())
        for digest, data in blobs.items():
            if carry is None or digest in carry:
                h = digest.split(":")[1]
                _add(tar, f"{STORAGE}/blobs/sha256/{h[:2]}/{h}/data", data)
    return top, list(blobs)


def test_base_blobs_round_trip_in_the_manifest_and_bad_ones_are_refused() -> None:
    blob = BaseBlob("sha256:" + "a" * 64, 12, "rhdh/hub", "layer")
    m = Manifest("2026-01-01T00:00:00Z", "0.2", base=BaseRef("b" * 64, blobs=(blob,)))
    assert Manifest.from_bytes(m.to_bytes()).base == m.base
    doc = json.loads(m.to_bytes())
    doc["base"]["blobs"][0]["repository"] = "../etc"
    with pytest.raises(BundleError, match="repository"):
        Manifest.from_bytes(json.dumps(doc).encode())
    doc["base"]["blobs"][0] |= {"repository": "rhdh/hub", "kind": "tarball"}
    with pytest.raises(BundleError, match="kind"):
        Manifest.from_bytes(json.dumps(doc).encode())
    no_blobs = Manifest("2026-01-01T00:00:00Z", "0.2", base=BaseRef("b" * 64))
    assert "blobs" not in json.loads(no_blobs.to_bytes())["base"]  # older deltas' bytes are unchanged


def test_the_history_file_is_what_oc_mirror_reads(tmp_path: Path) -> None:
    path = write_history(
        tmp_path / "working-dir", ["sha256:" + "2" * 64, "sha256:" + "1" * 64], datetime(2026, 12, 5, 1, 2, 3, tzinfo=UTC)
    )
    assert path.relative_to(tmp_path).as_posix() == "working-dir/.history/.history-2026-12-05T01:02:03Z"
    assert path.read_text() == f"sha256:{'1' * 64}\nsha256:{'2' * 64}\n"


def test_the_base_counts_the_blobs_of_the_images_it_loaded_only(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    top, blobs = _archive(tmp_path / "images" / "mirror_000001.tar", "rhdh/hub", [b"shared", b"old"])
    with tarfile.open(tmp_path / "images" / "mirror_000002.tar", "w") as tar:  # cached, never loaded
        _add(
            tar, f"{STORAGE}/repositories/src/catalog/_manifests/revisions/sha256/{'c' * 64}/link", f"sha256:{'c' * 64}".encode()
        )
        _add(tar, f"{STORAGE}/blobs/sha256/cc/{'c' * 64}/data", b"{}")
    from mirrorkit.bundle.manifest import FileEntry, ImageEntry

    files = tuple(FileEntry(f"images/mirror_00000{n}.tar", 1, "0" * 64) for n in (1, 2))
    manifest = Manifest("2026-01-01T00:00:00Z", "0.2", files=files, images=(ImageEntry("reg.example/rhdh/hub:1", top),))
    found = base_blobs(manifest, tmp_path)
    assert found.read_archives and set(found.blobs) == set(blobs)
    assert {b.repository for b in found.blobs.values()} == {"rhdh/hub"}
    assert found.blobs[top].kind == "manifest" and found.blobs[_digest(b"shared")].kind == "layer"
    assert not base_blobs(manifest, None).read_archives  # a manifest alone: whole images only


def test_an_archive_may_lack_only_what_the_base_put_in_the_target(tmp_path: Path) -> None:
    shared = _digest(b"shared")
    _, blobs = _archive(tmp_path / "mirror_000001.tar", "rhdh/hub", [b"shared", b"new"], carry=None)
    carried = {d for d in blobs if d != shared}
    _archive(tmp_path / "mirror_000001.tar", "rhdh/hub", [b"shared", b"new"], carry=carried)
    assert set(missing_blobs(scan_archives([tmp_path / "mirror_000001.tar"]))) == {shared}
    base = BaseBlobs({shared: BaseBlob(shared, 6, "rhdh/hub")}, read_archives=True)
    scan = read_archives([tmp_path / "mirror_000001.tar"])
    assert left_out(scan, base) == (BaseBlob(shared, 6, "rhdh/hub"),)
    with pytest.raises(MirrorError, match="lacks 1 blob"):
        left_out(scan, BaseBlobs({}, read_archives=True))


def test_push_refuses_a_delta_whose_left_blob_the_target_lacks() -> None:
    blob = BaseBlob("sha256:" + "d" * 64, 5, "rhdh/hub")
    manifest = Manifest("2026-01-01T00:00:00Z", "0.2", base=BaseRef("e" * 64, blobs=(blob,)))
    with pytest.raises(CheckFailed, match=f"blob {blob.digest} of rhdh/hub"):
        require_base_on_target(manifest, lambda m: [], lambda m: [], lambda b: False)
    require_base_on_target(manifest, lambda m: [], lambda m: [], lambda b: True)  # present: passes


def test_verify_with_the_base_finds_each_left_blob_in_its_archives(tmp_path: Path) -> None:
    from mirrorkit.bundle.manifest import FileEntry
    from mirrorkit.deltaverify import base_items
    from mirrorkit.report.model import BundleIdentity, Report

    base_dir = tmp_path / "base"
    (base_dir / "images").mkdir(parents=True)
    _archive(base_dir / "images" / "mirror_000001.tar", "rhdh/hub", [b"shared"])
    base = Manifest("2026-01-01T00:00:00Z", "0.2", files=(FileEntry("images/mirror_000001.tar", 1, "0" * 64),))
    (base_dir / "manifest.json").write_bytes(base.to_bytes())
    sha = hashlib.sha256(base.to_bytes()).hexdigest()
    carried, absent = BaseBlob(_digest(b"shared"), 6, "rhdh/hub"), BaseBlob(_digest(b"elsewhere"), 9, "rhdh/hub")
    delta = Manifest("2026-01-02T00:00:00Z", "0.2", base=BaseRef(sha, blobs=(carried, absent)))

    items = base_items(delta, [base_dir], lambda path: Report("ok", BundleIdentity(), None, ()))
    by_subject = {i.subject: i for i in items}
    assert by_subject[f"blob {carried.digest} of rhdh/hub"].status.value == "passed"
    missing = by_subject[f"blob {absent.digest} of rhdh/hub"]
    assert missing.status.value == "failed" and missing.actual == "in no base"
