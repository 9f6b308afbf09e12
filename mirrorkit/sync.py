"""`mirrorkit sync`: the partially disconnected flow, for a bastion that reaches both sides.

Where the bastion can reach the source registries and the disconnected registry at once, a bundle on
a disk is a detour: oc-mirror's mirror-to-mirror copies every image straight across. What a site
still needs is everything else pack and push do, and this module does it by running *their* steps,
not copies of them, so the two ways across give the same plan, the same refusals and the same files:

1. pack's planning: settle the ImageSetConfiguration (profile, discovery, plugins), oc-mirror's dry
   run, every image resolved to its digest and labelled, the plan compared with oc-mirror's mapping;
2. the npm plugins pulled from the source with their integrity (into the release record, see below),
   before anything is written to a target;
3. push's pre-flight: the registry, the npm server and the disk answer, or nothing is written;
4. oc-mirror mirror-to-mirror between two pictures of the target registry that push's reconciliation
   compares (the target holds what the plan pins and nothing else);
5. the release record sealed in ``OUTPUT/release/``: manifest.json (every image by digest, every
   plugin by integrity, the ImageSetConfiguration, the charts), the charts and the npm tarballs, an
   SBOM; no image archives (that is the point) and no signature (nothing crossed a gap: the record
   is written and read on this host). It is checked as verify checks a bundle, and those checks
   join the report as a bundle's do in push's. ``mirrorkit verify OUTPUT/release --allow-unsigned
   --target-registry ... --target-npm ...`` checks the targets against it later, as INSTALL.md says;
6. push's last steps, unchanged: the plugins published, values.yaml, the dynamic-plugins ConfigMap,
   the cluster resources, the charts, INSTALL.md, the target verification and report.{json,md,html}.

Every failure after the pre-flight still writes the report (the step that failed, what was written);
every step is safe to repeat, so the same command finishes an interrupted run.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mirrorkit import __version__
from mirrorkit.bundle import layout
from mirrorkit.bundle.build import check_free_space
from mirrorkit.bundle.carried import from_manifest
from mirrorkit.bundle.manifest import FileEntry, Manifest, utc_now
from mirrorkit.bundle.verify import verify_bundle
from mirrorkit.diskspace import is_no_space, no_space
from mirrorkit.errors import BundleError, InputError, MirrorkitError
from mirrorkit.oci.client import OciClient
from mirrorkit.ocmirror import MirrorToMirrorOptions, Target, find_oc_mirror, mirror_to_mirror
from mirrorkit.ocmirror.result import ClusterResource
from mirrorkit.outlock import folder_lock
from mirrorkit.pack import (
    NPM_ALLOWANCE,
    NpmPayload,
    PackOptions,
    PackRun,
    Payload,
    check_output,
    copy_charts,
    forget_earlier_runs,
    plan_mapping,
    pull_npm,
    resolve_images,
    seal_payload,
    settle_plan,
    unseal,
    write_config,
)
from mirrorkit.preflight import preflight
from mirrorkit.provenance import rebuilt_catalogs
from mirrorkit.push import (
    CLUSTER_RESOURCES,
    WORK,
    Load,
    PushOptions,
    PushResult,
    Reconciler,
    failure_report,
    load_options,
    loading,
    preflight_targets,
    publish_npm,
    raise_for_load,
    save_reports,
    verify_targets,
    write_cluster_resources,
    write_install_files,
)
from mirrorkit.report.model import BundleIdentity, CheckItem, Report, Status
from mirrorkit.report.provenance import Provenance
from mirrorkit.steps import Steps

#: The release record's folder in the output folder (a bundle without image archives).
RECORD = "release"
RESUME_HINT = (
    "Run the same sync command again to finish: oc-mirror skips images the registry has, publishing "
    "skips packages already there, and the install files, the record and the report are rewritten"
)


@dataclass(frozen=True)
class SyncOptions:
    """pack's options for the source side and push's for the target side, with their meanings. The
    output folder is *target*'s; sync puts the record where pack's output and push's bundle would be
    (``OUTPUT/release``), and the record is never signed (it does not leave the host)."""

    source: PackOptions
    target: PushOptions

    def sides(self, output: Path) -> tuple[PackOptions, PushOptions]:
        """(pack's, push's) options for the run writing into *output*."""
        record = output / RECORD
        target = dataclasses.replace(self.target, bundle=record, output=output, verify_key=None, allow_unsigned=True)
        return dataclasses.replace(self.source, output=record, sign_key=None, split_size=None, base=None), target


def sync(opts: SyncOptions, say: Callable[[str], None] = lambda _msg: None) -> PushResult:
    """Plan, mirror to mirror, publish, write the install files and verify the targets (see the
    module docstring). Ctrl-C leaves as :class:`~mirrorkit.errors.Interrupted` naming the step."""
    with Steps("sync", RESUME_HINT, say) as step:
        output = Path(opts.target.output).absolute()
        target = Target.parse(opts.target.registry)
        source, load = opts.sides(output)
        if source.cache_dir is not None and Path(source.cache_dir).absolute() == output / RECORD:
            raise InputError(f"--cache-dir {source.cache_dir} is sync's release record", hint="choose another folder")
        output.mkdir(parents=True, exist_ok=True)
        with folder_lock(output, "sync"):
            try:
                return _sync(source, load, say, step, target)
            except OSError as exc:
                if not is_no_space(exc):
                    raise
                raise no_space(output, 0, step.current, "--output") from None


@dataclass(frozen=True)
class _Source:
    """What the source side settled before any target is contacted."""

    run: PackRun
    payload: Payload
    npm: NpmPayload
    warnings: tuple[str, ...]


def _sync(source: PackOptions, opts: PushOptions, say: Callable[[str], None], step: Steps, target: Target) -> PushResult:
    output = Path(opts.output)
    record, work = output / RECORD, output / WORK
    check_output(record)  # an output folder whose release/ is not sync's own is refused before any work
    planned = _plan_source(source, say, step, work)
    provisional = _provisional_manifest(planned)

    step("checking every target before writing (pre-flight)", "checking the registry, the npm server and the disk")
    checks = [*_plan_items(planned), *preflight(provisional, preflight_targets(opts, output, work))]
    if any(i.failed for i in checks):
        refused = _report("mirrorkit sync: pre-flight (nothing was mirrored)", provisional, record, checks, sealed=False)
        return PushResult(refused, save_reports(refused, output), touched_targets=False)

    run = Load(opts, provisional, "", target, output, work, command="sync")
    first = _report("mirrorkit sync", provisional, record, checks, sealed=False)
    try:
        manifest, resources = _mirror(run, step, planned)
        run = dataclasses.replace(run, manifest=manifest, manifest_sha256=manifest.sha256())
        first = _report("mirrorkit sync", manifest, record, [*_record_items(record, manifest), *checks])
        index = publish_npm(run, step, record) if manifest.npm else None
        write_install_files(run, step, record, index, resources)
        step("verifying the targets", "verifying the targets")
        final = dataclasses.replace(verify_targets(run, first), title="mirrorkit sync: target verification")
        return PushResult(final, save_reports(final, output), touched_targets=True, written=tuple(run.written))
    except (MirrorkitError, KeyboardInterrupt) as exc:
        save_reports(failure_report(first, step.current, exc, run), output)
        raise


def _plan_source(pack_opts: PackOptions, say: Callable[[str], None], step: Steps, work: Path) -> _Source:
    """pack's steps 1-3 and its npm pull, into the record: nothing is written to a target yet."""
    record = Path(pack_opts.output)
    client = OciClient(authfile=pack_opts.authfile, tls_verify=pack_opts.tls_verify)
    step("settling the ImageSetConfiguration (nothing written yet)")
    plan = settle_plan(pack_opts, client, say)
    tool = find_oc_mirror(pack_opts.oc_mirror)
    work.mkdir(parents=True, exist_ok=True)
    record.mkdir(parents=True, exist_ok=True)
    unseal(record)  # an earlier run's record must not describe this run's files
    run = PackRun(pack_opts, record, work, client, plan, tool, write_config(pack_opts, record, work, plan), say)
    step("planning with oc-mirror (dry run)", f"planning with oc-mirror {tool.version or '(unknown version)'} (dry run)")
    images, warnings = resolve_images(run, plan_mapping(run))
    check_free_space(record, NPM_ALLOWANCE * len(plan.npm_specs))
    npm = NpmPayload()
    if plan.npm_specs:
        step("pulling npm packages from the source (nothing written to a target yet)")
        npm = pull_npm(run)
    return _Source(run, Payload(images, frozenset()), npm, tuple(warnings))


