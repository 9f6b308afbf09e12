"""Profile -> ImageSetConfiguration: pick the OpenShift version, the flow (Helm or Operator) and extra images.

Images found by inspecting the operator bundle images (issue: oc-mirror only mirrors ``relatedImages``)
come in through *bundle_resolver*, so this module stays free of registry access and is testable alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mirrorkit.errors import BundleError, InvalidReference
from mirrorkit.imageset.config import ImageSetConfig
from mirrorkit.imageset.model import AdditionalImage
from mirrorkit.oci.reference import ImageReference

if TYPE_CHECKING:
    from mirrorkit.profiles import Profile

BundleResolver = Callable[[Sequence[str]], Sequence[str]]


@dataclass(frozen=True)
class BuildResult:
    """The built config and the images the bundle resolver added (not already in the profile)."""

    config: ImageSetConfig
    added_images: tuple[str, ...] = ()


def _canonical(ref: str) -> str:
    return str(ImageReference.parse(ref, require_registry=True))


def _check_extra(refs: Iterable[str]) -> list[str]:
    checked = []
    for ref in refs:
        try:
            _canonical(ref)
        except InvalidReference as exc:
            raise InvalidReference(
                f"--add-image {ref!r} is not an image reference",
                exc.why,
                "Write it fully qualified, e.g. registry.redhat.io/namespace/name:tag",
            ) from None
        checked.append(ref)
    return checked


def build_imageset(
    profile: Profile,
    *,
    ocp: str | None = None,
    helm: bool = True,
    extra_images: Sequence[str] = (),
    bundle_resolver: BundleResolver | None = None,
) -> BuildResult:
    """The ImageSetConfiguration for *profile* on OpenShift *ocp* (default: the profile's).

    *helm* False drops the Helm charts (the Operator install flow). *extra_images* are appended in the
    given order; images returned by *bundle_resolver* (called with the profile's bundle images) are
    appended sorted, so the output does not depend on the resolver's order. Duplicates are dropped.
    """
    mirror = profile.mirror_for(ocp)
    if not helm:
        mirror = dataclasses.replace(mirror, helm=None)
    images = list(mirror.additional_images or ())
    present = set()
    for image in images:
        try:
            present.add(_canonical(image.name or ""))
        except InvalidReference:
            pass  # reported with its key path by the validation below
    for ref in _check_extra(extra_images):
        if _canonical(ref) not in present:
            present.add(_canonical(ref))
            images.append(AdditionalImage(name=ref))
    added: list[str] = []
    if bundle_resolver is not None and profile.bundle_images:
        found = set()
        for ref in bundle_resolver(tuple(profile.bundle_images)):
            try:
                found.add(_canonical(ref))
            except InvalidReference as exc:
                raise BundleError(
                    f"operator bundle inspection returned {ref!r}, which is not an image reference",
                    exc.why,
                    "Report this with the bundle image name",
                ) from None
        added = sorted(found - present)
        images.extend(AdditionalImage(name=ref) for ref in added)
    mirror = dataclasses.replace(mirror, additional_images=tuple(images) or None)
    config = ImageSetConfig.new(mirror).check(source=f"profile {profile.name} ({profile.source})")
    return BuildResult(config=config, added_images=tuple(added))
