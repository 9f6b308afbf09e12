"""Package specs as users write them: `@scope/name@1.2.3`, `name@^1.8.0`, `@scope/name` (= latest).

A spec names *what the user asked for*; :class:`PinnedPackage` names *what we mirrored* (an exact
version). Only pinned packages are recorded, so a bundle never depends on a moving tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mirrorkit.errors import InvalidReference

# npm's rules for new package names: lowercase, URL-safe, no leading dot or underscore, <= 214 chars.
_NAME_PART = r"[a-z0-9~-][a-z0-9._~-]*"
_NAME = re.compile(rf"^(?:@(?P<scope>{_NAME_PART})/)?(?P<base>{_NAME_PART})$")


@dataclass(frozen=True, order=True)
class PackageName:
    """An npm package name, optionally scoped (`@redhat/backstage-plugin-orchestrator`)."""

    scope: str | None
    base: str

    @classmethod
    def parse(cls, text: str) -> PackageName:
        match = _NAME.match(text)
        if not match or len(text) > 214:
            raise InvalidReference(
                f"invalid npm package name {text!r}",
                "names are lowercase, URL-safe, optionally scoped as @scope/name",
                "write it as @scope/name@version or name@version",
            )
        return cls(match.group("scope"), match.group("base"))

    @property
    def full(self) -> str:
        return f"@{self.scope}/{self.base}" if self.scope else self.base

    @property
    def escaped(self) -> str:
        """The path segment the registry expects: the scope's slash is percent-encoded."""
        return f"@{self.scope}%2f{self.base}" if self.scope else self.base

    def tarball_filename(self, version: str) -> str:
        """`name-1.2.3.tgz`: the registry's tarball file name carries no scope."""
        return f"{self.base}-{version}.tgz"

    def __str__(self) -> str:
        return self.full


@dataclass(frozen=True, order=True)
class PackageSpec:
    """What the user asked for: a name and a version range, tag or exact version (default `latest`)."""

    name: PackageName
    wanted: str = "latest"

    @classmethod
    def parse(cls, text: str) -> PackageSpec:
        raw = text.strip()
        if not raw:
            raise InvalidReference("empty npm package spec", hint="write it as @scope/name@version")
        # the version separator is the first '@' after the (optional) scope's leading '@'
        at = raw.find("@", 1)
        name_text, wanted = (raw, "latest") if at < 0 else (raw[:at], raw[at + 1 :].strip())
        if not wanted:
            raise InvalidReference(f"npm package spec {text!r} has an empty version", hint="write name@1.2.3 or name@latest")
        return cls(PackageName.parse(name_text), wanted)

    def __str__(self) -> str:
        return f"{self.name}@{self.wanted}"


@dataclass(frozen=True, order=True)
class PinnedPackage:
    """A package at one exact version: the unit that is downloaded, recorded and published."""

    name: PackageName
    version: str

    @property
    def filename(self) -> str:
        return self.name.tarball_filename(self.version)

    def tarball_path(self, registry_url: str) -> str:
        """The URL npm and Verdaccio serve the tarball at: `<registry>/@scope/name/-/name-1.2.3.tgz`."""
        return f"{registry_url.rstrip('/')}/{self.name.full}/-/{self.filename}"

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"
