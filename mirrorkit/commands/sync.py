"""`mirrorkit sync`: pack and push in one run for a bastion that reaches both sides (no bundle on disk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mirrorkit.commands._args import CheckedCommand, exactly_one, http_url, registry_target
from mirrorkit.commands._knobs import knob_check, knob_options, pop_knobs
from mirrorkit.commands._shared import (
    DISCOVER_RENAMES,
    TARGET_RENAMES,
    cache_dir_option,
    file_option,
    install_files_options,
    npm_token_option,
    oc_mirror_option,
    output_options,
    release_options,
    say_for,
    show_progress,
    target_options,
    tls_option,
)
from mirrorkit.commands.imageset import INSTALL_RENAMES
from mirrorkit.commands.pack import bundle_folder, source_options
from mirrorkit.commands.push import echo_outcome, target_side
from mirrorkit.sync import RECORD, SyncOptions
from mirrorkit.sync import sync as sync_release

RENAMES = {**INSTALL_RENAMES, **DISCOVER_RENAMES, **TARGET_RENAMES, "--npm": ("--plugin",)}


CHECKS = (
    exactly_one(("profile", "--profile"), ("config", "--config")),
    registry_target("target_registry", "--target-registry"),
    http_url("target_npm", "--target-npm"),
    http_url("source_npm", "--source-npm"),
    bundle_folder(RECORD),
    knob_check,
)


@click.command("sync", cls=CheckedCommand, renamed=RENAMES, checks=CHECKS)
@release_options
@target_options
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for values.yaml, dynamic-plugins.yaml, cluster-resources/, charts/, INSTALL.md, "
    f"report.{{json,md,html}} and {RECORD}/ (the record of what was mirrored, for 'mirrorkit verify').",
)
@file_option("--npmrc", ".npmrc with registries and tokens, read for both npm servers (one token per registry).")
@npm_token_option
@file_option(
    "--authfile",
    "Credentials for the source and target registries (default: $REGISTRY_AUTH_FILE, then podman's and docker's files).",
)
@tls_option("the source and target registries")
@install_files_options
@oc_mirror_option
@cache_dir_option("the work folder in --output")
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
    params, knobs_set, shown = click.get_current_context().params, pop_knobs(knobs), show_progress(progress, quiet, as_json)
    source = source_options(params, progress=shown, ocmirror_knobs=knobs_set)  # sync puts its record under --output
    target = target_side(params, bundle=output, allow_unsigned=True, progress=shown, ocmirror_knobs=knobs_set)
    opts = SyncOptions(source, target)
    result = sync_release(opts, say=say_for("sync", quiet))
    return echo_outcome(result, as_json, "a target failed the pre-flight: nothing was mirrored")


__all__ = ["sync"]
