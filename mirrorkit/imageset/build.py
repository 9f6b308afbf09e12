"""Profile -> ImageSetConfiguration: pick the OpenShift version, the install flow and extra images.

The two install flows of the RHDH docs need different content from the same profile:

* ``helm``: the profile as written, Helm charts included;
* ``operator``: no Helm charts, and the RHDH Operator itself added from the profile's own catalog
  (package ``rhdh``, channel ``fast-<release>``, which is also made the package's default channel:
  the catalog's default, ``fast``, is filtered out and oc-mirror refuses a package whose default
  channel is gone), so no separate mirroring step is needed for it.

Images found by inspecting the operator bundle images (issue: oc-mirror only mirrors ``relatedImages``)
come in through *bundle_resolver*, so this module stays free of registry access and is testable alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mirrorkit.errors import BundleError, InputError, InvalidReference
from mirrorkit.imageset.config import ImageSetConfig
from mirrorkit.imageset.model import AdditionalImage, Channel, Mirror, Operator, Package
from mirrorkit.oci.reference import ImageReference

if TYPE_CHECKING:
    from mirrorkit.imageset.profiles import Profile

BundleResolver = Callable[[Sequence[str]], Sequence[str]]

#: The install flows a profile serves (``--install``).
INSTALL_FLOWS = ("helm", "operator")
#: The RHDH Operator in the Red Hat operator catalog; its channel for a release is ``fast-<release>``.
RHDH_OPERATOR_PACKAGE = "rhdh"
#: The catalog the Operator flow uses when a profile names none.
DEFAULT_CATALOG = "registry.redhat.io/redhat/redhat-operator-index:v{ocp}"


def rhdh_operator_channel(release: str) -> str:
    return f"fast-{release}"


def mirror_for_flow(mirror: Mirror, install: str, *, release: str, ocp: str) -> Mirror:
    """*mirror* as the *install* flow needs it (see the module docstring)."""
    if install not in INSTALL_FLOWS:
        raise InputError(
            f"unknown install flow {install!r}",
            f"expected one of {', '.join(INSTALL_FLOWS)}",
            "Pass --install helm or --install operator",
        )
    if install == "helm":
        return mirror
    channel = rhdh_operator_channel(release)
    rhdh = Package(name=RHDH_OPERATOR_PACKAGE, default_channel=channel, channels=(Channel(name=channel),))
    operators = list(mirror.operators or ())
    if not operators:
        operators.append(Operator(catalog=DEFAULT_CATALOG.format(ocp=ocp)))
    first = operators[0]
    if not any(p.name == RHDH_OPERATOR_PACKAGE for p in first.packages or ()):
        operators[0] = dataclasses.replace(first, packages=(*(first.packages or ()), rhdh))
    return dataclasses.replace(mirror, helm=None, operators=tuple(operators))


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
    install: str = "helm",
    extra_images: Sequence[str] = (),
    bundle_resolver: BundleResolver | None = None,
) -> BuildResult:
    """The ImageSetConfiguration for *profile* on OpenShift *ocp* (default: the profile's).

    *install* picks the flow (:data:`INSTALL_FLOWS`, see :func:`mirror_for_flow`). *extra_images* are appended in the
    given order; images returned by *bundle_resolver* (called with the profile's bundle images) are
    appended sorted, so the output does not depend on the resolver's order. Duplicates are dropped.
    """
    from mirrorkit.imageset.profiles import check_ocp

    version = check_ocp(ocp) if ocp is not None else profile.ocp
    mirror = mirror_for_flow(profile.mirror_for(version), install, release=profile.release, ocp=version)
    images = list(mirror.additional_images or ())
    present = set()
    for image in images:
        with contextlib.suppress(InvalidReference):  # reported with its key path by the validation below
            present.add(_canonical(image.name or ""))
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
