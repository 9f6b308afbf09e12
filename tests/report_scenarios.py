"""Report scenarios a change board sees: passed, failed (a tampered file), a bundle carried as parts,
a dead target registry, a tampered tarball. Built with the real sealing and verification code on a
small bundle (no services needed), shared by the rendering and headless-browser tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from mirrorkit.bundle import generate_keypair, seal_bundle
from mirrorkit.bundle.targets import image_checker
from mirrorkit.bundle.verify import verify_bundle
from mirrorkit.http import RetryPolicy
from mirrorkit.report import Report
from tests.test_sbom import ISC, images, npm, payload

#: A registry port nothing listens on (discard): the "dead target" scenario.
DEAD_REGISTRY = "127.0.0.1:9"
SCENARIOS = ("passed", "failed", "parts", "dead-target", "tampered-tarball")
#: What the oc-mirror test double records as its version (the header must shout it).
DOUBLE = "4.19.0-mirrorkit-test-double"


def build(root: Path, keys: Path, *, split: bool = False) -> tuple[Path, Path]:
    """A signed, self-consistent bundle at *root* (the SBOM tests' payload: an oc-mirror archive
    holding a chart, the chart, two plugins with their npm index, one image of every kind)."""
    private, public, _ = generate_keypair(keys)
    files = payload(root)
    seal_bundle(
        root,
        profile="rhdh-orchestrator-1.8",
        imageset_config=ISC,
        oc_mirror_version=DOUBLE,
        npm=npm(files),
        images=images(),
        sign_key=private,
        split_size=20_000 if split else None,
        cache_file=False,
        progress=False,
    )
    return root, public


def make(name: str, tmp: Path) -> Report:
    """The verification report of scenario *name* (one of :data:`SCENARIOS`)."""
    bundle, public = build(tmp / "bundle", tmp / "key", split=name == "parts")
    checker = None
    if name == "parts":
        carried = tmp / "carried"
        carried.mkdir()
        for item in ("manifest.json", "manifest.json.sig"):
            shutil.copy(bundle / item, carried / item)
        shutil.copytree(bundle / "parts", carried / "parts")
        bundle = carried
    elif name == "failed":
        p = bundle / "images" / "mirror_000001.tar"
        p.write_bytes(b"X" + p.read_bytes()[1:])
    elif name == "tampered-tarball":
        p = bundle / "npm" / "backstage-plugin-notifications-0.5.0.tgz"
        p.write_bytes(p.read_bytes()[:-1] + b"Z")
    elif name == "dead-target":
        checker = image_checker(DEAD_REGISTRY, policy=RetryPolicy(attempts=1, backoff=0.0, timeout=(1.0, 1.0)))
    return verify_bundle(bundle, verify_key=public, image_checker=checker, progress=False)
