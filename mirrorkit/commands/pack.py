"""`mirrorkit pack`: the connected-side command (profile -> images, plugins -> one sealed bundle)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mirrorkit.bundle.parts import parse_size
from mirrorkit.bundle.signing import passphrase_from
from mirrorkit.commands.imageset import install_option
from mirrorkit.pack import PackOptions
from mirrorkit.pack import pack as pack_bundle


@click.command("pack")
@click.option("--profile", metavar="NAME|FILE", help="A profile from 'mirrorkit profiles' or the path of a profile file.")
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your own ImageSetConfiguration instead of a profile (add plugins with --npm).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Bundle directory to write (new, empty, or an earlier bundle to update).",
)
@click.option("--ocp", metavar="X.Y", help="OpenShift version the operator catalog follows (default: the profile's).")
@install_option
@click.option("--add-image", "extra_images", multiple=True, metavar="REF", help="Another image to mirror (repeatable).")
@click.option(
    "--inspect-bundles/--no-inspect-bundles",
    default=True,
    show_default=True,
    help="Add the images named inside the profile's operator bundle images.",
)
@click.option(
    "--npm",
    "npm_packages",
    multiple=True,
    metavar="SPEC",
    help="Another npm package to carry, e.g. @scope/name@1.2.3 (repeatable).",
)
@click.option("--npm-registry", metavar="URL", help="npm registry to pull from (default: the profile's, then .npmrc).")
@click.option("--npmrc", type=click.Path(exists=True, dir_okay=False, path_type=Path), help=".npmrc with registries and tokens.")
@click.option(
    "--authfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Registry credentials (default: $REGISTRY_AUTH_FILE, then podman's and docker's files).",
)
@click.option("--tls-verify/--no-tls-verify", default=True, show_default=True, help="Verify source registries' TLS certificates.")
@click.option(
    "--oc-mirror", "oc_mirror", type=click.Path(dir_okay=False, path_type=Path), help="oc-mirror binary (default: $PATH)."
)
@click.option(
    "--cache-dir", type=click.Path(file_okay=False, path_type=Path), help="oc-mirror cache (default: beside the bundle)."
)
@click.option(
    "--sign-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Ed25519 private key from 'mirrorkit keygen'.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Passphrase of --sign-key (or set MIRRORKIT_KEY_PASSPHRASE).",
)
@click.option("--split-size", metavar="SIZE", help="Also write the bundle as numbered parts of this size, e.g. 4GiB.")
@click.option("-j", "--jobs", type=click.IntRange(1, 32), default=8, show_default=True, help="Parallel downloads and lookups.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or step messages.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def pack(
    profile: str | None,
    config: Path | None,
    output: Path,
    ocp: str | None,
    install: str,
    extra_images: tuple[str, ...],
    inspect_bundles: bool,
    npm_packages: tuple[str, ...],
    npm_registry: str | None,
    npmrc: Path | None,
    authfile: Path | None,
    tls_verify: bool,
    oc_mirror: Path | None,
    cache_dir: Path | None,
    sign_key: Path | None,
    passphrase_file: Path | None,
    split_size: str | None,
    jobs: int,
    quiet: bool,
    as_json: bool,
) -> None:
    """Build a signed, checksummed transfer bundle: images (via oc-mirror), NPM plugins, manifest."""
    opts = PackOptions(
        output=output,
        profile=profile,
        config=config,
        ocp=ocp,
        install=install,
        extra_images=extra_images,
        inspect_bundles=inspect_bundles,
        npm_packages=npm_packages,
        npm_registry=npm_registry,
        npmrc=npmrc,
        authfile=authfile,
        tls_verify=tls_verify,
        oc_mirror=oc_mirror,
        cache_dir=cache_dir,
        sign_key=sign_key,
        passphrase=passphrase_from(passphrase_file) if sign_key else None,
        split_size=parse_size(split_size) if split_size else None,
        jobs=jobs,
        progress=not quiet,
    )
    result = pack_bundle(opts, say=(lambda m: None) if quiet else (lambda m: click.echo(f"pack: {m}", err=True)))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return
    m = result.manifest
    click.echo(
        f"bundle {result.bundle}: {len(m.files)} files, {m.total_size} bytes, {len(m.images)} images, {len(m.npm)} npm packages"
    )
    click.echo(f"manifest sha256 {m.sha256()}")
    click.echo(
        f"signed by {result.signer}" if result.signer else "NOT SIGNED: pass --sign-key so the bastion can authenticate it"
    )


__all__ = ["pack"]
