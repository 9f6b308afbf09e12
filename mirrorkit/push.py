"""`mirrorkit push`: load a verified bundle into the bastion's registry and npm server.

Order matters and is the point of this module:

1. verify the whole bundle (the signature, every file, the parts, the npm index against the
   manifest); an unsigned bundle is refused unless ``allow_unsigned`` (see
   :mod:`mirrorkit.bundle.trust`). If anything fails, the report is written to the output folder and
   **no registry or npm server is contacted**; then the pre-flight (:mod:`mirrorkit.preflight`):
   every target answers, accepts the credentials and has room, or nothing is written anywhere;
2. a bundle carried as parts only is reassembled into the work folder (and verified again there);
3. oc-mirror disk-to-mirror loads the archives into the target registry. It runs in a work folder
   that links to the bundle's archives, so the bundle itself is never written to;
4. the npm tarballs are published (idempotent: already-present versions with our integrity pass);
5. values.yaml, the dynamic-plugins ConfigMap and oc-mirror's cluster resources are written, the
   Helm charts are handed out and INSTALL.md, the runbook for this bundle and these targets
   (:mod:`mirrorkit.install`);
6. the targets are checked (every image in the registry by digest, every package served with its
   integrity) and those items join step 1's bundle checks in the final report: no byte is hashed twice.

No check-then-use: the manifest push works from is the one whose sha256 the verification reported,
the npm tarballs are copied into the work folder while hashed and published from that copy, and
the ImageSetConfiguration is copied the same way (oc-mirror's archives are read by oc-mirror; every
image they carry is content-addressed and checked by digest in the target afterwards).

Every failure after the verification still writes report.{json,md,html}: the checks so far, the
step that failed, what was written and what was not.

Every step is safe to repeat, so a re-run after an interruption finishes the job without
duplicating it: oc-mirror skips blobs the registry has, publishing skips versions already there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mirrorkit.bundle import layout
from mirrorkit.bundle.consistency import snapshot_file, snapshot_npm
from mirrorkit.bundle.limits import MAX_MANIFEST_BYTES, read_capped
from mirrorkit.bundle.manifest import BaseBlob, Manifest
from mirrorkit.bundle.mirrorsets import MirrorSets
from mirrorkit.bundle.reconcile import RegistryLister, Snapshot, expected_tags, reconcile, take_snapshot
from mirrorkit.bundle.snapshot import archive_entries, remove_archives, snapshot_archives
from mirrorkit.bundle.targets import image_checker, npm_checker, target_root
from mirrorkit.bundle.trust import enforce
from mirrorkit.bundle.verify import Checker, reassemble, target_items, verify_bundle
from mirrorkit.delta import release_view
from mirrorkit.deltablobs import write_completion
from mirrorkit.deltapush import require_base_on_target, with_base_plugins
from mirrorkit.diskspace import is_no_space, no_space, room_for
from mirrorkit.errors import BundleError, CheckFailed, InputError, MirrorError, MirrorkitError, NpmError
from mirrorkit.fsutil import atomic_write_bytes
from mirrorkit.http import RetryPolicy
from mirrorkit.install import hand_out_charts, install_context, write_install_extras, write_runbook
from mirrorkit.install.values import write_dynamic_plugins_configmap, write_values
from mirrorkit.npm.index import NpmIndex
from mirrorkit.npm.publish import publish_packages
from mirrorkit.oci.client import OciClient
from mirrorkit.ocmirror import (
    DiskToMirrorOptions,
    Knobs,
    MirrorToMirrorOptions,
    OcMirror,
    Target,
    disk_to_mirror,
    find_oc_mirror,
    raise_for_result,
)
from mirrorkit.ocmirror.result import ClusterResource, MirrorResult
from mirrorkit.outlock import folder_lock
from mirrorkit.plugins.mirrored import MirroredPlugin, mirrored_catalog_index, mirrored_plugins, with_index_config
from mirrorkit.preflight import Targets, preflight
from mirrorkit.report import markdown, write_reports
from mirrorkit.report.model import CheckItem, Report, Status
from mirrorkit.sizes import human
from mirrorkit.steps import Steps
from mirrorkit.textutil import clip

WORK = ".mirrorkit-work"
#: oc-mirror's retries per image when the registry fails mid-push: a dead registry ends the run
#: after at most PUSH_RETRY_TIMES retries PUSH_RETRY_DELAY_S apart per image (a re-run resumes).
PUSH_RETRY_TIMES = 2
PUSH_RETRY_DELAY_S = 1.0
#: The final target check after the load: a registry that stops answering is given up on after 3
#: attempts over about 1.5 s (plus 5 s connect / 30 s read timeouts), once for the whole check.
TARGET_CHECK_POLICY = RetryPolicy(attempts=3, backoff=0.5, max_backoff=1.0, timeout=(5.0, 30.0))
VALUES = "values.yaml"
CONFIGMAP = "dynamic-plugins.yaml"
CLUSTER_RESOURCES = "cluster-resources"
#: room the install files take in the output folder (values, ConfigMap, charts are counted apart)
INSTALL_FILES_ROOM = 16 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class PushOptions:
    bundle: Path
    registry: str
    npm_registry: str
    output: Path
    verify_key: Path | None = None
    allow_unsigned: bool = False
    authfile: Path | None = None
    tls_verify: bool = True
    npm_token: str | None = field(default=None, repr=False)
    npmrc: Path | None = None
    oc_mirror: Path | None = None
    cache_dir: Path | None = None
    values_in: Path | None = None
    jobs: int = 4
    progress: bool = True
    upgrade_from: str = ""
    #: oc-mirror's tuning flags the user set (mirrorkit.ocmirror.knobs); they override push's retry defaults.
    ocmirror_knobs: Knobs = field(default_factory=Knobs)


@dataclass(frozen=True)
class PushResult:
    """`report` is the final report (or the refusing one when the bundle did not verify)."""

    report: Report
    report_paths: dict[str, Path]
    touched_targets: bool
    written: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_dict(self) -> dict[str, object]:
        s = self.report.summary
        return {
            "ok": self.ok,
            "touched_targets": self.touched_targets,
            "passed": s.passed,
            "failed": s.failed,
            "warnings": s.warnings,
            "written": [str(p) for p in self.written],
            "report": {k: str(v) for k, v in self.report_paths.items()},
        }


@dataclass(frozen=True)
class _Tree:
    """Where the payload files are read from: the bundle itself (anyone may write there, so every
    file push hands on is copied while hashed) or push's own reassembly of the parts (private, and
    verified against the very manifest push verified)."""

    root: Path
    private: bool


def _payload_tree(run: Load, say: Callable[[str], None]) -> _Tree:
    """The directory holding the payload files: the bundle itself, or its parts reassembled."""
    bundle, opts = Path(run.opts.bundle), run.opts
    if not run.parts_only():
        return _Tree(bundle, private=False)
    tree = run.work / "bundle"
    if tree.is_dir():
        again = verify_bundle(tree, verify_key=opts.verify_key, progress=opts.progress)
        if again.ok and again.identity.manifest_sha256 == run.manifest_sha256:
            say(f"reusing the reassembled bundle in {tree}")
            return _Tree(tree, private=True)
        shutil.rmtree(tree)
    say(f"reassembling the bundle from its parts into {tree}")
    need = sum(f.size for f in run.manifest.files)
    with room_for(run.work, need, "reassembling the bundle from its parts"):
        reassemble(bundle, tree, verify_key=opts.verify_key, progress=opts.progress, manifest_sha256=run.manifest_sha256)
    return _Tree(tree, private=True)


def _link_archives(tree: Path, manifest: Manifest, archives: Path) -> int:
    """Point oc-mirror at the archives of push's own reassembled (private, verified) tree."""
    archives.mkdir(parents=True, exist_ok=True)
    remove_archives(archives)
    entries = archive_entries(manifest)
    for entry in entries:
        (archives / Path(entry.path).name).symlink_to((tree / entry.path).absolute())
    return len(entries)


