"""Where each carried OCI plugin lives after push, as the reference RHDH will read.

The location is decided exactly as verify decides where an image must be (the IDMS/ITMS oc-mirror
wrote, else the path convention; :func:`mirrorkit.bundle.targets.image_locations`) and always by
digest: the installer then pulls the very bytes that were checked, whatever happens to tags.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mirrorkit.bundle.manifest import ImageEntry, Manifest
from mirrorkit.bundle.mirrorsets import MirrorSets
from mirrorkit.bundle.targets import image_locations
from mirrorkit.oci.reference import ImageReference
from mirrorkit.plugins.catalog_index import index_configs, read_index_at
from mirrorkit.plugins.plan import KIND, is_catalog_index
from mirrorkit.plugins.reference import OCI_PREFIX


@dataclass(frozen=True, order=True)
class MirroredPlugin:
    """One plugin package in a mirrored OCI artifact: ``package`` is what goes in the dynamic-plugins
    configuration (``oci://MIRROR/REPO@sha256:...!PACKAGE``), ``name`` the package folder, ``config``
    the catalog index's keys for it (``pluginConfig``...), empty when the index names it not."""

    name: str
    package: str
    source: str
    config: Mapping[str, Any] = field(default_factory=dict, compare=False)


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


def mirrored_catalog_index(manifest: Manifest, registry: str, mirror_sets: MirrorSets | None) -> str | None:
    """Where the bundle's plugin catalog index is after push, as ``host/repo@sha256:...`` (what
    ``CATALOG_INDEX_IMAGE`` takes: a plain image reference, no ``oci://``); ``None`` without one."""
    for image in manifest.images:
        if is_catalog_index(image):
            locations, _via = image_locations(image, registry, mirror_sets)
            return locations[0] if locations else None
    return None


def with_index_config(client: Any, location: str, plugins: Sequence[MirroredPlugin]) -> tuple[MirroredPlugin, ...]:
    """*plugins* with the keys the mirrored index at *location* gives each (matched as the installer
    matches: source image without tag plus package folder). Read from the mirror, not the source:
    the configuration written is the one the cluster's index holds."""
    configs = index_configs(read_index_at(client, ImageReference.parse(location)))
    out = []
    for plugin in plugins:
        key = (ImageReference.parse(plugin.source).name, plugin.name)
        config = configs.get(key)
        out.append(dataclasses.replace(plugin, config=dict(config)) if config else plugin)
    return tuple(out)
