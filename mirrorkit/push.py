"""`mirrorkit push`: load a verified bundle into the bastion's registry and npm server.

Order matters and is the point of this module:

1. verify the whole bundle (signature when a key is given, every file, the parts). If anything
   fails, the report is written to the output folder and **no registry or npm server is contacted**;
2. a bundle carried as parts only is reassembled into the work folder (and verified again there);
3. oc-mirror disk-to-mirror loads the archives into the target registry. It runs in a work folder
   that links to the bundle's archives, so the bundle itself is never written to;
4. the npm tarballs are published (idempotent: already-present versions with our integrity pass);
5. values.yaml, the dynamic-plugins ConfigMap and oc-mirror's cluster resources are written, the
   Helm charts are handed out and INSTALL.md, the runbook for this bundle and these targets
   (:mod:`mirrorkit.install`);
6. the targets are checked (every image in the registry by digest, every package served with its
   integrity) and those items join step 1's bundle checks in the final report: no byte is hashed twice.

Every step is safe to repeat, so a re-run after an interruption finishes the job without
duplicating it: oc-mirror skips blobs the registry has, publishing skips versions already there.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mirrorkit.bundle import layout
from mirrorkit.bundle.manifest import Manifest
from mirrorkit.bundle.mirrorsets import MirrorSets
from mirrorkit.bundle.targets import image_checker, npm_checker
from mirrorkit.bundle.verify import reassemble, target_items, verify_bundle
from mirrorkit.errors import InputError, NpmError
from mirrorkit.fsutil import atomic_write_bytes
from mirrorkit.install import hand_out_charts, install_context, write_runbook
from mirrorkit.npm.index import read_index
from mirrorkit.npm.publish import publish_packages
from mirrorkit.ocmirror.result import ClusterResource
from mirrorkit.ocmirror import DiskToMirrorOptions, Target, disk_to_mirror, find_oc_mirror, raise_for_result
from mirrorkit.report import write_reports
from mirrorkit.report.model import Report
from mirrorkit.steps import Steps
from mirrorkit.values import write_dynamic_plugins_configmap, write_values

WORK = ".mirrorkit-work"
VALUES = "values.yaml"
CONFIGMAP = "dynamic-plugins.yaml"
CLUSTER_RESOURCES = "cluster-resources"


@dataclass(frozen=True, kw_only=True)
class PushOptions:
    bundle: Path
    registry: str
    npm_registry: str
    output: Path
    verify_key: Path | None = None
    authfile: Path | None = None
    tls_verify: bool = True
    npm_token: str | None = field(default=None, repr=False)
    npmrc: Path | None = None
    oc_mirror: Path | None = None
    cache_dir: Path | None = None
    values_in: Path | None = None
    jobs: int = 4
    progress: bool = True


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


def _payload_tree(bundle: Path, manifest: Manifest, work: Path, opts: PushOptions, say: Callable[[str], None]) -> Path:
    """The directory holding the payload files: the bundle itself, or its parts reassembled."""
    if all((bundle / f.path).is_file() for f in manifest.files):
        return bundle
    tree = work / "bundle"
    if tree.is_dir():
        again = verify_bundle(tree, verify_key=opts.verify_key, progress=opts.progress)
        if again.ok and (tree / layout.MANIFEST).read_bytes() == (bundle / layout.MANIFEST).read_bytes():
            say(f"reusing the reassembled bundle in {tree}")
            return tree
        shutil.rmtree(tree)
    say(f"reassembling the bundle from its parts into {tree}")
    reassemble(bundle, tree, verify_key=opts.verify_key, progress=opts.progress)
    return tree


def _link_archives(tree: Path, manifest: Manifest, archives: Path) -> int:
    """Point oc-mirror at the bundle's archives without letting it write into the bundle."""
    archives.mkdir(parents=True, exist_ok=True)
    for stale in archives.glob("mirror_*.tar"):
        stale.unlink()
    count = 0
    for entry in manifest.files:
        name = Path(entry.path).name
        if entry.path.startswith(layout.IMAGES_DIR + "/") and name.startswith("mirror_") and name.endswith(".tar"):
            (archives / name).symlink_to((tree / entry.path).absolute())
            count += 1
    return count


