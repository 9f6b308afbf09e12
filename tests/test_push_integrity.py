"""Issue 22: push loads exactly the bytes it verified, and the target holds nothing the manifest does not pin.

Every case swaps something *between verification and load*, the window the issue found open: the
hook is a pytest monkeypatch of :func:`mirrorkit.push.preflight` (push calls it right after it
verified the bundle), or of :func:`mirrorkit.push.disk_to_mirror` to write into the target while
oc-mirror loads. Nothing in mirrorkit reads a test switch. Targets are real local services
(docker-registry, Verdaccio); oc-mirror is the test double.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import shutil
import tarfile
import time
from pathlib import Path

import pytest
import requests

from mirrorkit.bundle import NpmPackage, generate_keypair, seal_bundle
from mirrorkit.bundle.manifest import Manifest
from mirrorkit.bundle.reconcile import Expected, Snapshot, digest_tag, expected_tags, reconcile
from mirrorkit.npm.index import IndexEntry, NpmIndex, write_index
from mirrorkit.oci.reference import ImageReference
from mirrorkit.report.model import Status
from tests.services.images import push_image
from tests.test_e2e import World, world  # noqa: F401 - the packed demo bundle (module fixture)
from tests.test_hardening import ISC, make_tgz, sri, unique

REGISTRY_V2 = "docker/registry/v2"


def _repositories(host: str) -> list[str]:
    return requests.get(f"http://{host}/v2/_catalog", timeout=30).json().get("repositories") or []


def _hook_after_verification(monkeypatch, swap) -> None:
    """Run *swap* when push is between verification and load (its pre-flight), then go on."""
    import mirrorkit.push as pushing

    real = pushing.preflight

    def preflight_then_swap(*args, **kwargs):
        swap()
        return real(*args, **kwargs)

    monkeypatch.setattr(pushing, "preflight", preflight_then_swap)


def _push_args(bundle: Path, registry: str, npm_url: str, pub: Path, out: Path) -> tuple:
    return ("push", bundle, "--target-registry", registry, "--target-npm", npm_url, "--verify-key", pub, "--output", out)


def _in_process(world: World, monkeypatch, token: str) -> None:
    monkeypatch.setenv("PATH", world.env["PATH"])
    monkeypatch.setenv("XDG_CACHE_HOME", world.env["XDG_CACHE_HOME"])
    monkeypatch.setenv("NPM_TOKEN", token)


# -- (a) an archive swapped after verification -------------------------------------------------


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _genuine_plus_one_image(archive: Path) -> str:
    """The genuine archive with, appended (so they win when unpacked): one more manifest under an
    existing tag of a mirrored repository and an extra repository. Returns the moved tag's name."""
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tag_link = next(n for n in names if "/_manifests/tags/" in n and n.endswith("/current/link"))
        digest = tar.extractfile(tag_link).read().decode().strip()  # type: ignore[union-attr]
        hex_ = digest.split(":", 1)[1]
        body = json.loads(tar.extractfile(f"{REGISTRY_V2}/blobs/sha256/{hex_[:2]}/{hex_}/data").read())  # type: ignore[union-attr]
    body["annotations"] = {"injected": "after verification"}
    data = json.dumps(body).encode()
    new_hex = hashlib.sha256(data).hexdigest()
    repo = tag_link.split("/repositories/", 1)[1].split("/_manifests/", 1)[0]
    with tarfile.open(archive, "a") as tar:
        _add(tar, f"{REGISTRY_V2}/blobs/sha256/{new_hex[:2]}/{new_hex}/data", data)
        for where in (repo, "injected/extra"):
            base = f"{REGISTRY_V2}/repositories/{where}/_manifests"
            _add(tar, f"{base}/revisions/sha256/{new_hex}/link", f"sha256:{new_hex}".encode())
            _add(tar, f"{base}/tags/{tag_link.split('/tags/', 1)[1].split('/', 1)[0]}/current/link", f"sha256:{new_hex}".encode())
    return f"{repo}:{tag_link.split('/tags/', 1)[1].split('/', 1)[0]}"


