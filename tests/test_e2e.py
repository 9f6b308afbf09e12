"""pack -> push -> verify on real local services, and every way a bundle can be damaged in transit.

The source side is a real registry and a real Verdaccio filled with demo content (an operator bundle
image whose ConfigMap names more images, plugins named like the Orchestrator's). oc-mirror is the test
double under tests/ocmirror_double (it copies with skopeo). Tamper cases push to a target registry
and npm server that must stay empty: push must refuse before touching either.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from mirrorkit.bundle.manifest import FileEntry, Manifest
from mirrorkit.bundle.signing import generate_keypair, write_signature
from mirrorkit.oci.reference import ImageReference
from tests.services.demo_content import DemoContent, fill_demo_sources, write_demo_profile

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class World:
    content: DemoContent
    profile: Path
    bundle: Path
    key: Path
    pub: Path
    other_key: Path
    env: dict[str, str]


def mirrorkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mirrorkit", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def world(registry_factory, verdaccio_factory, oc_mirror_double, skopeo, tmp_path_factory) -> World:
    source = registry_factory()
    source_npm = verdaccio_factory()
    work = tmp_path_factory.mktemp("e2e")
    content = fill_demo_sources(source.host, source_npm.url, source_npm.add_user("publisher", "pw-publisher"), work / "npm")
    profile = write_demo_profile(content, work / "profile.yaml")
    key_pem, key_pub, _ = generate_keypair(work / "key")
    other_pem, _, _ = generate_keypair(work / "other")
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
        "--output",
        str(bundle),
        "--sign-key",
        str(key_pem),
        "--no-tls-verify",
        "--split-size",
        "1MiB",
        "-q",
        "--json",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return World(content, profile, bundle, key_pem, key_pub, other_pem, env)


@pytest.fixture(scope="module")
def virgin_targets(registry_factory, verdaccio_factory):
    """A registry and an npm server that no test may ever write to."""
    registry = registry_factory()
    npm = verdaccio_factory()
    return registry, npm, npm.add_user("bastion", "pw-bastion")


def assert_untouched(registry, npm, content: DemoContent) -> None:
    catalog = requests.get(f"{registry.url}/v2/_catalog", timeout=30).json()
    assert catalog["repositories"] == [], f"push touched the registry: {catalog}"
    for tarball in content.npm_packages:
        name = tarball.name.replace("/", "%2f")
        assert requests.get(f"{npm.url}/{name}", timeout=30).status_code == 404, f"push published {tarball.name}"


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_pack_records_every_image_and_plugin(world):
    manifest = Manifest.from_bytes((world.bundle / "manifest.json").read_bytes())
    expected = {f"{img.host}/{img.repo}" for img in world.content.images if img is not world.content.bundle_image}
    assert {ImageReference.parse(i.source).name for i in manifest.images} == expected
    digests = {f"{img.host}/{img.repo}": img.digest for img in world.content.images}
    for image in manifest.images:
        assert digests[ImageReference.parse(image.source).name] == image.digest
    assert {(p.name, p.integrity) for p in manifest.npm} == {(t.name, t.integrity) for t in world.content.npm_packages}
    assert any(f.path.startswith("images/mirror_") for f in manifest.files)
    assert (world.bundle / "parts" / "parts.json").is_file()


def test_push_then_verify_end_to_end(world, registry_factory, verdaccio_factory, skopeo, tmp_path):
    target, target_npm = registry_factory(), verdaccio_factory()
    env = {**world.env, "NPM_TOKEN": target_npm.add_user("bastion", "pw-bastion")}
    out = tmp_path / "install"
    args = (
        "push",
        str(world.bundle),
        "--target-registry",
        f"{target.host}/mirror",
        "--target-npm",
        target_npm.url,
        "--verify-key",
        str(world.pub),
        "--output",
        str(out),
        "--no-tls-verify",
        "-q",
    )
    proc = mirrorkit(*args, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["failed"] == 0 and report["summary"]["passed"] > 0
    by_category = {c: [i for i in report["items"] if i["category"] == c] for c in ("signature", "file", "image", "npm")}
    assert by_category["signature"] and by_category["file"], "the bundle's own checks belong in push's report"
    assert len(by_category["image"]) == len(Manifest.from_bytes((world.bundle / "manifest.json").read_bytes()).images)
    assert len(by_category["npm"]) == len(world.content.npm_packages)
    assert (out / "report.html").read_text().count("<html") == 1

    manifest = Manifest.from_bytes((world.bundle / "manifest.json").read_bytes())
    for image in manifest.images:
        repo = ImageReference.parse(image.source).repository
        raw = subprocess.run(
            [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{target.host}/mirror/{repo}@{image.digest}"],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == image.digest

    values = yaml.safe_load((out / "values.yaml").read_text())
    plugins = values["orchestrator"]["plugins"]
    assert len(plugins) == len(world.content.npm_packages)
    for plugin in plugins:
        assert plugin["package"].startswith(target_npm.url + "/")
        served = requests.get(plugin["package"], timeout=30)
        assert served.status_code == 200 and sri(served.content) == plugin["integrity"]
    configmap = yaml.safe_load((out / "dynamic-plugins.yaml").read_text())
    inner = yaml.safe_load(configmap["data"]["dynamic-plugins.yaml"])
    assert inner["includes"] == ["dynamic-plugins.default.yaml"]
    assert {p["integrity"] for p in inner["plugins"]} == {p["integrity"] for p in plugins}
    assert list((out / "cluster-resources").glob("*.yaml"))

    check = mirrorkit(
        "verify",
        str(world.bundle),
        "--verify-key",
        str(world.pub),
        "--target-registry",
        f"{target.host}/mirror",
        "--target-npm",
        target_npm.url,
        "--no-tls-verify",
        env=env,
    )
    assert check.returncode == 0, check.stdout
    again = mirrorkit(*args, env=env)  # a re-run completes without duplicating anything
    assert again.returncode == 0, again.stdout + again.stderr

    other = registry_factory()  # the same bundle checked against an empty registry must fail, naming images
    miss = mirrorkit("verify", str(world.bundle), "--target-registry", other.host, "--no-tls-verify", env=env)
    assert miss.returncode == 1 and "absent" in miss.stdout


def test_push_from_parts_only_copy(world, registry_factory, verdaccio_factory, tmp_path):
    carried = tmp_path / "usb"
    carried.mkdir()
    for name in ("manifest.json", "manifest.json.sig"):
        shutil.copy2(world.bundle / name, carried / name)
    shutil.copytree(world.bundle / "parts", carried / "parts")
    target, target_npm = registry_factory(), verdaccio_factory()
    env = {**world.env, "NPM_TOKEN": target_npm.add_user("bastion", "pw-bastion")}
    proc = mirrorkit(
        "push",
        str(carried),
        "--target-registry",
        target.host,
        "--target-npm",
        target_npm.url,
        "--verify-key",
        str(world.pub),
        "--output",
        str(tmp_path / "out"),
        "--no-tls-verify",
        "-q",
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in carried.iterdir()) == ["manifest.json", "manifest.json.sig", "parts"], (
        "push wrote into the bundle"
    )


def test_second_pack_with_nothing_changed_reuses_work(world, tmp_path):
    before = {p: p.stat().st_mtime_ns for p in (world.bundle / "images").iterdir()}
    proc = mirrorkit(
        "pack",
        "--profile",
        str(world.profile),
        "--output",
        str(world.bundle),
        "--sign-key",
        str(world.key),
        "--no-tls-verify",
        "--split-size",
        "1MiB",
        "-q",
        "--json",
        env=world.env,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["archives_reused"] is True and result["removed_stale"] == []
    assert {p: p.stat().st_mtime_ns for p in (world.bundle / "images").iterdir()} == before
    assert mirrorkit("verify", str(world.bundle), "--verify-key", str(world.pub), env=world.env).returncode == 0


def _flip(path: Path, offset: int = -100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _first(bundle: Path, pattern: str) -> Path:
    return sorted(bundle.glob(pattern))[0]


def _rehash_without_resigning(bundle: Path) -> None:
    tarball = _first(bundle, "npm/**/*.tgz")
    _flip(tarball)
    manifest = Manifest.from_bytes((bundle / "manifest.json").read_bytes())
    rel = tarball.relative_to(bundle).as_posix()
    files = tuple(
        FileEntry(f.path, f.size, hashlib.sha256(tarball.read_bytes()).hexdigest()) if f.path == rel else f
        for f in manifest.files
    )
    (bundle / "manifest.json").write_bytes(Manifest(**{**manifest.__dict__, "files": files}).to_bytes())


TAMPERS = {
    "archive byte flipped": (lambda b, w: _flip(_first(b, "images/mirror_*.tar")), "images/mirror_"),
    "npm tarball byte flipped": (lambda b, w: _flip(_first(b, "npm/**/*.tgz")), ".tgz"),
    "manifest byte flipped": (lambda b, w: _flip(b / "manifest.json", 20), "manifest.json"),
    "file added": (lambda b, w: (b / "images" / "extra.bin").write_bytes(b"surprise"), "images/extra.bin"),
    "file removed": (lambda b, w: _first(b, "npm/**/*.tgz").unlink(), ".tgz"),
    "part truncated": (lambda b, w: os.truncate(_first(b, "parts/bundle.part-*"), 1000), "bundle.part-0001"),
    "signed with another key": (
        lambda b, w: write_signature(b / "manifest.json.sig", (b / "manifest.json").read_bytes(), w.other_key),
        "manifest.json",
    ),
    "manifest re-hashed, not re-signed": (lambda b, w: _rehash_without_resigning(b), "manifest.json"),
}


@pytest.mark.parametrize("case", list(TAMPERS))
def test_tampered_bundle_fails_verify_and_push_touches_nothing(case, world, virgin_targets, tmp_path):
    registry, npm, token = virgin_targets
    tamper, named = TAMPERS[case]
    bundle = tmp_path / "bundle"
    shutil.copytree(world.bundle, bundle)
    tamper(bundle, world)

    verified = mirrorkit("verify", str(bundle), "--verify-key", str(world.pub), env=world.env)
    assert verified.returncode == 1, verified.stdout
    failed_lines = [line for line in verified.stdout.splitlines() if line.startswith("FAILED")]
    assert failed_lines and any(named in line for line in failed_lines), verified.stdout
    assert any("expected" in line and "actual" in line for line in failed_lines)

    pushed = mirrorkit(
        "push",
        str(bundle),
        "--target-registry",
        registry.host,
        "--target-npm",
        npm.url,
        "--verify-key",
        str(world.pub),
        "--output",
        str(tmp_path / "out"),
        "--no-tls-verify",
        "-q",
        env={**world.env, "NPM_TOKEN": token},
    )
    assert pushed.returncode == 1
    assert "nothing was pushed" in pushed.stdout and named in pushed.stdout
    assert_untouched(registry, npm, world.content)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["summary"]["failed"] >= 1


def test_pack_refuses_a_folder_that_is_not_a_bundle(world, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    proc = mirrorkit(
        "pack", "--profile", str(world.profile), "--output", str(tmp_path), "--no-tls-verify", "--unsigned", "-q", env=world.env
    )
    assert proc.returncode == 2
    assert "not a mirrorkit bundle" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_pack_refuses_when_the_disk_is_too_small(world, tmp_path, monkeypatch, cli_run):
    import mirrorkit.bundle.build as build

    monkeypatch.setenv("PATH", world.env["PATH"])
    monkeypatch.setenv("XDG_CACHE_HOME", world.env["XDG_CACHE_HOME"])
    real = shutil.disk_usage
    monkeypatch.setattr(build.shutil, "disk_usage", lambda p: real(p)._replace(free=1024))
    code, _, err = cli_run("pack", "--profile", world.profile, "--output", tmp_path / "b", "--no-tls-verify", "--unsigned", "-q")
    assert code == 1
    assert "not enough free space" in err and "free" in err
    assert not list((tmp_path / "b").glob("images/*")), "pack copied images although the disk was too small"


def _in_process_env(world, monkeypatch) -> None:
    monkeypatch.setenv("PATH", world.env["PATH"])
    monkeypatch.setenv("XDG_CACHE_HOME", world.env["XDG_CACHE_HOME"])


def _interrupt(*_args, **_kwargs):
    raise KeyboardInterrupt


def test_pack_interrupted_after_mirror_to_disk_resumes_without_mirroring_again(world, tmp_path, monkeypatch, cli_run):
    import mirrorkit.pack as packing

    _in_process_env(world, monkeypatch)
    bundle = tmp_path / "bundle"
    real_pull = packing.pull_packages
    monkeypatch.setattr(packing, "pull_packages", _interrupt)
    code, out, err = cli_run(
        "pack", "--profile", world.profile, "--output", bundle, "--sign-key", world.key, "--no-tls-verify", "-q"
    )
    assert code == 130, err
    assert "pack interrupted while pulling npm packages" in err and "Run the same pack command again to resume" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (bundle / "manifest.json").exists(), "an interrupted pack left a seal"
    assert list((bundle / "images").glob("mirror_*.tar"))

    monkeypatch.setattr(packing, "pull_packages", real_pull)
    monkeypatch.setattr(packing, "mirror_to_disk", lambda *a, **k: pytest.fail("mirror-to-disk ran again on resume"))
    code, out, err = cli_run(
        "pack", "--profile", world.profile, "--output", bundle, "--sign-key", world.key, "--no-tls-verify", "-q", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["archives_reused"] is True
    assert not (bundle.parent / f".{bundle.name}.mirrorkit-work" / "archives.json").exists()
    code, out, err = cli_run("verify", bundle, "--verify-key", world.pub)
    assert code == 0, out


def test_pack_never_moves_an_older_runs_archive_into_the_bundle(world, tmp_path, monkeypatch, cli_run):
    import mirrorkit.pack as packing

    _in_process_env(world, monkeypatch)
    bundle = tmp_path / "bundle"
    archive_dir = bundle.parent / f".{bundle.name}.mirrorkit-work" / "archive"
    archive_dir.mkdir(parents=True)
    (archive_dir / "mirror_000009.tar").write_bytes(b"left by a killed run of an older plan")
    real = packing.mirror_to_disk

    def keep_stale(tool, options, **kwargs):  # an oc-mirror that does not clean its archive folder
        stale = {p.name: p.read_bytes() for p in options.archive_dir.glob("mirror_*.tar")}
        result = real(tool, options, **kwargs)
        for name, data in stale.items():
            (options.archive_dir / name).write_bytes(data)
        return result

    monkeypatch.setattr(packing, "mirror_to_disk", keep_stale)
    code, _out, err = cli_run("pack", "--profile", world.profile, "--output", bundle, "--no-tls-verify", "--unsigned", "-q")
    assert code == 0, err
    assert [p.name for p in (bundle / "images").glob("mirror_*.tar")] == ["mirror_000001.tar"]


def test_push_interrupted_after_disk_to_mirror_finishes_on_rerun(
    world, registry_factory, verdaccio_factory, tmp_path, monkeypatch, cli_run
):
    import mirrorkit.push as pushing

    _in_process_env(world, monkeypatch)
    target, target_npm = registry_factory(), verdaccio_factory()
    token = target_npm.add_user("bastion", "pw-bastion")
    monkeypatch.setenv("NPM_TOKEN", token)
    out = tmp_path / "install"
    args = (
        "push",
        world.bundle,
        "--target-registry",
        target.host,
        "--target-npm",
        target_npm.url,
        "--verify-key",
        world.pub,
        "--output",
        out,
        "--no-tls-verify",
        "-q",
    )
    real_publish = pushing.publish_packages
    monkeypatch.setattr(pushing, "publish_packages", _interrupt)
    code, stdout, err = cli_run(*args)
    assert code == 130, err
    assert "push interrupted while publishing npm packages" in err and "Run the same push command again" in err
    assert not (out / "values.yaml").exists()

    # An earlier push (another bundle) left a catalog source in oc-mirror's working folder.
    stale = out / ".mirrorkit-work" / "archives" / "working-dir" / "cluster-resources" / "cs-stale-catalog.yaml"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata: {name: stale}\n")
    monkeypatch.setattr(pushing, "publish_packages", real_publish)
    code, stdout, err = cli_run(*args)
    assert code == 0, stdout + err
    assert (out / "values.yaml").is_file()
    resources = sorted(p.name for p in (out / "cluster-resources").iterdir())
    assert resources and "cs-stale-catalog.yaml" not in resources, resources
    for path in out.rglob("*"):  # the npm token reaches no install file, report or log
        if path.is_file() and not path.is_symlink():
            assert token.encode() not in path.read_bytes(), path
    assert token not in stdout + err


def test_pack_update_interrupted_while_planning_still_reuses_the_sealed_archives(world, tmp_path, monkeypatch, cli_run):
    import mirrorkit.pack as packing

    _in_process_env(world, monkeypatch)
    bundle = tmp_path / "bundle"
    shutil.copytree(world.bundle, bundle)
    real_dry_run = packing.dry_run
    monkeypatch.setattr(packing, "dry_run", _interrupt)
    code, _, err = cli_run("pack", "--profile", world.profile, "--output", bundle, "--no-tls-verify", "--unsigned", "-q")
    assert code == 130 and "pack interrupted while planning with oc-mirror" in err
    assert not (bundle / "manifest.json").exists()

    monkeypatch.setattr(packing, "dry_run", real_dry_run)
    monkeypatch.setattr(packing, "mirror_to_disk", lambda *a, **k: pytest.fail("mirror-to-disk ran again on resume"))
    code, out, err = cli_run(
        "pack", "--profile", world.profile, "--output", bundle, "--no-tls-verify", "--unsigned", "-q", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["archives_reused"] is True


def test_pack_writes_a_cyclonedx_sbom_of_the_demo_bundle(world):
    """The demo's real bundle: a valid CycloneDX 1.6 SBOM whose hashes are the source registry's digests
    and the npm server's integrity (independent of the manifest), and no credential in it."""
    from tests.test_sbom import assert_sbom_agrees

    doc = assert_sbom_agrees(world.bundle)
    digests = {f"{img.host}/{img.repo}": img.digest for img in world.content.images}
    containers = [c for c in doc["components"] if c["type"] == "container"]
    assert containers and all(
        c["hashes"] == [{"alg": "SHA-256", "content": digests[c["name"]].removeprefix("sha256:")}] for c in containers
    )
    sha512 = {
        c["purl"]: next(h["content"] for h in c["hashes"] if h["alg"] == "SHA-512")
        for c in doc["components"]
        if c["type"] == "library"
    }
    assert sorted(sha512.values()) == sorted(
        base64.b64decode(t.integrity.removeprefix("sha512-")).hex() for t in world.content.npm_packages
    )
    text = (world.bundle / "sbom.cdx.json").read_text()
    assert "pw-publisher" not in text and "_authToken" not in text
