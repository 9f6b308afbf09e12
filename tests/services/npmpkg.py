"""Build real npm package tarballs and publish them with the real `npm` client."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NpmTarball:
    """A package tarball and the integrity values npm computes for it."""

    name: str
    version: str
    data: bytes

    @property
    def integrity(self) -> str:
        return "sha512-" + base64.b64encode(hashlib.sha512(self.data).digest()).decode()

    @property
    def shasum(self) -> str:
        return hashlib.sha1(self.data).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.name.rpartition('/')[2]}-{self.version}.tgz"


def make_tarball(name: str, version: str, *, payload_size: int = 0, extra: dict[str, bytes] | None = None) -> NpmTarball:
    """A .tgz laid out as `npm pack` makes it (everything under `package/`).

    *payload_size* adds a file of incompressible bytes (deterministic per name and version) so tests
    and benchmarks can make packages of a given size.
    """
    manifest = {"name": name, "version": version, "description": f"test package {name}", "main": "index.js", "license": "MIT"}
    files: dict[str, bytes] = {
        "package/package.json": json.dumps(manifest, indent=2).encode(),
        "package/index.js": f"module.exports = {json.dumps(name + '@' + version)};\n".encode(),
    }
    if payload_size:
        seed = hashlib.sha256(f"{name}@{version}".encode()).digest()
        chunks, produced = [], 0
        counter = 0
        while produced < payload_size:
            block = hashlib.sha512(seed + counter.to_bytes(8, "big")).digest()
            chunks.append(block)
            produced += len(block)
            counter += 1
        files["package/payload.bin"] = b"".join(chunks)[:payload_size]
    files.update(extra or {})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            tar.addfile(info, io.BytesIO(content))
    return NpmTarball(name, version, raw.getvalue())


def npm_publish(registry_url: str, token: str, tarball: NpmTarball, workdir: Path) -> None:
    """Publish with the real npm client, as the documented procedure does."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / tarball.filename
    path.write_bytes(tarball.data)
    host = registry_url.split("://", 1)[1].rstrip("/")
    npmrc = workdir / ".npmrc"
    npmrc.write_text(f"//{host}/:_authToken={token}\n")
    env = {**os.environ, "npm_config_userconfig": str(npmrc), "npm_config_update_notifier": "false"}
    subprocess.run(
        ["npm", "publish", str(path), "--registry", registry_url.rstrip("/") + "/", "--access", "public", "--tag", "latest"],
        check=True,
        capture_output=True,
        env=env,
        cwd=workdir,
        timeout=120,
    )
