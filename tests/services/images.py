"""Build synthetic container images in memory and push them to a registry over the distribution API.

Tests need images whose every byte they control (to know the expected digests), so layers are gzip
tar archives built here from a {path: bytes} mapping, and pushes use plain HTTP calls: the code under
test never pushes its own fixtures.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass

import requests

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_layer(files: dict[str, bytes | None], *, gzip_it: bool = True) -> bytes:
    """A tar layer (gzip by default, mtime 0 so it is reproducible).

    A value of None writes an OCI whiteout (`.wh.<name>`) that deletes the path from lower layers.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            if content is None:
                head, _, base = path.rpartition("/")
                path, content = (f"{head}/.wh.{base}" if head else f".wh.{base}"), b""
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    data = raw.getvalue()
    return gzip.compress(data, mtime=0) if gzip_it else data


@dataclass(frozen=True)
class PushedImage:
    """What was pushed: `ref` by tag, `digest` of the top manifest (or index), and its media type."""

    host: str
    repo: str
    tag: str
    digest: str
    media_type: str

    @property
    def ref(self) -> str:
        return f"{self.host}/{self.repo}:{self.tag}"

    @property
    def by_digest(self) -> str:
        return f"{self.host}/{self.repo}@{self.digest}"


def push_blob(host: str, repo: str, data: bytes, auth: tuple[str, str] | None = None) -> str:
    digest = sha256_digest(data)
    base = f"http://{host}/v2/{repo}/blobs"
    if requests.head(f"{base}/{digest}", auth=auth, timeout=30).status_code == 200:
        return digest
    start = requests.post(f"{base}/uploads/", auth=auth, timeout=30)
    start.raise_for_status()
    location = start.headers["Location"]
    if location.startswith("/"):
        location = f"http://{host}{location}"
    sep = "&" if "?" in location else "?"
    done = requests.put(
        f"{location}{sep}digest={digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        auth=auth,
        timeout=120,
    )
    done.raise_for_status()
    return digest


def push_manifest(host: str, repo: str, ref: str, body: bytes, media_type: str, auth: tuple[str, str] | None = None) -> str:
    resp = requests.put(
        f"http://{host}/v2/{repo}/manifests/{ref}",
        data=body,
        headers={"Content-Type": media_type},
        auth=auth,
        timeout=30,
    )
    resp.raise_for_status()
    return sha256_digest(body)


def _manifest(
    host: str,
    repo: str,
    layers: list[bytes],
    *,
    docker: bool,
    os_name: str,
    arch: str,
    labels: dict[str, str] | None,
    auth: tuple[str, str] | None,
) -> bytes:
    layer_type = DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP
    diff_ids = [sha256_digest(gzip.decompress(layer) if layer[:2] == b"\x1f\x8b" else layer) for layer in layers]
    config = json.dumps(
        {
            "architecture": arch,
            "os": os_name,
            "config": {"Labels": labels or {}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        sort_keys=True,
    ).encode()
    config_digest = push_blob(host, repo, config, auth)
    layer_descs = []
    for layer in layers:
        layer_descs.append({"mediaType": layer_type, "digest": push_blob(host, repo, layer, auth), "size": len(layer)})
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": layer_descs,
    }
    return json.dumps(manifest, indent=2, sort_keys=True).encode()


def push_image(
    host: str,
    repo: str,
    tag: str,
    layers: list[bytes] | None = None,
    *,
    docker: bool = False,
    os_name: str = "linux",
    arch: str = "amd64",
    labels: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> PushedImage:
    """Push a single-platform image (OCI by default, Docker schema 2 with docker=True)."""
    if layers is None:
        layers = [make_layer({f"etc/{repo.replace('/', '-')}-{tag}": f"{repo}:{tag}\n".encode()})]
    body = _manifest(host, repo, layers, docker=docker, os_name=os_name, arch=arch, labels=labels, auth=auth)
    media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    digest = push_manifest(host, repo, tag, body, media_type, auth)
    return PushedImage(host, repo, tag, digest, media_type)


def push_index(
    host: str,
    repo: str,
    tag: str,
    platforms: tuple[tuple[str, str], ...] = (("linux", "amd64"), ("linux", "arm64")),
    layers_for: dict[tuple[str, str], list[bytes]] | None = None,
    *,
    docker: bool = False,
    auth: tuple[str, str] | None = None,
) -> PushedImage:
    """Push a multi-arch index (OCI) or manifest list (Docker) with one image per platform."""
    entries = []
    child_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    for os_name, arch in platforms:
        layers = (layers_for or {}).get((os_name, arch)) or [
            make_layer({"etc/platform": f"{repo}:{tag} {os_name}/{arch}\n".encode()})
        ]
        body = _manifest(host, repo, layers, docker=docker, os_name=os_name, arch=arch, labels=None, auth=auth)
        digest = push_manifest(host, repo, sha256_digest(body), body, child_type, auth)
        entries.append(
            {"mediaType": child_type, "digest": digest, "size": len(body), "platform": {"os": os_name, "architecture": arch}}
        )
    index_type = DOCKER_LIST if docker else OCI_INDEX
    index = json.dumps({"schemaVersion": 2, "mediaType": index_type, "manifests": entries}, indent=2).encode()
    digest = push_manifest(host, repo, tag, index, index_type, auth)
    return PushedImage(host, repo, tag, digest, index_type)