def _plan_items(source: _Source) -> list[CheckItem]:
    """Where oc-mirror's mapping and mirrorkit's plan disagree (pack prints these and returns them in
    its --json; sync has no pack result, so its report keeps them), one warning each."""
    return [
        CheckItem("plan", "oc-mirror's mapping vs mirrorkit's plan", "the same images", "differs", Status.WARNING, warning)
        for warning in source.warnings
    ]


def _provisional_manifest(source: _Source) -> Manifest:
    """The release as planned, for the pre-flight and the target's first picture: images by digest
    (the rebuilt catalogs' digests are known after the mirror), the pulled tarballs by size."""
    run = source.run
    tarballs = tuple(FileEntry(e.file, (run.output / e.file).stat().st_size, "") for e in source.npm.entries)
    return Manifest(
        created=utc_now(),
        mirrorkit_version=__version__,
        profile=run.plan.profile,
        imageset_config=run.plan.isc_text,
        oc_mirror_version=run.tool.version or "",
        images=source.payload.images,
        npm=tuple(sorted(source.npm.entries)),
        files=tarballs,
    )


def _mirror(run: Load, step: Steps, source: _Source) -> tuple[Manifest, tuple[ClusterResource, ...]]:
    """oc-mirror mirror-to-mirror between the registry's two pictures, then the record sealed with
    the rebuilt catalogs' digests and the charts oc-mirror pulled; returns it and the cluster resources."""
    plan = source.run
    opts = run.opts
    tool = plan.tool
    workspace = run.work / "m2m"
    working_dir = workspace / "working-dir"
    forget_earlier_runs(working_dir)  # an earlier run's charts would join this release's
    shutil.rmtree(working_dir / CLUSTER_RESOURCES, ignore_errors=True)  # nor its catalog sources
    options = load_options(
        run, MirrorToMirrorOptions, config=plan.plan_options.config, workspace=workspace, src_tls_verify=opts.tls_verify
    )
    reconciler = Reconciler.start(run)
    step(
        "mirroring images into the registry (oc-mirror mirror-to-mirror)",
        loading(run, tool, options, f"mirroring {len(source.payload.images)} images"),
    )
    result = mirror_to_mirror(tool, options, progress=opts.progress)
    raise_for_load(result)
    step("sealing the release record (manifest, charts, npm tarballs)")
    images = rebuilt_catalogs(source.payload.images, plan.plan.config, working_dir)
    charts = copy_charts(working_dir, plan.output / layout.CHARTS_DIR)
    _, manifest = seal_payload(plan, Payload(images, frozenset(charts)), source.npm)
    step("checking the target's tags against the manifest")
    reconciler.finish(dataclasses.replace(run, manifest=manifest))  # its checks list is run's own
    return manifest, write_cluster_resources(run, result)


def _record_items(record: Path, manifest: Manifest) -> list[CheckItem]:
    """The record checked as verify checks a bundle (its files, the npm index, the SBOM), so the
    report describes it as push's describes a bundle. Not the signature: the record is not signed
    (written and read on this host), which INSTALL.md's ``--allow-unsigned`` says where it is used."""
    checked = verify_bundle(record, progress=False)
    if checked.identity.manifest_sha256 != manifest.sha256():
        raise BundleError(f"{record / layout.MANIFEST} changed while sync was writing it", hint="run sync again")
    return [i for i in checked.items if i.category != "signature"]


def _report(title: str, manifest: Manifest, record: Path, items: list[CheckItem], *, sealed: bool = True) -> Report:
    """A report of this release with *items* so far, identified by its record's manifest once sealed."""
    identity = BundleIdentity(
        manifest_sha256=manifest.sha256() if sealed else "",
        profile=manifest.profile,
        created=manifest.created,
        path=str(record),
    )
    return Report(
        title,
        identity,
        None,
        tuple(items),
        provenance=Provenance.here(oc_mirror_version=manifest.oc_mirror_version, targets=()),
        carried=from_manifest(manifest),
    )


__all__ = ["RECORD", "SyncOptions", "sync"]