def _stage_archives(run: Load, step: Steps, tree: _Tree, archives: Path) -> int:
    """The archives oc-mirror will read, in *archives*: links into a private tree, or copies of the
    bundle's archives hashed while made and compared with the verified manifest (a file swapped on
    the bundle after verification is refused here, before any image is loaded)."""
    if tree.private:
        return _link_archives(tree.root, run.manifest, archives)
    entries = archive_entries(run.manifest)
    if not entries:
        return 0
    need = sum(e.size for e in entries)
    step(
        "copying the verified archives (nothing pushed yet)",
        f"copying {len(entries)} archive(s), {human(need)}, while hashing them",
    )
    with room_for(archives, need, "copying the archives for oc-mirror"):
        snapshot_archives(tree.root, run.manifest, archives)
    return len(entries)


def mirror_sets_in(resources: Path) -> MirrorSets | None:
    """The IDMS/ITMS this push's disk-to-mirror wrote (the final check follows them), if any."""
    try:
        return MirrorSets.load(resources) if resources.is_dir() else None
    except InputError:
        return None  # no mirror set among them: every image falls back to the path convention


#: the options of the oc-mirror workflows that load the target registry
LoadT = TypeVar("LoadT", DiskToMirrorOptions, MirrorToMirrorOptions)

RESUME_HINT = (
    "Run the same push command again to finish: it verifies the bundle again, skips images and packages "
    "the targets already have and rewrites the install files and the report"
)


