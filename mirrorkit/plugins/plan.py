"""OCI plugins in a pack: checked first, then carried as additional images and labelled ``plugin``.

Carrying them through oc-mirror's ``additionalImages`` (by their tag, like every other additional
image) puts them in the same archives, IDMS/ITMS and verify paths as the rest of the bundle; the
digest checked here must be the digest the plan resolves, or the tag moved in between and the
check said nothing about what would be carried.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from mirrorkit.bundle.manifest import ImageEntry
from mirrorkit.catalog.discover import canonical
from mirrorkit.errors import CheckFailed, InputError
from mirrorkit.imageset import ImageSetConfig
from mirrorkit.imageset.model import AdditionalImage
from mirrorkit.oci.reference import ImageReference
from mirrorkit.plugins.artifact import PluginArtifact, inspect_plugin
from mirrorkit.plugins.catalog_index import CatalogIndex
from mirrorkit.plugins.reference import PluginRef

KIND = "plugin"


def check_plugins(client: Any, specs: Sequence[str], say: Callable[[str], None] = lambda _m: None) -> tuple[PluginArtifact, ...]:
    """Every ``oci://`` spec parsed and its artifact checked to hold its package; the same image
    named for several packages is one artifact carrying them all."""
    by_image: dict[str, PluginArtifact] = {}
    for spec in specs:
        ref = PluginRef.parse(spec)
        found = inspect_plugin(client, ref)
        key = str(ref.image)
        say(f"plugin {ref.spec}: {found.packages[0]} found in {ref.image.name}@{found.digest}")
        earlier = by_image.get(key)
        if earlier is not None:
            packages = tuple(dict.fromkeys(earlier.packages + found.packages))
            found = dataclasses.replace(earlier, packages=packages)
        by_image[key] = found
    return tuple(by_image.values())


def with_plugins(config: ImageSetConfig, images: Sequence[str]) -> ImageSetConfig:
    """*config* with every plugin (and catalog index) image in additionalImages, once each; one
    already there is kept."""
    mirror = config.mirror
    if mirror is None or not images:
        return config
    present = {canonical(image.name or "") for image in mirror.additional_images or ()}
    added = [AdditionalImage(name=ref) for ref in dict.fromkeys(images) if canonical(ref) not in present]
    if not added:
        return config
    carried = (*(mirror.additional_images or ()), *added)
    return dataclasses.replace(config, mirror=dataclasses.replace(mirror, additional_images=carried))


def label_plugins(
    images: Sequence[ImageEntry], plugins: Sequence[PluginArtifact], index: CatalogIndex | None = None
) -> tuple[ImageEntry, ...]:
    """The image entries with each plugin image labelled ``plugin``, its packages (comma-separated)
    and its tag or digest as the version, and the catalog index labelled ``plugin`` with no package
    (which is how push tells it apart, see :func:`is_catalog_index`); refuses when a planned digest
    is not the checked one."""
    wanted = {_key(str(p.ref.image)): (p.ref.image, p.digest, ",".join(p.packages)) for p in plugins}
    if index is not None:
        wanted.setdefault(_key(str(index.ref.image)), (index.ref.image, index.digest, ""))
    out: list[ImageEntry] = []
    seen: set[str] = set()
    for image in images:
        key = _key(image.source)
        if key not in wanted:
            key = _key(f"{ImageReference.parse(image.source).name}@{image.digest}")
        if key not in wanted:
            out.append(image)
            continue
        ref, digest, packages = wanted[key]
        if image.digest != digest:
            raise CheckFailed(
                f"plugin image {ref} changed while pack was planning: checked {digest}, planned {image.digest}",
                "its tag was moved at the source",
                "run pack again (or pin the plugin by digest: oci://REPO@sha256:...!PACKAGE)",
            )
        seen.add(key)
        out.append(dataclasses.replace(image, kind=KIND, package=packages, version=ref.tag or ref.digest or ""))
    missing = [str(ref) for k, (ref, _d, _p) in wanted.items() if k not in seen]
    if missing:
        raise InputError(
            f"oc-mirror's plan does not carry the plugin image(s) {', '.join(missing)}",
            hint="check the ImageSetConfiguration's additionalImages and run pack again",
        )
    return tuple(sorted(out))


def is_catalog_index(image: ImageEntry) -> bool:
    """True for the manifest entry of a plugin catalog index: kind ``plugin`` without a package."""
    return image.kind == KIND and not image.package


def _key(ref: str) -> str:
    parsed = ImageReference.parse(ref)
    return f"{parsed.name}@{parsed.digest}" if parsed.digest else f"{parsed.name}:{parsed.tag or 'latest'}"
