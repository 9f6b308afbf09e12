"""`mirrorkit sync`: pack and push in one run for a bastion that reaches both sides (no bundle on disk)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from mirrorkit.commands._args import CheckedCommand, Raw, exactly_one, http_url, registry_target
from mirrorkit.commands._knobs import knob_check, knob_options, pop_knobs
from mirrorkit.commands._shared import (
    DISCOVER_RENAMES,
    TARGET_RENAMES,
    discover_option,
    npm_token_option,
    output_options,
    plugin_option,
    say_for,
    show_progress,
    tls_option,
)
from mirrorkit.commands.imageset import INSTALL_RENAMES, install_option
from mirrorkit.errors import MirrorkitError
from mirrorkit.report.text import problem_lines
from mirrorkit.sync import RECORD, SyncOptions
from mirrorkit.sync import sync as sync_release

RENAMES = {**INSTALL_RENAMES, **DISCOVER_RENAMES, **TARGET_RENAMES, "--npm": ("--plugin",)}


def _record_folder(raw: Raw) -> Iterator[str]:
    """OUTPUT/release is sync's own record: a folder there that is something else is refused first."""
    from mirrorkit.pack import check_output

    if raw.get("output"):
        try:
            check_output(Path(str(raw["output"])).absolute() / RECORD)
        except MirrorkitError as exc:
            yield str(exc).rstrip(".").replace("--output ", "--output's ", 1)


CHECKS = (
    exactly_one(("profile", "--profile"), ("config", "--config")),
    registry_target("target_registry", "--target-registry"),
    http_url("target_npm", "--target-npm"),
    http_url("source_npm", "--source-npm"),
    _record_folder,
    knob_check,
)


@click.command("sync", cls=CheckedCommand, renamed=RENAMES, checks=CHECKS)
@click.option("--profile", metavar="NAME|FILE", help="A profile from 'mirrorkit profiles' or the path of a profile file.")
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your own ImageSetConfiguration instead of a profile (add plugins with --plugin).",
)
@click.option("--target-registry", required=True, metavar="HOST[:PORT][/PREFIX]", help="Target registry (docker:// optional).")
@click.option("--target-npm", required=True, metavar="URL", help="Target npm server, e.g. http://npm.local:4873.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for values.yaml, dynamic-plugins.yaml, cluster-resources/, charts/, INSTALL.md, "
    f"report.{{json,md,html}} and {RECORD}/ (the record of what was mirrored, for 'mirrorkit verify').",
)
@click.option("--ocp", metavar="X.Y", help="OpenShift version the operator catalog follows (default: the profile's).")
@install_option
@click.option("--add-image", "extra_images", multiple=True, metavar="REF", help="Another image to mirror (repeatable).")
@discover_option(True)
@plugin_option
@click.option("--source-npm", metavar="URL", help="npm registry to pull plugins from (default: the profile's, then .npmrc).")
@click.option(
    "--npmrc",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=".npmrc with registries and tokens, read for both npm servers (one token per registry).",
)
@npm_token_option
@click.option(
    "--authfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Credentials for the source and target registries (default: $REGISTRY_AUTH_FILE, then podman's and docker's files).",
)
@tls_option("the source and target registries")
@click.option(
    "--values-in",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your RHDH values.yaml to merge the plugin entries into.",
)
@click.option(
    "--upgrade-from",
    metavar="RELEASE",
    default="",
    help="Write INSTALL.md as an upgrade of an existing install of RELEASE (e.g. 1.7).",
)
@click.option(
    "--oc-mirror", "oc_mirror", type=click.Path(dir_okay=False, path_type=Path), help="oc-mirror binary (default: $PATH)."
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="oc-mirror cache (default: the work folder in --output).",
)
@knob_options(since=False)
@output_options(jobs=4, jobs_help="Parallel downloads, publishes and checks.")
def sync(
    profile: str | None,
    config: Path | None,
    target_registry: str,
    target_npm: str,
    output: Path,
    ocp: str | None,
    install: str,
    extra_images: tuple[str, ...],
    discover: bool,
    plugins: tuple[str, ...],
    source_npm: str | None,
    npmrc: Path | None,
    npm_token: str | None,
    authfile: Path | None,
    tls_verify: bool,
    values_in: Path | None,
    upgrade_from: str,
    oc_mirror: Path | None,
    cache_dir: Path | None,
    jobs: int,
    quiet: bool,
    progress: bool | None,
    as_json: bool,
    **knobs: Any,
) -> int:
    """Mirror straight from the sources into the target registry and npm server (oc-mirror
    mirror-to-mirror), for a bastion that reaches both: the plan, discovery, plugins, values,
    cluster resources, INSTALL.md and report of pack + push, without a bundle on disk.

    \b
    mirrorkit sync --profile rhdh-orchestrator-1.8 --target-registry HOST/PREFIX --target-npm URL -o OUT
    """
    opts = SyncOptions(
        output=output,
        registry=target_registry,
        npm_registry=target_npm,
        profile=profile,
        config=config,
        ocp=ocp,
        install=install,
        extra_images=extra_images,
        inspect_bundles=discover,
        npm_packages=plugins,
        source_npm=source_npm,
        npmrc=npmrc,
        npm_token=npm_token,
        authfile=authfile,
        tls_verify=tls_verify,
        oc_mirror=oc_mirror,
        cache_dir=cache_dir,
        values_in=values_in,
        upgrade_from=upgrade_from,
        jobs=jobs,
        progress=show_progress(progress, quiet, as_json),
        ocmirror_knobs=pop_knobs(knobs),
    )
    result = sync_release(opts, say=say_for("sync", quiet))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return 0 if result.ok else 1
    for line in problem_lines(result.report, warnings=False):
        click.echo(line)
    if not result.touched_targets:
        click.echo("a target failed the pre-flight: nothing was mirrored")
    for path in result.written:
        click.echo(f"wrote {path}")
    s = result.report.summary
    click.echo(f"{'OK' if result.ok else 'FAILED'}: {s.passed} passed, {s.failed} failed, {s.warnings} warnings")
    click.echo(f"report: {result.report_paths['html']}")
    return 0 if result.ok else 1


__all__ = ["sync"]