def push(opts: PushOptions, say: Callable[[str], None] = lambda _msg: None) -> PushResult:
    """Verify, then load the bundle into the targets, write install files, verify the targets.
    Ctrl-C leaves as :class:`~mirrorkit.errors.Interrupted` naming the step and how to resume."""
    with Steps("push", RESUME_HINT, say) as step:
        return _push(opts, say, step)


def _push(opts: PushOptions, say: Callable[[str], None], step: Steps) -> PushResult:
    """Verify, pre-flight, then load (see the module docstring); each ``step(...)`` names what
    Ctrl-C reports. A refusal before loading writes its report and touches no target; a failure
    while loading still writes the report of what was done."""
    bundle, output, target = _start(opts)
    # the bundle shared (a pack rewriting it refuses, another push of it does not), the output folder
    # exclusive (two pushes writing one install folder would mix their files): taken before verifying
    with folder_lock(bundle, "push", shared=True), folder_lock(output, "push"):
        return _push_locked(opts, say, step, bundle, output, target)


def _push_locked(
    opts: PushOptions, say: Callable[[str], None], step: Steps, bundle: Path, output: Path, target: Target
) -> PushResult:
    step("verifying the bundle (nothing pushed yet)", "verifying the bundle before touching any registry")
    first = _verify(opts, bundle)
    if not first.ok:
        return PushResult(first, save_reports(first, output), touched_targets=False)
    manifest = _verified_manifest(bundle, first)

    step("checking every target before writing (pre-flight)", "checking the registry, the npm server and the disk")
    run = Load(opts, manifest, first.identity.manifest_sha256 or "", target, output, output / WORK)
    first = add_preflight(run, first)
    if not first.ok:
        refused = dataclasses.replace(first, title="mirrorkit push: pre-flight (nothing was pushed)")
        return PushResult(refused, save_reports(refused, output), touched_targets=False)
    if manifest.base is not None:
        step("checking that the target holds the delta's base (nothing pushed yet)")
        _require_base(run)

    try:
        try:
            return _load(run, say, step, first)
        except OSError as exc:
            if not is_no_space(exc):
                raise
            raise no_space(output, 0, step.current, "--output") from None
    except (MirrorkitError, KeyboardInterrupt) as exc:
        save_reports(failure_report(first, step.current, exc, run), output)
        raise


def save_reports(report: Report, output: Path) -> dict[str, Path]:
    """:func:`write_reports`; when the output folder's disk is full, the report goes to stderr
    instead (Markdown) and the push fails with the one-line full-disk error."""
    try:
        return write_reports(report, output)
    except OSError as exc:
        if not is_no_space(exc):
            raise
        sys.stderr.write(markdown.render(report) + "\n")
        raise no_space(output, 1024 * 1024, "writing the report (printed above instead)", "--output") from None


@dataclass(frozen=True, eq=False)
class Load:
    """What the steps after verification share. *written* grows as install files are written, so
    a failure report can list exactly what is already on disk."""

    opts: PushOptions
    manifest: Manifest
    manifest_sha256: str
    target: Target
    output: Path
    work: Path
    written: list[Path] = field(default_factory=list)
    checks: list[CheckItem] = field(default_factory=list)  # made after the load (the target's tags)
    command: str = "push"  # which mirrorkit command wrote the install files (INSTALL.md names it)

    def parts_only(self) -> bool:
        """Whether some payload file is not in the bundle's folder (it came as parts: push
        reassembles them, and the pre-flight counts the room that takes)."""
        bundle = Path(self.opts.bundle)
        return not all((bundle / f.path).is_file() for f in self.manifest.files)


