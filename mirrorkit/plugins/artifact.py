"""Read a plugin OCI artifact: which packages it declares and whether it really holds them.

What RHDH's installer relies on, and so what is checked here:

* the image (for an index: its linux/amd64 manifest, the platform the installer asks for) has its
  plugins in the **first layer**, a tar whose top-level folders are the plugin packages; the installer
  extracts the members under ``<PACKAGE>`` from that layer only;
* the manifest annotation ``io.backstage.dynamic-packages`` is base64 of a JSON list of objects whose
  keys are the package folders; the installer reads it only when a reference omits ``!PACKAGE``.

The layer is streamed (digest-verified, inflate-bounded, see :mod:`mirrorkit.oci.layers`) and only
``<PACKAGE>/package.json`` is kept, under a small cap: a plugin image is never held in memory.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from mirrorkit.errors import CheckFailed, InputError, RegistryError
from mirrorkit.oci.layers import FileLimits, read_files
from mirrorkit.oci.manifest import Manifest
from mirrorkit.oci.reference import ImageReference
from mirrorkit.plugins.reference import PluginRef

ANNOTATION = "io.backstage.dynamic-packages"
PLATFORM = "linux/amd64"
#: A plugin's package.json is small; anything bigger is not what the installer expects.
_LIMITS = FileLimits(max_file_bytes=1024 * 1024, max_total_bytes=4 * 1024 * 1024)


@dataclass(frozen=True)
class PluginArtifact:
    """A checked plugin image: its reference, the digest its tag pointed at (the index for a
    multi-arch image), and the packages it is carried for."""

    ref: PluginRef
    digest: str
    packages: tuple[str, ...]


def declared_packages(manifest: Manifest) -> tuple[str, ...]:
    """The package folders the manifest's ``io.backstage.dynamic-packages`` annotation names (empty
    when it has none or it is unreadable: the layer is what counts)."""
    try:
        doc = json.loads(manifest.raw)
        value = doc.get("annotations", {}).get(ANNOTATION) if isinstance(doc, dict) else None
        decoded: Any = json.loads(base64.b64decode(value, validate=True)) if isinstance(value, str) else []
    except (ValueError, binascii.Error, UnicodeDecodeError, AttributeError):
        return ()
    names: list[str] = []
    for item in decoded if isinstance(decoded, list) else []:
        if isinstance(item, dict):
            names.extend(str(k) for k in item)
    return tuple(names)


def holds_package(client: Any, manifest: Manifest, package: str) -> bool:
    """True when the first layer has ``<package>/package.json``, the folder the installer extracts."""
    if not manifest.layers:
        return False
    first = dataclasses.replace(manifest, layers=manifest.layers[:1])
    return f"{package}/package.json" in read_files(client, first, (f"{package}/package.json",), _LIMITS)


def inspect_plugin(client: Any, ref: PluginRef, *, at: ImageReference | None = None) -> PluginArtifact:
    """Check that the image *ref* names (or the copy *at*, for verify) holds *ref*'s package, as the
    installer would pick it; raise with what to do when it does not."""
    image = at or ref.image
    try:
        digest = client.resolve_digest(image)
    except RegistryError as exc:
        raise type(exc)(
            f"plugin image {image} cannot be read: {exc.what}",
            exc.why,
            "check the reference (registry, repository, tag) and your --authfile; the artifact must exist to be carried",
        ) from None
    manifest = client.get_manifest(image.with_digest(digest), PLATFORM)
    declared = declared_packages(manifest)
    package = ref.package
    if package is None:
        if len(declared) != 1:
            found = ", ".join(declared) or "none"
            raise InputError(
                f"plugin {ref.spec} names no package and its image declares {len(declared)} ({found})",
                f"RHDH only guesses the package of a single-plugin image (annotation {ANNOTATION})",
                "add !PACKAGE to the reference, e.g. " + ref.spec + "!" + (declared[0] if declared else "<package>"),
            )
        package = declared[0]
    if not holds_package(client, manifest, package):
        offered = f"its annotation declares {', '.join(declared)}" if declared else f"it has no {ANNOTATION} annotation"
        raise CheckFailed(
            f"plugin image {image} (digest {digest}) does not contain package {package!r}",
            f"no {package}/package.json in its first layer, which is all RHDH extracts; {offered}",
            "fix the package name after '!' (or the tag), or repackage the plugin with the RHDH CLI",
        )
    return PluginArtifact(ref, digest, (package,))
