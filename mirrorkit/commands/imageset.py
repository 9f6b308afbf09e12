"""`mirrorkit imageset build|validate` and `mirrorkit profiles`: thin click wrappers over the library."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mirrorkit.commands._args import CheckedGroup
from mirrorkit.commands._shared import DISCOVER_RENAMES, discover_option
from mirrorkit.commands.bundle_images import registry_options
from mirrorkit.errors import MirrorkitError
from mirrorkit.fsutil import atomic_write_text
from mirrorkit.imageset import ImageSetConfig, InvalidConfiguration, build_imageset
from mirrorkit.imageset.build import INSTALL_FLOWS, BundleResolver
from mirrorkit.imageset.profiles import list_profiles, load_profile

#: ``--helm/--no-helm`` (0.1's first spelling) still read, as ``--install helm|operator``, with a warning.
INSTALL_RENAMES = {"--helm": ("--install", "helm"), "--no-helm": ("--install", "operator")}


def install_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--install helm|operator``; the command receives one ``install`` argument."""
    return click.option(
        "--install",
        type=click.Choice(INSTALL_FLOWS),
        default="helm",
        show_default=True,
        help="The RHDH install flow to mirror for: 'helm' (the profile's Helm charts) or 'operator' (no charts; "
        "the RHDH Operator, package rhdh channel fast-<release>, added from the same catalog).",
    )(command)


def _fail_with_issues(exc: InvalidConfiguration) -> None:
    """One stderr line per problem (file, key path, what is wrong), then exit 2."""
    for line in exc.lines():
        click.echo(line, err=True)
    raise click.exceptions.Exit(exc.exit_code)


def _summary(config: ImageSetConfig) -> dict[str, int]:
    charts = sum(len(repo.charts or ()) for repo in (config.helm.repositories or ())) if config.helm else 0
    return {
        "catalogs": len(config.operators),
        "packages": sum(len(op.packages or ()) for op in config.operators),
        "additionalImages": len(config.additional_images),
        "charts": charts,
    }


def _bundle_resolver(inspect: bool, authfile: str | None, tls_verify: bool, platform: str | None) -> BundleResolver | None:
    """Where operator-bundle inspection plugs in; without it the profile's images are used as they are."""
    if not inspect:
        return None
    from mirrorkit.catalog.bundle_image import resolve_bundle_images
    from mirrorkit.commands.bundle_images import make_client
    from mirrorkit.oci.platform import Platform

    client = make_client(authfile, tls_verify)
    wanted = Platform.parse(platform) if platform else None
    return lambda refs: resolve_bundle_images(refs, client, platform=wanted)


@click.group("imageset", cls=CheckedGroup)
def imageset() -> None:
    """Build and validate oc-mirror v2 ImageSetConfiguration files."""


@imageset.command("build", renamed={**INSTALL_RENAMES, **DISCOVER_RENAMES})
@click.option(
    "--profile",
    "profile_name",
    required=True,
    metavar="NAME|FILE",
    help="A profile from 'mirrorkit profiles' or the path of a profile file.",
)
@click.option(
    "--ocp",
    metavar="X.Y",
    default=None,
    help="OpenShift version the operator catalog follows (default: the profile's, e.g. 4.19).",
)
@install_option
@click.option(
    "--add-image",
    "add_images",
    multiple=True,
    metavar="REF",
    help="Also mirror this image (fully qualified reference); repeatable.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the configuration to FILE (atomically) instead of standard output.",
)
@discover_option(False, " that the profile lacks (needs registry access; see 'mirrorkit bundle-images')")
@registry_options
def build(
    profile_name: str,
    ocp: str | None,
    install: str,
    add_images: tuple[str, ...],
    output: Path | None,
    discover: bool,
    authfile: str | None,
    tls_verify: bool,
    platform: str | None,
) -> None:
    """Write the ImageSetConfiguration of a profile (deterministic: same input, same bytes)."""
    try:
        profile = load_profile(profile_name)
        result = build_imageset(
            profile,
            ocp=ocp,
            install=install,
            extra_images=add_images,
            bundle_resolver=_bundle_resolver(discover, authfile, tls_verify, platform),
        )
    except InvalidConfiguration as exc:
        _fail_with_issues(exc)
        return
    if discover:
        click.echo(f"operator bundles added {len(result.added_images)} image(s) the profile lacked", err=True)
        for ref in result.added_images:
            click.echo(f"  added {ref}", err=True)
    text = result.config.render()
    if output is None:
        click.echo(text, nl=False)
        return
    atomic_write_text(output, text)
    counts = _summary(result.config)
    click.echo(
        f"wrote {output}: {counts['catalogs']} catalog(s), {counts['packages']} package(s), "
        f"{counts['additionalImages']} additional image(s), {counts['charts']} chart(s)",
        err=True,
    )


