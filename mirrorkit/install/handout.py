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
from mirrorkit.delta import release_view
from mirrorkit.errors import MirrorkitError
from mirrorkit.fsutil import atomic_write_text
from mirrorkit.install.charts import (
    MirroredOperator,
    chart_plugin_versions,
    check_plugins_follow_chart,
    find_subscriptions,
    infra_values,
    read_chart_values,
)
from mirrorkit.install.resources import HELM_NPMRC_FILE, npmrc_text, write_helm_npmrc, write_operator_resources
from mirrorkit.install.runbook import (
    HELM_RELEASE,
    INFRA_CHART_MARK,
    RHDH_CHART,
    InstallContext,
    OperatorInstall,
    chart_name,
    render_runbook,
)
from mirrorkit.install.values import dump_yaml, newest_entries
from mirrorkit.npm.index import NpmIndex
from mirrorkit.oci.reference import last_path_element
from mirrorkit.ocmirror.result import ClusterResource
from mirrorkit.semver import Version

RUNBOOK = "INSTALL.md"
INFRA_VALUES = "infra-values.yaml"


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
    upgrade_from: str = "",
    bundle: Path | None = None,
    verify_key: Path | None = None,
    tls_verify: bool = True,
    command: str = "push",
) -> InstallContext:
    """The runbook's facts: *resources* are oc-mirror's cluster resources as copied into *output*,
    *written* every other file push wrote there (values, ConfigMap, charts). A delta is counted as
    the whole release it stands for (what the cluster gets), its base's images and plugins included."""

    def rel(path: Path) -> str:
        return Path(path).relative_to(output).as_posix()

    release = release_view(manifest)
    files = {rel(p) for p in written}
    infra = next((output / f for f in sorted(files) if INFRA_CHART_MARK in f and f.endswith(".tgz")), None)
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
        infra_values_file=INFRA_VALUES if INFRA_VALUES in files else "",
        infra_namespaces=_infra_namespaces(infra) if infra and infra.is_file() else (),
        operator_resources=tuple(sorted(f for f in files if f.startswith("operator/"))),
        helm_npmrc_file=HELM_NPMRC_FILE if HELM_NPMRC_FILE in files else "",
        upgrade_from=upgrade_from,
        bundle=str(Path(bundle).resolve()) if bundle else "",
        verify_key=str(Path(verify_key).resolve()) if verify_key else "",
        tls_verify=tls_verify,
        image_counts=tuple((kind, n) for kind, n in count_kinds(release.images).items() if n),
        npm_packages=len(release.npm),
        command=command,
    )


def _infra_namespaces(archive: Path) -> tuple[tuple[str, str], ...]:
    """(package, namespace) of every enabled Subscription the infra chart creates."""
    subs = find_subscriptions(read_chart_values(archive))
    return tuple((s.package, s.namespace) for s in subs if s.enabled and s.namespace)


def _mirrored(manifest: Manifest, resources: Sequence[ClusterResource], output: Path) -> tuple[MirroredOperator, ...]:
    return tuple(MirroredOperator(o.package, o.source, o.channel, o.csv) for o in _operators(manifest, resources, output))


def write_install_extras(
    output: Path,
    manifest: Manifest,
    *,
    charts: Sequence[Path],
    resources: Sequence[ClusterResource],
    index: NpmIndex | None,
    npm_registry: str,
    npm_token: str | None = None,
    npmrc: Path | None = None,
    catalog_index: str | None = None,
) -> tuple[Path, ...]:
    """What the flows need beyond values.yaml: the infra chart's values against the mirror, the
    Operator flow's resources, the npm Secret; refuses plugins that do not follow the hub chart."""
    carried = {e.name: e.version for e in newest_entries(index)} if index is not None else {}
    written: list[Path] = []
    mirrored = _mirrored(manifest, resources, output)
    sources = [r.name for r in resources if r.kind == "CatalogSource"]
    for chart in charts:
        name = chart_name(chart.name)
        values = read_chart_values(chart)
        if name == RHDH_CHART and carried:
            check_plugins_follow_chart(chart.name, chart_plugin_versions(values), carried)
        if INFRA_CHART_MARK in name:
            override = infra_values(find_subscriptions(values), mirrored, sources[0] if sources else "")
            path = output / INFRA_VALUES
            atomic_write_text(path, dump_yaml(override))
            written.append(path)
    token_file = npmrc_text(npm_registry, token=npm_token, npmrc=npmrc) if index is not None else None
    if any(o.package == "rhdh" for o in mirrored):
        written.extend(write_operator_resources(output, npmrc=token_file, catalog_index=catalog_index))
    if any(chart_name(c.name) == RHDH_CHART for c in charts):
        helm_npmrc = write_helm_npmrc(output, HELM_RELEASE, token_file)
        written.extend([helm_npmrc] if helm_npmrc else [])
    return tuple(written)


def write_runbook(context: InstallContext, output: Path) -> Path:
    path = output / RUNBOOK
    atomic_write_text(path, render_runbook(context))
    return path
