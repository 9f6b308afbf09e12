"""Delta bundles (issue 27): what a new release needs that a base bundle already carried.

Why mirrorkit's own rule and not oc-mirror's history/``--since``: oc-mirror leaves out *blobs* its
own history on this machine says were archived before, which is right only if the bastion's
oc-mirror cache still holds them; nothing checks that, and push clears nothing it can prove. Whole
images whose digest the base carries, plugins whose integrity it carries and charts whose bytes it
carries can instead be checked on the target, by digest and integrity, before anything is written.

A delta's manifest keeps the whole release: what it carries in ``images``/``npm``/``files`` and
what it leaves to the base in ``base`` (see :class:`mirrorkit.bundle.manifest.BaseRef`), so verify
and the SBOM still describe everything. A chain works because a base that is itself a delta counts
its own ``base`` content as part of its release.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.bundle import layout
from mirrorkit.bundle.limits import MAX_MANIFEST_BYTES, read_capped
from mirrorkit.bundle.manifest import BaseRef, FileEntry, ImageEntry, Manifest, NpmPackage, PluginRef
from mirrorkit.errors import CheckFailed, InputError


@dataclass(frozen=True)
class Base:
    """A base bundle's manifest and the sha256 of its manifest.json bytes (the name a delta gives it)."""

    manifest: Manifest
    sha256: str

    @property
    def image_digests(self) -> frozenset[str]:
        return frozenset(i.digest for i in self.manifest.release_images)

    @property
    def plugins(self) -> frozenset[PluginRef]:
        carried = {PluginRef(p.name, p.version, p.integrity) for p in self.manifest.npm}
        return frozenset(carried | set(self.manifest.base.npm if self.manifest.base else ()))

    @property
    def charts(self) -> frozenset[str]:
        own = {f.sha256 for f in self.manifest.files if f.path.startswith(layout.CHARTS_DIR + "/")}
        return frozenset(own | {f.sha256 for f in (self.manifest.base.charts if self.manifest.base else ())})


def load_base(path: Path, check: Callable[[Path, bytes], None] | None = None) -> Base:
    """The base named by ``--base``: a bundle folder or its manifest.json (the file alone is enough:
    the delta needs only what the base listed, and its sha256). *check* sees the manifest's path and
    bytes before they are parsed (pack checks the base's signature there): the bytes are read once,
    so the sha256 a delta records is that of the bytes checked."""
    file = path / layout.MANIFEST if path.is_dir() else path
    if not file.is_file():
        raise InputError(
            f"--base {path}: no {layout.MANIFEST} there",
            hint="pass the earlier bundle's folder or its manifest.json",
        )
    data = read_capped(file, MAX_MANIFEST_BYTES, str(file))  # refused by its size before it is parsed
    if check is not None:
        check(file, data)
    return Base(Manifest.from_bytes(data, where=str(file)), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class DeltaPlan:
    """The release split into what the delta carries and what it leaves to its base."""

    base: Base
    new_images: tuple[ImageEntry, ...]
    base_images: tuple[ImageEntry, ...]
    new_npm: tuple[NpmPackage, ...]
    base_npm: tuple[PluginRef, ...]
    new_charts: tuple[FileEntry, ...]
    base_charts: tuple[FileEntry, ...]

    def base_ref(self) -> BaseRef:
        """The manifest's ``base`` entry for this delta."""
        return BaseRef(self.base.sha256, self.base_images, self.base_npm, self.base_charts)


def plan_delta(
    base: Base, images: Sequence[ImageEntry], npm: Sequence[NpmPackage], charts: Sequence[FileEntry] = ()
) -> DeltaPlan:
    """Split the release (*images*, *npm*, *charts*) by what *base* already carries: same digest,
    same name+version+integrity, same chart bytes. Anything else, a changed tag included, is new."""
    digests, plugins, chart_shas = base.image_digests, base.plugins, base.charts
    left_images = tuple(i for i in images if i.digest in digests)
    left_npm = tuple(r for r in (PluginRef(p.name, p.version, p.integrity) for p in npm) if r in plugins)
    left_names = {(r.name, r.version) for r in left_npm}
    return DeltaPlan(
        base=base,
        new_images=tuple(i for i in images if i.digest not in digests),
        base_images=left_images,
        new_npm=tuple(p for p in npm if (p.name, p.version) not in left_names),
        base_npm=left_npm,
        new_charts=tuple(c for c in charts if c.sha256 not in chart_shas),
        base_charts=tuple(c for c in charts if c.sha256 in chart_shas),
    )


def missing_from_target(ref: BaseRef, has_image: Callable[[ImageEntry], bool], serves: Callable[[PluginRef], bool]) -> list[str]:
    """One line per piece of the base the target lacks: an image not present by digest, a plugin
    version not served with its integrity."""
    lines = [f"image {i.source} ({i.digest})" for i in ref.images if not has_image(i)]
    lines += [f"plugin {p.name}@{p.version} ({p.integrity[:20]}...)" for p in ref.npm if not serves(p)]
    return lines


def refuse_unless_base_present(manifest: Manifest, missing: Iterable[str]) -> None:
    """Raise :class:`CheckFailed` naming what is missing and the bundle that carries it, before a
    delta's push writes anything; a full bundle (no ``base``) passes."""
    ref = manifest.base
    lines = list(missing)
    if ref is None or not lines:
        return
    # The base's name leads: the printed line is clipped, and which bundle to push first is the answer.
    shown = "; ".join(lines[:3]) + (f"; and {len(lines) - 3} more" if len(lines) > 3 else "")
    raise CheckFailed(
        f"this delta bundle needs its base (manifest sha256 {ref.manifest_sha256}) on the target, "
        f"and {len(lines)} item(s) of it are missing: {shown}",
        "the base bundle carries them (or a bundle it stands on)",
        "push that base bundle (and any bundle it stands on) to this target first, then this delta",
    )


def release_view(manifest: Manifest) -> Manifest:
    """*manifest* as the whole release it stands for: a delta's images and plugins plus those it
    leaves to its base (plugins stand in without a file: only name, version and integrity are
    checked on a target). Target checks read this, so a delta is verified as the release it is;
    a full manifest is returned unchanged."""
    ref = manifest.base
    if ref is None:
        return manifest
    npm = {*manifest.npm, *(NpmPackage(p.name, p.version, p.integrity, "") for p in ref.npm)}
    return dataclasses.replace(manifest, images=manifest.release_images, npm=tuple(npm))


__all__ = [
    "Base",
    "DeltaPlan",
    "load_base",
    "missing_from_target",
    "plan_delta",
    "refuse_unless_base_present",
    "release_view",
]
