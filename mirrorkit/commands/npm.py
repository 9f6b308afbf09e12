"""`mirrorkit npm pull|publish`: mirror Orchestrator plugin tarballs with verified sha512 integrity."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mirrorkit.commands._args import CheckedGroup, http_url
from mirrorkit.commands._shared import NPM_TOKEN_RENAMES, npm_token_option, output_options, show_progress
from mirrorkit.errors import NpmError
from mirrorkit.npm import NpmSettings, publish_packages, pull_packages

_NPMRC_HELP = "An .npmrc to read registries and tokens from (default: $NPM_CONFIG_USERCONFIG, else ~/.npmrc)."


def _fail_summary(kind: str, failed: list[tuple[str, str]], total: int) -> None:
    for name, reason in failed:
        click.echo(f"failed: {name}: {reason}", err=True)
    raise NpmError(
        f"{len(failed)} of {total} npm packages could not be {kind}",
        ", ".join(name for name, _ in failed),
        "the reasons are listed above; fix them and run the same command again (finished packages are skipped)",
    )


@click.group("npm", cls=CheckedGroup)
def npm() -> None:
    """Pull npm plugin tarballs with verified integrity and publish them to a local npm server."""


@npm.command(
    "pull", renamed={"--registry": ("--source-npm",), **NPM_TOKEN_RENAMES}, checks=(http_url("source_npm", "--source-npm"),)
)
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Mirror directory: receives index.json and @scope/name-VERSION.tgz files.",
)
@click.option(
    "--source-npm",
    default=None,
    metavar="URL",
    help="Default source npm registry (else npm_config_registry, the .npmrc's registry=, or registry.npmjs.org). "
    "@scope:registry= lines in the .npmrc still apply to their scopes.",
)
@click.option("--npmrc", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None, help=_NPMRC_HELP)
@npm_token_option
@output_options(jobs=8, jobs_help="Parallel downloads.")
def pull(
    specs: tuple[str, ...],
    out_dir: Path,
    source_npm: str | None,
    npmrc: Path | None,
    npm_token: str | None,
    jobs: int,
    quiet: bool,
    progress: bool | None,
    as_json: bool,
) -> None:
    """Download packages, verify sha512/sha1 against the registry, record them in DIR/index.json.

    \b
    SPEC is name@version, @scope/name@version, a dist-tag (name@latest) or a range
    (^1.8.0, ~1.8.0, 1.8.x, >=1.8.0 <2): ranges and tags are pinned to one version, and the
    pinned version is what gets recorded. Re-running skips packages already present whose bytes
    still match the index. Exit 1 if any package failed (each is named with its reason).
    """
    settings = NpmSettings.load(registry=source_npm, token=npm_token, npmrc=npmrc)
    shown = show_progress(progress, quiet, as_json)
    report = pull_packages(list(specs), out_dir, settings=settings, jobs=jobs, progress=shown)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for result in report.results:
            if result.entry:
                click.echo(f"{result.status:<10} {result.entry.name}@{result.entry.version}  {result.entry.integrity}")
        click.echo(f"index: {report.index_path}")
    if not report.ok:
        _fail_summary("pulled", [(r.spec, r.reason or "unknown") for r in report.failed], len(report.results))


@npm.command(
    "publish", renamed={"--registry": ("--target-npm",), **NPM_TOKEN_RENAMES}, checks=(http_url("target_npm", "--target-npm"),)
)
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--target-npm", required=True, metavar="URL", help="The npm server to publish to, e.g. http://npm.local:4873.")
@npm_token_option
@click.option("--npmrc", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None, help=_NPMRC_HELP)
@output_options(jobs=4, jobs_help="Packages published in parallel.")
def publish(
    directory: Path,
    target_npm: str,
    npm_token: str | None,
    npmrc: Path | None,
    jobs: int,
    quiet: bool,
    progress: bool | None,
    as_json: bool,
) -> None:
    """Publish every tarball of a mirror directory and confirm the server lists the same integrity.

    Idempotent: a version already on the server with the same integrity is reported as present;
    with a different integrity it fails, showing both values. Exit 1 if any package failed.
    """
    shown = show_progress(progress, quiet, as_json)
    report = publish_packages(directory, target_npm, token=npm_token, npmrc=npmrc, jobs=jobs, progress=shown)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for result in report.results:
            if result.status != "failed":
                click.echo(f"{result.status:<10} {result.name}@{result.version}  {result.integrity}")
    if not report.ok:
        _fail_summary("published", [(f"{r.name}@{r.version}", r.reason or "unknown") for r in report.failed], len(report.results))
