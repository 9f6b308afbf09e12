"""Read a plugin catalog index image and pick the plugins a profile enables.

RHDH's catalog index image (``plugin-catalog-index``) is a plain image whose root holds
``dynamic-plugins.default.yaml`` (a ``plugins:`` list in the dynamic-plugins format: each entry's
``package`` an ``oci://...!PACKAGE`` reference or a path built into the RHDH image) and, in newer
releases, ``index.json`` and ``catalog-entities/``. The installer reads that YAML as the default
plugin configuration when ``CATALOG_INDEX_IMAGE`` is set. Only the YAML is read here, streamed from
the layers (top layer wins, as in a container), under a small cap.

The installer keys an OCI plugin by its image *without* tag or digest plus its package folder
(``oci://HOST/REPO:!FOLDER``), and lets a later entry with the same key inherit the included entry's
keys (``pluginConfig`` above all). A mirrored reference has another host, so that inheritance never
happens: push copies each selected entry's keys itself (:func:`index_configs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from mirrorkit.errors import CheckFailed, InputError, MirrorkitError
from mirrorkit.oci.layers import FileLimits, read_files
from mirrorkit.oci.reference import ImageReference
from mirrorkit.plugins.artifact import PLATFORM
from mirrorkit.plugins.reference import OCI_PREFIX, PluginRef

DEFAULTS_FILE = "dynamic-plugins.default.yaml"
_LIMITS = FileLimits(max_file_bytes=8 * 1024 * 1024, max_total_bytes=8 * 1024 * 1024)
#: The keys of an index entry that say *whether* and *what* to install; the rest is configuration.
NOT_CONFIG_KEYS = frozenset({"package", "disabled", "enabled", "integrity"})


@dataclass(frozen=True)
class IndexedPlugin:
    """One OCI plugin the index lists: its package folder, full reference, and the entry's other
    keys (``pluginConfig``, ``dependencies``: what the installer would merge into a same-key entry)."""

    package: str
    spec: str
    config: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class CatalogIndex:
    """A read catalog index: the reference it was named by, the digest that reference resolved to,
    every OCI plugin it lists and the package folders selected from it."""

    ref: PluginRef
    digest: str
    listed: tuple[IndexedPlugin, ...]
    selected: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "plugin",
            "role": "catalog-index",
            "ref": str(self.ref.image),
            "digest": self.digest,
            "packages": list(self.selected),
            "listed": len(self.listed),
        }


def plugin_key(spec: str) -> tuple[str, str] | None:
    """The installer's identity of an ``oci://...!FOLDER`` reference: (image without tag or digest,
    folder); ``None`` for anything else."""
    if not spec.startswith(OCI_PREFIX) or "!" not in spec:
        return None
    body, _, folder = spec[len(OCI_PREFIX) :].rpartition("!")
    try:
        return ImageReference.parse(body, require_registry=True).name, folder
    except MirrorkitError:
        return None


def read_catalog_index(client: Any, ref: PluginRef) -> tuple[str, tuple[IndexedPlugin, ...]]:
    """The index image's digest and the OCI plugins its ``dynamic-plugins.default.yaml`` lists."""
    digest = client.resolve_digest(ref.image)
    return digest, read_index_at(client, ref.image.with_digest(digest))


def read_index_at(client: Any, image: ImageReference) -> tuple[IndexedPlugin, ...]:
    """The OCI plugins listed by the index image at *image* (a source or its mirrored copy)."""
    manifest = client.get_manifest(image, PLATFORM)
    files = read_files(client, manifest, (DEFAULTS_FILE,), _LIMITS)
    if DEFAULTS_FILE not in files:
        raise CheckFailed(
            f"catalog index {image} has no {DEFAULTS_FILE} at its root",
            "that file is what RHDH reads from a catalog index image",
            "check that the image is a plugin catalog index (e.g. .../plugin-catalog-index:1.9)",
        )
    try:
        doc = yaml.safe_load(files[DEFAULTS_FILE].decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CheckFailed(f"{DEFAULTS_FILE} in {image} is not readable YAML", str(exc).splitlines()[0]) from None
    entries = doc.get("plugins") if isinstance(doc, dict) else None
    found: list[IndexedPlugin] = []
    for entry in entries if isinstance(entries, list) else []:
        package = entry.get("package") if isinstance(entry, dict) else None
        if isinstance(package, str) and package.startswith(OCI_PREFIX) and "!" in package:
            config = {str(k): v for k, v in entry.items() if k not in NOT_CONFIG_KEYS}
            found.append(IndexedPlugin(package.rsplit("!", 1)[1], package, config))
    return tuple(found)


def index_configs(listed: Sequence[IndexedPlugin]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """Each listed plugin's configuration by the installer's key (see :func:`plugin_key`)."""
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for plugin in listed:
        key = plugin_key(plugin.spec)
        if key is not None and plugin.config:
            out[key] = plugin.config
    return out


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
