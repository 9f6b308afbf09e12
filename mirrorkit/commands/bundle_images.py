"""`mirrorkit bundle-images`: the images an operator bundle names, without podman or yq.

Replaces the RHDH docs' `podman create` / `podman cp` / `yq` procedure: prints every image reference
found in the bundle's manifests with where it was found (text), the full result (json), or an
`additionalImages` list to paste under `mirror:` in an ImageSetConfiguration (yaml).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import click
import yaml

from mirrorkit.catalog.bundle_image import BundleImages, inspect_bundle
from mirrorkit.commands._args import CheckedCommand
from mirrorkit.oci.client import OciClient
from mirrorkit.oci.platform import Platform


def registry_options(func: click.decorators.FC) -> click.decorators.FC:
    """`--authfile`, `--tls-verify/--no-tls-verify`, `--platform`: shared by commands that read registries."""
    func = click.option(
        "--platform",
        "platform",
        metavar="OS/ARCH",
        default=None,
        help="Platform to pick from multi-arch images [default: linux/amd64].",
    )(func)
    func = click.option(
        "--tls-verify/--no-tls-verify",
        default=True,
        show_default=True,
        help="Verify registry TLS certificates; --no-tls-verify also allows plain-http registries.",
    )(func)
    func = click.option(
        "--authfile",
        type=click.Path(dir_okay=False),
        default=None,
        help="Registry credentials (podman/docker auth.json) [default: $REGISTRY_AUTH_FILE, "
        "${XDG_RUNTIME_DIR}/containers/auth.json, ~/.docker/config.json].",
    )(func)
    return func


def make_client(authfile: str | None, tls_verify: bool) -> OciClient:
    return OciClient(authfile=authfile, tls_verify=tls_verify)


@click.command("bundle-images", cls=CheckedCommand)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...")
@registry_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "yaml"]),
    default="text",
    show_default=True,
    help="text: images and where they were found; json: everything; yaml: an additionalImages snippet.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def bundle_images(
    images: Sequence[str], authfile: str | None, tls_verify: bool, platform: str | None, fmt: str, as_json: bool
) -> None:
    """List the images an operator bundle image names (CSV, deployments, ConfigMaps), without podman."""
    fmt = "json" if as_json else fmt
    wanted = Platform.parse(platform) if platform else None
    client = make_client(authfile, tls_verify)
    results = [inspect_bundle(client, image, platform=wanted) for image in images]
    for result in results:
        for warning in result.warnings:
            click.echo(f"mirrorkit: warning: {result.bundle}: {warning}", err=True)
    if fmt == "json":
        click.echo(json.dumps({"bundles": [r.to_json() for r in results], "images": _union(results)}, indent=2))
    elif fmt == "yaml":
        click.echo(render_additional_images(results), nl=False)
    else:
        click.echo(render_text(results), nl=False)


def _union(results: Sequence[BundleImages]) -> list[str]:
    return sorted({ref for r in results for ref in r.refs})


def render_additional_images(results: Sequence[BundleImages]) -> str:
    """An `additionalImages:` list (paste under `mirror:` of an ImageSetConfiguration)."""
    header = "".join(f"# images named by {r.bundle} ({r.digest})\n" for r in results)
    header += "# paste under `mirror:` in your ImageSetConfiguration\n"
    body = yaml.safe_dump({"additionalImages": [{"name": ref} for ref in _union(results)]}, sort_keys=False)
    return header + body


def render_text(results: Sequence[BundleImages]) -> str:
    lines: list[str] = []
    for result in results:
        package = f" package {result.package}" if result.package else ""
        lines.append(f"# {result.bundle} ({result.digest}){package}: {len(result.images)} images")
        for image in result.images:
            lines.append(image.ref)
            lines.extend(f"    {source}" for source in image.sources)
    return "\n".join(lines) + "\n"