@pytest.mark.integration
def test_archive_swapped_after_verification_is_refused_before_any_image_is_loaded(
    world, registry_factory, verdaccio_factory, tmp_path, monkeypatch, cli_run
):
    target, npm = registry_factory(), verdaccio_factory()
    _in_process(world, monkeypatch, npm.add_user("bastion", "pw-bastion"))
    bundle = tmp_path / "bundle"
    shutil.copytree(world.bundle, bundle)
    archive = next((bundle / "images").glob("mirror_*.tar"))
    moved: list[str] = []
    _hook_after_verification(monkeypatch, lambda: moved.append(_genuine_plus_one_image(archive)))

    out = tmp_path / "out"
    code, stdout, err = cli_run(*_push_args(bundle, f"{target.host}/mirror", npm.url, world.pub, out), "--no-tls-verify", "-q")
    assert moved, "the hook did not run"
    assert code == 1, stdout + err
    errors = [line for line in err.splitlines() if line.startswith("mirrorkit: error:")]
    assert len(errors) == 1 and "images/mirror_000001.tar changed after the bundle was verified" in errors[0], err
    assert _repositories(target.host) == [], "the swapped bytes reached the target"
    report = json.loads((out / "report.json").read_text())
    assert any(i["category"] == "push" and i["status"] == "failed" and "changed after" in i["detail"] for i in report["items"])
    assert not list((out / ".mirrorkit-work" / "archives").glob("mirror_*.tar")), "a refused copy was left behind"


# -- (b) parts replaced by an older signed bundle's --------------------------------------------


def _parts_bundle(root: Path, key: Path, name: str, version: str) -> Path:
    """A signed bundle of one npm package, carried as parts only (manifest, signature, parts/)."""
    full = root.with_name(root.name + "-full")
    (full / "npm").mkdir(parents=True)
    (full / "imageset-config.yaml").write_text(ISC)
    data = make_tgz(name, version)
    path = f"{name}-{version}.tgz"
    (full / "npm" / path).write_bytes(data)
    entry = IndexEntry(name, version, sri(data), hashlib.sha1(data).hexdigest(), len(data), path, f"https://src/{path}")
    write_index(NpmIndex(full / "npm", (entry,)))
    seal_bundle(
        full,
        profile="demo",
        imageset_config=ISC,
        npm=[NpmPackage(name, version, sri(data), f"npm/{path}")],
        sign_key=key,
        split_size=4096,
        cache_file=False,
        progress=False,
    )
    root.mkdir()
    for kept in ("manifest.json", "manifest.json.sig"):
        shutil.copy2(full / kept, root / kept)
    shutil.copytree(full / "parts", root / "parts")
    return root


def test_parts_replaced_by_an_older_signed_bundle_are_refused(tmp_path, verdaccio, npm_token, monkeypatch, cli_run):
    key, pub, _ = generate_keypair(tmp_path / "keys" / "k")
    name = unique()
    older = _parts_bundle(tmp_path / "older", key, name, "1.0.0")
    newer = _parts_bundle(tmp_path / "newer", key, name, "1.1.0")

    def replay() -> None:
        shutil.rmtree(newer / "parts")
        shutil.copytree(older / "parts", newer / "parts")

    _hook_after_verification(monkeypatch, replay)
    monkeypatch.setenv("NPM_TOKEN", npm_token)
    out = tmp_path / "out"
    code, stdout, err = cli_run(*_push_args(newer, "127.0.0.1:9", verdaccio.url, pub, out), "--no-tls-verify", "-q")
    assert code == 1, stdout + err
    assert "the parts now hold another manifest than the one verified" in err, err
    assert len([line for line in err.splitlines() if line.startswith("mirrorkit: error:")]) == 1
    assert requests.get(f"{verdaccio.url}/{name}", timeout=30).status_code == 404, "the older bundle was published"
    report = json.loads((out / "report.json").read_text())
    assert report["bundle"]["manifest_sha256"] == hashlib.sha256((newer / "manifest.json").read_bytes()).hexdigest()
    assert not (out / ".mirrorkit-work" / "bundle").exists(), "the replayed tree was kept"


# -- (c) reconciliation: the target holds only what the manifest accounts for --------------------


