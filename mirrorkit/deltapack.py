"""pack's side of delta bundles (issue 27): open the base, then split the release it planned.

Why whole images and not blobs: only images the base pins by digest are left out, so push can
check the target really holds each of them before writing anything (see :mod:`mirrorkit.delta`).

Why only additional (and plugin) images: oc-mirror's ImageSetConfiguration can name those one by
one, so leaving one out is exact. Operator catalogs and Helm charts are selected by package or chart,
not by image, and oc-mirror rebuilds the catalog from what it mirrors: reducing them through the ISC
could carry a catalog pointing at images neither bundle holds. A delta therefore carries them in full
(correct, larger), and says so (:data:`CARRIED_IN_FULL`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.bundle import layout
from mirrorkit.bundle.manifest import BaseRef, ImageEntry, NpmPackage, PluginRef
from mirrorkit.bundle.signing import load_private_key, load_public_key, verify_signature
from mirrorkit.delta import Base, load_base, plan_delta
from mirrorkit.errors import BundleError, CheckFailed, InputError
from mirrorkit.imageset import ImageSetConfig
from mirrorkit.oci.reference import ImageReference

#: Image kinds a delta may leave to its base: the ISC lists each of them by name.
LEAVABLE_KINDS = frozenset({"additional", "plugin"})
CARRIED_IN_FULL = (
    "operator catalogs and Helm charts stay in the delta's ImageSetConfiguration (oc-mirror selects them by package, not by "
    "image); their blobs the base loaded are left to it when --base is the base's folder"
)


@dataclass(frozen=True)
class BaseKey:
    """How the base's signature is checked: *path* is a public key, or pack's own signing key
    (the same key usually signs every release; its public half is derived, never written)."""

    path: Path
    private: bool = False
    passphrase: bytes | None = dataclasses.field(default=None, repr=False)


def open_base(path: Path, key: BaseKey | None) -> Base:
    """The base named by ``--base`` (:func:`~mirrorkit.delta.load_base`), its signature checked with
    *key* when one is given, on the very bytes whose sha256 the delta records."""
    return load_base(path, None if key is None else functools.partial(_check_signature, key=key))


def _check_signature(file: Path, data: bytes, key: BaseKey) -> None:
    sig = file.with_name(file.name + ".sig") if file.name != layout.MANIFEST else file.parent / layout.SIGNATURE
    if not sig.is_file():
        raise BundleError(
            f"--base {file}: no signature {sig.name} beside it",
            hint="bring the base's manifest.json.sig along, or pass --base-verify-key with the key that signed it",
        )
    public = load_private_key(key.path, key.passphrase).public_key() if key.private else load_public_key(key.path)
    if not verify_signature(data, sig.read_bytes(), public):
        raise CheckFailed(
            f"--base {file}: its signature does not verify with {key.path}",
            "the base was signed with another key, or its manifest changed",
            "pass --base-verify-key with the public key that signed the base",
        )


@dataclass(frozen=True)
class DeltaSplit:
    """The release split for pack: the images the delta's archives carry, the reduced ISC oc-mirror
    is given (and the bundle carries, so push's disk-to-mirror asks for what the archives hold), and
    the ``base`` entry for the manifest (pack completes it with the npm packages and blobs left to the base)."""

    carried: tuple[ImageEntry, ...]
    config: ImageSetConfig
    base_ref: BaseRef
    notes: tuple[str, ...] = ()


def _key(source: str, digest: str) -> str:
    ref = ImageReference.parse(source)
    return f"{ref.name}:{ref.tag}" if ref.tag else f"{ref.name}@{digest or ref.digest}"


def split_release(base: Base, images: Sequence[ImageEntry], config: ImageSetConfig) -> DeltaSplit:
    """Leave to *base* the additional/plugin images it pins by digest; carry the rest. The ISC's
    additionalImages lose exactly those entries; everything else in it stays."""
    leavable = [i for i in images if i.kind in LEAVABLE_KINDS]
    left = plan_delta(base, leavable, ()).base_images
    left_keys = {_key(i.source, i.digest) for i in left}
    carried = tuple(i for i in images if i not in set(left))
    mirror = config.mirror
    assert mirror is not None  # a settled ISC always has one
    kept = tuple(a for a in mirror.additional_images or () if _key(a.name or "", "") not in left_keys)
    reduced = dataclasses.replace(config, mirror=dataclasses.replace(mirror, additional_images=kept or None))
    notes = (CARRIED_IN_FULL,) if (mirror.operators or mirror.helm) else ()
    return DeltaSplit(carried, reduced, BaseRef(base.sha256, tuple(left)), notes)


def carries_images(split: DeltaSplit) -> bool:
    """False when the base holds every image of the release: oc-mirror is not run at all (an
    ImageSetConfiguration listing nothing is not one it accepts), the delta carries plugins only."""
    mirror = split.config.mirror
    return mirror is not None and any((mirror.operators, mirror.helm, mirror.platform, mirror.additional_images))


def refuse_empty(base: Base, split: DeltaSplit | None, new_npm: Sequence[NpmPackage]) -> None:
    """A delta that would carry nothing at all is refused: the base already is this release."""
    if split is not None and not carries_images(split) and not new_npm:
        raise InputError(
            f"every image and plugin of this release is already in the base (manifest sha256 {base.sha256[:12]}...): there is nothing for a delta to carry",
            hint="push the base bundle; pack without --base to carry the whole release",
        )


def split_npm(base: Base, packages: Sequence[NpmPackage]) -> tuple[tuple[NpmPackage, ...], tuple[PluginRef, ...]]:
    """The npm packages the delta carries, and those the base already carries (same name, version
    and integrity: the target must serve them so)."""
    plan = plan_delta(base, (), packages)
    return plan.new_npm, plan.base_npm


__all__ = [
    "CARRIED_IN_FULL",
    "BaseKey",
    "DeltaSplit",
    "carries_images",
    "open_base",
    "refuse_empty",
    "split_npm",
    "split_release",
]
