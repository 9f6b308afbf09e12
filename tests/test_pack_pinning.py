"""pack reconciles oc-mirror's archives with the digests it pinned (mirrorkit/pinning.py), on small
hand-built tars in oc-mirror's registry layout (tag links, revision links, manifest blobs)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from mirrorkit.bundle.manifest import ImageEntry
from mirrorkit.errors import CheckFailed
from mirrorkit.pinning import MOVED_HINT, NOT_CHECKED, TagPin, reconcile_archives, tag_pins

BODY_A, BODY_B = (json.dumps({"schemaVersion": 2, "n": n}).encode() for n in "ab")
HEX_A, HEX_B = (hashlib.sha256(b).hexdigest() for b in (BODY_A, BODY_B))
REPO = "docker/registry/v2/repositories/"


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _cached(repo: str, tag: str, body: bytes) -> dict[str, bytes]:
    hex_ = hashlib.sha256(body).hexdigest()
    return {
        f"{REPO}{repo}/_manifests/revisions/sha256/{hex_}/link": f"sha256:{hex_}".encode(),
        f"{REPO}{repo}/_manifests/tags/{tag}/current/link": f"sha256:{hex_}".encode(),
        f"docker/registry/v2/blobs/sha256/{hex_[:2]}/{hex_}/data": body,
    }


IMAGE = ImageEntry("quay.io/acme/app:1.0", f"sha256:{HEX_A}", destination="acme/app")
PIN = TagPin("quay.io/acme/app:1.0", "acme/app", "1.0", f"sha256:{HEX_A}")


def test_pins_are_the_tag_only_images_under_their_cache_repository_and_tag():
    mapping = [
        ("docker://quay.io/acme/app:1.0", "docker://localhost:55000/renamed/app:v1"),  # targetRepo/targetTag
        (f"docker://quay.io/acme/base@sha256:{HEX_B}", f"docker://localhost:55000/acme/base:sha256-{HEX_B}"),
        ("docker://quay.io/acme/unplanned:2", "docker://localhost:55000/acme/unplanned:2"),
    ]
    images = [
        ImageEntry("quay.io/acme/app:1.0", f"sha256:{HEX_A}", destination="renamed/app"),
        ImageEntry(f"quay.io/acme/base@sha256:{HEX_B}", f"sha256:{HEX_B}"),
    ]
    assert tag_pins(mapping, images) == (TagPin("quay.io/acme/app:1.0", "renamed/app", "v1", f"sha256:{HEX_A}"),)


def test_archive_holding_the_pinned_digests_passes(tmp_path):
    archive = _tar(tmp_path / "mirror_000001.tar", _cached("acme/app", "1.0", BODY_A))
    assert reconcile_archives([archive], [IMAGE], [PIN]) is None


def test_moved_tag_refuses_naming_the_image_both_digests_and_the_cause(tmp_path):
    archive = _tar(tmp_path / "mirror_000001.tar", _cached("acme/app", "1.0", BODY_B))
    with pytest.raises(CheckFailed) as refused:
        reconcile_archives([archive], [IMAGE], [PIN])
    text = str(refused.value)
    assert "quay.io/acme/app:1.0" in text and f"sha256:{HEX_A}" in text and f"sha256:{HEX_B}" in text
    assert MOVED_HINT[1:] in text and refused.value.exit_code == 1
    assert len(text) < 400, text  # one CLI error line, not cut


def test_archive_missing_the_manifest_blob_refuses(tmp_path):
    members = _cached("acme/app", "1.0", BODY_A)
    del members[f"docker/registry/v2/blobs/sha256/{HEX_A[:2]}/{HEX_A}/data"]  # left out as "already archived"
    archive = _tar(tmp_path / "mirror_000001.tar", members)
    with pytest.raises(CheckFailed, match=r"not complete in the oc-mirror archive.*manifest blob absent"):
        reconcile_archives([archive], [IMAGE], [PIN])


def test_archive_without_registry_layout_is_a_warning(tmp_path):
    archive = _tar(tmp_path / "mirror_000001.tar", {"some/other/layout": b"x"})
    assert reconcile_archives([archive], [IMAGE], [PIN]) == NOT_CHECKED


def test_unreadable_archive_refuses(tmp_path):
    archive = tmp_path / "mirror_000001.tar"
    archive.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(CheckFailed, match="not a readable tar"):
        reconcile_archives([archive], [IMAGE], [PIN])
