"""The OCI plugins a pack (or a plan) carries: a profile's ``plugins.oci`` list, the packages it
enables from a plugin catalog index, and the ``oci://`` specs of ``--plugin``.

Settled once, in :func:`mirrorkit.settle.settle`, so that ``mirrorkit plan`` lists exactly what
``mirrorkit pack`` carries and refuses exactly what pack refuses (a wrong package, a missing artifact),
before anything is mirrored. The index image itself is carried too, so ``CATALOG_INDEX_IMAGE`` can
point at the mirror.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mirrorkit.plugins.artifact import PluginArtifact
from mirrorkit.plugins.catalog_index import CatalogIndex, read_catalog_index, select
from mirrorkit.plugins.plan import check_plugins
from mirrorkit.plugins.reference import PluginRef


@dataclass(frozen=True)
class SettledPlugins:
    """The checked plugin artifacts (same image named twice: one artifact with both packages) and
    the catalog index they were partly selected from."""

    artifacts: tuple[PluginArtifact, ...] = ()
    index: CatalogIndex | None = None

    @property
    def images(self) -> tuple[str, ...]:
        """Every image to carry for them, plugins first, as ``registry/repo:tag`` (or ``@digest``)."""
        index = (str(self.index.ref.image),) if self.index else ()
        return (*(str(a.ref.image) for a in self.artifacts), *index)

    def to_json(self) -> list[dict[str, Any]]:
        """``mirrorkit plan --json``'s ``plugins``: one item per image, each of kind ``plugin``."""
        items: list[dict[str, Any]] = [
            {"kind": "plugin", "role": "plugin", "ref": str(a.ref.image), "digest": a.digest, "packages": list(a.packages)}
            for a in self.artifacts
        ]
        return items + ([self.index.to_json()] if self.index else [])


def settle_plugins(
    client: Any,
    *,
    oci: Sequence[str] = (),
    catalog_index: str = "",
    enable: Sequence[str] = (),
    say: Callable[[str], None] = lambda _m: None,
) -> SettledPlugins:
    """Read the catalog index (when named) and check every ``oci://`` spec, index selections after
    *oci*; raises with what to fix when a reference or package is wrong."""
    specs = list(oci)
    index = None
    if catalog_index:
        ref = PluginRef.parse(catalog_index)
        digest, listed = read_catalog_index(client, ref)
        say(f"catalog index {ref.image} ({digest}) lists {len(listed)} OCI plugin(s)")
        index = CatalogIndex(ref, digest, listed, tuple(enable))
        specs.extend(select(str(ref.image), listed, enable))
    if not specs and index is None:
        return SettledPlugins()
    return SettledPlugins(check_plugins(client, list(dict.fromkeys(specs)), say), index)
