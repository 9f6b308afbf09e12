"""Bundle sealing and verification: tree and parts, tampering of every kind, unsafe paths."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from mirrorkit.bundle import (
    ImageEntry,
    Manifest,
    NpmPackage,
    generate_keypair,
    layout,
    parse_size,
    reassemble,
    seal_bundle,
    verify_bundle,
)
from mirrorkit.bundle.build import check_free_space, scan
from mirrorkit.bundle.hashcache import HashCache
from mirrorkit.bundle.manifest import canonical_json
from mirrorkit.bundle.parts import load_index
from mirrorkit.bundle.safepath import check_relpath
from mirrorkit.bundle.sbom import add_sbom
from mirrorkit.errors import BundleError, InputError
from mirrorkit.report.model import Status

ISC = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror: {}\n"


def _tgz_integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def npm_index(tgz: bytes) -> bytes:
    """The npm index pack writes for the one plugin of the payload (it must agree with the manifest)."""
    entry = {
        "name": "@scope/backstage-plugin-a",
        "version": "1.0.0",
        "integrity": _tgz_integrity(tgz),
        "shasum": hashlib.sha1(tgz).hexdigest(),
        "size": len(tgz),
        "path": "backstage-plugin-a-1.0.0.tgz",
        "source": "https://registry.example/@scope/backstage-plugin-a/-/backstage-plugin-a-1.0.0.tgz",
    }
    return (json.dumps({"schema": 1, "packages": [entry]}, indent=2, sort_keys=True) + "\n").encode()


def make_payload(root: Path) -> dict[str, bytes]:
    tgz = os.urandom(3_000)
    files = {
        "imageset-config.yaml": ISC.encode(),
        "images/mirror_000001.tar": os.urandom(70_000),
        "images/mirror_000002.tar": os.urandom(20_000),
        "npm/backstage-plugin-a-1.0.0.tgz": tgz,
        "npm/index.json": npm_index(tgz),
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public, _ = generate_keypair(tmp_path / "keys" / "k")
    return private, public


def seal(root: Path, files: dict[str, bytes], key: Path | None, split: int | None = None, **kw) -> Manifest:
    tgz = files["npm/backstage-plugin-a-1.0.0.tgz"]
    return seal_bundle(
        root,
        profile="demo",
        imageset_config=ISC,
        oc_mirror_version="4.19.0",
        npm=[NpmPackage("@scope/backstage-plugin-a", "1.0.0", _tgz_integrity(tgz), "npm/backstage-plugin-a-1.0.0.tgz")],
        images=[ImageEntry("quay.io/a/b:1", "sha256:" + "a" * 64, "mirror.local/a/b")],
        sign_key=key,
        split_size=split,
        cache_file=root.parent / "cache.json",
        progress=False,
        **kw,
    )


@pytest.fixture()
def bundle(tmp_path: Path, keys) -> Path:
    root = tmp_path / "bundle"
    root.mkdir()
    seal(root, make_payload(root), keys[0])
    return root


@pytest.fixture()
def split_bundle(tmp_path: Path, keys) -> Path:
    root = tmp_path / "sbundle"
    root.mkdir()
    seal(root, make_payload(root), keys[0], split=16 * 1024)
    return root


def parts_only(src: Path, dst: Path) -> Path:
    dst.mkdir()
    shutil.copy(src / layout.MANIFEST, dst / layout.MANIFEST)
    shutil.copy(src / layout.SIGNATURE, dst / layout.SIGNATURE)
    shutil.copytree(src / layout.PARTS_DIR, dst / layout.PARTS_DIR)
    return dst


def failed(report, category=None):
    return [i for i in report.items if i.status is Status.FAILED and (category is None or i.category == category)]


def flip(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


# -- a good bundle ---------------------------------------------------------------------------------


def test_sealed_bundle_verifies_with_key(bundle: Path, keys):
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    assert report.ok, failed(report)
    assert report.signer_fingerprint and report.signer_fingerprint.startswith("SHA256:")
    subjects = {i.subject for i in report.items if i.category == "file"}
    assert "images/mirror_000001.tar" in subjects and "npm/index.json" in subjects
    assert any(i.category == "npm-index" and i.status is Status.PASSED for i in report.items)
    assert report.identity.profile == "demo"
    assert report.identity.manifest_sha256 == hashlib.sha256((bundle / layout.MANIFEST).read_bytes()).hexdigest()


def test_without_key_is_unauthenticated_warning_not_pass(bundle: Path):
    report = verify_bundle(bundle, progress=False)
    sig = [i for i in report.items if i.category == "signature"]
    assert len(sig) == 1 and sig[0].status is Status.WARNING
    assert "UNAUTHENTICATED" in sig[0].actual
    assert report.signer_fingerprint is None
    assert report.ok  # a warning does not fail the files


def test_manifest_bytes_are_canonical_and_round_trip(bundle: Path):
    data = (bundle / layout.MANIFEST).read_bytes()
    manifest = Manifest.from_bytes(data)
    assert manifest.to_bytes() == data
    assert data.endswith(b"}\n") and b", " not in data
    assert data == canonical_json(json.loads(data))
    assert {f.path for f in manifest.files} == set(scan(bundle))
    assert manifest.imageset_config == ISC and manifest.oc_mirror_version == "4.19.0"
    assert manifest.created.endswith("Z")


def test_unknown_format_version_is_refused(bundle: Path):
    doc = json.loads((bundle / layout.MANIFEST).read_bytes())
    doc["format_version"] = 99
    with pytest.raises(BundleError, match="format version 99"):
        Manifest.from_bytes(canonical_json(doc))


# -- tampering: each fails with the file named and expected vs actual --------------------------------


def _only_failure_names(report, name):
    fails = failed(report)
    assert fails, "tampering was not detected"
    assert any(name in i.subject for i in fails), fails
    return [i for i in fails if name in i.subject]


def test_flipped_byte_in_archive(bundle: Path, keys):
    flip(bundle / "images/mirror_000001.tar")
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    [item] = _only_failure_names(report, "images/mirror_000001.tar")
    assert item.expected != item.actual and "sha256" in item.expected and "content differs" in item.detail
    assert len(failed(report)) == 1


def test_flipped_byte_in_npm_tarball(bundle: Path, keys):
    flip(bundle / "npm/backstage-plugin-a-1.0.0.tgz", 10)
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    items = _only_failure_names(report, "backstage-plugin-a-1.0.0.tgz")
    assert {i.category for i in items} == {"file", "npm-index"}


def test_flipped_byte_in_manifest(bundle: Path, keys):
    path = bundle / layout.MANIFEST
    data = path.read_bytes()
    pos = data.index(b'"sha256":"') + 12  # inside a hex digest: still valid JSON
    flip(path, pos)
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    sig = [i for i in failed(report) if i.category == "signature"]
    assert sig and sig[0].subject == "manifest.json" and "does not match" in sig[0].actual


def test_file_added(bundle: Path, keys):
    (bundle / "images" / "extra.tar").write_bytes(b"x" * 10)
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    [item] = _only_failure_names(report, "images/extra.tar")
    assert "unlisted" in item.detail and item.actual == "present, size 10"


def test_file_removed(bundle: Path, keys):
    (bundle / "images/mirror_000002.tar").unlink()
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    [item] = _only_failure_names(report, "images/mirror_000002.tar")
    assert item.actual == "missing" and "size 20000" in item.expected


def test_signature_by_another_key(bundle: Path, keys, tmp_path: Path):
    other, _, _ = generate_keypair(tmp_path / "other")
    seal_again = (bundle / layout.MANIFEST).read_bytes()
    from mirrorkit.bundle.signing import write_signature

    write_signature(bundle / layout.SIGNATURE, seal_again, other)
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    [item] = [i for i in failed(report) if i.category == "signature"]
    assert "does not match" in item.actual and "another key" in item.detail
    assert report.signer_fingerprint is None


def test_manifest_edited_rehashed_not_resigned(bundle: Path, keys):
    flip(bundle / "images/mirror_000001.tar")
    sig_before = (bundle / layout.SIGNATURE).read_bytes()
    manifest = Manifest.from_bytes((bundle / layout.MANIFEST).read_bytes())
    new_files = tuple(type(f)(f.path, f.size, hashlib.sha256((bundle / f.path).read_bytes()).hexdigest()) for f in manifest.files)
    forged = add_sbom(
        bundle,
        Manifest(
            manifest.created,
            manifest.mirrorkit_version,
            manifest.oc_mirror_version,
            manifest.profile,
            manifest.imageset_config,
            new_files,
            manifest.npm,
            manifest.images,
        ),
    )  # a thorough forger rewrites the SBOM too
    (bundle / layout.MANIFEST).write_bytes(forged.to_bytes())
    assert (bundle / layout.SIGNATURE).read_bytes() == sig_before
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    assert [i.category for i in failed(report)] == ["signature"]  # files match the forged manifest
    # and without a key, nothing can tell: it is only a warning saying so
    assert verify_bundle(bundle, progress=False).ok


def test_signature_missing_with_key(bundle: Path, keys):
    (bundle / layout.SIGNATURE).unlink()
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    assert [(i.category, i.actual) for i in failed(report)] == [("signature", "missing")]


# -- unsafe paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "a/../../b", "a\\b", "a\x00b", "./a", "a//b", ""])
def test_unsafe_relpaths_refused(name):
    with pytest.raises(BundleError, match="unsafe path"):
        check_relpath(name)


@pytest.mark.parametrize("name", ["../outside.tar", "/etc/passwd", "images/../../x"])
def test_manifest_with_unsafe_path_is_refused(bundle: Path, name: str):
    doc = json.loads((bundle / layout.MANIFEST).read_bytes())
    doc["files"][0]["path"] = name
    (bundle / layout.MANIFEST).write_bytes(canonical_json(doc))
    with pytest.raises(BundleError, match="unsafe path"):
        Manifest.from_bytes(canonical_json(doc))
    report = verify_bundle(bundle, progress=False)
    [item] = failed(report)
    assert item.category == "manifest" and name in item.detail


def test_symlink_in_bundle_is_refused(bundle: Path, keys, tmp_path: Path):
    target = bundle / "images/mirror_000002.tar"
    outside = tmp_path / "outside.tar"
    shutil.move(target, outside)
    target.symlink_to(outside)
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    [item] = _only_failure_names(report, "images/mirror_000002.tar")
    assert item.actual == "a symbolic link"
    with pytest.raises(BundleError, match="symbolic link"):
        scan(bundle)


def test_symlinked_directory_is_refused(bundle: Path, keys, tmp_path: Path):
    shutil.move(bundle / "npm", tmp_path / "npm-elsewhere")
    (bundle / "npm").symlink_to(tmp_path / "npm-elsewhere")
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    assert any(i.subject == "npm" and i.actual == "a symbolic link" for i in failed(report))


# -- parts ----------------------------------------------------------------------------------------------


def test_parse_size():
    assert parse_size("4GiB") == 4 * 1024**3
    assert parse_size("500MiB") == 500 * 1024**2
    assert parse_size("1.5G") == int(1.5 * 1024**3)
    assert parse_size("700MB") == 700 * 1000**2
    assert parse_size("2048") == 2048
    for bad in ("", "4 parsecs", "-1G", "10"):
        with pytest.raises(InputError):
            parse_size(bad)


def test_split_bundle_has_parts_and_verifies_both_ways(split_bundle: Path, keys, tmp_path: Path):
    index = load_index(split_bundle)
    assert len(index.parts) >= 6 and all(p.size <= 16 * 1024 for p in index.parts)
    assert sum(p.size for p in index.parts) == index.stream_size
    whole = b"".join((split_bundle / "parts" / p.name).read_bytes() for p in index.parts)
    assert hashlib.sha256(whole).hexdigest() == index.stream_sha256
    report = verify_bundle(split_bundle, verify_key=keys[1], progress=False)
    assert report.ok, failed(report)
    assert {"file", "part", "part-file"} <= {i.category for i in report.items}
    carried = parts_only(split_bundle, tmp_path / "carried")
    report = verify_bundle(carried, verify_key=keys[1], progress=False)
    assert report.ok, failed(report)
    assert not any(i.category == "file" for i in report.items)
    assert any(i.category == "part-file" and i.subject == "images/mirror_000001.tar" for i in report.items)


def test_truncated_part_fails_naming_the_part(split_bundle: Path, keys, tmp_path: Path):
    carried = parts_only(split_bundle, tmp_path / "carried")
    part = carried / "parts" / "bundle.part-0002"
    part.write_bytes(part.read_bytes()[:-100])
    report = verify_bundle(carried, verify_key=keys[1], progress=False)
    items = [i for i in failed(report) if i.subject == "parts/bundle.part-0002"]
    assert items and "truncated" in items[0].detail and items[0].expected != items[0].actual
    assert all(i.subject != "parts/bundle.part-0001" for i in failed(report))


def test_flipped_byte_in_part_names_the_file_inside(split_bundle: Path, keys, tmp_path: Path):
    carried = parts_only(split_bundle, tmp_path / "carried")
    flip(carried / "parts" / "bundle.part-0002", 5000)
    report = verify_bundle(carried, verify_key=keys[1], progress=False)
    subjects = {i.subject for i in failed(report)}
    assert "parts/bundle.part-0002" in subjects
    assert "images/mirror_000001.tar" in subjects  # the member the flipped byte belongs to


def test_unlisted_part_and_stale_parts(split_bundle: Path, keys, tmp_path: Path):
    carried = parts_only(split_bundle, tmp_path / "carried")
    (carried / "parts" / "bundle.part-9999").write_bytes(b"junk")
    report = verify_bundle(carried, verify_key=keys[1], progress=False)
    assert [i.subject for i in failed(report)] == ["parts/bundle.part-9999"]


def _tar_parts(dst: Path, index_sha: str, build) -> None:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        build(tar)
    data = buf.getvalue()
    (dst / "parts").mkdir(exist_ok=True)
    (dst / "parts" / "bundle.part-0001").write_bytes(data)
    from mirrorkit.bundle.parts import PartEntry, PartsIndex

    sha = hashlib.sha256(data).hexdigest()
    (dst / layout.PARTS_INDEX).write_bytes(
        PartsIndex(len(data), (PartEntry("bundle.part-0001", len(data), sha),), len(data), sha, index_sha).to_bytes()
    )


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "hardlink"])
def test_unsafe_tar_entries_in_parts_are_refused(split_bundle: Path, keys, tmp_path: Path, kind: str):
    import io
    import tarfile

    carried = parts_only(split_bundle, tmp_path / "carried")
    shutil.rmtree(carried / "parts")
    manifest_sha = hashlib.sha256((carried / layout.MANIFEST).read_bytes()).hexdigest()

    def build(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo({"dotdot": "../evil", "absolute": "/tmp/evil"}.get(kind, "images/evil"))
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
        info.size = 0 if kind in ("symlink", "hardlink") else 4
        tar.addfile(info, io.BytesIO(b"evil") if info.size else None)

    _tar_parts(carried, manifest_sha, build)
    report = verify_bundle(carried, verify_key=keys[1], progress=False)
    refused = [i for i in failed(report) if i.subject == "reassembly"]
    assert refused and ("unsafe" in refused[0].detail)
    out = tmp_path / "out"
    with pytest.raises(BundleError):
        reassemble(carried, out, verify_key=keys[1], progress=False)
    assert not out.exists() and not (tmp_path / "evil").exists()


def test_reassemble_rebuilds_a_verifying_tree(split_bundle: Path, keys, tmp_path: Path):
    carried = parts_only(split_bundle, tmp_path / "carried")
    out = tmp_path / "tree"
    report = reassemble(carried, out, verify_key=keys[1], progress=False)
    assert report.ok
    for name in scan(split_bundle):
        assert (out / name).read_bytes() == (split_bundle / name).read_bytes()
    assert (out / layout.SIGNATURE).read_bytes() == (split_bundle / layout.SIGNATURE).read_bytes()


def test_reassemble_refuses_damaged_parts(split_bundle: Path, keys, tmp_path: Path):
    carried = parts_only(split_bundle, tmp_path / "carried")
    flip(carried / "parts" / "bundle.part-0003", 10)
    out = tmp_path / "tree"
    with pytest.raises(BundleError, match=r"bundle.part-0003|does not verify"):
        reassemble(carried, out, progress=False)
    assert not out.exists()


# -- resume: hash cache, stale files -------------------------------------------------------------------


def test_second_seal_reuses_hashes_and_detects_changes(tmp_path: Path, keys, monkeypatch):
    root = tmp_path / "b"
    root.mkdir()
    files = make_payload(root)
    seal(root, files, keys[0])
    from mirrorkit.bundle import build, hashing

    hashed: list[str] = []
    real = hashing.hash_one

    def counting(r, name, advance=None):
        hashed.append(name)
        return real(r, name, advance)

    monkeypatch.setattr(hashing, "hash_one", counting)
    seal(root, files, keys[0])
    assert hashed == []
    flip(root / "images/mirror_000002.tar")
    m = seal(root, files, keys[0])
    assert hashed == ["images/mirror_000002.tar"]
    assert (
        m.file("images/mirror_000002.tar").sha256 == hashlib.sha256((root / "images/mirror_000002.tar").read_bytes()).hexdigest()
    )
    assert verify_bundle(root, verify_key=keys[1], progress=False).ok
    assert isinstance(HashCache.load(tmp_path / "cache.json").entries, dict)
    del build


def test_reseal_without_key_or_split_removes_stale_signature_and_parts(split_bundle: Path):
    files = {n: (split_bundle / n).read_bytes() for n in scan(split_bundle)}
    seal(split_bundle, files, None)
    assert not (split_bundle / layout.SIGNATURE).exists()
    assert not (split_bundle / layout.PARTS_DIR).exists()
    assert verify_bundle(split_bundle, progress=False).ok


def test_check_free_space(tmp_path: Path):
    check_free_space(tmp_path, 1)
    with pytest.raises(BundleError, match="not enough free space") as err:
        check_free_space(tmp_path / "not" / "yet", 1 << 60)
    assert "--split-size" in str(err.value)


def test_checkers_are_called_with_the_manifest(bundle: Path):
    from mirrorkit.report.model import CheckItem

    seen = []

    def images(manifest):
        seen.append(manifest.images)
        return [CheckItem("image", i.source, i.digest, "absent", Status.FAILED) for i in manifest.images]

    def npm(manifest):
        from mirrorkit.errors import NpmError

        raise NpmError("npm registry down", "connection refused")

    report = verify_bundle(bundle, image_checker=images, npm_checker=npm, progress=False)
    assert seen and seen[0][0].source == "quay.io/a/b:1"
    assert {(i.category, i.subject) for i in failed(report)} == {("image", "quay.io/a/b:1"), ("npm", "target check")}


def test_reseal_removes_parts_left_by_a_killed_run(split_bundle: Path, keys):
    junk = split_bundle / ".parts.abc123"
    junk.mkdir()
    (junk / "bundle.part-0001").write_bytes(b"half")
    files = {n: (split_bundle / n).read_bytes() for n in scan(split_bundle) if not n.startswith(".parts.")}
    seal(split_bundle, files, keys[0], split=16 * 1024)
    assert not junk.exists()
    assert verify_bundle(split_bundle, verify_key=keys[1], progress=False).ok
