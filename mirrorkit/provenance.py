"""What brought each image into a bundle, and the facts only oc-mirror's run can tell.

oc-mirror's dry-run mapping is a flat list of ``source=destination`` lines: it does not say which
image is an operator's, which a chart's, which the rebuilt catalog. mirrorkit labels each line from
its own reading of the configuration (the catalog plan, :mod:`mirrorkit.catalog`, and the
ImageSetConfiguration's additionalImages); an image neither names is a Helm chart's when the
configuration has charts (the plan does not render charts).

Two things exist only after mirror-to-disk, in oc-mirror's working-dir:

* the rebuilt (filtered) catalog image: its digest is what the target registry will hold, not the
  source catalog's (``operator-catalogs/<repo>/<source digest>/filtered-catalogs/<hash>/digest``);
* the Helm chart archives (``helm/charts/<name>-<version>.tgz``) that the bastion installs from.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from mirrorkit.bundle.manifest import ImageEntry
from mirrorkit.catalog import Plan
from mirrorkit.catalog.discover import canonical
from mirrorkit.errors import MirrorError
from mirrorkit.imageset import ImageSetConfig
from mirrorkit.oci.reference import ImageReference, last_path_element

_DIGEST = re.compile(r"^(sha256:)?([0-9a-f]{64})$")


class Labeller:
    """Labels entries from *config* and *plan* (see the module docstring); what every entry is
    compared with (the additional images, the catalogs) is worked out once, not per image."""

    def __init__(self, config: ImageSetConfig, plan: Plan | None) -> None:
        self.config, self.plan = config, plan
        self.additional = {canonical(ref) for ref in config.additional_images}
        self.catalogs = {ImageReference.parse(op.catalog or "").name for op in config.operators if op.catalog}

    def __call__(self, entry: ImageEntry) -> ImageEntry:
        """*entry* with its kind and provenance."""
        name = ImageReference.parse(entry.source).name
        found = None
        if self.plan is not None:  # the plan knows operator images by digest: the source may have lost it to a tag
            found = self.plan.classify(entry.source) or self.plan.classify(f"{name}@{entry.digest}")
        if found is not None:
            labelled = dataclasses.replace(
                entry, kind=found.kind, package=found.package or "", version=found.version or "", bundle=found.bundle or ""
            )
            return _catalog_source(labelled, self.config) if found.kind == "catalog" else labelled
        if canonical(entry.source) in self.additional or any(a.startswith(name + "@") for a in self.additional):
            return dataclasses.replace(entry, kind="additional")
        if name in self.catalogs:
            return _catalog_source(dataclasses.replace(entry, kind="catalog"), self.config)
        if self.config.helm is not None:
            return dataclasses.replace(entry, kind="helm")
        return dataclasses.replace(entry, kind="operator" if self.config.operators else "additional")


def _catalog_source(entry: ImageEntry, config: ImageSetConfig) -> ImageEntry:
    """A catalog's source names the source catalog's tag (from the configuration: oc-mirror pins
    catalogs to a digest in its mapping) and its digest: the entry's own digest becomes the rebuilt
    catalog's after mirror-to-disk (:func:`rebuilt_catalogs`)."""
    source = ImageReference.parse(entry.source)
    tag = source.tag
    if tag is None:
        for op in config.operators:
            configured = ImageReference.parse(op.catalog or "")
            if configured.name == source.name and configured.tag:
                tag = configured.tag
                break
    return dataclasses.replace(entry, source=f"{source.name}{':' + tag if tag else ''}@{source.digest or entry.digest}")


def rebuilt_catalogs(entries: Sequence[ImageEntry], config: ImageSetConfig, working_dir: Path) -> tuple[ImageEntry, ...]:
    """*entries* with each filtered catalog's digest replaced by the digest of the image oc-mirror rebuilt.

    A catalog mirrored whole (``full: true`` without packages) is not rebuilt and keeps its digest.
    Where several filter results exist (an earlier run with another configuration left one), the newest
    is the one this run wrote."""
    whole = {ImageReference.parse(op.catalog or "").name for op in config.operators if op.full and not op.packages}
    out = []
    for entry in entries:
        if entry.kind != "catalog" or ImageReference.parse(entry.source).name in whole:
            out.append(entry)
            continue
        source_digest = ImageReference.parse(entry.source).digest or entry.digest
        folder = working_dir / "operator-catalogs" / last_path_element(entry.source)
        candidates = sorted(
            folder.glob(f"{source_digest.removeprefix('sha256:')}/filtered-catalogs/*/digest"), key=lambda p: p.stat().st_mtime_ns
        )
        candidates += sorted(folder.glob(f"{source_digest}/filtered-catalogs/*/digest"), key=lambda p: p.stat().st_mtime_ns)
        if not candidates:
            raise MirrorError(
                f"oc-mirror left no rebuilt catalog for {entry.source}",
                f"no {folder.name}/<digest>/filtered-catalogs/*/digest under {working_dir / 'operator-catalogs'}",
                "check the oc-mirror log in the pack work folder and run pack again",
            )
        text = candidates[-1].read_text(encoding="ascii", errors="replace").strip()
        match = _DIGEST.match(text)
        if match is None:
            raise MirrorError(
                f"oc-mirror's rebuilt-catalog digest file {candidates[-1]} holds {text[:80]!r}",
                hint="run pack again; report this with the oc-mirror version if it persists",
            )
        out.append(dataclasses.replace(entry, digest=f"sha256:{match.group(2)}"))
    return tuple(sorted(out))


def reuse_key(entries: Iterable[ImageEntry]) -> tuple[ImageEntry, ...]:
    """What must not have changed for a bundle's archives to be reused: every entry as planned, the
    rebuilt catalogs compared by their source (which pins the source catalog's digest), not by the
    rebuilt digest that only mirror-to-disk learns."""
    return tuple(sorted(dataclasses.replace(e, digest="") if e.kind == "catalog" else e for e in entries))


def chart_archives(working_dir: Path) -> tuple[Path, ...]:
    """The chart archives oc-mirror pulled (``working-dir/helm/charts/*.tgz``)."""
    folder = working_dir / "helm" / "charts"
    return tuple(sorted(p for p in folder.glob("*.tgz") if p.is_file() and not p.is_symlink())) if folder.is_dir() else ()
