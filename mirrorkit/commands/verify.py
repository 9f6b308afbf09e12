"""`mirrorkit verify`: check a bundle (tree or parts) and optionally the targets it was pushed to."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import click

from mirrorkit.bundle import layout
from mirrorkit.bundle.trust import VERIFY_KEY_ENV, default_verify_key, enforce
from mirrorkit.bundle.verify import Checker, reassemble, verify_bundle
from mirrorkit.commands._args import CheckedCommand, http_url, outside, registry_target
from mirrorkit.commands._shared import TARGET_RENAMES, output_options, show_progress, tls_option
from mirrorkit.errors import InputError, MirrorkitError
from mirrorkit.report import json as report_json
from mirrorkit.report import write_reports
from mirrorkit.report.model import BundleIdentity, CheckItem, Report, Status
from mirrorkit.report.text import problem_lines
from mirrorkit.textutil import clip


def _image_checker(
    registry: str | None,
    cluster_resources: Path | None,
    authfile: Path | None,
    tls_verify: bool,
    on_done: Callable[[CheckItem], None] | None = None,
) -> Checker | None:
    """Images present by digest where the IDMS/ITMS in *cluster_resources* send the cluster, else at
    *registry* by oc-mirror's path convention."""
    if not registry and cluster_resources is None:
        return None
    from mirrorkit.bundle.mirrorsets import MirrorSets
    from mirrorkit.bundle.targets import image_checker

    mirror_sets = MirrorSets.load(cluster_resources) if cluster_resources is not None else None
    return image_checker(registry or None, mirror_sets=mirror_sets, authfile=authfile, tls_verify=tls_verify, on_done=on_done)


def _image_progress(bundle: Path) -> Callable[[CheckItem], None]:
    """One stderr line per image looked up in the target (``verify: image 3/120 present: REF``)."""
    from mirrorkit.bundle.manifest import Manifest

    try:
        total = len(Manifest.from_bytes((bundle / layout.MANIFEST).read_bytes()).release_images)
    except (OSError, MirrorkitError):
        total = 0
    done = [0]
    lock = threading.Lock()

    def tell(item: CheckItem) -> None:
        with lock:
            done[0] += 1
            click.echo(f"verify: image {done[0]}/{total or '?'} {item.actual}: {clip(item.subject, 160)}", err=True)

    return tell


def _npm_checker(npm_registry: str | None, npmrc: Path | None) -> Checker | None:
    if not npm_registry:
        return None
    from mirrorkit.bundle.targets import npm_checker

    return npm_checker(npm_registry, npmrc=npmrc)


def _echo_text(report: Report, paths: dict[str, Path] | None) -> None:
    s = report.summary
    for line in problem_lines(report):  # the first 20, then "and N more": the report holds all
        click.echo(line)
    if report.signer_fingerprint:
        click.echo(f"signed by {report.signer_fingerprint} (compare it with the fingerprint 'mirrorkit keygen' printed)")
    click.echo(f"{'OK' if report.ok else 'FAILED'}: {s.text} (manifest sha256 {report.identity.manifest_sha256 or '-'})")
    if paths:
        click.echo(f"report: {paths['html']}")


def _with_bases(
    report: Report, bundle: Path, bases: tuple[Path, ...], verify_key: Path | None, allow_unsigned: bool, jobs: int | None
) -> Report:
    """*report* with the base checks of :mod:`mirrorkit.deltaverify` added; each base is verified
    with the same key policy as the delta. Nothing is read from a manifest that did not verify."""
    import dataclasses
    import hashlib

    from mirrorkit.bundle.manifest import Manifest
    from mirrorkit.deltaverify import base_items

    data = (bundle / layout.MANIFEST).read_bytes() if report.identity.manifest_sha256 else b""
    if (
        not data
        or hashlib.sha256(data).hexdigest() != report.identity.manifest_sha256
        or any(i.failed and i.category in ("signature", "manifest") for i in report.items)
    ):
        return report  # the delta's own manifest failed: its failure is the report

    def check(base: Path) -> Report:
        checked = verify_bundle(base, verify_key=verify_key, jobs=jobs, progress=False)
        return enforce(checked, keyed=verify_key is not None, allow_unsigned=allow_unsigned)

    items = base_items(Manifest.from_bytes(data), bases, check)
    return dataclasses.replace(report, items=report.items + tuple(items))


