"""`mirrorkit mirror to-disk|to-mirror|direct`: run one oc-mirror v2 workflow and report it.

For users who want just this step (``pack``/``push`` call the same library functions). The result
is one summary line (or ``--json``); any image oc-mirror could not mirror makes the command exit 1,
even when oc-mirror itself exited 0 (oc-mirror before 4.19 does that).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mirrorkit.commands._args import CheckedGroup, registry_target
from mirrorkit.commands._knobs import knob_check, knob_options, pop_knobs
from mirrorkit.commands._shared import output_options, show_progress, stack_options, tls_option
from mirrorkit.ocmirror import (
    DiskToMirrorOptions,
    DryRunResult,
    MirrorResult,
    MirrorToDiskOptions,
    MirrorToMirrorOptions,
    Target,
    disk_to_mirror,
    find_oc_mirror,
    mirror_to_disk,
    mirror_to_mirror,
    raise_for_result,
)
from mirrorkit.ocmirror import dry_run as plan_dry_run
from mirrorkit.ocmirror.tool import ENV_VAR

#: 0.1's spellings, still read with a warning; the two TLS flags now fold into one --tls-verify.
RENAMES = {
    "--target": ("--target-registry",),
    "--src-tls-verify": ("--tls-verify",),
    "--no-src-tls-verify": ("--no-tls-verify",),
    "--dest-tls-verify": ("--tls-verify",),
    "--no-dest-tls-verify": ("--no-tls-verify",),
}
TARGET_CHECK = (registry_target("target_registry", "--target-registry"), knob_check)


def _common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Flags every workflow shares (added in reverse so --help lists them in this order)."""
    options = [
        click.option(
            "-c",
            "--config",
            type=click.Path(dir_okay=False, path_type=Path),
            required=True,
            help="The ImageSetConfiguration (e.g. from 'mirrorkit imageset build').",
        ),
        click.option(
            "--oc-mirror",
            "oc_mirror",
            metavar="PATH",
            default=None,
            help=f"The oc-mirror binary [default: ${ENV_VAR}, then oc-mirror on PATH].",
        ),
        click.option(
            "--authfile",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Registry credentials (auth.json) [default: oc-mirror's: $REGISTRY_AUTH_FILE, ...].",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Where oc-mirror keeps its cache (.oc-mirror/.cache) [default: oc-mirror's own, $HOME].",
        ),
        knob_options(since=False),
        tls_option("every registry oc-mirror reads from or writes to"),
        click.option(
            "--log-level",
            type=click.Choice(["info", "debug", "trace", "error"]),
            default="info",
            show_default=True,
            help="oc-mirror's log level.",
        ),
        output_options(),
    ]
    return stack_options(func, options)


def _shared(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The workflow options every command shares (the oc-mirror knobs are laid over them with
    :meth:`~mirrorkit.ocmirror.knobs.Knobs.apply`, as pack and push do; ``since`` is to-disk's own)."""
    shared = {k: kwargs[k] for k in ("config", "authfile", "cache_dir", "log_level")}
    return {**shared, "src_tls_verify": kwargs["tls_verify"], "dest_tls_verify": kwargs["tls_verify"]}


def _progress(kwargs: dict[str, Any]) -> bool:
    return show_progress(kwargs.pop("progress"), kwargs.pop("quiet"), kwargs.get("as_json", False))


def _report(outcome: MirrorResult | DryRunResult, as_json: bool) -> None:
    """Print the result, then fail (exit 1) if any image failed."""
    result = outcome.result if isinstance(outcome, DryRunResult) else outcome
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), indent=2))
    elif result.ok:  # a failure's summary is the error line raise_for_result prints
        click.echo(result.summary)
        if isinstance(outcome, DryRunResult):
            click.echo(
                f"{len(outcome.mapping)} images planned ({outcome.mapping_file}); "
                f"{len(outcome.missing)} missing from the cache" + (f" ({outcome.missing_file})" if outcome.missing_file else "")
            )
        for resource in result.cluster_resources:
            click.echo(f"  {resource.kind} {resource.name}: {resource.path}")
    raise_for_result(result)


@click.group("mirror", cls=CheckedGroup)
def mirror() -> None:
    """Run one oc-mirror v2 workflow: to-disk, to-mirror (from disk) or direct."""


@mirror.command("to-disk", renamed=RENAMES, checks=(knob_check,))
@click.option(
    "--archive-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Where oc-mirror writes mirror_*.tar and working-dir/.",
)
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only content newer than this date.")
@click.option("--dry-run", is_flag=True, help="Plan only: write working-dir/dry-run/mapping.txt and missing.txt.")
@_common_options
def to_disk(archive_dir: Path, since: str | None, dry_run: bool, oc_mirror: str | None, as_json: bool, **kwargs: Any) -> None:
    """Mirror images from their registries into archives on disk."""
    show = _progress(kwargs)
    options = pop_knobs(kwargs).apply(MirrorToDiskOptions(archive_dir=archive_dir, since=since, **_shared(kwargs)))
    tool = find_oc_mirror(oc_mirror)
    if dry_run:
        _report(plan_dry_run(tool, options, show), as_json)
    else:
        _report(mirror_to_disk(tool, options, progress=show), as_json)


@mirror.command("to-mirror", renamed=RENAMES, checks=TARGET_CHECK)
@click.option(
    "--from",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The folder holding mirror_*.tar (from 'mirrorkit mirror to-disk').",
)
@click.option("--target-registry", required=True, metavar="[docker://]HOST[:PORT][/PREFIX]", help="The target registry.")
@_common_options
def to_mirror(archive_dir: Path, target_registry: str, oc_mirror: str | None, as_json: bool, **kwargs: Any) -> None:
    """Push archives from disk into the target registry and write cluster resources."""
    show = _progress(kwargs)
    options = pop_knobs(kwargs).apply(
        DiskToMirrorOptions(archive_dir=archive_dir, target=Target.parse(target_registry), **_shared(kwargs))
    )
    tool = find_oc_mirror(oc_mirror)
    _report(disk_to_mirror(tool, options, progress=show), as_json)


@mirror.command("direct", renamed=RENAMES, checks=TARGET_CHECK)
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Where oc-mirror keeps working-dir/ (cluster resources, logs).",
)
@click.option("--target-registry", required=True, metavar="[docker://]HOST[:PORT][/PREFIX]", help="The target registry.")
@click.option("--dry-run", is_flag=True, help="Plan only: write working-dir/dry-run/mapping.txt.")
@_common_options
def direct(workspace: Path, target_registry: str, dry_run: bool, oc_mirror: str | None, as_json: bool, **kwargs: Any) -> None:
    """Mirror images straight into the target registry (mirror to mirror)."""
    show = _progress(kwargs)
    options = pop_knobs(kwargs).apply(
        MirrorToMirrorOptions(workspace=workspace, target=Target.parse(target_registry), **_shared(kwargs))
    )
    tool = find_oc_mirror(oc_mirror)
    if dry_run:
        _report(plan_dry_run(tool, options, show), as_json)
    else:
        _report(mirror_to_mirror(tool, options, progress=show), as_json)
