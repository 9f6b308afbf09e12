"""A real OCI registry (Debian's `docker-registry`, CNCF distribution 2.8) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.services.process import ServerProcess, ServiceUnavailable, free_port

REGISTRY_BIN = os.environ.get("MIRRORKIT_REGISTRY_BIN", "/usr/bin/docker-registry")


@dataclass
class LocalRegistry:
    """A running registry; `host` is what image references use (`127.0.0.1:PORT`)."""

    host: str
    root: Path
    server: ServerProcess

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def stop(self) -> None:
        self.server.stop()


def start_registry(workdir: Path, htpasswd: Path | None = None) -> LocalRegistry:
    """Start a registry storing blobs under *workdir*; with *htpasswd*, basic auth is required."""
    binary = REGISTRY_BIN if os.path.exists(REGISTRY_BIN) else shutil.which("docker-registry")
    if not binary:
        raise ServiceUnavailable("docker-registry is not installed; run scripts/test.sh (it installs the Debian package)")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(workdir / "data")},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": "mirrorkit-test-only"},
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "mirrorkit-test", "path": str(htpasswd)}}
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    server = ServerProcess("docker-registry", [binary, "serve", str(config_path)], workdir / "registry.log")
    server.start()
    server.wait_http(f"http://127.0.0.1:{port}/v2/", ok=(200, 401))
    return LocalRegistry(host=f"127.0.0.1:{port}", root=workdir, server=server)
