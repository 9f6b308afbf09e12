"""Build the runbook's facts from what push knows, and hand out the chart archives.

Everything here reads the manifest push already verified and the cluster resources its own
disk-to-mirror run wrote; nothing is fetched.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from mirrorkit.bundle import layout
from mirrorkit.bundle.hashing import copy_checked
from mirrorkit.bundle.manifest import ImageEntry, Manifest, count_kinds
from mirrorkit.errors import MirrorkitError
from mirrorkit.fsutil import atomic_write_text
from mirrorkit.install.runbook import InstallContext, OperatorInstall, render_runbook
from mirrorkit.oci.reference import last_path_element
from mirrorkit.ocmirror.result import ClusterResource
from mirrorkit.semver import Version

RUNBOOK = "INSTALL.md"


def hand_out_charts(tree: Path, manifest: Manifest, output: Path) -> tuple[Path, ...]:
    """Copy the bundle's ``charts/*.tgz`` into ``output/charts/`` (each byte checked against the
    manifest on the way); an earlier push's charts there are removed first, so the folder holds
    exactly this bundle's."""
    folder = output / layout.CHARTS_DIR
    if folder.exists():
        shutil.rmtree(folder)
    written = []
    for entry in manifest.files:
        if entry.path.startswith(layout.CHARTS_DIR + "/"):
            dest = output / entry.path
            copy_checked(tree, entry.path, entry.size, entry.sha256, dest)
            written.append(dest)
    return tuple(written)


def _newest_bundle(images: Sequence[ImageEntry]) -> str:
    """The bundle (CSV) name of the highest version among *images* of one package."""

    def key(image: ImageEntry) -> tuple[int, Version | None, str]:
        try:
            return (1, Version.parse(image.version), image.bundle)
        except (MirrorkitError, ValueError):
            return (0, None, image.bundle)

    named = [i for i in images if i.bundle]
    return max(named, key=key).bundle if named else ""


def _operators(manifest: Manifest, resources: Sequence[ClusterResource], output: Path) -> tuple[OperatorInstall, ...]:
    """One Subscription per operator package of the ImageSetConfiguration, with the CSV mirrored."""
    from mirrorkit.imageset import ImageSetConfig

    try:
        config = ImageSetConfig.loads(manifest.imageset_config)
    except MirrorkitError:
        return ()
    sources = [r.name for r in resources if r.kind == "CatalogSource"]
    by_package: dict[str, list[ImageEntry]] = {}
    for image in manifest.images:
        if image.kind == "operator" and image.package:
            by_package.setdefault(image.package, []).append(image)
    found = []
    for operator in config.operators:
        repo = last_path_element(operator.target_catalog or operator.catalog or "")
        source = next((s for s in sources if s.startswith(f"cs-{repo}-")), sources[0] if sources else "")
        for package in operator.packages or ():
            name = package.name or ""
            channel = (package.channels[0].name if package.channels else None) or package.default_channel or ""
            found.append(OperatorInstall(name, channel, _newest_bundle(by_package.get(name, ())), source))
    return tuple(found)


def install_context(
    manifest: Manifest,
    *,
    output: Path,
    registry: str,
    npm_registry: str,
    resources: Sequence[ClusterResource] = (),
    written: Sequence[Path] = (),
) -> InstallContext:
    """The runbook's facts: *resources* are oc-mirror's cluster resources as copied into *output*,
    *written* every other file push wrote there (values, ConfigMap, charts)."""

    def rel(path: Path) -> str:
        return Path(path).relative_to(output).as_posix()

    files = {rel(p) for p in written}
    resource_files = sorted({rel(output / "cluster-resources" / r.path.name) for r in resources})
    return InstallContext(
        profile=manifest.profile,
        manifest_sha256=manifest.sha256(),
        registry=registry,
        npm_registry=npm_registry,
        mirror_sets=tuple(f for f in resource_files if f.rsplit("/", 1)[-1].startswith(("idms-", "itms-"))),
        catalog_sources=tuple(f for f in resource_files if f.rsplit("/", 1)[-1].startswith("cs-")),
        cluster_catalogs=tuple(f for f in resource_files if f.rsplit("/", 1)[-1].startswith("cc-")),
        operators=_operators(manifest, resources, output),
        charts=tuple(sorted(f for f in files if f.startswith(layout.CHARTS_DIR + "/"))),
        values_file="values.yaml" if "values.yaml" in files else "",
        configmap_file="dynamic-plugins.yaml" if "dynamic-plugins.yaml" in files else "",
        image_counts=tuple((kind, n) for kind, n in count_kinds(manifest.images).items() if n),
        npm_packages=len(manifest.npm),
    )


def write_runbook(context: InstallContext, output: Path) -> Path:
    path = output / RUNBOOK
    atomic_write_text(path, render_runbook(context))
    return path
