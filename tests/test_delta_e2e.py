"""Delta bundles end to end (issue 27): a base release pushed, then a delta with one image and one
plugin bumped pushed on top and verified as the whole release; the same delta refused by an empty
target naming its base; and a chain base -> delta1 -> delta2 -> delta3 (plugins only). Real registries and Verdaccio, the
oc-mirror double, driven through the CLI as a user would."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from mirrorkit.bundle.manifest import Manifest, count_kinds
from mirrorkit.bundle.signing import generate_keypair
from tests.services.demo_content import DemoContent, fill_demo_sources, write_demo_profile
from tests.services.images import make_layer, push_image
from tests.services.npmpkg import make_tarball, npm_publish
from tests.test_e2e import mirrorkit

pytestmark = pytest.mark.integration

HUB = "rhdh/rhdh-hub-rhel9"
_OCI = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Releases:
    content: DemoContent
    work: Path
    key: Path
    pub: Path
    env: dict[str, str]
    base: Path
    delta1: Path
    delta2: Path
    delta3: Path


def _bumped_profile(content: DemoContent, base_profile: Path, out: Path, hub_ref: str, plugin_spec: str, *more: str) -> Path:
    """The same release with the hub image and the first plugin replaced by newer versions (and *more* images)."""
    doc = yaml.safe_load(base_profile.read_text())
    doc["mirror"]["additionalImages"][0] = {"name": hub_ref}
    doc["mirror"]["additionalImages"] += [{"name": ref} for ref in more]
    doc["npm"]["packages"] = [plugin_spec, *content.npm_specs[1:]]
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def _pack(env: dict[str, str], profile: Path, out: Path, key: Path, *extra: str) -> dict:
    proc = mirrorkit(
        "pack",
        "--profile",
        str(profile),
        "-o",
        str(out),
        "--sign-key",
        str(key),
        "--no-tls-verify",
        "-q",
        "--json",
        *extra,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def releases(registry_factory, verdaccio_factory, oc_mirror_double, skopeo, tmp_path_factory) -> Releases:
    source, source_npm = registry_factory(), verdaccio_factory()
    work = tmp_path_factory.mktemp("delta")
    token = source_npm.add_user("publisher", "pw-publisher")
    content = fill_demo_sources(source.host, source_npm.url, token, work / "npm")
    profile = write_demo_profile(content, work / "v1.yaml")
    key, pub, _ = generate_keypair(work / "key")
    env = {
        **os.environ,
        "PATH": f"{oc_mirror_double.parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "XDG_CACHE_HOME": str(work / "xdg-cache"),
    }
    base = work / "base"
    _pack(env, profile, base, key)

    # v2: the hub and the first plugin bumped; v3: that plugin bumped again and one image added,
    # keeping v2's hub, so delta2 stands on what only delta1 carried (a real chain)
    plugin = content.npm_packages[0].name
    hub = push_image(source.host, HUB, "1.8.1", [make_layer({"version": b"1.8.1"})])
    extra = push_image(source.host, "rhdh/extra", "1.0", [make_layer({"extra": b"1.0"})])
    for version in ("1.8.1", "1.8.2", "1.8.3"):
        npm_publish(source_npm.url, token, make_tarball(plugin, version, payload_size=1024), work / "npm")
    profiles = [
        _bumped_profile(content, profile, work / "v2.yaml", hub.ref, f"{plugin}@1.8.1"),
        _bumped_profile(content, profile, work / "v3.yaml", hub.ref, f"{plugin}@1.8.2", extra.ref),
        _bumped_profile(content, profile, work / "v4.yaml", hub.ref, f"{plugin}@1.8.3", extra.ref),  # plugin only
    ]
    delta1, delta2, delta3 = work / "delta1", work / "delta2", work / "delta3"
    _pack(env, profiles[0], delta1, key, "--base", str(base))
    _pack(env, profiles[1], delta2, key, "--base", str(delta1 / "manifest.json"), "--base-verify-key", str(pub))
    _pack(env, profiles[2], delta3, key, "--base", str(delta2))
    return Releases(content, work, key, pub, env, base, delta1, delta2, delta3)


def _manifest(bundle: Path) -> Manifest:
    return Manifest.from_bytes((bundle / "manifest.json").read_bytes())


def _sha(bundle: Path) -> str:
    return hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()


def _push(r: Releases, bundle: Path, registry, npm, out: Path):
    env = {**r.env, "NPM_TOKEN": npm.add_user(f"u{len(str(out))}{out.name}", "pw-bastion")}
    args = ("push", str(bundle), "--target-registry", registry.host, "--target-npm", npm.url, "--verify-key", str(r.pub))
    return mirrorkit(*args, "-o", str(out), "--no-tls-verify", "-q", env=env)


def _verify(r: Releases, bundle: Path, registry, npm):
    args = ("verify", str(bundle), "--verify-key", str(r.pub), "--target-registry", registry.host, "--target-npm", npm.url)
    return mirrorkit(*args, "--no-tls-verify", env=r.env)


def test_a_delta_carries_only_what_changed_and_names_its_base(releases: Releases) -> None:
    base, delta = _manifest(releases.base), _manifest(releases.delta1)
    assert delta.base is not None and delta.base.manifest_sha256 == _sha(releases.base)
    assert [i.source.rsplit(":", 1)[1] for i in delta.images] == ["1.8.1"]  # only the bumped hub is carried
    # the old hub stays in the release (the operator bundle names it): everything of the base is left to it
    assert {i.digest for i in delta.base.images} == {i.digest for i in base.images}
    assert [(p.name, p.version) for p in delta.npm] == [(releases.content.npm_packages[0].name, "1.8.1")]
    assert len(delta.base.npm) == len(releases.content.npm_packages) - 1
    assert delta.total_size < base.total_size / 2
    sbom = json.loads((releases.delta1 / "sbom.cdx.json").read_text())
    names = json.dumps(sbom)
    assert all(i.digest in names for i in delta.release_images), "the SBOM describes the whole release"
    assert "kubevirt" not in names


def test_the_delta_upgrades_a_target_holding_its_base(releases: Releases, registry_factory, verdaccio_factory, tmp_path) -> None:
    registry, npm = registry_factory(), verdaccio_factory()
    for n, bundle in enumerate((releases.base, releases.delta1, releases.delta2, releases.delta3)):
        proc = _push(releases, bundle, registry, npm, tmp_path / f"out{n}")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        check = _verify(releases, bundle, registry, npm)
        assert check.returncode == 0, check.stdout + check.stderr
    last = _manifest(releases.delta3)
    assert last.images == () and [p.version for p in last.npm] == ["1.8.3"]  # plugins only: oc-mirror not run
    report = json.loads((tmp_path / "out2" / "report.json").read_text())
    images = [i for i in report["items"] if i["category"] == "image"]
    assert len(images) == len(_manifest(releases.delta2).release_images) > len(_manifest(releases.delta2).images)
    # the runbook counts the whole release the cluster gets, not only what the delta carried
    counts = count_kinds(_manifest(releases.delta2).release_images)
    carried = ", ".join(f"{n} {kind} image(s)" for kind, n in counts.items() if n)
    assert (
        f"The bundle carried {carried}, {len(releases.content.npm_packages)} npm package(s)"
        in (tmp_path / "out2" / "INSTALL.md").read_text()
    )
    values = yaml.safe_load((tmp_path / "out2" / "values.yaml").read_text())
    plugins = values["orchestrator"]["plugins"]
    assert len(plugins) == len(releases.content.npm_packages), "values.yaml names the whole release's plugins"
    assert any("1.8.2" in p["package"] for p in plugins)
    plugins3 = yaml.safe_load((tmp_path / "out3" / "values.yaml").read_text())["orchestrator"]["plugins"]
    assert len(plugins3) == len(plugins) and any("1.8.3" in p["package"] for p in plugins3)
    for plugin in plugins:
        assert requests.get(plugin["package"], timeout=30).status_code == 200


def test_a_delta_is_refused_by_a_target_without_its_base(
    releases: Releases, registry_factory, verdaccio_factory, tmp_path
) -> None:
    registry, npm = registry_factory(), verdaccio_factory()
    proc = _push(releases, releases.delta1, registry, npm, tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _sha(releases.base) in proc.stderr and "missing" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert requests.get(f"{registry.url}/v2/_catalog", timeout=30).json()["repositories"] == []


def test_a_chained_delta_on_a_target_with_only_the_first_base_names_the_missing_delta(
    releases: Releases, registry_factory, verdaccio_factory, tmp_path
) -> None:
    registry, npm = registry_factory(), verdaccio_factory()
    assert _push(releases, releases.base, registry, npm, tmp_path / "base").returncode == 0
    proc = _push(releases, releases.delta2, registry, npm, tmp_path / "d2")
    assert proc.returncode == 1 and _sha(releases.delta1) in proc.stderr, proc.stderr
    assert "rhdh-hub-rhel9:1.8.1" in proc.stderr  # the hub only delta1 carried
    assert [i.source.rsplit("/", 1)[1] for i in _manifest(releases.delta2).images] == ["extra:1.0"]


def test_packing_the_same_delta_again_reuses_its_archives(releases: Releases, tmp_path) -> None:
    again = tmp_path / "delta1"
    shutil.copytree(releases.delta1, again)
    report = _pack(releases.env, releases.work / "v2.yaml", again, releases.key, "--base", str(releases.base))
    assert report["archives_reused"] is True and report["base"]["manifest_sha256"] == _sha(releases.base)
    first, second = _manifest(releases.delta1), _manifest(again)
    assert second.images == first.images and second.base == first.base


def _verify_offline(r: Releases, bundle: Path, *bases: Path) -> tuple[int, dict]:
    args = ["verify", str(bundle), "--verify-key", str(r.pub), "--json"]
    for base in bases:
        args += ["--base", str(base)]
    proc = mirrorkit(*args, env=r.env)
    return proc.returncode, json.loads(proc.stdout)


def _base_items(report: dict) -> list[dict]:
    return [i for i in report["items"] if i["category"] == "base"]


def test_verify_with_the_bases_checks_the_whole_chain_offline(releases: Releases) -> None:
    code, report = _verify_offline(releases, releases.delta3, releases.delta2, releases.base, releases.delta1)
    assert code == 0, [i for i in report["items"] if i["status"] != "passed"]
    items = _base_items(report)
    verified = [i for i in items if i["subject"] in {str(releases.base), str(releases.delta1), str(releases.delta2)}]
    assert len(verified) == 3 and all(i["status"] == "passed" for i in verified)
    left = _manifest(releases.delta3).base
    assert left is not None
    # one check per image, plugin and chart the delta leaves to its bases, each naming the base that carries it
    assert len(items) - len(verified) == len(left.images) + len(left.npm) + len(left.charts)
    hub = next(i for i in items if "rhdh-hub-rhel9:1.8.1" in i["subject"])
    assert hub["actual"] == f"carried by {releases.delta1}"


def test_verify_with_an_incomplete_chain_names_the_missing_base(releases: Releases) -> None:
    code, report = _verify_offline(releases, releases.delta2, releases.base)  # delta1 missing
    assert code == 1
    failed = [i for i in _base_items(report) if i["status"] == "failed"]
    assert [i["subject"] for i in failed] == [f"base {_sha(releases.delta1)[:12]}"]
    assert "pass that bundle with --base" in failed[0]["detail"]


def test_verify_with_a_tampered_base_fails_on_the_base(releases: Releases, tmp_path) -> None:
    base = tmp_path / "base"
    shutil.copytree(releases.base, base)
    tarball = next((base / "npm").rglob("*.tgz"))
    tarball.write_bytes(tarball.read_bytes()[:-10] + b"tampered!!")
    code, report = _verify_offline(releases, releases.delta1, base)
    assert code == 1
    (failed,) = [i for i in _base_items(report) if i["status"] == "failed"]
    assert failed["subject"] == str(base) and "run mirrorkit verify" in failed["detail"]


@dataclass(frozen=True)
class Layered:
    """A base release and a delta whose new image shares a large layer with the base's old one."""

    base: Path
    delta: Path
    shared: str  # the shared layer's digest
    shared_size: int


