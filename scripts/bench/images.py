"""Images the benchmark pushes to its local registry, with a large layer of random bytes.

The large layer is written to a file in 1 MiB pieces and streamed to the registry from there, so a
filler of hundreds of MiB costs the benchmark process no memory (tests/services/images.py, which the
tests use, holds every layer in memory).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.services.images import (
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    make_layer,
    push_blob,
    push_manifest,
    sha256_digest,
)

BUNDLE_REPO = "bench/logic-operator-bundle"


@dataclass(frozen=True)
class FileLayer:
    """A gzip layer on disk: its digest and size as pushed, and the digest of its tar (the diff ID)."""

    path: Path
    digest: str
    size: int
    diff_id: str


class _HashingWriter:
    def __init__(self, target: gzip.GzipFile) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return self.target.write(data)


class _RandomReader:
    def __init__(self, total: int) -> None:
        self.left = total

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)


def write_random_layer(path: Path, megabytes: int, name: str = "usr/share/filler.bin") -> FileLayer:
    """A gzip tar (fast level: setup is not timed) of one file of *megabytes* MiB of incompressible bytes."""
    size = megabytes * 2**20
    with open(path, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:
        raw = _HashingWriter(gz)
        with tarfile.open(fileobj=raw, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, _RandomReader(size))  # type: ignore[arg-type]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return FileLayer(path, "sha256:" + digest.hexdigest(), path.stat().st_size, "sha256:" + raw.sha256.hexdigest())


def push_file_blob(host: str, repo: str, layer: FileLayer) -> None:
    """Upload *layer* to a plain-http registry in one streamed PUT."""
    start = requests.post(f"http://{host}/v2/{repo}/blobs/uploads/", timeout=30)
    start.raise_for_status()
    location = start.headers["Location"]
    if location.startswith("/"):
        location = f"http://{host}{location}"
    sep = "&" if "?" in location else "?"
    with open(layer.path, "rb") as handle:  # requests streams a file object
        done = requests.put(
            f"{location}{sep}digest={layer.digest}",
            data=handle,
            timeout=600,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(layer.size)},
        )
    done.raise_for_status()


def _push_image(
    host: str, repo: str, tag: str, files: Sequence[FileLayer], layers: Sequence[bytes] = (), labels: dict[str, str] | None = None
) -> str:
    """Push the config and manifest of an OCI image of *files* (layers already pushed from disk) then
    *layers* (pushed here); returns its reference."""
    diff_ids = [f.diff_id for f in files] + [sha256_digest(gzip.decompress(layer)) for layer in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": labels or {}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    descriptors = [{"mediaType": OCI_LAYER_GZIP, "digest": f.digest, "size": f.size} for f in files]
    descriptors += [{"mediaType": OCI_LAYER_GZIP, "digest": push_blob(host, repo, layer), "size": len(layer)} for layer in layers]
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": push_blob(host, repo, config), "size": len(config)},
            "layers": descriptors,
        }
    ).encode()
    push_manifest(host, repo, tag, manifest, OCI_MANIFEST)
    return f"{host}/{repo}:{tag}"


def push_filler_image(host: str, repo: str, tag: str, filler_mb: int, workdir: Path, layers: Sequence[bytes] = ()) -> str:
    """Push an OCI image whose first layer is *filler_mb* MiB of random bytes, then *layers*; returns its reference."""
    workdir.mkdir(parents=True, exist_ok=True)
    filler = write_random_layer(workdir / f"{repo.replace('/', '-')}-filler.tar.gz", filler_mb)
    try:
        push_file_blob(host, repo, filler)
    finally:
        filler.path.unlink()
    return _push_image(host, repo, tag, [filler], layers)


def push_layered_image(host: str, repo: str, tag: str, base: FileLayer, top_mb: int, workdir: Path) -> str:
    """Push an OCI image of the shared *base* layer (already on disk) and a new *top_mb* MiB random
    layer: two versions of one image, as an operator upgrade ships them, share their base layer."""
    top = write_random_layer(workdir / f"{repo.replace('/', '-')}-{tag}-top.tar.gz", top_mb, name=f"opt/app-{tag}.bin")
    try:
        for layer in (base, top):
            push_file_blob(host, repo, layer)
    finally:
        top.path.unlink()
    return _push_image(host, repo, tag, [base, top], labels={"version": tag})


def push_bundle(host: str, filler_mb: int, workdir: Path) -> str:
    """A Serverless-Logic-like operator bundle image: a filler layer, then the manifests/ and metadata/ layer."""
    from tests.test_operator_bundle import bundle_files

    return push_filler_image(host, BUNDLE_REPO, "bench", filler_mb, workdir, [make_layer(bundle_files())])
