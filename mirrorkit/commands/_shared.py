"""The options every command spells the same way (README "CLI vocabulary"): one flag per meaning.

Why one module: `-q`, `-j`, `--json`, `--progress`, `--tls-verify`, `--target-registry` and the npm
options used to differ from command to command; defining each once here keeps `--help` and the
README in agreement.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from mirrorkit.npm.npmrc import TOKEN_ENV

F = TypeVar("F", bound=Callable[..., Any])

#: Old spellings still read (with a warning): they appear in the 0.1 README, in scripts built from it
#: and in INSTALL.md runbooks written by push 0.1 (`verify --registry ... --npm-registry ...`).
TARGET_RENAMES = {"--registry": ("--target-registry",), "--npm-registry": ("--target-npm",)}
NPM_TOKEN_RENAMES = {"--token": ("--npm-token",)}
DISCOVER_RENAMES = {"--inspect-bundles": ("--discover",), "--no-inspect-bundles": ("--no-discover",)}


def stack_options(func: F, options: Sequence[Callable[[Any], Any]]) -> F:
    """*func* decorated with *options*, added in reverse so that --help lists them in this order."""
    for option in reversed(options):
        func = option(func)
    return func


def output_options(
    *, jobs: int | None = None, jobs_help: str = "Parallel work.", json_help: str = "Print the result as JSON."
) -> Callable[[F], F]:
    """``-j/--jobs`` (when *jobs* is given: its default), ``-q/--quiet``, ``--progress/--no-progress``, ``--json``."""

    def apply(func: F) -> F:
        options: list[Callable[[F], F]] = []
        if jobs is not None:
            options.append(
                click.option("-j", "--jobs", type=click.IntRange(1, 32), default=jobs, show_default=True, help=jobs_help)
            )
        options += [
            click.option("-q", "--quiet", is_flag=True, help="No progress and no step messages (errors still go to stderr)."),
            click.option(
                "--progress/--no-progress",
                default=None,
                help="Draw progress on stderr [default: only when stderr is a terminal].",
            ),
            click.option("--json", "as_json", is_flag=True, help=json_help),
        ]
        return stack_options(func, options)

    return apply


def show_progress(progress: bool | None, quiet: bool, as_json: bool = False) -> bool:
    """Progress bars only on a terminal, unless --progress/--no-progress says otherwise; never with -q."""
    if quiet:
        return False
    if progress is not None:
        return progress
    return not as_json and sys.stderr.isatty()


def say_for(command: str, quiet: bool) -> Callable[[str], None]:
    """Step messages on stderr (``push: verifying the bundle``), silent with -q."""
    if quiet:
        return lambda _message: None
    return lambda message: click.echo(f"{command}: {message}", err=True)


def tls_option(what: str) -> Callable[[F], F]:
    """``--tls-verify/--no-tls-verify`` for the registries the command talks to (*what*)."""
    return click.option(
        "--tls-verify/--no-tls-verify",
        default=True,
        show_default=True,
        help=f"Verify the TLS certificates of {what}; --no-tls-verify also allows plain http.",
    )


def npm_token_option(func: F) -> F:
    return click.option(
        "--npm-token",
        envvar=TOKEN_ENV,
        show_envvar=True,
        metavar="TOKEN",
        default=None,
        help="Bearer token for the npm server (never sent to other hosts; or use --npmrc).",
    )(func)


def plugin_option(func: F) -> F:
    """``--plugin SPEC`` (repeatable) for pack and plan alike: an npm spec or an ``oci://`` reference,
    added to the profile's plugins; plan lists (and checks) exactly what pack would carry."""
    return click.option(
        "--plugin",
        "plugins",
        multiple=True,
        metavar="SPEC",
        help="Another plugin to carry (repeatable): an npm package such as @scope/name@1.2.3, or an OCI "
        "artifact oci://REGISTRY/REPO:TAG!PACKAGE (checked to hold PACKAGE).",
    )(func)