def _start(opts: PushOptions) -> tuple[Path, Path, Target]:
    """The bundle, the output folder (created) and the target registry: a malformed --registry or
    an --output / --cache-dir inside the bundle fails before any work."""
    bundle, output = Path(opts.bundle), Path(opts.output)
    target = Target.parse(opts.registry)
    layout.check_outside(output, bundle, "--output")
    if opts.cache_dir is not None:
        layout.check_outside(opts.cache_dir, bundle, "--cache-dir")
    output.mkdir(parents=True, exist_ok=True)
    return bundle, output, target


def _verify(opts: PushOptions, bundle: Path) -> Report:
    """The whole bundle verified, with the signing policy applied (an unsigned bundle fails unless allowed)."""
    first = verify_bundle(
        bundle,
        verify_key=opts.verify_key,
        jobs=None,
        progress=opts.progress,
        title="mirrorkit push: bundle verification (nothing was pushed)",
    )
    return enforce(first, keyed=opts.verify_key is not None, allow_unsigned=opts.allow_unsigned)


def preflight_targets(opts: PushOptions, output: Path, work: Path, parts_only: bool = False) -> Targets:
    """What the pre-flight probes for *opts* (push's, or sync's target side) writing into *output*."""
    return Targets(
        registry=opts.registry,
        npm_registry=opts.npm_registry,
        authfile=opts.authfile,
        tls_verify=opts.tls_verify,
        npm_token=opts.npm_token,
        npmrc=opts.npmrc,
        cache_dir=opts.cache_dir or work / "cache",
        output=output,
        work=work,
        parts_only=parts_only,
    )


def add_preflight(run: Load, first: Report) -> Report:
    """*first* with the pre-flight items added: every target answers, accepts the credentials and has room."""
    checks = preflight(run.manifest, preflight_targets(run.opts, run.output, run.work, run.parts_only()))
    return dataclasses.replace(first, items=first.items + tuple(checks))


def _verified_manifest(bundle: Path, report: Report) -> Manifest:
    """The manifest push works from: read once more, accepted only if it is the very bytes the
    verification hashed (a manifest swapped after verification is refused, not trusted)."""
    data = read_capped(bundle / layout.MANIFEST, MAX_MANIFEST_BYTES, layout.MANIFEST)
    if hashlib.sha256(data).hexdigest() != report.identity.manifest_sha256:
        raise BundleError(
            f"{bundle / layout.MANIFEST} changed while it was being verified",
            hint="make sure nothing writes to the bundle, copy it again from the connected host and push again",
        )
    return Manifest.from_bytes(data)


def raise_for_load(result: MirrorResult) -> None:
    """:func:`raise_for_result`, led by how hard oc-mirror tried (the count and the time come first:
    the printed line is cut at a readable length, the image list is in the report and the log)."""
    try:
        raise_for_result(result)
    except MirrorError as exc:
        tried = (
            f"oc-mirror retried each image {PUSH_RETRY_TIMES} times and gave up after {PUSH_RETRY_TIMES + 1} "
            f"attempts per image over {result.duration_s:.1f} s"
            if result.failed
            else f"oc-mirror gave up after {result.duration_s:.1f} s (retries: {PUSH_RETRY_TIMES} per image)"
        )
        raise MirrorError(tried, exc.what, exc.hint) from None


def failure_report(first: Report, step: str, exc: BaseException, run: Load) -> Report:
    """The report of a push (or sync: ``run.command``) that failed after verification: the checks so
    far, the failed step, what was written and that the rest was not."""
    why = "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else clip(str(exc))
    command = run.command
    items = [*run.checks, CheckItem(command, step, "done", "failed", Status.FAILED, why)]
    items += [CheckItem("written", str(p), "written", "written", Status.PASSED) for p in run.written]
    items.append(
        CheckItem(
            "written",
            "the rest of the install files",
            "written",
            "not written",
            Status.WARNING,
            f"run {command} again once the cause is fixed: it resumes",
        )
    )
    title = f"mirrorkit {command}: FAILED (see the {command} item)"
    return dataclasses.replace(first, title=title, items=first.items + tuple(items))


