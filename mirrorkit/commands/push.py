"""`mirrorkit push`: the bastion-side command (verify first, then registry, npm, install files, report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mirrorkit.bundle.trust import VERIFY_KEY_ENV, default_verify_key
from mirrorkit.commands._args import CheckedCommand, http_url, outside, registry_target
from mirrorkit.commands._knobs import knob_check, knob_options, pop_knobs
from mirrorkit.commands._shared import (
    TARGET_RENAMES,
    npm_token_option,
    output_options,
    say_for,
    show_progress,
    tls_option,
)
from mirrorkit.push import PushOptions
from mirrorkit.push import push as push_bundle
from mirrorkit.report.text import problem_lines

CHECKS = (
    registry_target("target_registry", "--target-registry"),
    http_url("target_npm", "--target-npm"),
    outside("output", "--output", "bundle"),
    outside("cache_dir", "--cache-dir", "bundle"),
    knob_check,
)


@click.command("push", cls=CheckedCommand, renamed=TARGET_RENAMES, checks=CHECKS)
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--target-registry", required=True, metavar="HOST[:PORT][/PREFIX]", help="Target registry (docker:// optional).")
@click.option("--target-npm", required=True, metavar="URL", help="Target npm server, e.g. http://npm.local:4873.")
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
@click.option(
    "--authfile", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Credentials for the target registry."
)
@tls_option("the target registry")
@npm_token_option
@click.option("--npmrc", type=click.Path(exists=True, dir_okay=False, path_type=Path), help=".npmrc with the npm server's token.")
@click.option(
    "--values-in",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your RHDH values.yaml to merge the plugin entries into.",
)
@click.option(
    "--upgrade-from",
    metavar="RELEASE",
    default="",
    help="Write INSTALL.md as an upgrade of an existing install of RELEASE (e.g. 1.7): channel patches, "
    "plugin updates and install plan approvals instead of a fresh install.",
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
    opts = PushOptions(
        bundle=bundle,
        registry=target_registry,
        npm_registry=target_npm,
        output=output,
        verify_key=default_verify_key(verify_key),
        allow_unsigned=allow_unsigned,
        authfile=authfile,
        tls_verify=tls_verify,
        npm_token=npm_token,
        npmrc=npmrc,
        oc_mirror=oc_mirror,
        cache_dir=cache_dir,
        values_in=values_in,
        upgrade_from=upgrade_from,
        jobs=jobs,
        progress=show_progress(progress, quiet, as_json),
        ocmirror_knobs=pop_knobs(knobs),
    )
    result = push_bundle(opts, say=say_for("push", quiet))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        for line in problem_lines(result.report, warnings=False):  # the first 20; the report holds all
            click.echo(line)
        if not result.touched_targets:
            preflight_failed = any(i.failed and i.category == "preflight" for i in result.report.items)
            click.echo(
                "a target failed the pre-flight: nothing was pushed"
                if preflight_failed
                else "the bundle did not verify: nothing was pushed"
            )
        for path in result.written:
            click.echo(f"wrote {path}")
        s = result.report.summary
        click.echo(f"{'OK' if result.ok else 'FAILED'}: {s.passed} passed, {s.failed} failed, {s.warnings} warnings")
        click.echo(f"report: {result.report_paths['html']}")
    return 0 if result.ok else 1


__all__ = ["push"]