def discover_option(default: bool, extra: str = "") -> Callable[[F], F]:
    return click.option(
        "--discover/--no-discover",
        default=default,
        show_default=True,
        help="Read each selected operator bundle image (and a profile's bundleImages) for images outside its "
        "relatedImages" + extra + ".",
    )


def release_options(func: F) -> F:
    """What to mirror, for pack and sync alike: ``--profile`` or ``--config``, ``--ocp``, ``--install``,
    ``--add-image``, ``--discover``, ``--plugin`` and ``--source-npm`` (the command's parameters
    ``profile, config, ocp, install, extra_images, discover, plugins, source_npm``)."""
    from mirrorkit.commands.imageset import install_option  # imageset imports this module

    return stack_options(
        func,
        [
            click.option(
                "--profile", metavar="NAME|FILE", help="A profile from 'mirrorkit profiles' or the path of a profile file."
            ),
            click.option(
                "--config",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="Your own ImageSetConfiguration instead of a profile (add plugins with --plugin).",
            ),
            click.option("--ocp", metavar="X.Y", help="OpenShift version the operator catalog follows (default: the profile's)."),
            cast("Callable[[F], F]", install_option),
            click.option(
                "--add-image", "extra_images", multiple=True, metavar="REF", help="Another image to mirror (repeatable)."
            ),
            discover_option(True),
            plugin_option,
            click.option(
                "--source-npm", metavar="URL", help="npm registry to pull plugins from (default: the profile's, then .npmrc)."
            ),
        ],
    )


def target_options(func: F) -> F:
    """Where the release goes, for push and sync alike: ``--target-registry`` and ``--target-npm`` (required)."""
    return stack_options(
        func,
        [
            click.option(
                "--target-registry", required=True, metavar="HOST[:PORT][/PREFIX]", help="Target registry (docker:// optional)."
            ),
            click.option("--target-npm", required=True, metavar="URL", help="Target npm server, e.g. http://npm.local:4873."),
        ],
    )


def install_files_options(func: F) -> F:
    """How push and sync write the install files: ``--values-in`` and ``--upgrade-from``."""
    return stack_options(
        func,
        [
            click.option(
                "--values-in",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="Your RHDH values.yaml to merge the plugin entries into.",
            ),
            click.option(
                "--upgrade-from",
                metavar="RELEASE",
                default="",
                help="Write INSTALL.md as an upgrade of an existing install of RELEASE (e.g. 1.7): channel patches, "
                "plugin updates and install plan approvals instead of a fresh install.",
            ),
        ],
    )


def file_option(flag: str, help: str) -> Callable[[F], F]:
    """An option naming an existing file (``--authfile``, ``--npmrc``, keys): checked before any work."""
    return click.option(flag, type=click.Path(exists=True, dir_okay=False, path_type=Path), help=help)


def cache_dir_option(default: str) -> Callable[[F], F]:
    """``--cache-dir DIR``: oc-mirror's cache; *default* says where it is when not given."""
    return click.option(
        "--cache-dir", type=click.Path(file_okay=False, path_type=Path), help=f"oc-mirror cache (default: {default})."
    )


def oc_mirror_option(func: F) -> F:
    """``--oc-mirror PATH``: the oc-mirror binary the workflows run."""
    return click.option(
        "--oc-mirror", "oc_mirror", type=click.Path(dir_okay=False, path_type=Path), help="oc-mirror binary (default: $PATH)."
    )(func)


__all__ = [
    "DISCOVER_RENAMES",
    "NPM_TOKEN_RENAMES",
    "TARGET_RENAMES",
    "cache_dir_option",
    "discover_option",
    "file_option",
    "install_files_options",
    "npm_token_option",
    "oc_mirror_option",
    "output_options",
    "plugin_option",
    "release_options",
    "say_for",
    "show_progress",
    "target_options",
    "tls_option",
]
