"""pack seals exactly what it pinned, from this run only, one pack at a time (issue 22, pack side).

Real local services: a source registry holding the images of the RHDH-shaped Helm repository
(tests/services/helmrepo.py, served over HTTP), the oc-mirror test double (its archives are its
cache registry's storage, as oc-mirror's are), helm rendering the charts.

* a source tag moved between the plan and mirror-to-disk (another image pushed to it from a hook
  that runs just before mirror-to-disk): pack refuses to seal, naming the image and both digests;
  nothing verifies; a re-run packs the tag's new image;
* two packs into one folder (chart 1.7.0, then 1.8.0, sharing the postgresql image): the second
  bundle holds only its own chart, and its archive every blob of its images although oc-mirror's
  history of the first run listed the shared ones as already archived;
* two packs at once into one folder: the second refuses at once naming the first's pid; once the
  first has finished, a pack works.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from mirrorkit.bundle.manifest import Manifest
from mirrorkit.oci.reference import ImageReference
from tests.services.helmrepo import HelmRepo, default_charts, expected_images, push_default_images, start_helm_repo
from tests.services.images import make_layer, push_image

pytestmark = pytest.mark.integration

RHDH = "redhat-developer-hub"
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


@dataclass(frozen=True)
class Sources:
    host: str
    charts: HelmRepo
    path: str  # PATH with the oc-mirror double and this Python first


@pytest.fixture(scope="module")
def sources(registry_factory, oc_mirror_double, skopeo, helm_bin, tmp_path_factory) -> Iterator[Sources]:
    registry = registry_factory()
    push_default_images(registry.host)
    path = os.pathsep.join([str(oc_mirror_double.parent), str(Path(sys.executable).parent), os.environ["PATH"]])
    with start_helm_repo(tmp_path_factory.mktemp("charts"), default_charts(registry.host)) as charts:
        yield Sources(registry.host, charts, path)


@pytest.fixture
def in_process(sources, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", sources.path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def _isc(path: Path, text: str) -> Path:
    path.write_text("apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n" + text)
    return path


def _chart_isc(path: Path, sources: Sources, version: str) -> Path:
    return _isc(
        path,
        f"  helm:\n    repositories:\n    - name: openshift-charts\n      url: {sources.charts.url}\n"
        f"      charts:\n      - name: {RHDH}\n        version: {version}\n",
    )


def _manifest(bundle: Path) -> Manifest:
    return Manifest.from_bytes((bundle / "manifest.json").read_bytes())


def _blobs(host: str, image: str, digest: str) -> set[str]:
    """Every blob of *image* at *digest* in the source registry: manifests, configs, layers."""
    repo = ImageReference.parse(image).repository
    body = requests.get(f"http://{host}/v2/{repo}/manifests/{digest}", headers={"Accept": ACCEPT}, timeout=30).json()
    found = {digest}
    for child in body.get("manifests", []):
        found |= _blobs(host, image, child["digest"])
    if "config" in body:
        found.add(body["config"]["digest"])
    return found | {layer["digest"] for layer in body.get("layers", [])}


def _archived_blobs(bundle: Path) -> set[str]:
    names: set[str] = set()
    for archive in sorted((bundle / "images").glob("mirror_*.tar")):
        with tarfile.open(archive) as tar:
            names |= set(tar.getnames())
    prefix = "docker/registry/v2/blobs/sha256/"
    return {"sha256:" + n.split("/")[-2] for n in names if n.startswith(prefix) and n.endswith("/data")}


# -- a source tag moves while pack runs ------------------------------------------------------------


def test_tag_moved_between_plan_and_mirror_to_disk_refuses_to_seal(sources, in_process, tmp_path, monkeypatch, cli_run):
    import mirrorkit.pack as packing

    first = push_image(sources.host, "acme/moving", "1.0", [make_layer({"etc/version": b"first\n"})])
    isc = _isc(tmp_path / "isc.yaml", f"  additionalImages:\n  - name: {first.ref}\n")
    bundle = tmp_path / "bundle"
    real = packing.mirror_to_disk
    moved: list[str] = []

    def move_then_mirror(tool, options, **kwargs):  # the tag moves after the plan recorded its digest
        moved.append(push_image(sources.host, "acme/moving", "1.0", [make_layer({"etc/version": b"second\n"})]).digest)
        return real(tool, options, **kwargs)

    monkeypatch.setattr(packing, "mirror_to_disk", move_then_mirror)
    code, _out, err = cli_run("pack", "--config", isc, "--output", bundle, "--no-tls-verify", "--unsigned", "-q")
    assert code == 1, err
    line = err.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert first.ref in line and first.digest in line and moved[0] in line, line
    assert "tag moved at the source while pack ran: pin it by digest in the configuration, or run pack again" in line
    assert not (bundle / "manifest.json").exists() and not list(bundle.glob("images/*")), "pack sealed or moved in"
    code, out, _err = cli_run("verify", bundle, "--allow-unsigned")
    assert code != 0, out

    monkeypatch.setattr(packing, "mirror_to_disk", real)  # the rerun the message suggests
    code, _out, err = cli_run("pack", "--config", isc, "--output", bundle, "--no-tls-verify", "--unsigned", "-q")
    assert code == 0, err
    assert [i.digest for i in _manifest(bundle).images] == moved


# -- two packs into one folder, one after the other --------------------------------------------------


def test_second_pack_into_one_folder_seals_only_its_own_charts_and_every_blob(sources, in_process, tmp_path, cli_run):
    bundle = tmp_path / "bundle"
    history = tmp_path / ".bundle.mirrorkit-work" / "archive" / "working-dir" / ".history"
    for version in ("1.7.0", "1.8.0"):
        isc = _chart_isc(tmp_path / f"isc-{version}.yaml", sources, version)
        code, _out, err = cli_run("pack", "--config", isc, "--output", bundle, "--no-tls-verify", "--unsigned", "-q")
        assert code == 0, err
        assert list(history.glob(".history-*")), "oc-mirror's history is what this test is about"

    manifest = _manifest(bundle)
    assert sorted(p.name for p in (bundle / "charts").iterdir()) == [f"{RHDH}-1.8.0.tgz"]
    assert sorted(f.path for f in manifest.files if f.path.startswith("charts/")) == [f"charts/{RHDH}-1.8.0.tgz"]
    assert sorted(i.source for i in manifest.images) == sorted(expected_images(sources.host)[RHDH, "1.8.0"])
    archived = _archived_blobs(bundle)
    for image in manifest.images:  # the postgresql image's blobs were in the first run's history too
        missing = _blobs(sources.host, image.source, image.digest) - archived
        assert not missing, f"{image.source}: {sorted(missing)} not in the archive"
    code, out, _err = cli_run("verify", bundle, "--allow-unsigned")
    assert code == 0, out


# -- two packs into one folder at once ---------------------------------------------------------------

BLOCKING_OC_MIRROR = """#!/bin/sh
# oc-mirror that waits for the test before planning: the pack holding the lock stays in progress.
if [ "$1" != version ]; then
  touch "{started}"
  while [ ! -e "{release}" ]; do sleep 0.1; done
