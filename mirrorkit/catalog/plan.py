"""The plan: every image a pack will carry, known before a byte is mirrored, and where each comes from.

Kinds follow oc-mirror's own categories (`additional`, `operator`, `helm`, `catalog`); the role says
why the image is there: `catalog` (the operator index itself), `bundle` (a selected bundle's image),
`related` (its relatedImages), `discovered` (named inside the bundle outside relatedImages: added to
additionalImages, so its kind is `additional`), `additional` (the configuration's additionalImages),
`chart` (an image a Helm chart uses, found by rendering the chart as oc-mirror does: :mod:`mirrorkit.helm`).

The same catalog read twice must agree: :func:`compare_mapping` checks oc-mirror's dry-run mapping
against the plan and names every image one has and the other lacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mirrorkit.catalog.discover import Discovered, canonical, discover
from mirrorkit.catalog.reader import read_catalog
from mirrorkit.catalog.select import SelectedBundle, Selection, select
from mirrorkit.errors import ConfigError, MirrorkitError
from mirrorkit.helm.collect import ChartImages, count_charts
from mirrorkit.imageset.model import Mirror
from mirrorkit.oci.platform import Platform
from mirrorkit.oci.reference import ImageReference

KINDS = ("catalog", "operator", "additional", "helm")
ROLES = ("catalog", "bundle", "related", "additional", "discovered", "chart")
#: When one image has several reasons to be there, the first role in this order names it.
_PRIORITY = {role: i for i, role in enumerate(ROLES)}
_KIND_OF = {
    "catalog": "catalog",
    "bundle": "operator",
    "related": "operator",
    "additional": "additional",
    "discovered": "additional",
    "chart": "helm",
}


@dataclass(frozen=True)
class Origin:
    """One reason an image is in the plan. `config` is the configuration key (`operators[0]`,
    `additionalImages[2]`); for bundle content: package, version, bundle, channels, and for a
    discovered image the bundle file and key path that name it."""

    config: str
    role: str
    package: str | None = None
    version: str | None = None
    bundle: str | None = None
    channels: tuple[str, ...] = ()
    file: str | None = None
    path: str | None = None
    name: str | None = None  # the relatedImages name

    def to_json(self) -> dict[str, Any]:
        data = {
            "config": self.config,
            "role": self.role,
            "package": self.package,
            "version": self.version,
            "bundle": self.bundle,
            "channels": list(self.channels),
            "file": self.file,
            "path": self.path,
            "name": self.name,
        }
        return {k: v for k, v in data.items() if v not in (None, [])}

    def describe(self) -> str:
        parts = []
        if self.role == "chart":
            parts.append(f"chart {self.package} {self.version or ''}".rstrip())
        if self.bundle:
            parts.append(f"bundle {self.bundle}" + (f" (channels {', '.join(self.channels)})" if self.channels else ""))
        if self.file:
            parts.append(f"{self.file}: {self.path}")
        if self.name:
            parts.append(f"relatedImages name {self.name}")
        parts.append(self.config)
        return "; ".join(parts)


@dataclass(frozen=True)
class PlannedImage:
    """One source image, its kind and role, and (from its first origin) package, version and bundle."""

    ref: str
    kind: str
    role: str
    package: str | None
    version: str | None
    bundle: str | None
    origins: tuple[Origin, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "role": self.role,
            "package": self.package,
            "version": self.version,
            "bundle": self.bundle,
            "origins": [o.to_json() for o in self.origins],
        }


@dataclass(frozen=True)
class CatalogSummary:
    ref: str
    digest: str
    full: bool
    channels: tuple[tuple[str, tuple[str, ...]], ...]
    bundles: tuple[tuple[str, str, str | None], ...]  # (package, bundle, version)

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "digest": self.digest,
            "full": self.full,
            "packages": [{"name": p, "channels": list(c)} for p, c in self.channels],
            "bundles": [{"package": p, "name": n, "version": v} for p, n, v in self.bundles],
        }


@dataclass(frozen=True)
class Plan:
    """Everything pack will carry, one entry per source image (sorted by kind, package, ref)."""

    images: tuple[PlannedImage, ...]
    catalogs: tuple[CatalogSummary, ...] = ()
    blocked: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    discovery: bool = True
    helm_charts: int = 0  # charts in the configuration
    charts_predicted: bool = False  # their images were found by rendering them (helm was installed)
    charts_unpredicted: tuple[str, ...] = ()  # charts (or all of them) whose images are not known, and why
    helm_version: str | None = None
    _index: dict[str, PlannedImage] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, PlannedImage] = {}
        names: dict[str, PlannedImage] = {}
        for image in self.images:
            for key in _keys(image.ref):
                index.setdefault(key, image)
            if image.kind == "catalog":
                names.setdefault("name:" + _name(image.ref), image)
        index.update({k: v for k, v in names.items() if k not in index})
        object.__setattr__(self, "_index", index)

    def classify(self, source_ref: str) -> PlannedImage | None:
        """The planned image an oc-mirror mapping source names (tag or digest), or None.

        A catalog matches by repository alone: oc-mirror pins it to a digest and rebuilds it."""
        for key in _keys(source_ref):
            if key in self._index:
                return self._index[key]
        found = self._index.get("name:" + _name(source_ref))
        return found if found is not None and found.kind == "catalog" else None

    def discovered_additional(self) -> tuple[PlannedImage, ...]:
        """Images found inside selected bundles outside relatedImages: what to add to additionalImages."""
        return tuple(i for i in self.images if i.role == "discovered")

    def of_kind(self, kind: str) -> tuple[PlannedImage, ...]:
        return tuple(i for i in self.images if i.kind == kind)

    def to_json(self) -> dict[str, Any]:
        counts = {kind: len(self.of_kind(kind)) for kind in KINDS}
        return {
            "images": [i.to_json() for i in self.images],
            "counts": counts,
            "catalogs": [c.to_json() for c in self.catalogs],
            "blocked": list(self.blocked),
            "warnings": list(self.warnings),
            "discovery": self.discovery,
            "covers": ["catalog", "operator", "additional", *(["helm"] if self.charts_predicted else [])],
            "helmCharts": self.helm_charts,
            "charts": {
                "predicted": self.charts_predicted,
                "helmVersion": self.helm_version,
                "unpredicted": list(self.charts_unpredicted),
            },
        }


def _strip(ref: str) -> str:
    ref = ref.strip()
    return ref[len("docker://") :] if ref.startswith("docker://") else ref


def _name(ref: str) -> str:
    try:
        return ImageReference.parse(_strip(ref)).name
    except Exception:
        return _strip(ref).partition("@")[0].rpartition(":")[0] or _strip(ref)


def _keys(ref: str) -> list[str]:
    text = _strip(ref)
    try:
        parsed = ImageReference.parse(text)
    except Exception:
        return [text]
    keys = []
    if parsed.digest:
        keys.append(f"{parsed.name}@{parsed.digest}")
    if parsed.tag or not parsed.digest:
        keys.append(f"{parsed.name}:{parsed.tag or 'latest'}")
    return keys


class _Collector:
    """Merges reasons per source image; the highest-priority role names it."""

    def __init__(self) -> None:
        self.origins: dict[str, list[Origin]] = {}
        self.refs: dict[str, str] = {}

    def add(self, ref: str, origin: Origin) -> None:
        key = canonical(ref)
        self.refs.setdefault(key, _strip(ref))
        if origin not in self.origins.setdefault(key, []):
            self.origins[key].append(origin)

    def images(self, blocked: Sequence[re.Pattern[str]]) -> tuple[list[PlannedImage], list[str]]:
        images, dropped = [], []
        for key, origins in self.origins.items():
            ref = self.refs[key]
            if any(p.search(ref) for p in blocked) and not all(o.role == "catalog" for o in origins):
                dropped.append(ref)
                continue
            ordered = sorted(
                origins,
                key=lambda o: (
                    _PRIORITY[o.role],
                    o.package or "",
                    o.version or "",
                    o.bundle or "",
                    o.config,
                    o.file or "",
                    o.path or "",
                ),
            )
            first = ordered[0]
            images.append(
                PlannedImage(ref, _KIND_OF[first.role], first.role, first.package, first.version, first.bundle, tuple(ordered))
            )
        images.sort(key=lambda i: (KINDS.index(i.kind), i.package or "", i.ref))
        return images, sorted(dropped)


def build_plan(
    mirror: Mirror,
    client: Any,
    *,
    platform: Platform | str | None = None,
    discover: bool = True,
    progress: bool = False,
    charts: ChartImages | None = None,
) -> Plan:
    """The plan for the `mirror:` section *mirror*, reading catalogs and bundle images through *client*.

    Covers: each operator catalog (the index image), the bundles oc-mirror's filter selects with their
    relatedImages (bundle image and operator images), images inside those bundles outside relatedImages
    (*discover*), additionalImages, and the images of the rendered Helm charts (*charts*, from
    :func:`mirrorkit.helm.collect_chart_images`; None: charts were not rendered, their images are
    not predicted); blockedImages are applied to all of them.
    """
    collector = _Collector()
    warnings: list[str] = []
    summaries: list[CatalogSummary] = []
    selected: list[SelectedBundle] = []
    for index, operator in enumerate(mirror.operators or ()):
        where = f"operators[{index}]"
        ref = _strip(operator.catalog or "")
        names = None if not operator.packages else [p.name or "" for p in operator.packages]
        selection = select(operator, read_catalog(client, ref, names, platform=platform))
        warnings.extend(selection.warnings)
        summaries.append(_summary(selection))
        collector.add(ref, Origin(where, "catalog"))
        for bundle in selection.bundles:
            selected.append(bundle)
            if not bundle.related_images:
                warnings.append(f"bundle {bundle.name} of package {bundle.package} lists no relatedImages")
            for related in bundle.related_images:
                role = "bundle" if related.image == bundle.image else "related"
                collector.add(
                    related.image,
                    Origin(where, role, bundle.package, bundle.version, bundle.name, bundle.channels, name=related.name or None),
                )
    for index, image in enumerate(mirror.additional_images or ()):
        if image.name:
            collector.add(image.name, Origin(f"additionalImages[{index}]", "additional"))
    for chart_image in charts.images if charts else ():
        chart = chart_image.chart
        collector.add(chart_image.ref, Origin(chart.config, "chart", chart.name, chart.version))
    if discover and selected:
        found, notes = _discover(selected, client, platform, progress)
        warnings.extend(notes)
        for item in found:
            for source in item.sources:
                b = item.bundle
                collector.add(
                    item.ref,
                    Origin(
                        "discovered", "discovered", b.package, b.version, b.name, b.channels, file=source.file, path=source.path
                    ),
                )
    blocked = []
    for entry in mirror.blocked_images or ():
        try:
            blocked.append(re.compile(entry.name or ""))
        except re.error as exc:
            raise ConfigError(f"blockedImages entry {entry.name!r} is not a regular expression", str(exc), "fix it") from None
    images, dropped = collector.images(blocked)
    warnings.extend(same_target_conflicts(images, client))
    total = count_charts(mirror.helm)
    unpredicted: tuple[str, ...] = (f"the images of {total} chart(s) were not predicted (charts not rendered)",)
    predicted, version = False, None
    if charts is not None:
        predicted, unpredicted, version = charts.predicted, charts.unpredicted, charts.helm_version
    return Plan(
        tuple(images),
        tuple(summaries),
        tuple(dropped),
        tuple(warnings) + (unpredicted if total else ()),
        discover,
        total,
        predicted and total > 0,
        unpredicted if total else (),
        version,
    )


def mirror_key(ref: str) -> tuple[str, str, str | None] | None:
    """(repository path without registry host, tag, digest or None) of a reference with a tag; None
    for one by digest only (it lands under its own digest, so it cannot collide)."""
    try:
        parsed = ImageReference.parse(ref)
    except MirrorkitError:
        return None
    if not parsed.tag:
        return None
    return parsed.repository, parsed.tag, parsed.digest


def same_target_conflicts(images: Sequence[PlannedImage], client: Any) -> list[str]:
    """Warnings for sources that land on the same mirror repository and tag with different digests
    (a CSV's containerImage on one registry, its container image on another): the second copy would
    overwrite the first, and the push fails on it. Tags are resolved only for such pairs."""
    groups: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for image in images:
        key = mirror_key(image.ref)
        if key is not None:
            groups.setdefault((key[0], key[1]), []).append((image.ref, key[2]))
    warnings = []
    for (repository, tag), members in sorted(groups.items()):
        if len(members) < 2:
            continue
        digests = {ref: digest or _resolve(client, ref) for ref, digest in members}
        known = {d for d in digests.values() if d}
        if len(known) < 2 and None not in digests.values():
            continue
        named = ", ".join(f"{ref} ({digest or 'digest unknown'})" for ref, digest in sorted(digests.items()))
        warnings.append(
            f"conflict: {named} land on the same mirror repository {repository}:{tag}"
            + (" with different digests" if len(known) > 1 else " and may differ")
            + "; add one of them to blockedImages (or mirror it separately to another target) before packing"
        )
    return warnings


def _resolve(client: Any, ref: str) -> str | None:
    try:
        return str(client.resolve_digest(ref))
    except (MirrorkitError, OSError, AttributeError):
        return None


def _discover(
    selected: Sequence[SelectedBundle], client: Any, platform: Platform | str | None, progress: bool
) -> tuple[list[Discovered], list[str]]:
    unique = {(b.package, b.name, b.image): b for b in selected}
    return discover(list(unique.values()), client, platform=platform, progress=progress)


def _summary(selection: Selection) -> CatalogSummary:
    return CatalogSummary(
        selection.catalog.ref,
        selection.catalog.digest,
        selection.full_catalog,
        selection.channels,
        tuple((b.package, b.name, b.version) for b in selection.bundles),
    )


def compare_mapping(plan: Plan, mapping_pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Warnings, one per image, where oc-mirror's dry-run mapping and the plan disagree.

    *mapping_pairs* are (source, destination) as in `working-dir/dry-run/mapping.txt` (with or
    without `docker://`). Images oc-mirror takes that the plan did not predict, and planned images
    oc-mirror does not take, are both named. When some charts' images are not predicted (no helm, a
    chart that did not render), an unpredicted image is said to be perhaps theirs.
    """
    warnings: list[str] = []
    matched: set[str] = set()
    for source, _destination in mapping_pairs:
        found = plan.classify(source)
        if found is None:
            hint = " (perhaps an image of a chart whose images were not predicted)" if plan.charts_unpredicted else ""
            warnings.append(f"oc-mirror mirrors {_strip(source)}, which the plan did not predict{hint}")
            continue
        matched.add(found.ref)
    for image in plan.images:
        if image.ref in matched:
            continue
        what = f"{image.role} image"
        if image.package:
            what += f" of {image.package} {image.version or ''}".rstrip()
        if image.bundle:
            what += f" (bundle {image.bundle})"
        warnings.append(f"the plan expects {image.ref} ({what}), which oc-mirror's mapping lacks")
    return warnings