@imageset.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result of every file as JSON.")
def validate(files: tuple[Path, ...], as_json: bool) -> None:
    """Check ImageSetConfiguration files the way oc-mirror will, listing every problem of each file."""
    results: list[dict[str, Any]] = []
    failed = False
    for path in files:
        entry: dict[str, Any] = {"file": str(path), "valid": False, "issues": []}
        try:
            config = ImageSetConfig.load(path)
        except InvalidConfiguration as exc:
            entry["issues"] = [{"path": i.path, "message": i.message} for i in exc.issues]
            lines = exc.lines()
        except MirrorkitError as exc:
            entry["error"] = str(exc)
            lines = [f"mirrorkit: error: {exc}"]
        else:
            entry["valid"] = True
            entry["summary"] = _summary(config)
            lines = []
        failed = failed or not entry["valid"]
        results.append(entry)
        if not as_json:
            for line in lines:
                click.echo(line, err=True)
            if entry["valid"]:
                counts = entry["summary"]
                click.echo(
                    f"{path}: ok ({counts['catalogs']} catalog(s), {counts['packages']} package(s), "
                    f"{counts['additionalImages']} additional image(s), {counts['charts']} chart(s))"
                )
    if as_json:
        click.echo(json.dumps({"files": results}, indent=2, sort_keys=True))
    if failed:
        raise click.exceptions.Exit(2)


@click.group("profiles", cls=CheckedGroup, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
@click.pass_context
def profiles(ctx: click.Context, as_json: bool) -> None:
    """List the curated mirroring profiles (RHDH Orchestrator releases); 'profiles show NAME' for one."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        found = list_profiles()
    except InvalidConfiguration as exc:
        _fail_with_issues(exc)
        return
    if as_json:
        click.echo(json.dumps([p.to_json() for p in found], indent=2, sort_keys=True))
        return
    width = max((len(p.name) for p in found), default=0)
    for profile in found:
        click.echo(f"{profile.name:<{width}}  ocp {profile.ocp}  {profile.description}")


@profiles.command("show")
@click.argument("name", metavar="NAME|FILE")
@click.option("--ocp", metavar="X.Y", default=None, help="OpenShift version the operator catalog follows.")
@click.option("--json", "as_json", is_flag=True, help="Print what each flow carries as JSON.")
def show(name: str, ocp: str | None, as_json: bool) -> None:
    """What a profile carries in each install flow (Helm and Operator): catalogs, operator packages and
    channels, charts, additional images, npm packages. Nothing is contacted."""
    try:
        profile = load_profile(name)
        flows = {flow: build_imageset(profile, ocp=ocp, install=flow).config for flow in INSTALL_FLOWS}
    except InvalidConfiguration as exc:
        _fail_with_issues(exc)
        return
    described = {flow: _describe(config) for flow, config in flows.items()}
    if as_json:
        doc = {**profile.to_json(), "notes": list(profile.notes), "flows": described}
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    click.echo(f"{profile.name}: {profile.description}")
    click.echo(f"  release {profile.release}, OpenShift {ocp or profile.ocp}, from {profile.source}")
    for flow, facts in described.items():
        click.echo(f"\n--install {flow}:")
        for catalog in facts["catalogs"]:
            click.echo(f"  catalog {catalog['catalog']}")
            for package in catalog["packages"]:
                click.echo(f"    operator {package}")
        for chart in facts["charts"]:
            click.echo(f"  chart {chart}")
        click.echo(f"  {len(facts['additionalImages'])} additional image(s)")
        for image in facts["additionalImages"]:
            click.echo(f"    {image}")
    if profile.npm_packages:
        click.echo(f"\nnpm packages (both flows, from {profile.npm_registry}):")
        for spec in profile.npm_packages:
            click.echo(f"  {spec}")
    for note in profile.notes:
        click.echo(f"note: {note}")


def _describe(config: ImageSetConfig) -> dict[str, Any]:
    """The facts of one flow's configuration, in the words a user compares with the docs."""

    def channels(package: Any) -> str:
        ranges = []
        for channel in package.channels or ():
            bounds = " ".join(
                b
                for b in (
                    f">={channel.min_version}" if channel.min_version else "",
                    f"<={channel.max_version}" if channel.max_version else "",
                )
                if b
            )
            ranges.append(f"{channel.name} ({bounds or 'channel head'})")
        default = f", default channel {package.default_channel}" if package.default_channel else ""
        return f"{package.name}: " + (", ".join(ranges) or "every channel's head") + default

    return {
        "catalogs": [{"catalog": op.catalog, "packages": [channels(p) for p in op.packages or ()]} for op in config.operators],
        "charts": [
            f"{chart.name} {chart.version or '(latest)'} from {repo.url}"
            for repo in ((config.helm.repositories or ()) if config.helm else ())
            for chart in repo.charts or ()
        ],
        "additionalImages": list(config.additional_images),
    }
