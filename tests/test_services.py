"""The test services are real: push and read back through independent clients."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess

import pytest
import requests

from tests.services.images import make_layer, push_image, push_index
from tests.services.npmpkg import make_tarball, npm_publish

pytestmark = pytest.mark.integration


def skopeo_inspect(skopeo: str, ref: str, *extra: str) -> dict:
    out = subprocess.run(
        [skopeo, "inspect", "--tls-verify=false", *extra, f"docker://{ref}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_registry_single_arch_image_reads_back_with_skopeo(registry, skopeo):
    pushed = push_image(registry.host, "smoke/single", "v1", [make_layer({"hello.txt": b"hi"})])
    info = skopeo_inspect(skopeo, pushed.ref)
    assert info["Digest"] == pushed.digest
    assert info["Architecture"] == "amd64"
    assert len(info["Layers"]) == 1


def test_registry_multi_arch_index_reads_back_with_skopeo(registry, skopeo):
    pushed = push_index(registry.host, "smoke/multi", "v1")
    raw = json.loads(
        subprocess.run(
            [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{pushed.ref}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    )
    assert {m["platform"]["architecture"] for m in raw["manifests"]} == {"amd64", "arm64"}
    arm = skopeo_inspect(skopeo, pushed.ref, "--override-arch", "arm64")
    assert arm["Architecture"] == "arm64"


def test_registry_docker_media_types(registry, skopeo):
    pushed = push_image(registry.host, "smoke/docker", "v1", docker=True)
    raw = subprocess.run(
        [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{pushed.ref}"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == pushed.digest
    assert json.loads(raw)["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"


def test_verdaccio_publish_and_download_checks_sha512(verdaccio, npm_token, tmp_path):
    tarball = make_tarball("@smoke/plugin", "1.0.0", payload_size=4096)
    npm_publish(verdaccio.url, npm_token, tarball, tmp_path)
    doc = requests.get(f"{verdaccio.url}/@smoke%2fplugin", timeout=30).json()
    dist = doc["versions"]["1.0.0"]["dist"]
    assert dist["integrity"] == tarball.integrity
    served = requests.get(dist["tarball"], timeout=30).content
    assert "sha512-" + base64.b64encode(hashlib.sha512(served).digest()).decode() == tarball.integrity
    assert dist["tarball"] == f"{verdaccio.url}/@smoke/plugin/-/plugin-1.0.0.tgz"


def test_verdaccio_refuses_publish_without_token(verdaccio, tmp_path):
    tarball = make_tarball("smoke-anon", "1.0.0")
    with pytest.raises(subprocess.CalledProcessError):
        npm_publish(verdaccio.url, "not-a-valid-token", tarball, tmp_path)
