"""Platforms (`os/arch[/variant]`) and picking one image out of a multi-arch index.

The default is linux/amd64 because that is what an OpenShift cluster most often runs and what the
Red Hat docs' `podman create` would pick on a typical connected host.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mirrorkit.errors import InputError

#: Architectures whose variant is implied when an index entry leaves it out.
_DEFAULT_VARIANT = {"arm64": "v8"}


@dataclass(frozen=True, order=True)
class Platform:
    """An OCI platform; `variant` None means "any variant" when matching."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse `os/arch` or `os/arch/variant` (the `--platform` syntax of podman and skopeo)."""
        parts = text.strip().split("/") if isinstance(text, str) else []
        if len(parts) not in (2, 3) or not all(parts):
            raise InputError(
                f"invalid platform {text!r}",
                "expected os/arch or os/arch/variant",
                "for example --platform linux/amd64 or --platform linux/arm64",
            )
        return cls(parts[0].lower(), parts[1].lower(), parts[2].lower() if len(parts) == 3 else None)

    @classmethod
    def from_json(cls, data: object) -> Platform | None:
        """The `platform` object of an index entry, or None when absent or malformed."""
        if not isinstance(data, dict):
            return None
        os_name, arch = data.get("os"), data.get("architecture")
        if not isinstance(os_name, str) or not isinstance(arch, str):
            return None
        variant = data.get("variant")
        return cls(os_name, arch, variant if isinstance(variant, str) and variant else None)

    def matches(self, offered: Platform) -> bool:
        """True when *offered* (an index entry) satisfies this requested platform."""
        if (self.os, self.architecture) != (offered.os, offered.architecture):
            return False
        if self.variant is None:
            return True
        return self.variant == (offered.variant or _DEFAULT_VARIANT.get(offered.architecture))

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")


DEFAULT_PLATFORM = Platform("linux", "amd64")


def coerce_platform(value: Platform | str | None) -> Platform:
    """Accept a Platform, an `os/arch` string, or None (the default platform)."""
    if value is None:
        return DEFAULT_PLATFORM
    if isinstance(value, Platform):
        return value
    return Platform.parse(value)


def describe(platforms: Iterable[Platform | None]) -> str:
    """A readable list of what an index offers, for error messages."""
    names = sorted({str(p) for p in platforms if p is not None})
    return ", ".join(names) if names else "no platform information"