fi
exec "{double}" "$@"
"""


def test_two_packs_at_once_the_second_refuses_naming_the_first(sources, oc_mirror_double, tmp_path, monkeypatch, cli_run):
    started, release = tmp_path / "started", tmp_path / "release"
    wrapper = tmp_path / "oc-mirror-blocking"
    wrapper.write_text(BLOCKING_OC_MIRROR.format(started=started, release=release, double=oc_mirror_double))
    wrapper.chmod(0o755)
    isc = _chart_isc(tmp_path / "isc.yaml", sources, "1.8.0")
    bundle = tmp_path / "bundle"
    env = {**os.environ, "PATH": sources.path, "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}
    argv = ["pack", "--config", str(isc), "--output", str(bundle), "--no-tls-verify", "--unsigned", "-q"]
    first = subprocess.Popen([sys.executable, "-m", "mirrorkit", *argv, "--oc-mirror", str(wrapper)], env=env, text=True)
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert first.poll() is None and time.monotonic() < deadline, "the first pack never reached oc-mirror"
            time.sleep(0.1)
        monkeypatch.setenv("PATH", sources.path)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
        began = time.monotonic()
        code, _out, err = cli_run(*argv)
        assert time.monotonic() - began < 5, "the second pack waited instead of refusing at once"
        assert code == 1, err
        assert f"in use by mirrorkit pack (pid {first.pid})" in err and str(bundle) in err, err
    finally:
        release.touch()
        assert first.wait(timeout=300) == 0
    assert json.loads(_manifest(bundle).to_bytes())["images"]
    code, _out, err = cli_run(*argv)  # the lock went with the first pack
    assert code == 0, err
