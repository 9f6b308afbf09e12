"""`mirrorkit keygen`: create the Ed25519 key pair that signs and verifies bundles."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from mirrorkit.bundle.signing import PASSPHRASE_ENV, generate_keypair, passphrase_from
from mirrorkit.commands._args import CheckedCommand
from mirrorkit.errors import InputError
from mirrorkit.report.openssl import FINGERPRINT_RECIPE


@click.command("keygen", cls=CheckedCommand)
@click.option(
    "-o",
    "--output",
    "prefix",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Key name: writes NAME.pem (private, mode 0600) and NAME.pub (public).",
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Protect the private key with the passphrase on this file's first line (or set {PASSPHRASE_ENV}).",
)
@click.option("--prompt", is_flag=True, help="Ask for a passphrase on the terminal.")
@click.option("--force", is_flag=True, help="Replace an existing key pair of that name.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keygen(prefix: Path, passphrase_file: Path | None, prompt: bool, force: bool, as_json: bool) -> None:
    """Create an Ed25519 key pair for signing bundles and print its fingerprint.

    Keep NAME.pem on the connected host (pack --sign-key NAME.pem); carry NAME.pub to the bastion
    separately from the bundle (verify/push --verify-key NAME.pub) and compare the fingerprint.
    """
    passphrase = passphrase_from(passphrase_file)
    if passphrase is None and prompt:
        if not sys.stdin.isatty():
            # Never fall back to an unprotected key when a passphrase was asked for.
            raise InputError(
                "--prompt needs a terminal to ask for the passphrase",
                hint=f"Use --passphrase-file FILE or set {PASSPHRASE_ENV} instead",
            )
        passphrase = click.prompt("Passphrase", hide_input=True, confirmation_prompt=True).encode("utf-8")
    private, public, fp = generate_keypair(prefix, passphrase, force=force)
    # Whoever receives NAME.pub can recompute the fingerprint with openssl alone and compare.
    recipe = FINGERPRINT_RECIPE.replace("NAME.pub", shlex.quote(str(public)))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "private_key": str(private),
                    "public_key": str(public),
                    "fingerprint": fp,
                    "fingerprint_recipe": recipe,
                    "encrypted": passphrase is not None,
                },
                sort_keys=True,
            )
        )
        return
    click.echo(f"private key: {private} (mode 0600{', passphrase-protected' if passphrase else ', NOT passphrase-protected'})")
    click.echo(f"public key:  {public}")
    click.echo(f"fingerprint: {fp}")
    click.echo(f"recompute it without mirrorkit: {recipe}")