def _load(run: Load, say: Callable[[str], None], step: Steps, first: Report) -> PushResult:
    """Steps 2-6 (see the module docstring), after verification and pre-flight passed."""
    step("reassembling the bundle from its parts (nothing pushed yet)")
    tree = _payload_tree(run, say)
    resources = _load_images(run, step, tree)
    index = publish_npm(run, step, tree.root) if run.manifest.npm else None
    index = with_base_plugins(index, run.manifest, run.work / "npm")  # a delta: the base's plugins too
    with room_for(run.output, INSTALL_FILES_ROOM, "writing the install files"):
        write_install_files(run, step, tree.root, index, resources)
    step("verifying the targets", "verifying the targets")
    final = verify_targets(run, first)
    return PushResult(final, save_reports(final, run.output), touched_targets=True, written=tuple(run.written))


def _load_images(run: Load, step: Steps, tree: _Tree) -> tuple[ClusterResource, ...]:
    """oc-mirror disk-to-mirror from verified copies of the archives (see :func:`_stage_archives`),
    the target reconciled with the manifest, then oc-mirror's cluster resources written to the
    output folder; returns them (nothing when the bundle carries no archive)."""
    archives = run.work / "archives"
    try:
        if not _stage_archives(run, step, tree, archives):
            return ()
        _complete_archives(run, step, archives)
        result = _disk_to_mirror(run, step, tree, archives)
    finally:
        if not tree.private:
            remove_archives(archives)  # as large as the bundle, and oc-mirror has unpacked them
    return write_cluster_resources(run, result)


def _complete_archives(run: Load, step: Steps, archives: Path) -> None:
    """A delta whose archives leave blobs to its base: write them, fetched from the target and
    checked by digest, as one more chunk beside the archives (:mod:`mirrorkit.deltablobs`)."""
    blobs = run.manifest.base.blobs if run.manifest.base is not None else ()
    if not blobs:
        return
    need = sum(b.size for b in blobs)
    step(
        "fetching the blobs the delta leaves to its base from the target (nothing pushed yet)",
        f"fetching {len(blobs)} blob(s), {human(need)}, that the delta leaves to its base from {run.target}",
    )
    client = _target_client(run.opts)
    with room_for(archives, need, "completing the delta's archives"):
        write_completion(archives, blobs, client, target_root(run.opts.registry))


def write_cluster_resources(run: Load, result: MirrorResult) -> tuple[ClusterResource, ...]:
    """Copy the cluster resources oc-mirror wrote for this load into ``cluster-resources/`` of the
    output folder (replacing an earlier run's: another bundle's catalog sources must not linger)."""
    resources = run.output / CLUSTER_RESOURCES
    with room_for(run.output, sum(r.path.stat().st_size for r in result.cluster_resources), "writing the cluster resources"):
        if resources.exists():
            shutil.rmtree(resources)
        for source in sorted({r.path for r in result.cluster_resources}):
            dest = resources / source.name
            atomic_write_bytes(dest, source.read_bytes())
            run.written.append(dest)
    return result.cluster_resources


def load_options(run: Load, workflow: type[LoadT], **source: Any) -> LoadT:
    """The options of an oc-mirror run that loads the target (push's disk to mirror, sync's mirror to
    mirror; *source* says what it reads): push's retry defaults, then the oc-mirror knobs the user set."""
    opts = run.opts
    options = workflow(
        target=run.target,
        authfile=opts.authfile,
        cache_dir=opts.cache_dir or run.work / "cache",
        dest_tls_verify=opts.tls_verify,
        retry_times=PUSH_RETRY_TIMES,
        retry_delay_s=PUSH_RETRY_DELAY_S,
        **source,
    )
    return opts.ocmirror_knobs.apply(options)


def loading(run: Load, tool: OcMirror, options: DiskToMirrorOptions | MirrorToMirrorOptions, what: str = "loading images") -> str:
    """The step message of a load: *what* goes where, with which oc-mirror, and how hard it retries."""
    return (
        f"{what} into {run.target} with oc-mirror {tool.version or ''}".rstrip()
        + f" (retries up to {options.retry_times} times per image, {options.retry_delay_s or 0:g} s apart)"
    )


