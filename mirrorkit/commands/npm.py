"""`mirrorkit npm pull|publish`: mirror Orchestrator plugin tarballs with verified sha512 integrity."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mirrorkit.errors import NpmError
from mirrorkit.npm import NpmSettings, publish_packages, pull_packages
from mirrorkit.npm.npmrc import TOKEN_ENV

_NPMRC_HELP = "An .npmrc to read registries and tokens from (default: $NPM_CONFIG_USERCONFIG, else ~/.npmrc)."


def _fail_summary(kind: str, failed: list[tuple[str, str]], total: int) -> None:
    for name, reason in failed:
        click.echo(f"failed: {name}: {reason}", err=True)
    raise NpmError(
        f"{len(failed)} of {total} npm packages could not be {kind}",
        ", ".join(name for name, _ in failed),
        "the reasons are listed above; fix them and run the same command again (finished packages are skipped)",
    )


@click.group("npm")
def npm() -> None:
    """Pull npm plugin tarballs with verified integrity and publish them to a local npm server."""


@npm.command("pull")
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
    "--registry",
    default=None,
    metavar="URL",
    help="Default source registry (else npm_config_registry, the .npmrc's registry=, or registry.npmjs.org). "
    "@scope:registry= lines in the .npmrc still apply to their scopes.",
)
@click.option("--npmrc", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None, help=_NPMRC_HELP)
@click.option(
    "--token",
    default=None,
    envvar=TOKEN_ENV,
    show_envvar=True,
    help="Bearer token for the default registry only (never sent to other hosts).",
)
@click.option("-j", "--jobs", default=8, show_default=True, type=click.IntRange(1, 32), help="Parallel downloads.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def pull(
    specs: tuple[str, ...],
    out_dir: Path,
    registry: str | None,
    npmrc: Path | None,
    token: str | None,
    jobs: int,
    quiet: bool,
    as_json: bool,
) -> None:
    """Download packages, verify sha512/sha1 against the registry, record them in DIR/index.json.

    \b
    SPEC is name@version, @scope/name@version, a dist-tag (name@latest) or a range
    (^1.8.0, ~1.8.0, 1.8.x, >=1.8.0 <2): ranges and tags are pinned to one version, and the
    pinned version is what gets recorded. Re-running skips packages already present whose bytes
    still match the index. Exit 1 if any package failed (each is named with its reason).
    """
    settings = NpmSettings.load(registry=registry, token=token, npmrc=npmrc)
    report = pull_packages(list(specs), out_dir, settings=settings, jobs=jobs, progress=None if not quiet else False)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for result in report.results:
            if result.entry:
                click.echo(f"{result.status:<10} {result.entry.name}@{result.entry.version}  {result.entry.integrity}")
        click.echo(f"index: {report.index_path}")
    if not report.ok:
        _fail_summary("pulled", [(r.spec, r.reason or "unknown") for r in report.failed], len(report.results))


@npm.command("publish")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--registry", required=True, metavar="URL", help="The npm server to publish to, e.g. http://npm.local:4873.")
@click.option("--token", default=None, envvar=TOKEN_ENV, show_envvar=True, help="Bearer token for --registry.")
@click.option("--npmrc", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None, help=_NPMRC_HELP)
@click.option("-j", "--jobs", default=4, show_default=True, type=click.IntRange(1, 32), help="Packages published in parallel.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def publish(directory: Path, registry: str, token: str | None, npmrc: Path | None, jobs: int, quiet: bool, as_json: bool) -> None:
    """Publish every tarball of a mirror directory and confirm the server lists the same integrity.

    Idempotent: a version already on the server with the same integrity is reported as present;
    with a different integrity it fails, showing both values. Exit 1 if any package failed.
    """
    report = publish_packages(directory, registry, token=token, npmrc=npmrc, jobs=jobs, progress=None if not quiet else False)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for result in report.results:
            if result.status != "failed":
                click.echo(f"{result.status:<10} {result.name}@{result.version}  {result.integrity}")
    if not report.ok:
        _fail_summary("published", [(f"{r.name}@{r.version}", r.reason or "unknown") for r in report.failed], len(report.results))
