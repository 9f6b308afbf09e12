"""`mirrorkit plan`: every image (and npm package) a pack would carry, with where each comes from.

Reads only what it must: operator catalog layers (FBC of the selected packages decoded, the rest
skipped), the manifests and metadata layers of the selected bundle images, and of each OCI plugin
its manifest and ``PACKAGE/package.json`` (to refuse a wrong package as pack does), never other
image content. Nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mirrorkit.commands._args import CheckedCommand, exactly_one
from mirrorkit.commands._shared import DISCOVER_RENAMES, discover_option, output_options, plugin_option, show_progress
from mirrorkit.commands.bundle_images import make_client, registry_options
from mirrorkit.commands.imageset import INSTALL_RENAMES, install_option
from mirrorkit.imageset import InvalidConfiguration

if TYPE_CHECKING:
    from mirrorkit.plugins.profile import SettledPlugins


@click.command(
    "plan",
    cls=CheckedCommand,
    renamed={**INSTALL_RENAMES, **DISCOVER_RENAMES},
    checks=(exactly_one(("profile", "--profile"), ("config", "--config")),),
)
@click.option("--profile", metavar="NAME|FILE", help="A profile from 'mirrorkit profiles' or the path of a profile file.")
@click.option(
    "--config", type=click.Path(dir_okay=False, path_type=Path), help="Your own ImageSetConfiguration instead of a profile."
)
@click.option(
    "--ocp", metavar="X.Y", help="OpenShift version the operator catalog follows (profiles only; default: the profile's)."
)
@install_option
@discover_option(True)
@plugin_option
@output_options(json_help="Print the plan as JSON.")
@registry_options
def plan(
    profile: str | None,
    config: Path | None,
    ocp: str | None,
    install: str,
    discover: bool,
    plugins: tuple[str, ...],
    quiet: bool,
    progress: bool | None,
    as_json: bool,
    authfile: str | None,
    tls_verify: bool,
    platform: str | None,
) -> None:
    """Show every image pack will carry (catalog, operator bundle, related, discovered, additional), before mirroring.

    It settles the configuration exactly as pack does (same profile flow, same discovery), so what it
    prints is what pack will follow."""
    from mirrorkit.oci.platform import Platform
    from mirrorkit.settle import settle

    wanted = Platform.parse(platform) if platform else None
    try:
        settled = settle(
            client=make_client(authfile, tls_verify),
            profile=profile,
            config=config,
            ocp=ocp,
            install=install,
            plugins=plugins,
            inspect_bundles=discover,
            platform=wanted,
            progress=show_progress(progress, quiet, as_json),
            tls_verify=tls_verify,
        )
    except InvalidConfiguration as exc:
        for line in exc.lines():
            click.echo(line, err=True)
        raise click.exceptions.Exit(exc.exit_code) from None
    result, npm, npm_registry, source = settled.plan, settled.npm_specs, settled.npm_registry, settled.source
    if as_json:
        doc = result.to_json()
        doc["source"] = source
        doc["npm"] = {"registry": npm_registry or None, "packages": list(npm)}
        doc["plugins"] = settled.plugins.to_json()
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    for warning in result.warnings:
        click.echo(f"mirrorkit: warning: {warning}", err=True)
    click.echo(render_text(result, npm, npm_registry, source, settled.plugins), nl=False)


def render_text(result: Any, npm: Sequence[str], npm_registry: str, source: str, plugins: SettledPlugins | None = None) -> str:
    """Grouped by kind, then package and bundle; each image with why it is there."""
    counts = result.to_json()["counts"]
    oci = plugins.images if plugins is not None else ()
    lines = [
        f"# plan for {source}: {len(result.images)} images "
        f"({', '.join(f'{k} {v}' for k, v in counts.items())}), {len(npm)} npm packages"
        + (f", {len(oci)} OCI plugin images" if oci else "")
    ]
    for summary in result.catalogs:
        packages = "; ".join(f"{p} [{', '.join(c) or 'every bundle'}]" for p, c in summary.channels)
        lines.append(
            f"# catalog {summary.ref} ({summary.digest}){' full' if summary.full else ''}: "
            f"{len(summary.bundles)} bundle(s){': ' + packages if packages else ''}"
        )
    for kind in ("catalog", "operator", "additional", "helm"):
        images = result.of_kind(kind)
        if kind == "helm" and result.helm_charts:
            lines += ["", "helm"]
            lines += [f"  not predicted: {why}" for why in result.charts_unpredicted]
            lines += _chart_groups(images, result.helm_version)
            continue
        if not images:
            continue
        lines += ["", kind]
        groups: dict[tuple[str, str, str], list[Any]] = {}
        for image in images:
            key = (image.package or "", image.version or "", image.bundle or "")
            groups.setdefault(key, []).append(image)
        for (package, version, bundle), members in groups.items():
            if package:
                lines.append(f"  {package} {version}".rstrip() + (f" (bundle {bundle})" if bundle else ""))
            elif kind == "additional":
                lines.append("  additionalImages")
            width = max(len(i.role) for i in members)
            for image in members:
                lines.append(f"    {image.role:<{width}}  {image.ref}")
                for origin in image.origins:
                    lines.append(f"        from {origin.describe()}")
    if result.blocked:
        lines += ["", "blocked (blockedImages)"] + [f"    {ref}" for ref in result.blocked]
    if oci:
        assert plugins is not None
        lines += ["", "plugin", *_plugin_lines(plugins)]
    if npm:
        lines += ["", f"npm ({npm_registry})" if npm_registry else "npm"] + [f"    {spec}" for spec in npm]
    if not result.discovery:
        lines += ["", "# bundle discovery was off (--no-discover): images bundles name outside relatedImages are not listed"]
    return "\n".join(lines) + "\n"


def _chart_groups(images: Sequence[Any], helm_version: str | None) -> list[str]:
    """Chart images grouped by chart, each with the configuration entry that names the chart."""
    lines: list[str] = []
    groups: dict[tuple[str, str], list[Any]] = {}
    for image in images:
        groups.setdefault((image.package or "", image.version or ""), []).append(image)
    for (chart, version), members in groups.items():
        lines.append(f"  chart {chart} {version}".rstrip() + f" (rendered with helm {helm_version})")
        for image in members:
            lines.append(f"    chart  {image.ref}")
            lines.extend(f"        from {origin.describe()}" for origin in image.origins)
    return lines


def _plugin_lines(plugins: SettledPlugins) -> list[str]:
    """Each OCI plugin image with the package folder(s) checked in it and the digest its reference
    resolved to (what pack will pin); the catalog index last, with what was selected from it."""
    lines: list[str] = []
    for artifact in plugins.artifacts:
        lines.append(f"  {', '.join(artifact.packages)}")
        lines.append(f"    plugin  {artifact.ref.image} ({artifact.digest})")
    index = plugins.index
    if index is not None:
        selected = ", ".join(index.selected) or "nothing"
        lines.append(f"  catalog index (lists {len(index.listed)} OCI plugins, selects {selected})")
        lines.append(f"    plugin  {index.ref.image} ({index.digest})")
    return lines
