"""pack's side of delta bundles: the base's signature, the reduced ImageSetConfiguration, what is
left to the base, and the release view target checks read (no services needed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mirrorkit.bundle.manifest import ImageEntry, Manifest, NpmPackage
from mirrorkit.bundle.signing import generate_keypair, write_signature
from mirrorkit.cli import cli
from mirrorkit.delta import plan_delta, release_view
from mirrorkit.deltapack import CARRIED_IN_FULL, BaseKey, carries_images, open_base, refuse_empty, split_npm, split_release
from mirrorkit.errors import BundleError, CheckFailed, InputError
from mirrorkit.imageset import ImageSetConfig


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _img(ref: str, kind: str = "additional") -> ImageEntry:
    return ImageEntry(ref, _digest(ref), kind=kind)


def _pkg(name: str, version: str) -> NpmPackage:
    return NpmPackage(
        name, version, "sha512-" + hashlib.sha512(f"{name}@{version}".encode()).hexdigest()[:86] + "==", f"npm/{name}.tgz"
    )


def _base(tmp_path: Path, images: list[ImageEntry], npm: list[NpmPackage] = (), key: Path | None = None) -> Path:  # type: ignore[assignment]
    from mirrorkit.bundle.manifest import FileEntry

    files = tuple(FileEntry(p.file, 1, "0" * 64) for p in npm)
    manifest = Manifest("2026-01-01T00:00:00Z", "0.2", files=files, npm=tuple(npm), images=tuple(images))
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "manifest.json").write_bytes(manifest.to_bytes())
    if key is not None:
        write_signature(folder / "manifest.json.sig", manifest.to_bytes(), key)
    return folder


ISC = """apiVersion: mirror.openshift.io/v2alpha1
kind: ImageSetConfiguration
mirror:
  additionalImages:
  - name: reg.example/app:1
  - name: reg.example/hub:2
  operators:
  - catalog: reg.example/catalog:v4.19
    packages:
    - name: op
"""


def test_the_reduced_isc_drops_only_additional_images_the_base_pins(tmp_path: Path) -> None:
    base = open_base(_base(tmp_path, [_img("reg.example/app:1"), _img("reg.example/op:1", "operator")]), None)
    release = [_img("reg.example/app:1"), _img("reg.example/hub:2"), _img("reg.example/op:1", "operator")]
    split = split_release(base, release, ImageSetConfig.loads(ISC))
    assert split.config.mirror is not None
    assert [a.name for a in split.config.mirror.additional_images or ()] == ["reg.example/hub:2"]
    assert split.config.mirror.operators == ImageSetConfig.loads(ISC).mirror.operators  # type: ignore[union-attr]
    # the operator image stays carried even though the base has it: catalogs go in full, and say so
    assert {i.source for i in split.carried} == {"reg.example/hub:2", "reg.example/op:1"}
    assert [i.source for i in split.base_ref.images] == ["reg.example/app:1"]
    assert split.notes == (CARRIED_IN_FULL,)


def test_a_release_the_base_already_holds_carries_no_images_and_is_refused_without_new_plugins(tmp_path: Path) -> None:
    isc = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n  - name: reg.example/app:1\n"
    base = open_base(_base(tmp_path, [_img("reg.example/app:1")]), None)
    split = split_release(base, [_img("reg.example/app:1")], ImageSetConfig.loads(isc))
    assert split.carried == () and not carries_images(split)  # a plugins-only delta: oc-mirror is not run
    refuse_empty(base, split, [_pkg("p", "2.0.0")])  # a new plugin version: a delta worth carrying
    with pytest.raises(InputError, match="nothing for a delta to carry"):
        refuse_empty(base, split, [])


def test_npm_versions_are_left_to_the_base_only_with_the_same_integrity(tmp_path: Path) -> None:
    base = open_base(_base(tmp_path, [], [_pkg("p", "1.0.0"), _pkg("q", "1.0.0")]), None)
    changed = NpmPackage("q", "1.0.0", _pkg("q", "other").integrity, "npm/q.tgz")
    new, left = split_npm(base, [_pkg("p", "1.0.0"), changed, _pkg("r", "2.0.0")])
    assert [(p.name, p.version) for p in new] == [("q", "1.0.0"), ("r", "2.0.0")]
    assert [r.name for r in left] == ["p"]


def test_the_base_signature_is_checked_with_the_given_or_the_signing_key(tmp_path: Path) -> None:
    pem, pub, _ = generate_keypair(tmp_path / "k")
    _other_pem, other_pub, _ = generate_keypair(tmp_path / "o")
    folder = _base(tmp_path, [_img("reg.example/app:1")], key=pem)
    opened = open_base(folder, BaseKey(pub))
    assert opened.sha256 == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    assert open_base(folder / "manifest.json", BaseKey(pem, private=True)).sha256 == opened.sha256
    with pytest.raises(CheckFailed, match="does not verify"):
        open_base(folder, BaseKey(other_pub))
    (folder / "manifest.json.sig").unlink()
    with pytest.raises(BundleError, match="no signature"):
        open_base(folder, BaseKey(pub))
    assert open_base(folder, None).sha256 == opened.sha256  # an unsigned pack records the sha256 only


def test_release_view_adds_what_the_base_carries_and_leaves_full_manifests_alone(tmp_path: Path) -> None:
    base = open_base(_base(tmp_path, [_img("reg.example/app:1")], [_pkg("p", "1.0.0")]), None)
    plan = plan_delta(base, [_img("reg.example/app:1"), _img("reg.example/hub:2")], [_pkg("p", "1.0.0")])
    delta = Manifest("2026-02-01T00:00:00Z", "0.2", images=plan.new_images, base=plan.base_ref())
    view = release_view(delta)
    assert {i.source for i in view.images} == {"reg.example/app:1", "reg.example/hub:2"}
    assert [(p.name, p.version) for p in view.npm] == [("p", "1.0.0")]
    full = Manifest("2026-02-01T00:00:00Z", "0.2", images=(_img("reg.example/app:1"),))
    assert release_view(full) is full


def test_pack_refuses_a_base_inside_the_output_and_a_lone_base_verify_key(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    key = tmp_path / "k.pub"
    key.write_text("x")
    result = CliRunner().invoke(
        cli, ["pack", "--profile", "p", "-o", str(out), "--unsigned", "--base", str(out), "--base-verify-key", str(key)]
    )
    assert result.exit_code == 2, result.output
    assert "--base" in result.output and "is inside the bundle" in result.output
    lone = CliRunner().invoke(
        cli, ["pack", "--profile", "p", "-o", str(tmp_path / "new"), "--unsigned", "--base-verify-key", str(key)]
    )
    assert lone.exit_code == 2 and "pass --base too" in lone.output


def test_oci_plugins_left_to_the_base_still_reach_values(tmp_path: Path) -> None:
    """push writes values.yaml from the release view: an OCI plugin image the base carried is named too."""
    from mirrorkit.plugins.mirrored import mirrored_plugins

    plugin = ImageEntry("reg.example/plugins/orch:1", _digest("orch"), kind="plugin", package="orch-frontend")
    base = open_base(_base(tmp_path, [plugin]), None)
    plan = plan_delta(base, [plugin, _img("reg.example/hub:2")], ())
    delta = Manifest("2026-02-01T00:00:00Z", "0.2", images=plan.new_images, base=plan.base_ref())
    assert mirrored_plugins(delta, "target.example", None) == ()
    found = mirrored_plugins(release_view(delta), "target.example", None)
    assert [p.package for p in found] == [f"oci://target.example/plugins/orch@{plugin.digest}!orch-frontend"]