def _disk_to_mirror(run: Load, step: Steps, tree: _Tree, archives: Path) -> MirrorResult:
    """oc-mirror disk-to-mirror of *archives* with the verified configuration, between two pictures
    of the target registry that :mod:`mirrorkit.bundle.reconcile` compares: anything the load
    created that the manifest does not account for fails the push, naming it."""
    opts, manifest, work = run.opts, run.manifest, run.work
    tool = find_oc_mirror(opts.oc_mirror)
    # oc-mirror unpacks each run's working-dir/ here: an earlier push's cluster resources (another
    # bundle's catalog sources, say) must not be handed on as this bundle's.
    shutil.rmtree(archives / "working-dir" / CLUSTER_RESOURCES, ignore_errors=True)
    options = load_options(run, DiskToMirrorOptions, config=run.work / layout.ISC, archive_dir=archives)
    step("loading images into the registry (oc-mirror disk-to-mirror)", loading(run, tool, options))
    isc = manifest.file(layout.ISC)
    with room_for(work, isc.size if isc else 0, "copying the ImageSetConfiguration"):
        config = snapshot_file(tree.root, manifest, layout.ISC, work / layout.ISC)  # the verified bytes, not the USB's
    reconciler = Reconciler.start(run)
    result = disk_to_mirror(tool, dataclasses.replace(options, config=config), progress=opts.progress)
    raise_for_load(result)
    step("checking the target's tags against the manifest")
    reconciler.finish(run)
    return result


@dataclass(frozen=True)
class Reconciler:
    """The target registry's picture before the load, to compare with the one after it."""

    lister: RegistryLister
    repositories: frozenset[str]
    before: Snapshot
    host: str

    @classmethod
    def start(cls, run: Load) -> Reconciler:
        opts = run.opts
        client = _target_client(opts)
        host = run.target.registry
        lister = RegistryLister(client, host)
        repositories = expected_tags(run.manifest, opts.registry).repositories
        return cls(lister, repositories, take_snapshot(lister, repositories), host)

    def finish(self, run: Load) -> None:
        """Add the reconciliation items to *run*; raise :class:`CheckFailed` naming the first
        difference when the target holds anything ``run.manifest`` does not account for (the manifest
        of the run as it ends: mirror to mirror learns the rebuilt catalogs' digests only from the run
        itself; the repositories are those of the start)."""
        after = take_snapshot(self.lister, self.repositories, since=self.before)
        items = reconcile(expected_tags(run.manifest, run.opts.registry), self.before, after, self.host)
        run.checks.extend(items)
        failed = [i for i in items if i.failed]
        if failed:
            more = f" (and {len(failed) - 1} more in the report)" if len(failed) > 1 else ""
            raise CheckFailed(
                f"the target registry holds what the signed manifest does not pin: {failed[0].subject} {failed[0].actual}{more}",
                clip(failed[0].detail, 300),
            )


def publish_npm(run: Load, step: Steps, tree: Path) -> NpmIndex:
    """Publish the npm tarballs from a copy hashed while it was made (never from the USB disk);
    returns the copy's index, what values.yaml pins."""
    opts = run.opts
    step("copying the verified npm tarballs")
    need = sum(f.size for f in run.manifest.files if f.path.startswith(layout.NPM_DIR + "/"))
    with room_for(run.work / "npm", need, "copying the npm tarballs"):
        index = snapshot_npm(tree, run.manifest, run.work / "npm")  # hashed while copied; published from the copy
    step("publishing npm packages", f"publishing {len(index.entries)} npm package(s) to {opts.npm_registry}")
    published = publish_packages(
        index, opts.npm_registry, token=opts.npm_token, npmrc=opts.npmrc, jobs=opts.jobs, progress=opts.progress
    )
    if not published.ok:
        shown = published.failed[:5]  # reasons already start with the package name: never repeat it
        detail = "; ".join(clip(r.reason or f"{r.name}@{r.version}", 200) for r in shown)
        more = f" and {len(published.failed) - 5} more" if len(published.failed) > 5 else ""
        raise NpmError(
            f"{len(published.failed)} npm package(s) could not be published",
            detail + more,
            "fix the cause and run push again (published packages are kept)",
        )
    return index


