"""verify --target-registry / --target-npm against the real local registry and Verdaccio."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorkit.bundle import ImageEntry, NpmPackage, seal_bundle
from mirrorkit.bundle.targets import target_reference
from tests.services.images import make_layer, push_image
from tests.services.npmpkg import make_tarball, npm_publish

pytestmark = pytest.mark.integration


def test_target_reference_follows_oc_mirror_paths():
    img = ImageEntry("registry.redhat.io/rhdh/hub-rhel9:1.8", "sha256:" + "1" * 64)
    assert target_reference(img, "mirror.local:5000") == f"mirror.local:5000/rhdh/hub-rhel9@sha256:{'1' * 64}"
    assert target_reference(img, "docker://mirror.local:5000/pfx/") == f"mirror.local:5000/pfx/rhdh/hub-rhel9@sha256:{'1' * 64}"
    moved = ImageEntry(img.source, img.digest, f"localhost:55000/other/path@sha256:{'1' * 64}")
    assert target_reference(moved, "m:5000") == f"m:5000/other/path@sha256:{'1' * 64}"


def test_verify_checks_images_and_npm_on_targets(cli_run, registry, verdaccio, npm_token, tmp_path: Path):
    pushed = push_image(registry.host, "vtarget/app", "1", [make_layer({"app": b"hello verify"})])
    present = ImageEntry("quay.io/vtarget/app:1", pushed.digest)
    absent = ImageEntry("quay.io/vtarget/never-pushed:1", "sha256:" + "2" * 64)
    tgz = make_tarball("@mkverify/plugin-ok", "1.0.0")
    npm_publish(verdaccio.url, npm_token, tgz, tmp_path / "pub")
    bogus = make_tarball("@mkverify/plugin-ok", "1.0.1")  # never published

    root = tmp_path / "bundle"
    (root / "npm").mkdir(parents=True)
    (root / "npm" / tgz.filename).write_bytes(tgz.data)
    (root / "npm" / bogus.filename).write_bytes(bogus.data)
    seal_bundle(
        root,
        images=[present, absent],
        cache_file=False,
        progress=False,
        npm=[
            NpmPackage("@mkverify/plugin-ok", "1.0.0", tgz.integrity, f"npm/{tgz.filename}"),
            NpmPackage("@mkverify/plugin-ok", "1.0.1", bogus.integrity, f"npm/{bogus.filename}"),
        ],
    )
    npmrc = tmp_path / ".npmrc"
    host = verdaccio.url.split("://", 1)[1].rstrip("/")
    npmrc.write_text(f"//{host}/:_authToken={npm_token}\n")
    code, out, err = cli_run(
        "verify", root, "--target-registry", registry.host, "--target-npm", verdaccio.url, "--npmrc", npmrc, "--json"
    )
    assert code == 1, err
    import json

    items = {(i["category"], i["subject"]): i for i in json.loads(out)["items"]}
    assert items[("image", present.source)]["status"] == "passed"
    assert items[("image", present.source)]["expected"] == f"{registry.host}/vtarget/app@{pushed.digest} present"
    assert items[("image", absent.source)]["status"] == "failed" and items[("image", absent.source)]["actual"] == "absent"
    assert items[("npm", "@mkverify/plugin-ok@1.0.0")]["status"] == "passed"
    assert items[("npm", "@mkverify/plugin-ok@1.0.0")]["actual"] == tgz.integrity
    assert items[("npm", "@mkverify/plugin-ok@1.0.1")]["status"] == "failed"
    assert npm_token not in out + err
