"""`mirrorkit pack`: the connected-side command (profile -> images, plugins -> one sealed bundle)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from mirrorkit.bundle.parts import parse_size
from mirrorkit.bundle.signing import passphrase_from
from mirrorkit.commands._args import Check, CheckedCommand, Raw, exactly_one, http_url, outside
from mirrorkit.commands._knobs import knob_check, knob_options, pop_knobs
from mirrorkit.commands._shared import (
    DISCOVER_RENAMES,
    cache_dir_option,
    file_option,
    oc_mirror_option,
    output_options,
    release_options,
    say_for,
    show_progress,
    tls_option,
)
from mirrorkit.commands.imageset import INSTALL_RENAMES
from mirrorkit.deltapack import BaseKey
from mirrorkit.errors import MirrorkitError
from mirrorkit.pack import PackOptions
from mirrorkit.pack import pack as pack_bundle
from mirrorkit.sizes import human

#: Old spellings still read, with a warning: all were in the 0.1 README or --help.
RENAMES = {**INSTALL_RENAMES, **DISCOVER_RENAMES, "--npm-registry": ("--source-npm",), "--npm": ("--plugin",)}


def _signing(raw: Raw) -> Iterator[str]:
    """An unsigned bundle is refused at the bastion by default: say so here, before hours of mirroring."""
    if not raw.get("sign_key") and not raw.get("unsigned"):
        yield "pack signs the bundle: pass --sign-key KEY.pem (from 'mirrorkit keygen'), or --unsigned to write one push refuses unless --allow-unsigned"
    if raw.get("sign_key") and raw.get("unsigned"):
        yield "--sign-key and --unsigned contradict each other: pass one"


def bundle_folder(below: str = "") -> Check:
    """The output folder (or, for sync, its *below* folder, the release record) is new, empty or an
    earlier bundle: checked before any catalog is read."""

    def check(raw: Raw) -> Iterator[str]:
        from mirrorkit.pack import check_output

        if raw.get("output"):
            folder = Path(str(raw["output"])).absolute()
            try:
                check_output(folder / below if below else folder)
            except MirrorkitError as exc:
                text = str(exc).rstrip(".")
                yield text.replace("--output ", "--output's ", 1) if below else text

    return check


def source_options(params: Mapping[str, Any], **extra: Any) -> PackOptions:
    """pack's options from the parameters pack and sync spell alike (release_options, -o, --npmrc,
    --authfile, TLS, --oc-mirror, --cache-dir, -j); *extra* sets the rest."""
    return PackOptions(
        output=params["output"],
        profile=params["profile"],
        config=params["config"],
        ocp=params["ocp"],
        install=params["install"],
        extra_images=params["extra_images"],
        inspect_bundles=params["discover"],
        npm_packages=params["plugins"],
        npm_registry=params["source_npm"],
        npmrc=params["npmrc"],
        authfile=params["authfile"],
        tls_verify=params["tls_verify"],
        oc_mirror=params["oc_mirror"],
        cache_dir=params["cache_dir"],
        jobs=params["jobs"],
        **extra,
    )


def base_key(base: Path | None, verify_key: Path | None, sign_key: Path | None, passphrase: bytes | None) -> BaseKey | None:
    """How --base's signature is checked: --base-verify-key, else the key this pack signs with (one
    key usually signs every release), else (an unsigned pack) not at all: its sha256 is recorded."""
    if base is None:
        return None
    if verify_key is not None:
        return BaseKey(verify_key)
    return BaseKey(sign_key, private=True, passphrase=passphrase) if sign_key is not None else None


def _base_key_alone(raw: Raw) -> Iterator[str]:
    if raw.get("base_verify_key") and not raw.get("base"):
        yield "--base-verify-key checks the signature of --base: pass --base too"


def _split(raw: Raw) -> Iterator[str]:
    if raw.get("split_size"):
        try:
            parse_size(str(raw["split_size"]))
        except MirrorkitError as exc:
            yield f"--split-size: {str(exc).rstrip('.')}"


CHECKS = (
    exactly_one(("profile", "--profile"), ("config", "--config")),
    _signing,
    http_url("source_npm", "--source-npm"),
    outside("cache_dir", "--cache-dir", "output"),
    bundle_folder(),
    _split,
    _base_key_alone,
    outside("base", "--base", "output"),  # a delta written over its base would lose the base
    knob_check,
)


@click.command("pack", cls=CheckedCommand, renamed=RENAMES, checks=CHECKS)
@release_options
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Bundle directory to write (new, empty, or an earlier bundle to update).",
)
@file_option("--npmrc", ".npmrc with registries and tokens.")
@file_option("--authfile", "Registry credentials (default: $REGISTRY_AUTH_FILE, then podman's and docker's files).")
@tls_option("the source registries")
@oc_mirror_option
@cache_dir_option("the work folder beside the bundle")
@click.option(
    "--sign-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Ed25519 private key from 'mirrorkit keygen' (pack refuses to write an unsigned bundle without it).",
)
@click.option("--unsigned", is_flag=True, help="Write the bundle without a signature (push then needs --allow-unsigned).")
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Passphrase of --sign-key (or set MIRRORKIT_KEY_PASSPHRASE).",
)
@click.option("--split-size", metavar="SIZE", help="Also write the bundle as numbered parts of this size, e.g. 4GiB.")
@click.option(
    "--base",
    type=click.Path(exists=True, path_type=Path),
    metavar="BUNDLE|MANIFEST",
    help="Write a delta: carry only what this earlier bundle does not. Its folder: images and layers it loaded "
    "are left out; its manifest.json alone: whole images only.",
)
@click.option(
    "--base-verify-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Public key the --base manifest must be signed with (default: --sign-key's own; with --unsigned, unchecked).",
)
@knob_options(since=True)
@output_options(jobs=8, jobs_help="Parallel downloads and lookups.")
def pack(
    profile: str | None,
    config: Path | None,
    ocp: str | None,
    install: str,
    extra_images: tuple[str, ...],
    discover: bool,
    plugins: tuple[str, ...],
    source_npm: str | None,
    output: Path,
    npmrc: Path | None,
    authfile: Path | None,
    tls_verify: bool,
    oc_mirror: Path | None,
    cache_dir: Path | None,
    sign_key: Path | None,
    passphrase_file: Path | None,
    unsigned: bool,
    split_size: str | None,
    base: Path | None,
    base_verify_key: Path | None,
    jobs: int,
    quiet: bool,
    progress: bool | None,
    as_json: bool,
    **knobs: Any,
) -> None:
    """Build a signed, checksummed transfer bundle: images (via oc-mirror), NPM plugins, manifest."""
    passphrase = passphrase_from(passphrase_file) if sign_key else None
    opts = source_options(
        click.get_current_context().params,
        sign_key=sign_key,
        passphrase=passphrase,
        split_size=parse_size(split_size) if split_size else None,
        progress=show_progress(progress, quiet, as_json),
        ocmirror_knobs=pop_knobs(knobs),
        base=base,
        base_key=base_key(base, base_verify_key, sign_key, passphrase),
    )
    result = pack_bundle(opts, say=say_for("pack", quiet))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        return
    m = result.manifest
    click.echo(
        f"bundle {result.bundle}: {len(m.files)} files, {human(m.total_size)}, {len(m.images)} images, {len(m.npm)} npm packages"
    )
    click.echo(f"manifest sha256 {m.sha256()}")
    if m.base is not None:
        click.echo(
            f"delta on base {m.base.manifest_sha256}: {len(m.base.images)} images and {len(m.base.npm)} npm packages left to it"
        )
    click.echo(
        f"signed by {result.signer}" if result.signer else "NOT SIGNED (--unsigned): push refuses it unless --allow-unsigned"
    )


__all__ = ["pack"]
