"""`mirrorkit push`: the bastion-side command (verify first, then registry, npm, install files, report)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from mirrorkit.bundle.trust import VERIFY_KEY_ENV, default_verify_key
from mirrorkit.commands._args import CheckedCommand, http_url, outside, registry_target
from mirrorkit.commands._knobs import knob_check, knob_options, pop_knobs
from mirrorkit.commands._shared import (
    TARGET_RENAMES,
    cache_dir_option,
    file_option,
    install_files_options,
    npm_token_option,
    oc_mirror_option,
    output_options,
    say_for,
    show_progress,
    target_options,
    tls_option,
)
from mirrorkit.push import PushOptions, PushResult
from mirrorkit.push import push as push_bundle
from mirrorkit.report.text import problem_lines

CHECKS = (
    registry_target("target_registry", "--target-registry"),
    http_url("target_npm", "--target-npm"),
    outside("output", "--output", "bundle"),
    outside("cache_dir", "--cache-dir", "bundle"),
    knob_check,
)


def target_side(params: Mapping[str, Any], **extra: Any) -> PushOptions:
    """push's options from the parameters push and sync spell alike (target_options, -o, --authfile,
    TLS, --npm-token, --npmrc, install_files_options, --oc-mirror, --cache-dir, -j); *extra* sets the rest."""
    return PushOptions(
        registry=params["target_registry"],
        npm_registry=params["target_npm"],
        output=params["output"],
        authfile=params["authfile"],
        tls_verify=params["tls_verify"],
        npm_token=params["npm_token"],
        npmrc=params["npmrc"],
        oc_mirror=params["oc_mirror"],
        cache_dir=params["cache_dir"],
        values_in=params["values_in"],
        upgrade_from=params["upgrade_from"],
        jobs=params["jobs"],
        **extra,
    )


@click.command("push", cls=CheckedCommand, renamed=TARGET_RENAMES, checks=CHECKS)
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@target_options
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for values.yaml, dynamic-plugins.yaml, cluster-resources/ and report.{json,md,html}.",
)
@click.option(
    "--verify-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Public key (NAME.pub) the bundle must be signed with (default: ${VERIFY_KEY_ENV}).",
)
@click.option(
    "--allow-unsigned",
    is_flag=True,
    help="Push a bundle without checking who made it (no verify key). Checksums alone do not stop a forged bundle.",
)
@file_option("--authfile", "Credentials for the target registry.")
@tls_option("the target registry")
@npm_token_option
@file_option("--npmrc", ".npmrc with the npm server's token.")
@install_files_options
@oc_mirror_option
@cache_dir_option("the work folder in --output")
@knob_options(since=False)
@output_options(jobs=4, jobs_help="Parallel publishes and checks.")
def push(
    bundle: Path,
    target_registry: str,
    target_npm: str,
    output: Path,
    verify_key: Path | None,
    allow_unsigned: bool,
    authfile: Path | None,
    tls_verify: bool,
    npm_token: str | None,
    npmrc: Path | None,
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
    """Verify a bundle, then load it into the local registry and npm server and write install files."""
    opts = target_side(
        click.get_current_context().params,
        bundle=bundle,
        verify_key=default_verify_key(verify_key),
        allow_unsigned=allow_unsigned,
        progress=show_progress(progress, quiet, as_json),
        ocmirror_knobs=pop_knobs(knobs),
    )
    result = push_bundle(opts, say=say_for("push", quiet))
    preflight_failed = any(i.failed and i.category == "preflight" for i in result.report.items)
    untouched = "a target failed the pre-flight" if preflight_failed else "the bundle did not verify"
    return echo_outcome(result, as_json, f"{untouched}: nothing was pushed")


def echo_outcome(result: PushResult, as_json: bool, untouched: str) -> int:
    """What push and sync print when they end, and their exit code: the result as JSON, or the first
    problems (the report holds all), *untouched* when no target was written, the files written, the
    summary and the report's path."""
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return 0 if result.ok else 1
    for line in problem_lines(result.report, warnings=False):  # the first 20; the report holds all
        click.echo(line)
    if not result.touched_targets:
        click.echo(untouched)
    for path in result.written:
        click.echo(f"wrote {path}")
    s = result.report.summary
    click.echo(f"{'OK' if result.ok else 'FAILED'}: {s.passed} passed, {s.failed} failed, {s.warnings} warnings")
    click.echo(f"report: {result.report_paths['html']}")
    return 0 if result.ok else 1


__all__ = ["echo_outcome", "push", "target_side"]
