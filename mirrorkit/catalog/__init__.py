"""Operator catalogs: read an index image's File-Based Catalog, select bundles the way oc-mirror does,
find the images bundles hide outside relatedImages, and plan every image before anything is mirrored.

Modules, each with one job: :mod:`.stream` (layer decompression, FBC object decoding), :mod:`.fbc`
(reduced FBC values), :mod:`.reader` (one streaming pass over the catalog image), :mod:`.select`
(oc-mirror's selection rules), :mod:`.bundle_image` (image references inside one bundle image),
:mod:`.discover` (bundle image inspection over a selection), :mod:`.plan` (the plan model,
:func:`build_plan`, :func:`compare_mapping`).
"""

from __future__ import annotations

from mirrorkit.catalog.plan import (
    KINDS,
    ROLES,
    CatalogSummary,
    Origin,
    Plan,
    PlannedImage,
    build_plan,
    compare_mapping,
)
from mirrorkit.catalog.reader import Catalog, PackageFbc, read_catalog
from mirrorkit.catalog.select import SelectedBundle, Selection, select

__all__ = [
    "KINDS",
    "ROLES",
    "Catalog",
    "CatalogSummary",
    "Origin",
    "PackageFbc",
    "Plan",
    "PlannedImage",
    "SelectedBundle",
    "Selection",
    "build_plan",
    "compare_mapping",
    "read_catalog",
    "select",
]