@pytest.mark.integration
def test_tags_and_repositories_the_manifest_does_not_pin_fail_the_push_by_name(
    world, registry_factory, verdaccio_factory, tmp_path, monkeypatch, cli_run
):
    import mirrorkit.push as pushing

    target, npm = registry_factory(), verdaccio_factory()
    _in_process(world, monkeypatch, npm.add_user("bastion", "pw-bastion"))
    manifest = Manifest.from_bytes((world.bundle / "manifest.json").read_bytes())
    image = next(i for i in manifest.images if ImageReference.parse(i.source).tag)
    ref = ImageReference.parse(image.source)
    repo = f"mirror/{ref.repository}"
    # there before the push, and left as they are: another bundle's repository, an older tag
    push_image(target.host, "preexisting/app", "1")
    push_image(target.host, repo, "older-release")

    real = pushing.disk_to_mirror
    injected: list[str] = []

    def load_and_inject(*args, **kwargs):  # someone writes into the target while oc-mirror loads
        result = real(*args, **kwargs)
        push_image(target.host, "mirror/injected/extra", "1")
        push_image(target.host, repo, ref.tag or "", layers=None)  # the pinned tag now points elsewhere
        injected.append("done")
        return result

    monkeypatch.setattr(pushing, "disk_to_mirror", load_and_inject)
    out = tmp_path / "out"
    code, stdout, err = cli_run(
        *_push_args(world.bundle, f"{target.host}/mirror", npm.url, world.pub, out), "--no-tls-verify", "-q"
    )
    assert injected and code == 1, stdout + err
    errors = [line for line in err.splitlines() if line.startswith("mirrorkit: error:")]
    assert len(errors) == 1 and "does not pin" in errors[0], err
    report = json.loads((out / "report.json").read_text())
    failed = {i["subject"]: i for i in report["items"] if i["category"] == "target-tags" and i["status"] == "failed"}
    assert set(failed) == {f"{target.host}/mirror/injected/extra", f"{target.host}/{repo}"}, failed
    detail = failed[f"{target.host}/{repo}"]["detail"]
    assert f":{ref.tag} points at " in detail and f"the manifest pins {image.digest} there" in detail, detail
    assert "older-release" not in detail, "a tag there before the push was blamed"
    passed = [i for i in report["items"] if i["category"] == "target-tags" and i["status"] == "passed"]
    assert len(passed) == len({i.destination for i in manifest.images}) - 1
    assert not (out / "values.yaml").exists(), "push went on after the target failed the reconciliation"


def test_reconcile_accounts_for_digest_tags_catalog_tags_and_what_was_there_before():
    cat_src, cat_rebuilt = "sha256:" + "c" * 64, "sha256:" + "d" * 64
    manifest = Manifest(
        created="2026-01-01T00:00:00Z",
        mirrorkit_version="test",
        images=(
            _image("q.io/ns/app:1.0", "a", "ns/app"),
            _image("q.io/ns/op", "b", "ns/op", kind="operator"),
            _image(f"q.io/redhat/index:v4.19@{cat_src}", "d", "redhat/index", kind="catalog"),
        ),
    )
    expected = expected_tags(manifest, "reg:5000/mirror")
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    assert expected.allows("mirror/ns/op", digest_tag(b), b) and expected.allows("mirror/redhat/index", "v4.19", cat_rebuilt)
    assert not expected.allows("mirror/redhat/index", "v4.19", cat_src)
    before = Snapshot(frozenset({"other/x", "mirror/ns/app"}), {"mirror/ns/app": {"0.9": "sha256:" + "9" * 64}})
    after = Snapshot(
        frozenset({"other/x", "mirror/ns/app", "mirror/ns/op", "mirror/redhat/index"}),
        {
            "mirror/ns/app": {"0.9": "sha256:" + "9" * 64, "1.0": a},
            "mirror/ns/op": {digest_tag(b): b},
            "mirror/redhat/index": {"v4.19": cat_rebuilt},
        },
    )
    items = reconcile(expected, before, after, "reg:5000")
    assert [i.status for i in items] == [Status.PASSED] * 3, [i.detail for i in items]

    moved = Snapshot(after.repositories | {"mirror/stray"}, {**after.tags, "mirror/ns/app": {"0.9": a, "1.0": b}})
    items = {i.subject: i for i in reconcile(expected, before, moved, "reg:5000")}
    assert items["reg:5000/mirror/stray"].failed
    detail = items["reg:5000/mirror/ns/app"].detail
    assert items["reg:5000/mirror/ns/app"].failed and ":0.9 moved from" in detail and f":1.0 points at {b}" in detail

    refused = Snapshot(None, after.tags, "/v2/_catalog answered HTTP 401")
    items = reconcile(expected, refused, refused, "reg:5000")
    assert items[0].status == Status.WARNING and "HTTP 401" in items[0].detail
    assert all(i.status == Status.PASSED for i in items[1:])


