"""Where packages come from and which credentials go with them, read the way npm reads them.

Sources, strongest first:

1. options: ``--registry URL`` (the default registry) and ``--token`` (for that registry only);
2. environment: ``NPM_TOKEN`` (a bearer token for the default registry only, never sent elsewhere),
   ``npm_config_registry`` / ``NPM_CONFIG_REGISTRY``;
3. an ``.npmrc``: ``--npmrc FILE``, else ``$NPM_CONFIG_USERCONFIG``, else ``~/.npmrc`` when present.
   Keys understood: ``registry=``, ``@scope:registry=``, ``//host[:port]/path/:_authToken=``,
   ``//host/path/:_auth=`` (base64 user:pass), ``//host/path/:username=`` + ``:_password=``
   (base64), and a global ``_auth=`` for the default registry. ``${VAR}`` is expanded as npm does.

A credential is sent to a URL when its ``//host[:port]/path/`` key (npm's "nerf dart") is a prefix
of the URL's; the longest such key wins (npm-registry-fetch walks up the URL's path the same way).
As in npm, a default port (443 for https, 80 for http) is not part of the key, one key's
``_authToken`` wins over its ``_auth``, which wins over ``username`` + ``_password``, and a URL with
no credential of its own on the same host as its registry (a tarball outside the registry's path)
gets the registry's. Tokens are kept out of ``repr`` and listed in :attr:`NpmSettings.secrets` so
messages can be redacted.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mirrorkit.errors import ConfigError
from mirrorkit.npm.spec import PackageName

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
TOKEN_ENV = "NPM_TOKEN"


def normalise_registry(url: str) -> str:
    """`http://host:4873` -> `http://host:4873/` (npm keeps registry URLs with a trailing slash)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"invalid npm registry URL {url!r}", hint="write it as http(s)://host[:port][/path]")
    return url if url.endswith("/") else url + "/"


def nerf_dart(url: str) -> str:
    """`https://u:p@host:443/a/b?x` -> `//host:443/a/` (npm's credential key for a URL)."""
    parts = urlsplit(url)
    netloc = _host(url)
    path = parts.path or "/"
    path = path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"
    return f"//{netloc}{path}"


def _host(url: str) -> str:
    """`host[:port]` as WHATWG URL's `.host` gives it: lowercase, default port dropped."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{host}:{parts.port}" if parts.port and parts.port != default else host


def parse_npmrc(text: str, env: Mapping[str, str]) -> dict[str, str]:
    """Parse .npmrc lines (`key = value`, `;`/`#` comments, quoted values, `${VAR}` expansion)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in ";#" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key, value = _expand(key.strip(), env), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = _expand(value, env)
    return values


def _expand(text: str, env: Mapping[str, str]) -> str:
    return re.sub(r"(?<!\\)\$\{([^}]+)\}", lambda m: env.get(m.group(1), ""), text)


@dataclass(frozen=True)
class Credential:
    """One credential bound to a nerf dart; `header` is the Authorization value."""

    prefix: str
    header: str = field(repr=False)
    secret: str = field(repr=False)


@dataclass(frozen=True)
class NpmSettings:
    """Registries per scope and credentials per URL prefix; build with :meth:`load`."""

    registry: str = DEFAULT_REGISTRY
    scopes: tuple[tuple[str, str], ...] = ()
    credentials: tuple[Credential, ...] = ()

    @classmethod
    def load(
        cls,
        *,
        registry: str | None = None,
        token: str | None = None,
        npmrc: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> NpmSettings:
        env = os.environ if env is None else env
        config = _read_npmrc(npmrc, env)
        default = normalise_registry(
            registry
            or env.get("npm_config_registry")
            or env.get("NPM_CONFIG_REGISTRY")
            or config.get("registry")
            or DEFAULT_REGISTRY
        )
        scopes = tuple(
            sorted(
                (key[1:].split(":", 1)[0], normalise_registry(value))
                for key, value in config.items()
                if key.startswith("@") and key.endswith(":registry")
            )
        )
        creds: dict[str, Credential] = {}
        rank: dict[str, int] = {}  # npm's precedence within one key: _authToken, then _auth, then username/_password
        for key, value in config.items():
            if not key.startswith("//") or ":" not in key or not value:
                continue
            raw_prefix, _, what = key.rpartition(":")
            prefix = raw_prefix if raw_prefix.endswith("/") else raw_prefix + "/"
            if what == "_authToken":
                cred, strength = Credential(prefix, f"Bearer {value}", value), 3
            elif what == "_auth":
                cred, strength = Credential(prefix, f"Basic {value}", value), 2
            elif what == "_password":
                user = config.get(f"{raw_prefix}:username")
                if not user:
                    continue
                try:
                    password = base64.b64decode(value, validate=True).decode()
                except ValueError as exc:
                    raise ConfigError(
                        f"{raw_prefix}:_password in .npmrc is not base64", hint="npm expects _password base64-encoded"
                    ) from exc
                basic = base64.b64encode(f"{user}:{password}".encode()).decode()
                cred, strength = Credential(prefix, f"Basic {basic}", password), 1
            else:
                continue
            if strength > rank.get(prefix, 0):
                creds[prefix], rank[prefix] = cred, strength
        if config.get("_auth"):
            prefix = nerf_dart(default)
            creds.setdefault(prefix, Credential(prefix, f"Basic {config['_auth']}", config["_auth"]))
        explicit = token or env.get(TOKEN_ENV)
        if explicit:
            prefix = nerf_dart(default)
            creds[prefix] = Credential(prefix, f"Bearer {explicit}", explicit)
        return cls(default, scopes, tuple(sorted(creds.values(), key=lambda c: c.prefix)))

    def registry_for(self, name: PackageName) -> str:
        """The registry a package is fetched from: its scope's registry, else the default one."""
        if name.scope:
            for scope, url in self.scopes:
                if scope == name.scope:
                    return url
        return self.registry

    def authorization(self, url: str, registry: str | None = None) -> str | None:
        """The Authorization header for *url*: the credential with the longest matching prefix.

        With no credential of its own, a URL on the same host as *registry* (the registry it was
        listed by, e.g. a tarball URL) gets the registry's, as npm-registry-fetch does.
        """
        key = nerf_dart(url)
        best: Credential | None = None
        for cred in self.credentials:
            if key.startswith(cred.prefix) and (best is None or len(cred.prefix) > len(best.prefix)):
                best = cred
        if best is None and registry and _host(url) == _host(registry) and key != nerf_dart(registry):
            return self.authorization(registry)
        return best.header if best else None

    @property
    def secrets(self) -> tuple[str, ...]:
        out: list[str] = []
        for cred in self.credentials:
            out.extend([cred.secret, cred.header.split(" ", 1)[1]])
        return tuple(out)


def _read_npmrc(path: Path | None, env: Mapping[str, str]) -> dict[str, str]:
    if path is None:
        configured = env.get("NPM_CONFIG_USERCONFIG") or env.get("npm_config_userconfig")
        if configured:
            path = Path(configured)
        else:
            home = Path(env.get("HOME", "~")).expanduser() / ".npmrc"
            if not home.is_file():
                return {}
            path = home
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read npmrc {path}", exc.strerror, "pass an existing file with --npmrc") from exc
    return parse_npmrc(text, env)