def _mirror_sets(resources: Path) -> MirrorSets | None:
    """The IDMS/ITMS this push's disk-to-mirror wrote (the final check follows them), if any."""
    try:
        return MirrorSets.load(resources) if resources.is_dir() else None
    except InputError:
        return None  # no mirror set among them: every image falls back to the path convention


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
    bundle, output = Path(opts.bundle), Path(opts.output)
    target = Target.parse(opts.registry)  # a malformed --registry fails before any work
    layout.check_outside(output, bundle, "--output")
    if opts.cache_dir is not None:
        layout.check_outside(opts.cache_dir, bundle, "--cache-dir")
    output.mkdir(parents=True, exist_ok=True)
    step("verifying the bundle (nothing pushed yet)", "verifying the bundle before touching any registry")
    first = verify_bundle(bundle, verify_key=opts.verify_key, jobs=None, progress=opts.progress,
                          title="mirrorkit push: bundle verification (nothing was pushed)")
    if not first.ok:
        return PushResult(first, write_reports(first, output), touched_targets=False)

    manifest = Manifest.from_bytes((bundle / layout.MANIFEST).read_bytes())
    work = output / WORK
    step("reassembling the bundle from its parts (nothing pushed yet)")
    tree = _payload_tree(bundle, manifest, work, opts, say)
    written: list[Path] = []
    resources_written: tuple[ClusterResource, ...] = ()

    archives = work / "archives"
    if _link_archives(tree, manifest, archives):
        tool = find_oc_mirror(opts.oc_mirror)
        # oc-mirror unpacks each run's working-dir/ here: an earlier push's cluster resources (another
        # bundle's catalog sources, say) must not be handed on as this bundle's.
        shutil.rmtree(archives / "working-dir" / CLUSTER_RESOURCES, ignore_errors=True)
        step("loading images into the registry (oc-mirror disk-to-mirror)",
             f"loading images into {target} with oc-mirror {tool.version or ''}".rstrip())
        result = disk_to_mirror(tool, DiskToMirrorOptions(
            config=tree / layout.ISC, archive_dir=archives, target=target, authfile=opts.authfile,
            cache_dir=opts.cache_dir or work / "cache", dest_tls_verify=opts.tls_verify,
        ), progress=opts.progress)
        raise_for_result(result)
        resources = output / CLUSTER_RESOURCES
        if resources.exists():
            shutil.rmtree(resources)
        for source in sorted({r.path for r in result.cluster_resources}):
            dest = resources / source.name
            atomic_write_bytes(dest, source.read_bytes())
            written.append(dest)
        resources_written = result.cluster_resources

    if manifest.npm:
        index = read_index(tree / layout.NPM_DIR)
        step("publishing npm packages", f"publishing {len(index.entries)} npm package(s) to {opts.npm_registry}")
        published = publish_packages(index, opts.npm_registry, token=opts.npm_token, npmrc=opts.npmrc,
                                     jobs=opts.jobs, progress=opts.progress)
        if not published.ok:
            detail = "; ".join(f"{r.name}@{r.version}: {r.reason}" for r in published.failed)
            raise NpmError(f"{len(published.failed)} npm package(s) could not be published", detail,
                           "fix the cause and run push again (published packages are kept)")
        step("writing values.yaml and the dynamic-plugins ConfigMap")
        written.append(write_values(index, opts.npm_registry, output / VALUES, opts.values_in))
        written.append(write_dynamic_plugins_configmap(index, opts.npm_registry, output / CONFIGMAP))

    step("writing the charts and the install runbook")
    written.extend(hand_out_charts(tree, manifest, output))
    written.append(write_runbook(install_context(manifest, output=output, registry=str(target), npm_registry=opts.npm_registry,
                                                 resources=resources_written, written=written), output))

    step("verifying the targets", "verifying the targets")
    # The bundle's own checks were done (and passed) before anything was pushed: the final report
    # carries those items and adds the target checks, instead of hashing every byte a second time.
    targets = target_items(
        manifest,
        image_checker=image_checker(str(target), mirror_sets=_mirror_sets(output / CLUSTER_RESOURCES),
                                    authfile=opts.authfile, tls_verify=opts.tls_verify),
        npm_checker=npm_checker(opts.npm_registry, token=opts.npm_token, npmrc=opts.npmrc),
    )
    final = dataclasses.replace(first, title="mirrorkit push: bundle and target verification",
                                items=first.items + tuple(targets))
    return PushResult(final, write_reports(final, output), touched_targets=True, written=tuple(written))


__all__ = ["PushOptions", "PushResult", "push"]
