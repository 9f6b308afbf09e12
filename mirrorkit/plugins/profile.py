"""The OCI plugins a profile asks for: its ``plugins.oci`` list and the packages it enables from a
plugin catalog index (the index image itself is carried too, so ``CATALOG_INDEX_IMAGE`` can point at
the mirror)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mirrorkit.imageset.profiles import load_profile
from mirrorkit.plugins.catalog_index import read_catalog_index, select
from mirrorkit.plugins.reference import PluginRef


def profile_plugin_specs(client: Any, profile: str, say: Callable[[str], None] = lambda _m: None) -> tuple[str, ...]:
    """``oci://`` specs from *profile*: its list, then the catalog index's enabled plugins."""
    loaded = load_profile(profile)
    specs = list(loaded.oci_plugins)
    if loaded.catalog_index:
        ref = PluginRef.parse(loaded.catalog_index)
        digest, listed = read_catalog_index(client, ref)
        say(f"catalog index {ref.image} ({digest}) lists {len(listed)} OCI plugin(s)")
        specs.extend(select(str(ref.image), listed, loaded.catalog_index_enable))
    return tuple(specs)


def profile_catalog_index(profile: str) -> str | None:
    """The catalog index image (as ``registry/repo:tag``) the profile names, if any."""
    loaded = load_profile(profile)
    return str(PluginRef.parse(loaded.catalog_index).image) if loaded.catalog_index else None