@pytest.fixture(scope="module")
def layered(releases: Releases, tmp_path_factory) -> Layered:
    import os as _os

    work = tmp_path_factory.mktemp("layered")
    host = releases.content.registry_host
    shared = make_layer({"base/os.bin": _os.urandom(2 * 1024 * 1024)})
    push_image(host, "rhdh/layered", "1.0", [shared, make_layer({"app": b"1.0"})])
    new = push_image(host, "rhdh/layered", "1.1", [shared, make_layer({"app": b"1.1"})])
    profile = yaml.safe_load((releases.work / "v1.yaml").read_text())
    profile["mirror"]["additionalImages"].append({"name": f"{host}/rhdh/layered:1.0"})
    v1 = work / "v1.yaml"
    v1.write_text(yaml.safe_dump(profile, sort_keys=False))
    profile["mirror"]["additionalImages"][-1] = {"name": new.ref}
    v2 = work / "v2.yaml"
    v2.write_text(yaml.safe_dump(profile, sort_keys=False))
    base, delta = work / "base", work / "delta"
    _pack(releases.env, v1, base, releases.key)
    _pack(releases.env, v2, delta, releases.key, "--base", str(base))
    return Layered(base, delta, "sha256:" + hashlib.sha256(shared).hexdigest(), len(shared))


