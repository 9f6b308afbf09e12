"""push's side of delta bundles (issue 27): the target must hold the base before anything is written.

A delta's archives lack the images its base carried and its npm folder lacks the base's plugins;
loaded onto a target without them, the release would install and then fail to pull. So push looks
each of them up first, with the very checkers its final target check uses (same locations, same
integrity rule), and refuses naming what is missing and the bundle that carries it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mirrorkit.bundle.manifest import BaseBlob, Manifest, NpmPackage
from mirrorkit.bundle.verify import Checker
from mirrorkit.delta import missing_from_target, refuse_unless_base_present
from mirrorkit.npm.index import IndexEntry, NpmIndex
from mirrorkit.report.model import Status


def require_base_on_target(
    manifest: Manifest, image_checker: Checker, npm_checker: Checker, has_blob: Callable[[BaseBlob], bool] | None = None
) -> None:
    """Raise :class:`~mirrorkit.errors.CheckFailed` unless the target holds all that *manifest*
    leaves to its base: an image not found by digest, or not checked at all (a registry that did
    not answer proves nothing), counts as missing; so does a blob the archives leave out
    (:mod:`mirrorkit.deltablobs`) that *has_blob* does not find. A full bundle passes without a look-up."""
    ref = manifest.base
    if ref is None:
        return
    stand_in = Manifest(
        created=manifest.created,
        mirrorkit_version=manifest.mirrorkit_version,
        images=ref.images,
        npm=tuple(NpmPackage(p.name, p.version, p.integrity, "") for p in ref.npm),
    )
    items = list(image_checker(stand_in)) if ref.images else []
    items += list(npm_checker(stand_in)) if ref.npm else []
    lacking = {(i.category, i.subject) for i in items if i.status is not Status.PASSED}
    missing = missing_from_target(
        ref,
        lambda image: ("image", image.source) not in lacking,
        lambda plugin: ("npm", f"{plugin.name}@{plugin.version}") not in lacking,
    )
    if has_blob is not None:
        missing += [f"blob {b.digest} of {b.repository}" for b in ref.blobs if not has_blob(b)]
    refuse_unless_base_present(manifest, missing)


def with_base_plugins(index: NpmIndex | None, manifest: Manifest, root: Path) -> NpmIndex | None:
    """The index values.yaml and the ConfigMap are written from: a delta's own packages plus those
    its base carried (just checked to be served with their integrity), so the install files name
    the whole release, not only what changed."""
    ref = manifest.base
    if ref is None or not ref.npm:
        return index
    extra = tuple(IndexEntry(p.name, p.version, p.integrity, "", 0, "", "") for p in ref.npm)
    own = index.entries if index is not None else ()
    return NpmIndex(index.root if index is not None else root, tuple(sorted((*own, *extra), key=lambda e: (e.name, e.version))))


__all__ = ["require_base_on_target", "with_base_plugins"]
