"""Where each carried OCI plugin lives after push, as the reference RHDH will read.

The location is decided exactly as verify decides where an image must be (the IDMS/ITMS oc-mirror
wrote, else the path convention; :func:`mirrorkit.bundle.targets.image_locations`) and always by
digest: the installer then pulls the very bytes that were checked, whatever happens to tags.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirrorkit.bundle.manifest import ImageEntry, Manifest
from mirrorkit.bundle.mirrorsets import MirrorSets
from mirrorkit.bundle.targets import image_locations
from mirrorkit.plugins.plan import KIND
from mirrorkit.plugins.reference import OCI_PREFIX


@dataclass(frozen=True, order=True)
class MirroredPlugin:
    """One plugin package in a mirrored OCI artifact: ``package`` is what goes in the dynamic-plugins
    configuration (``oci://MIRROR/REPO@sha256:...!PACKAGE``), ``name`` the package folder."""

    name: str
    package: str
    source: str


def plugin_packages(image: ImageEntry) -> tuple[str, ...]:
    """The package folders a ``plugin`` image entry was carried for."""
    return tuple(p for p in image.package.split(",") if p) if image.kind == KIND else ()


def mirrored_plugins(manifest: Manifest, registry: str, mirror_sets: MirrorSets | None) -> tuple[MirroredPlugin, ...]:
    """Every plugin package of *manifest*, pinned at its first mirror location by digest."""
    out = []
    for image in manifest.images:
        locations, _via = image_locations(image, registry, mirror_sets)
        for name in plugin_packages(image):
            if locations:
                out.append(MirroredPlugin(name, f"{OCI_PREFIX}{locations[0]}!{name}", image.source))
    return tuple(sorted(out))
