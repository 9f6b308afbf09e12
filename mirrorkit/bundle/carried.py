"""The report's list of what a bundle carried, read from its (verified) manifest."""

from __future__ import annotations

from mirrorkit.bundle.manifest import Manifest
from mirrorkit.report.carried import Carried, CarriedFile, CarriedImage, CarriedPlugin


def from_manifest(manifest: Manifest) -> Carried:
    """Every image, plugin and file the manifest pins, for the report (nothing read from disk)."""
    sizes = {f.path: f.size for f in manifest.files}
    return Carried(
        images=tuple(CarriedImage(i.source, i.digest, i.kind, i.package, i.version, i.bundle) for i in manifest.images),
        plugins=tuple(CarriedPlugin(p.name, p.version, p.integrity, p.file, sizes.get(p.file, 0)) for p in manifest.npm),
        files=tuple(CarriedFile(f.path, f.size, f.sha256) for f in manifest.files),
    )