def _image(source: str, fill: str, destination: str, kind: str = "additional"):
    from mirrorkit.bundle.manifest import ImageEntry

    return ImageEntry(source, "sha256:" + fill * 64, destination, kind)


def test_expected_tags_take_the_configurations_target_tag():
    isc = (
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n"
        "    - name: q.io/ns/app:1.0\n      targetTag: pinned\n"
    )
    manifest = Manifest(
        created="2026-01-01T00:00:00Z",
        mirrorkit_version="test",
        imageset_config=isc,
        images=(_image("q.io/ns/app:1.0", "a", "ns/app"),),
    )
    expected: Expected = expected_tags(manifest, "reg:5000")
    assert expected.allows("ns/app", "pinned", "sha256:" + "a" * 64)


# -- (d) a full disk during push ---------------------------------------------------------------


def _images_bundle(tmp_path: Path, key: Path) -> Path:
    from tests.test_hardening import build_bundle

    return build_bundle(tmp_path / "b", key, [unique()], images=True)


def _full_disk(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["configuration snapshot", "archive copy"])
def test_a_full_disk_during_push_is_one_line_and_the_report_is_written(
    where, tmp_path, verdaccio, npm_token, oc_mirror_double, monkeypatch, cli_run
):
    import mirrorkit.bundle.snapshot as snapshot
    import mirrorkit.push as pushing

    key, pub, _ = generate_keypair(tmp_path / "keys" / "k")
    bundle = _images_bundle(tmp_path, key)
    monkeypatch.setenv("PATH", f"{oc_mirror_double.parent}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("NPM_TOKEN", npm_token)
    monkeypatch.setattr(pushing, "preflight", lambda *a, **k: [])  # no registry in this test: nothing is loaded
    if where == "archive copy":
        monkeypatch.setattr(snapshot, "_copy_range", _full_disk)
    else:
        monkeypatch.setattr(pushing, "snapshot_file", _full_disk)
    out = tmp_path / "out"
    code, stdout, err = cli_run(*_push_args(bundle, "127.0.0.1:9", verdaccio.url, pub, out), "--no-tls-verify", "-q")
    assert code == 1, stdout + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirrorkit: error: no space left on device in "), err
    assert "internal error" not in err and "Errno" not in err
    folder = out / ".mirrorkit-work" / ("archives" if where == "archive copy" else "")
    assert f"in {folder.as_posix().rstrip('/')} while" in lines[0] and "needs about" in lines[0], lines[0]
    report = json.loads((out / "report.json").read_text())
    assert any(i["category"] == "push" and "no space left" in i["detail"] for i in report["items"])


def test_a_full_disk_that_stops_the_report_too_prints_it(tmp_path, verdaccio, npm_token, monkeypatch, cli_run):
    import mirrorkit.push as pushing

    key, pub, _ = generate_keypair(tmp_path / "keys" / "k")
    bundle = _images_bundle(tmp_path, key)
    monkeypatch.setenv("NPM_TOKEN", npm_token)
    monkeypatch.setattr(pushing, "preflight", lambda *a, **k: [])
    monkeypatch.setattr(pushing, "snapshot_archives", _full_disk)
    monkeypatch.setattr(pushing, "write_reports", _full_disk)
    started = time.monotonic()
    code, _stdout, err = cli_run(
        *_push_args(bundle, "127.0.0.1:9", verdaccio.url, pub, tmp_path / "out"), "--no-tls-verify", "-q"
    )
    assert code == 1 and time.monotonic() - started < 30
    errors = [line for line in err.splitlines() if line.startswith("mirrorkit: error:")]
    assert len(errors) == 1 and "no space left on device in" in errors[0] and "report" in errors[0], err
    assert "# " in err and "no space left on device" in err.split("mirrorkit: error:")[0], "the report was not printed"
