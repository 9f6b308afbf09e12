"""Read a plugin catalog index image and pick the plugins a profile enables.

RHDH's catalog index image (``plugin-catalog-index``) is a plain image whose root holds
``dynamic-plugins.default.yaml`` (a ``plugins:`` list in the dynamic-plugins format: each entry's
``package`` an ``oci://...!PACKAGE`` reference or a path built into the RHDH image) and, in newer
releases, ``index.json`` and ``catalog-entities/``. The installer reads that YAML as the default
plugin configuration when ``CATALOG_INDEX_IMAGE`` is set. Only the YAML is read here, streamed from
the layers (top layer wins, as in a container), under a small cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mirrorkit.errors import CheckFailed, InputError
from mirrorkit.oci.layers import FileLimits, read_files
from mirrorkit.plugins.artifact import PLATFORM
from mirrorkit.plugins.reference import OCI_PREFIX, PluginRef

DEFAULTS_FILE = "dynamic-plugins.default.yaml"
_LIMITS = FileLimits(max_file_bytes=8 * 1024 * 1024, max_total_bytes=8 * 1024 * 1024)


@dataclass(frozen=True)
class IndexedPlugin:
    """One OCI plugin the index lists: its package folder and full reference."""

    package: str
    spec: str


def read_catalog_index(client: Any, ref: PluginRef) -> tuple[str, tuple[IndexedPlugin, ...]]:
    """The index image's digest and the OCI plugins its ``dynamic-plugins.default.yaml`` lists."""
    digest = client.resolve_digest(ref.image)
    manifest = client.get_manifest(ref.image.with_digest(digest), PLATFORM)
    files = read_files(client, manifest, (DEFAULTS_FILE,), _LIMITS)
    if DEFAULTS_FILE not in files:
        raise CheckFailed(
            f"catalog index {ref.image} has no {DEFAULTS_FILE} at its root",
            "that file is what RHDH reads from a catalog index image",
            "check that the image is a plugin catalog index (e.g. .../plugin-catalog-index:1.9)",
        )
    try:
        doc = yaml.safe_load(files[DEFAULTS_FILE].decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CheckFailed(f"{DEFAULTS_FILE} in {ref.image} is not readable YAML", str(exc).splitlines()[0]) from None
    entries = doc.get("plugins") if isinstance(doc, dict) else None
    found: list[IndexedPlugin] = []
    for entry in entries if isinstance(entries, list) else []:
        package = entry.get("package") if isinstance(entry, dict) else None
        if isinstance(package, str) and package.startswith(OCI_PREFIX) and "!" in package:
            found.append(IndexedPlugin(package.rsplit("!", 1)[1], package))
    return digest, tuple(found)


def select(index: str, listed: Sequence[IndexedPlugin], enable: Sequence[str]) -> tuple[str, ...]:
    """The references of the *enable*d packages; refuses a name the index does not list, naming
    the ones it does."""
    by_package = {p.package: p.spec for p in listed}
    missing = [name for name in enable if name not in by_package]
    if missing:
        shown = ", ".join(sorted(by_package)[:20]) or "none"
        raise InputError(
            f"catalog index {index} lists no OCI plugin {', '.join(missing)}",
            f"it lists: {shown}",
            "fix plugins.catalogIndex.enable in the profile (package folder names, the part after '!')",
        )
    return tuple(by_package[name] for name in enable)
