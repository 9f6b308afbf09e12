"""Parse ``oci://`` plugin references the way RHDH's installer reads them.

The installer accepts ``oci://HOST[:PORT]/PATH`` followed by exactly one of ``:TAG`` or
``@ALGO:HEX``, then optionally ``!PACKAGE`` (the folder inside the image to install; omitted only for
a single-plugin image, whose manifest annotation names it). ``{{inherit}}`` as the tag borrows the
version from an included configuration at install time: mirrorkit must know which bytes to carry, so
it refuses it here and asks for the real tag or digest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mirrorkit.errors import InputError, InvalidReference
from mirrorkit.oci.reference import ImageReference

OCI_PREFIX = "oci://"
INHERIT = "{{inherit}}"
_PACKAGE_RE = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9._@+-]*$")


def is_oci_spec(spec: str) -> bool:
    """True for a plugin spec RHDH installs from an OCI image (rather than npm or a tarball)."""
    return spec.strip().startswith(OCI_PREFIX)


def split_specs(specs: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(npm specs, oci specs), each in the given order: one list feeds both kinds of plugin."""
    npm: list[str] = []
    oci: list[str] = []
    for spec in specs:
        (oci if is_oci_spec(spec) else npm).append(spec.strip())
    return tuple(npm), tuple(oci)


@dataclass(frozen=True)
class PluginRef:
    """One ``oci://`` plugin reference: the image and the package folder it selects (``None`` when
    the image's annotation is to name its only plugin)."""

    spec: str
    image: ImageReference
    package: str | None

    @classmethod
    def parse(cls, spec: str) -> PluginRef:
        text = spec.strip()
        hint = "write it as oci://REGISTRY/REPO:TAG!PACKAGE or oci://REGISTRY/REPO@sha256:HEX!PACKAGE"
        if not text.startswith(OCI_PREFIX):
            raise InputError(f"plugin reference {spec!r} does not start with {OCI_PREFIX}", hint=hint)
        body, bang, package = text[len(OCI_PREFIX) :].partition("!")
        if INHERIT in body:
            raise InputError(
                f"plugin reference {spec!r} uses {INHERIT}",
                "the version is only known inside the cluster, so mirrorkit cannot tell which artifact to carry",
                "name the tag or digest the included configuration uses (the mirrored copy is pinned by digest anyway)",
            )
        if bang and not _PACKAGE_RE.match(package):
            raise InputError(f"plugin reference {spec!r} has an empty or malformed package after '!'", hint=hint)
        try:
            image = ImageReference.parse(body, require_registry=True)
        except InvalidReference as exc:
            raise InputError(f"plugin reference {spec!r} is not an image reference", exc.why, hint) from None
        if image.tag is None and image.digest is None:
            raise InputError(f"plugin reference {spec!r} has no tag or digest", "RHDH needs one of them", hint)
        if image.digest is not None and not image.digest.startswith("sha256:"):
            raise InputError(f"plugin reference {spec!r} uses a digest other than sha256", hint="pin it by its sha256 digest")
        return cls(text, image, package if bang else None)

    def pinned(self, location: str, package: str) -> str:
        """The reference RHDH reads for the mirrored copy: ``oci://<location>!<package>``, where
        *location* is ``host/repo@sha256:...`` (a digest, so a moved tag cannot change what installs)."""
        return f"{OCI_PREFIX}{location}!{package}"
