"""`mirrorkit imageset build|validate` and `mirrorkit profiles`: thin click wrappers over the library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mirrorkit.commands.bundle_images import registry_options
from mirrorkit.errors import MirrorkitError
from mirrorkit.fsutil import atomic_write_text
from mirrorkit.imageset import ImageSetConfig, InvalidConfiguration, build_imageset
from mirrorkit.imageset.build import BundleResolver
from mirrorkit.profiles import list_profiles, load_profile


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


def _bundle_resolver(
    inspect: bool, authfile: str | None, tls_verify: bool, platform: str | None
) -> BundleResolver | None:
    """Where operator-bundle inspection plugs in; without it the profile's images are used as they are."""
    if not inspect:
        return None
    from mirrorkit.commands.bundle_images import make_client
    from mirrorkit.oci.platform import Platform
    from mirrorkit.operator_bundle import resolve_bundle_images

    client = make_client(authfile, tls_verify)
    wanted = Platform.parse(platform) if platform else None
    return lambda refs: resolve_bundle_images(refs, client, platform=wanted)


@click.group("imageset")
def imageset() -> None:
    """Build and validate oc-mirror v2 ImageSetConfiguration files."""


@imageset.command("build")
@click.option("--profile", "profile_name", required=True, metavar="NAME|FILE",
              help="A profile from 'mirrorkit profiles' or the path of a profile file.")
@click.option("--ocp", metavar="X.Y", default=None,
              help="OpenShift version the operator catalog follows (default: the profile's, e.g. 4.19).")
@click.option("--helm/--no-helm", default=True, show_default=True,
              help="Include the RHDH Helm charts (Helm install flow); --no-helm for the Operator flow.")
@click.option("--add-image", "add_images", multiple=True, metavar="REF",
              help="Also mirror this image (fully qualified reference); repeatable.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the configuration to FILE (atomically) instead of standard output.")
@click.option("--inspect-bundles/--no-inspect-bundles", default=False, show_default=True,
              help="Read the profile's operator bundle images from their registry and add the images they "
                   "name that the profile lacks (needs registry access; see 'mirrorkit bundle-images').")
@registry_options
def build(profile_name: str, ocp: str | None, helm: bool, add_images: tuple[str, ...], output: Path | None,
          inspect_bundles: bool, authfile: str | None, tls_verify: bool, platform: str | None) -> None:
    """Write the ImageSetConfiguration of a profile (deterministic: same input, same bytes)."""
    try:
        profile = load_profile(profile_name)
        result = build_imageset(
            profile, ocp=ocp, helm=helm, extra_images=add_images,
            bundle_resolver=_bundle_resolver(inspect_bundles, authfile, tls_verify, platform),
        )
    except InvalidConfiguration as exc:
        _fail_with_issues(exc)
        return
    if inspect_bundles:
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


@click.command("profiles")
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
def profiles(as_json: bool) -> None:
    """List the curated mirroring profiles (RHDH Orchestrator releases)."""
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
