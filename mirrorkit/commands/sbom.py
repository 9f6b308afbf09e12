"""`mirrorkit sbom`: hand a bundle's CycloneDX SBOM to a scanner, an auditor or a change board."""

from __future__ import annotations

from pathlib import Path

import click

from mirrorkit.bundle import layout
from mirrorkit.bundle.sbom import FORMATS, bundle_sbom
from mirrorkit.commands._args import CheckedCommand, outside
from mirrorkit.fsutil import atomic_write_text


@click.command("sbom", cls=CheckedCommand, checks=(outside("output", "--output", "bundle"),))
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the SBOM to this file instead of standard output (outside the bundle).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="json",
    show_default=True,
    help="CycloneDX 1.6 JSON (the sealed file, byte for byte) or XML (converted from it).",
)
@click.option(
    "--verify-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Public key the manifest must be signed with before the SBOM is handed out.",
)
def sbom(bundle: Path, output: Path | None, fmt: str, verify_key: Path | None) -> None:
    """Print or write the bundle's SBOM (sbom.cdx.json), refused unless it is the one the manifest pins."""
    if output is not None:
        layout.check_outside(output, bundle, "--output")
    text = bundle_sbom(bundle, fmt, verify_key)
    if output is None:
        click.echo(text, nl=False)
        return
    atomic_write_text(output, text)
    click.echo(f"wrote {output} (CycloneDX 1.6 {fmt.upper()})", err=True)


__all__ = ["sbom"]
