"""A real npm server (Verdaccio 5.x, installed by scripts/test.sh into .cache/) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from tests.services.process import ServerProcess, ServiceUnavailable, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def verdaccio_bin() -> Path:
    override = os.environ.get("MIRRORKIT_VERDACCIO_BIN")
    path = Path(override) if override else REPO_ROOT / ".cache/services/node_modules/verdaccio/bin/verdaccio"
    if not path.exists():
        raise ServiceUnavailable(f"Verdaccio is not installed at {path}; run scripts/test.sh to install it")
    return path


@dataclass
class LocalVerdaccio:
    """A running Verdaccio; `url` has no trailing slash."""

    url: str
    root: Path
    server: ServerProcess

    def add_user(self, name: str = "mirrorkit", password: str = "mirrorkit-pass") -> str:
        """Create (or log in) a user and return its bearer token."""
        resp = requests.put(
            f"{self.url}/-/user/org.couchdb.user:{name}",
            json={"name": name, "password": password},
            timeout=30,
        )
        if resp.status_code == 409:  # already exists: log in instead
            resp = requests.put(
                f"{self.url}/-/user/org.couchdb.user:{name}",
                json={"name": name, "password": password},
                auth=(name, password),
                timeout=30,
            )
        resp.raise_for_status()
        return str(resp.json()["token"])

    def stop(self) -> None:
        self.server.stop()


def start_verdaccio(
    workdir: Path,
    *,
    max_body_size: str = "100mb",
    access: str = "$all",
) -> LocalVerdaccio:
    """Start Verdaccio with htpasswd auth, no uplinks, storage under *workdir*.

    *access* is who may read packages (`$all` or `$authenticated`); publishing always needs a user.
    """
    node = shutil.which("node")
    if not node:
        raise ServiceUnavailable("node is not installed; Verdaccio needs Node.js 20")
    binary = verdaccio_bin()
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    rule = {"access": access, "publish": "$authenticated", "unpublish": "$authenticated"}
    config = {
        "storage": str(workdir / "storage"),
        "auth": {"htpasswd": {"file": str(workdir / "htpasswd"), "max_users": 1000}},
        "uplinks": {},
        "packages": {"@*/*": rule, "**": rule},
        "max_body_size": max_body_size,
        "publish": {"allow_offline": True},
        "log": {"type": "stdout", "format": "pretty", "level": "warn"},
        "web": {"enable": False},
    }
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    server = ServerProcess(
        "verdaccio",
        [node, str(binary), "--config", str(config_path), "--listen", f"127.0.0.1:{port}"],
        workdir / "verdaccio.log",
    )
    server.start()
    url = f"http://127.0.0.1:{port}"
    server.wait_http(f"{url}/-/ping", timeout=60)
    return LocalVerdaccio(url=url, root=workdir, server=server)