def test_a_delta_leaves_the_layers_its_base_carried_out_of_its_archives(layered: Layered, releases: Releases) -> None:
    delta = _manifest(layered.delta)
    assert delta.base is not None
    left = {b.digest: b for b in delta.base.blobs}
    assert layered.shared in left and left[layered.shared].repository == "rhdh/layered"
    assert left[layered.shared].size == layered.shared_size and left[layered.shared].kind == "layer"
    # the new image itself (its manifest, config and new layer) is carried; the shared layer is not
    assert [i.source.rsplit("/", 1)[1] for i in delta.images] == ["layered:1.1"]
    assert delta.total_size < layered.shared_size / 4
    with tarfile.open(layered.delta / "images" / "mirror_000001.tar") as tar:
        names = tar.getnames()
    assert not any(layered.shared.split(":")[1] in n and n.endswith("/data") for n in names)
    # and the delta verifies as a bundle: its archives may lack exactly what base.blobs names
    proc = mirrorkit("verify", str(layered.delta), "--verify-key", str(releases.pub), env=releases.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_push_completes_the_delta_from_the_target_holding_its_base(
    layered: Layered, releases: Releases, registry_factory, verdaccio_factory, tmp_path
) -> None:
    registry, npm = registry_factory(), verdaccio_factory()
    assert _push(releases, layered.base, registry, npm, tmp_path / "base").returncode == 0
    proc = _push(releases, layered.delta, registry, npm, tmp_path / "delta")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = _verify(releases, layered.delta, registry, npm)
    assert check.returncode == 0, check.stdout + check.stderr
    index = requests.get(f"{registry.url}/v2/rhdh/layered/manifests/1.1", headers={"Accept": _OCI}, timeout=30)
    assert index.status_code == 200 and layered.shared in index.text
    blob = requests.get(f"{registry.url}/v2/rhdh/layered/blobs/{layered.shared}", timeout=30)
    assert hashlib.sha256(blob.content).hexdigest() == layered.shared.split(":")[1]


def test_push_refuses_a_blob_the_target_serves_with_other_bytes(
    layered: Layered, releases: Releases, registry_factory, verdaccio_factory, tmp_path
) -> None:
    registry, npm = registry_factory(), verdaccio_factory()
    assert _push(releases, layered.base, registry, npm, tmp_path / "base").returncode == 0
    hex_ = layered.shared.split(":")[1]
    (data,) = (registry.root / "data").rglob(f"blobs/sha256/{hex_[:2]}/{hex_}/data")
    data.write_bytes(b"\0" * layered.shared_size)  # the target's copy of the base's layer, damaged on its disk
    proc = _push(releases, layered.delta, registry, npm, tmp_path / "delta")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert layered.shared in proc.stderr and "push the base bundle again" in proc.stderr.lower()
    tags = requests.get(f"{registry.url}/v2/rhdh/layered/tags/list", timeout=30).json()["tags"]
    assert tags == ["1.0"], "nothing of the delta was loaded"
