"""Registry credentials, found where oc-mirror (containers/image) looks for them.

Order: `--authfile`, else `$REGISTRY_AUTH_FILE`, else `${XDG_RUNTIME_DIR}/containers/auth.json`, else
`~/.docker/config.json`: the first that exists is *the* auth file (they are not merged), so an error
can name exactly which file was used. Keys may be a host (`quay.io`), a host with a repository prefix
(`quay.io/ns`, the most specific match wins, as in containers-auth.json(5)) or a legacy URL
(`https://index.docker.io/v1/`). Credential helpers (`credHelpers`, `credsStore`) are not run.

Secrets stay in :class:`Credentials`, whose repr hides the password; nothing here logs them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import oras.auth.utils
import oras.defaults
import oras.utils

from mirrorkit.errors import ConfigError, InputError


@dataclass(frozen=True)
class Credentials:
    """A username and password (or registry token) for one registry."""

    username: str
    password: str = field(repr=False)

    @property
    def basic(self) -> str:
        """The value after `Authorization: Basic `."""
        return oras.auth.utils.get_basic_auth(self.username, self.password)


def default_authfile(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path | None:
    """The auth file oc-mirror would use when no `--authfile` is given (the first that exists)."""
    env = os.environ if env is None else env
    candidates: list[Path] = []
    if env.get("REGISTRY_AUTH_FILE"):
        candidates.append(Path(env["REGISTRY_AUTH_FILE"]))
    if env.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    candidates.append((home or Path.home()) / ".docker" / "config.json")
    return next((path for path in candidates if path.is_file()), None)


def find_authfile(explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """`--authfile` when given (it must exist), else :func:`default_authfile`."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InputError(
                f"auth file {path} does not exist",
                hint="pass the file podman/oc-mirror use, e.g. --authfile ${XDG_RUNTIME_DIR}/containers/auth.json",
            )
        return path
    return default_authfile(env)


@dataclass(frozen=True)
class AuthConfig:
    """The `auths` of one auth file (or none), answering "which credentials for this repository?"."""

    path: Path | None
    auths: tuple[tuple[str, Credentials], ...] = ()

    @classmethod
    def load(cls, path: Path | None) -> AuthConfig:
        if path is None:
            return cls(None)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            # the reason never quotes the file's content (it holds secrets)
            raise ConfigError(
                f"cannot read auth file {path}",
                type(exc).__name__,
                "check that it is the JSON written by `podman login` or `docker login`",
            ) from None
        auths = data.get("auths") if isinstance(data, dict) else None
        if auths is None:
            return cls(path)
        if not isinstance(auths, dict):
            raise ConfigError(f"auth file {path} is not valid", '"auths" must be an object')
        entries = []
        for key, entry in auths.items():
            creds = _decode(entry)
            if creds is not None:
                entries.append((_normalise_key(str(key)), creds))
        return cls(path, tuple(entries))

    def lookup(self, registry: str, repository: str = "") -> Credentials | None:
        """Credentials for `registry/repository`: the longest matching key wins."""
        best: tuple[int, Credentials] | None = None
        for host in _host_aliases(registry):
            full = f"{host}/{repository}" if repository else host
            for key, creds in self.auths:
                matches = full == key or full.startswith(key + "/") or key == host
                if matches and (best is None or len(key) > best[0]):
                    best = (len(key), creds)
        return best[1] if best else None

    def describe(self) -> str:
        """How error messages name what was tried."""
        return (
            f"auth file {self.path}"
            if self.path
            else "no auth file (none of --authfile, $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json, ~/.docker/config.json exists)"
        )


def _decode(entry: object) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, sep, password = base64.b64decode(auth, validate=False).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Credentials(user, password) if sep else None
    username, secret = entry.get("username"), entry.get("password")
    if isinstance(username, str) and isinstance(secret, str) and username:
        return Credentials(username, secret)
    return None


def _normalise_key(key: str) -> str:
    """`https://index.docker.io/v1/` -> `docker.io`; `https://quay.io` -> `quay.io`."""
    if "://" in key:
        key = key.split("://", 1)[1]
        key = key.split("/", 1)[0] if key.endswith("/v1/") or key.endswith("/v2/") or key.count("/") == 0 else key
    key = key.rstrip("/")
    if key in (oras.defaults.registry.index_hostname, "registry-1.docker.io"):
        return oras.defaults.registry.index_name
    return key


def _host_aliases(registry: str) -> list[str]:
    hosts = list(oras.utils.iter_localhosts(registry))
    if registry in ("registry-1.docker.io", oras.defaults.registry.index_hostname):
        hosts.append(oras.defaults.registry.index_name)
    return hosts