def write_install_files(
    run: Load, step: Steps, tree: Path, index: NpmIndex | None, resources: tuple[ClusterResource, ...]
) -> None:
    """values.yaml and the dynamic-plugins ConfigMap (when the bundle has npm packages), the charts,
    and last the runbook, which names every file written before it."""
    opts, output, written = run.opts, run.output, run.written
    oci, catalog_index = _mirrored_plugins(run)
    if index is not None or oci:
        step("writing values.yaml and the dynamic-plugins ConfigMap")
        written.append(
            write_values(index, opts.npm_registry, output / VALUES, opts.values_in, oci_plugins=oci, catalog_index=catalog_index)
        )
        written.append(write_dynamic_plugins_configmap(index, opts.npm_registry, output / CONFIGMAP, oci_plugins=oci))
    step("writing the charts and the install runbook")
    charts = hand_out_charts(tree, run.manifest, output)
    written.extend(charts)
    written.extend(
        write_install_extras(
            output,
            run.manifest,
            charts=charts,
            resources=resources,
            index=index,
            npm_registry=opts.npm_registry,
            npm_token=opts.npm_token,
            npmrc=opts.npmrc,
            catalog_index=catalog_index,
        )
    )
    written.append(
        write_runbook(
            install_context(
                run.manifest,
                output=output,
                registry=target_root(opts.registry),
                npm_registry=opts.npm_registry,
                resources=resources,
                written=written,
                upgrade_from=opts.upgrade_from,
                bundle=Path(opts.bundle),
                command=run.command,
                verify_key=opts.verify_key,
                tls_verify=opts.tls_verify,
            ),
            output,
        )
    )


def _mirrored_plugins(run: Load) -> tuple[tuple[MirroredPlugin, ...], str | None]:
    """The bundle's OCI plugins as the cluster will pull them (mirrored, pinned by digest, with the
    configuration the mirrored catalog index gives each) and that index's location, if carried."""
    mirror_sets = mirror_sets_in(run.output / CLUSTER_RESOURCES)
    release = release_view(run.manifest)  # a delta: the plugin images and index its base carried too
    plugins = mirrored_plugins(release, str(run.target), mirror_sets)
    location = mirrored_catalog_index(release, str(run.target), mirror_sets)
    if location is None or not plugins:
        return plugins, location
    client = OciClient(run.opts.authfile, tls_verify=run.opts.tls_verify)
    try:
        return with_index_config(client, location, plugins), location
    except MirrorkitError as exc:
        raise CheckFailed(
            f"the mirrored plugin catalog index {location} cannot be read for its plugin configuration: {exc.what}",
            exc.why,
            "check that the target registry serves it (run verify), then run push again",
        ) from None


def _target_client(opts: PushOptions) -> OciClient:
    """The client of every lookup push makes on the target registry: its credentials, its TLS
    setting and the target-check retry policy."""
    return OciClient(opts.authfile, tls_verify=opts.tls_verify, policy=TARGET_CHECK_POLICY)


def _target_checkers(run: Load) -> tuple[Checker, Checker]:
    """The image checker (by digest, where the cluster's mirror sets send it) and npm checker of the
    target: a delta's base check and the final target check use these very checkers."""
    opts = run.opts
    images = image_checker(
        str(run.target),
        mirror_sets=mirror_sets_in(run.output / CLUSTER_RESOURCES),
        authfile=opts.authfile,
        tls_verify=opts.tls_verify,
        policy=TARGET_CHECK_POLICY,
    )
    return images, npm_checker(opts.npm_registry, token=opts.npm_token, npmrc=opts.npmrc)


def _require_base(run: Load) -> None:
    """A delta refuses (exit 1, before writing) unless the target holds what it leaves to its base:
    its images and plugins, and the blobs its archives leave out (looked up where push will fetch them)."""
    client, root = _target_client(run.opts), target_root(run.opts.registry)

    def has_blob(blob: BaseBlob) -> bool:
        ref = f"{root}/{blob.repository}"
        try:
            if blob.kind == "manifest":
                return client.has_manifest(f"{ref}@{blob.digest}")
            return client.has_blob(ref, blob.digest)
        except MirrorkitError:
            return False  # a registry that does not answer proves nothing

    require_base_on_target(
        run.manifest,
        *_target_checkers(run),
        has_blob,
    )


def verify_targets(run: Load, first: Report) -> Report:
    """The final report: the bundle's own checks were done (and passed) before anything was pushed,
    so it carries those items and adds the target checks, instead of hashing every byte a second time."""
    images, npm = _target_checkers(run)
    targets = target_items(run.manifest, image_checker=images, npm_checker=npm)
    items = first.items + tuple(run.checks) + tuple(targets)
    return dataclasses.replace(first, title="mirrorkit push: bundle and target verification", items=items)


__all__ = ["PushOptions", "PushResult", "preflight_targets", "push"]