CHECKS = (
    registry_target("target_registry", "--target-registry"),
    http_url("target_npm", "--target-npm"),
    outside("report_dir", "--report", "bundle"),
    outside("reassemble_to", "--reassemble", "bundle"),
)


@click.command("verify", cls=CheckedCommand, renamed=TARGET_RENAMES, checks=CHECKS)
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--verify-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Public key (NAME.pub) the manifest must be signed with (default: ${VERIFY_KEY_ENV}).",
)
@click.option(
    "--allow-unsigned",
    is_flag=True,
    help="Accept a bundle without a verify key (reported as UNAUTHENTICATED): checksums alone do not show who made the bundle.",
)
@click.option(
    "--target-registry",
    metavar="HOST[:PORT][/PREFIX]",
    help="Also check every image of the bundle is in this registry by digest.",
)
@click.option(
    "--cluster-resources",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Follow the IDMS/ITMS in this folder (push's output or oc-mirror's cluster-resources/) to find each "
    "image; images they do not cover are looked up in --target-registry.",
)
@click.option("--target-npm", metavar="URL", help="Also check every npm package is served there with its recorded integrity.")
@click.option(
    "--authfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Registry auth file for --target-registry (default: oc-mirror's lookup order).",
)
@tls_option("the target registry")
@click.option(
    "--npmrc",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=".npmrc with the token for --target-npm, if it needs one.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write report.json, report.md and report.html into this directory.",
)
@click.option(
    "--reassemble",
    "reassemble_to",
    type=click.Path(file_okay=False, path_type=Path),
    help="When the bundle is carried as parts and verifies, rebuild its directory tree here (a new directory).",
)
@click.option(
    "--base",
    "bases",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="For a delta: a base bundle (repeat for a chain). Checks offline that the bases named by the delta "
    "verify and carry everything it leaves to them: the whole release, not only the delta.",
)
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Hashing threads [default: CPU count].")
@output_options(json_help="Print the report as JSON on stdout.")
def verify(
    bundle: Path,
    verify_key: Path | None,
    allow_unsigned: bool,
    target_registry: str | None,
    cluster_resources: Path | None,
    target_npm: str | None,
    authfile: Path | None,
    tls_verify: bool,
    npmrc: Path | None,
    report_dir: Path | None,
    reassemble_to: Path | None,
    bases: tuple[Path, ...],
    jobs: int | None,
    quiet: bool,
    progress: bool | None,
    as_json: bool,
) -> int:
    """Verify a bundle's signature, files and parts (and optionally the targets); exit 1 on any failure."""
    shown = show_progress(progress, quiet, as_json)
    on_done = _image_progress(bundle) if (shown and target_registry) or (shown and cluster_resources) else None
    try:
        verify_key = default_verify_key(verify_key)
        report = verify_bundle(
            bundle,
            verify_key=verify_key,
            image_checker=_image_checker(target_registry, cluster_resources, authfile, tls_verify, on_done),
            npm_checker=_npm_checker(target_npm, npmrc),
            jobs=jobs,
            progress=shown,
        )
    except MirrorkitError as exc:
        if report_dir is not None:  # a failed verify leaves a report too, saying what stopped it
            write_reports(
                Report(
                    "mirrorkit bundle verification",
                    BundleIdentity(path=str(bundle)),
                    None,
                    (CheckItem("verify", str(bundle), "the verification runs", "error", Status.FAILED, clip(str(exc))),),
                ),
                report_dir,
            )
        raise
    report = enforce(report, keyed=verify_key is not None, allow_unsigned=allow_unsigned)
    if bases:
        report = _with_bases(report, bundle, bases, verify_key, allow_unsigned, jobs)
    paths = write_reports(report, report_dir) if report_dir else None
    if as_json:
        click.echo(report_json.render(report), nl=False)
    else:
        _echo_text(report, paths)
    if not report.ok:
        return 1
    if reassemble_to is not None:
        if not (bundle / layout.PARTS_INDEX).is_file():
            raise InputError(f"{bundle} has no parts to reassemble", hint="--reassemble is for bundles carried as parts/")
        reassemble(bundle, reassemble_to, verify_key=verify_key, progress=shown)
        click.echo(f"reassembled into {reassemble_to}", err=as_json)
    return 0


__all__ = ["verify"]
