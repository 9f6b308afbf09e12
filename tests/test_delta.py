"""Delta bundles' foundation (issue 27): the manifest's ``base``, the split of a release by what a
base carries (a chain too), and the refusal that names what the target lacks and which bundle has it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mirrorkit.bundle.manifest import FileEntry, ImageEntry, Manifest, NpmPackage, PluginRef
from mirrorkit.delta import load_base, missing_from_target, plan_delta, refuse_unless_base_present
from mirrorkit.errors import BundleError, CheckFailed, InputError


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _sri(text: str) -> str:
    return "sha512-" + hashlib.sha512(text.encode()).hexdigest()[:86] + "=="


def _img(name: str, tag: str) -> ImageEntry:
    return ImageEntry(f"reg.example/{name}:{tag}", _digest(f"{name}:{tag}"))


def _pkg(name: str, version: str) -> NpmPackage:
    return NpmPackage(name, version, _sri(f"{name}@{version}"), f"npm/{name}-{version}.tgz")


def _chart(name: str) -> FileEntry:
    return FileEntry(f"charts/{name}.tgz", 10, hashlib.sha256(name.encode()).hexdigest())


def _full(images: list[ImageEntry], npm: list[NpmPackage], charts: list[FileEntry]) -> Manifest:
    files = [FileEntry(p.file, 1, "0" * 64) for p in npm] + charts
    return Manifest("2026-01-01T00:00:00Z", "0.2", files=tuple(files), npm=tuple(npm), images=tuple(images))


def _write(folder: Path, manifest: Manifest) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_bytes(manifest.to_bytes())
    return folder


def test_a_full_manifest_has_no_base_key_and_old_bytes_still_read() -> None:
    full = _full([_img("app", "1")], [_pkg("p", "1.0.0")], [_chart("rhdh-1")])
    assert b'"base"' not in full.to_bytes()
    again = Manifest.from_bytes(full.to_bytes())
    assert again == full and again.base is None and again.to_bytes() == full.to_bytes()


def test_delta_of_a_newer_release_carries_only_what_changed_and_lists_the_whole_release(tmp_path: Path) -> None:
    base_manifest = _full(
        [_img("app", "1"), _img("db", "1"), _img("op", "1")], [_pkg("p", "1.0.0"), _pkg("q", "2.0.0")], [_chart("rhdh-1")]
    )
    base = load_base(_write(tmp_path / "base", base_manifest))
    assert base.sha256 == hashlib.sha256((tmp_path / "base" / "manifest.json").read_bytes()).hexdigest()
    release = [_img("app", "1"), _img("db", "1"), _img("op", "2")]  # one operator bumped
    npm = [_pkg("p", "1.0.0"), _pkg("q", "2.1.0")]  # one plugin bumped
    plan = plan_delta(base, release, npm, [_chart("rhdh-1")])
    assert plan.new_images == (_img("op", "2"),)
    assert [p.version for p in plan.new_npm] == ["2.1.0"] and [r.name for r in plan.base_npm] == ["p"]
    assert plan.new_charts == () and plan.base_charts == (_chart("rhdh-1"),)
    delta = Manifest(
        "2026-02-01T00:00:00Z", "0.2", npm=plan.new_npm, images=plan.new_images, base=plan.base_ref(),
        files=tuple(FileEntry(p.file, 1, "0" * 64) for p in plan.new_npm),
    )  # fmt: skip
    parsed = Manifest.from_bytes(delta.to_bytes())
    assert parsed == delta and parsed.base is not None and parsed.base.manifest_sha256 == base.sha256
    assert set(parsed.release_images) == set(release)  # verify and the SBOM still see the whole release


def test_a_chain_counts_what_the_base_left_to_its_own_base(tmp_path: Path) -> None:
    first = load_base(_write(tmp_path / "b0", _full([_img("app", "1"), _img("op", "1")], [_pkg("p", "1.0.0")], [])))
    plan1 = plan_delta(first, [_img("app", "1"), _img("op", "2")], [_pkg("p", "1.0.0")])
    delta1 = Manifest("2026-02-01T00:00:00Z", "0.2", images=plan1.new_images, base=plan1.base_ref())
    second = load_base(_write(tmp_path / "d1", delta1) / "manifest.json")
    plan2 = plan_delta(second, [_img("app", "1"), _img("op", "2"), _img("new", "1")], [_pkg("p", "1.0.0")])
    assert plan2.new_images == (_img("new", "1"),)  # app:1 from b0, op:2 from d1: both left out
    assert {i.source for i in plan2.base_images} == {"reg.example/app:1", "reg.example/op:2"}
    assert plan2.base_npm == (PluginRef("p", "1.0.0", _sri("p@1.0.0")),)
    assert plan2.base_ref().manifest_sha256 == second.sha256 != first.sha256


def test_push_of_a_delta_to_a_target_without_its_base_is_refused_naming_both(tmp_path: Path) -> None:
    base = load_base(_write(tmp_path / "base", _full([_img("app", "1")], [_pkg("p", "1.0.0")], [])))
    plan = plan_delta(base, [_img("app", "1"), _img("op", "2")], [_pkg("p", "1.0.0")])
    delta = Manifest("2026-02-01T00:00:00Z", "0.2", images=plan.new_images, base=plan.base_ref())
    empty = missing_from_target(plan.base_ref(), lambda _i: False, lambda _p: False)
    with pytest.raises(CheckFailed) as refused:
        refuse_unless_base_present(delta, empty)
    text = str(refused.value)
    assert "reg.example/app:1" in text and "plugin p@1.0.0" in text and base.sha256 in text
    assert "Push that base bundle" in text
    holds = missing_from_target(plan.base_ref(), lambda i: i.digest == _digest("app:1"), lambda p: p.name == "p")
    refuse_unless_base_present(delta, holds)  # the upgraded target: nothing missing, no refusal


def test_bad_bases_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no manifest\.json"):
        load_base(tmp_path)
    bad = _full([_img("app", "1")], [], []).to_dict() | {"base": {"manifest_sha256": "xyz"}}
    import json

    with pytest.raises(BundleError, match="manifest_sha256"):
        Manifest.from_bytes(json.dumps(bad).encode())
