"""`mirrorkit pack`: everything the bastion will need, in one sealed bundle directory.

The steps, in the order that keeps a failure cheap and an interruption harmless:

1. settle the ImageSetConfiguration (a profile, optionally with the images found inside its
   operator bundles, or the user's own file) and the NPM package list;
2. invalidate any earlier seal (manifest, signature, parts) before touching the payload, so an
   interrupted run can never leave a manifest that describes files it no longer matches;
3. ask oc-mirror for its plan (a dry run): the image list with digests, recorded in the manifest;
4. check free disk space against an estimate taken from the registries;
5. run oc-mirror mirror-to-disk, unless the previous bundle already holds archives made from the
   same ImageSetConfiguration and the same image digests and they still hash to what was sealed
   (this is what makes a second `pack` with nothing changed near free);
6. pull the NPM tarballs (already-present tarballs are re-hashed, not re-downloaded);
7. remove payload files this run did not produce (stale archives, dropped packages), then seal:
   hash (with the resume cache), write the manifest, sign, split.

oc-mirror works in a sibling folder (``.NAME.mirrorkit-work``) on the same filesystem so its
``working-dir/``, logs and plan never land in the bundle, and finished archives move in by rename.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mirrorkit import __version__
from mirrorkit.bundle import layout
from mirrorkit.bundle.archives import ArchiveScan
from mirrorkit.bundle.build import check_free_space, hash_payload, scan, seal_bundle
from mirrorkit.bundle.hashcache import HashCache, default_cache_file
from mirrorkit.bundle.hashing import FileHash
from mirrorkit.bundle.manifest import (
    BaseBlob,
    BaseRef,
    FileEntry,
    ImageEntry,
    Manifest,
    NpmPackage,
    PluginRef,
    count_kinds,
    utc_now,
)
from mirrorkit.bundle.signing import fingerprint, load_private_key
from mirrorkit.catalog import Plan as CatalogPlan
from mirrorkit.catalog import compare_mapping
from mirrorkit.delta import Base
from mirrorkit.deltablobs import BaseBlobs, base_blobs, left_out, read_archives, write_history
from mirrorkit.deltapack import (
    BaseKey,
    DeltaSplit,
    carries_images,
    open_base,
    refuse_empty,
    split_npm,
    split_release,
)
from mirrorkit.errors import InputError, MirrorError, MirrorkitError, NpmError
from mirrorkit.fsutil import atomic_write_bytes, atomic_write_text
from mirrorkit.imageset import ImageSetConfig
from mirrorkit.npm.index import INDEX_NAME, NpmIndex, write_index
from mirrorkit.npm.npmrc import NpmSettings
from mirrorkit.npm.pull import pull_packages
from mirrorkit.oci.client import OciClient
from mirrorkit.oci.manifest import Manifest as ImageManifest
from mirrorkit.oci.reference import ImageReference
from mirrorkit.ocmirror import Knobs, MirrorToDiskOptions, OcMirror, dry_run, find_oc_mirror, mirror_to_disk, raise_for_result
from mirrorkit.outlock import folder_lock
from mirrorkit.pinning import TagPin, reconcile_archives, tag_pins
from mirrorkit.plugins.plan import label_plugins
from mirrorkit.plugins.profile import SettledPlugins
from mirrorkit.provenance import Labeller, chart_archives, rebuilt_catalogs, reuse_key
from mirrorkit.settle import settle
from mirrorkit.steps import Steps

log = logging.getLogger(__name__)

#: Headroom on top of the estimate: oc-mirror's tar framing, npm tarballs, the manifest.
SPACE_MARGIN = 1.10
#: Allowance per npm package when the registry does not say how big a tarball is.
NPM_ALLOWANCE = 16 * 1024 * 1024
WORK_SUFFIX = ".mirrorkit-work"
#: In the work folder: the archives an interrupted run already moved into the bundle (see _record_archives).
ARCHIVES_RECORD = "archives.json"


@dataclass(frozen=True, kw_only=True)
class PackOptions:
    """Everything `mirrorkit pack` was asked to do. Exactly one of *profile* and *config*."""

    output: Path
    profile: str | None = None
    config: Path | None = None
    ocp: str | None = None
    install: str = "helm"
    extra_images: tuple[str, ...] = ()
    inspect_bundles: bool = True
    npm_packages: tuple[str, ...] = ()
    npm_registry: str | None = None
    npmrc: Path | None = None
    npm_token: str | None = field(default=None, repr=False)
    authfile: Path | None = None
    tls_verify: bool = True
    oc_mirror: Path | None = None
    cache_dir: Path | None = None
    sign_key: Path | None = None
    passphrase: bytes | None = field(default=None, repr=False)
    split_size: int | None = None
    jobs: int = 8
    progress: bool = True
    #: oc-mirror's tuning flags the user set (mirrorkit.ocmirror.knobs); applied to both oc-mirror runs.
    ocmirror_knobs: Knobs = field(default_factory=Knobs)
    #: A delta (issue 27): the earlier bundle (folder or manifest.json) and how its signature is checked.
    base: Path | None = None
    base_key: BaseKey | None = None

    def __post_init__(self) -> None:
        if (self.profile is None) == (self.config is None):
            raise InputError("pack needs exactly one of --profile and --config", hint="e.g. --profile rhdh-orchestrator-1.8")


@dataclass(frozen=True)
class PackResult:
    bundle: Path
    manifest: Manifest
    archives_reused: bool
    added_images: tuple[str, ...]
    removed_stale: tuple[str, ...]
    signer: str | None
    #: Where oc-mirror's mapping and mirrorkit's catalog plan disagree, one line per image.
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "bundle": str(self.bundle),
            "manifest_sha256": self.manifest.sha256(),
            "profile": self.manifest.profile,
            "files": len(self.manifest.files),
            "bytes": self.manifest.total_size,
            "images": len(self.manifest.images),
            "npm_packages": len(self.manifest.npm),
            "archives_reused": self.archives_reused,
            "added_images": list(self.added_images),
            "removed_stale": list(self.removed_stale),
            "signed_by": self.signer,
            "images_by_kind": count_kinds(self.manifest.images),
            "warnings": list(self.warnings),
        } | (_delta_summary(self.manifest.base) if self.manifest.base is not None else {})


def _delta_summary(base: BaseRef) -> dict[str, object]:
    """A delta's --json extra (a full bundle's output is unchanged)."""
    return {"base": {"manifest_sha256": base.manifest_sha256, "images": len(base.images), "npm_packages": len(base.npm)}}


@dataclass(frozen=True)
class _Plan:
    """What goes into the bundle before any byte is copied."""

    profile: str
    config: ImageSetConfig
    isc_text: str
    npm_specs: tuple[str, ...]
    npm_settings: NpmSettings
    added_images: tuple[str, ...]
    catalog_plan: CatalogPlan | None = None
    #: OCI plugin images, checked to hold their packages, and the catalog index (carried as
    #: additional images, kind plugin); settled by :func:`mirrorkit.settle.settle`.
    plugins: SettledPlugins = dataclasses.field(default_factory=SettledPlugins)


def work_dir_for(output: Path) -> Path:
    """oc-mirror's scratch folder: beside the bundle, on the same filesystem, never inside it."""
    return output.parent / f".{output.name}{WORK_SUFFIX}"


def settle_plan(opts: PackOptions, client: OciClient, say: Callable[[str], None]) -> _Plan:
    settled = settle(
        client=client,
        profile=opts.profile,
        config=opts.config,
        ocp=opts.ocp,
        install=opts.install,
        extra_images=opts.extra_images,
        plugins=opts.npm_packages,
        inspect_bundles=opts.inspect_bundles,
        progress=opts.progress,
        tls_verify=opts.tls_verify,
        say=say,
    )
    settings = NpmSettings.load(
        registry=opts.npm_registry or settled.npm_registry or None, token=opts.npm_token, npmrc=opts.npmrc
    )
    config = settled.config
    return _Plan(
        settled.profile,
        config,
        config.render(),
        settled.npm_specs,
        settings,
        settled.added_images,
        settled.plan,
        settled.plugins,
    )


def check_output(output: Path) -> Manifest | None:
    """The previous bundle's manifest, if *output* holds one; refuse a folder that is not a bundle."""
    if not output.exists():
        return None
    if not output.is_dir():
        raise InputError(f"--output {output} exists and is not a directory", hint="choose a new or empty directory")
    manifest_path = output / layout.MANIFEST
    entries = [p.name for p in output.iterdir()]
    if not entries:
        return None
    if not manifest_path.is_file() and not (output / layout.ISC).is_file():
        raise InputError(
            f"--output {output} is not empty and is not a mirrorkit bundle",
            hint="choose a new or empty directory; pack removes stale files from its own bundles only",
        )
    if not manifest_path.is_file():
        return None  # an interrupted pack: resumable, nothing sealed to compare with
    try:
        return Manifest.from_bytes(manifest_path.read_bytes())
    except MirrorkitError as exc:
        log.info("previous manifest unreadable (%s); starting the bundle afresh", exc)
        return None


def unseal(output: Path) -> None:
    """Remove the seal first: a manifest must never outlive the payload it describes."""
    for name in (layout.SIGNATURE, layout.MANIFEST):
        path = output / name
        if path.exists() or path.is_symlink():
            path.unlink()
    if (output / layout.PARTS_DIR).exists():
        shutil.rmtree(output / layout.PARTS_DIR)


def _image_entries(mapping: Sequence[tuple[str, str]], client: OciClient, jobs: int, plan: _Plan) -> tuple[ImageEntry, ...]:
    """(source, digest, destination repository, kind, provenance) for every planned image; tags
    resolved to digests. A catalog's source keeps the source catalog's digest: the entry's own digest
    becomes the rebuilt catalog's after mirror-to-disk (:func:`mirrorkit.provenance.rebuilt_catalogs`)."""

    label = Labeller(plan.config, plan.catalog_plan)

    def entry(pair: tuple[str, str]) -> ImageEntry:
        source, destination = pair
        src = ImageReference.parse(source)
        dst = ImageReference.parse(destination)
        digest = src.digest or dst.digest or client.resolve_digest(src)
        # The digest is recorded on its own; the source keeps its tag when the plan had one.
        source_name = f"{src.name}:{src.tag}" if src.tag else src.name
        return label(ImageEntry(source=source_name, digest=digest, destination=dst.repository))

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, 8)), thread_name_prefix="resolve") as pool:
        return tuple(sorted(set(pool.map(entry, mapping))))


def _plan_disagreements(plan: _Plan, mapping: Sequence[tuple[str, str]], images: Sequence[ImageEntry]) -> list[str]:
    """Where oc-mirror's mapping and mirrorkit's own plan disagree (two readings of the same catalogs and
    charts must agree). When the plan could not predict chart images (no helm, a chart that did not
    render), oc-mirror's chart images are left out of the comparison: each would be "not predicted",
    which the plan already says once."""
    if plan.catalog_plan is None:
        return []
    if not plan.catalog_plan.charts_unpredicted:
        return compare_mapping(plan.catalog_plan, mapping)

    def key(ref: ImageReference, digest: str | None) -> str:
        return f"{ref.name}:{ref.tag}" if ref.tag else f"{ref.name}@{digest}"

    charts = {key(ImageReference.parse(i.source), i.digest) for i in images if i.kind == "helm"}
    compared = [pair for pair in mapping if key(src := ImageReference.parse(pair[0]), src.digest) not in charts]
    return compare_mapping(plan.catalog_plan, compared)


def _image_bytes(images: Sequence[ImageEntry], client: OciClient, jobs: int) -> int:
    """Sum of manifest, config and layer sizes of every platform of every image (what oc-mirror copies)."""

    def one(manifest: ImageManifest) -> int:
        return len(manifest.raw) + sum(d.size for d in manifest.layers) + (manifest.config.size if manifest.config else 0)

    def size(image: ImageEntry) -> int:
        ref = ImageReference.parse(image.source).with_digest(image.digest)
        top = client.get_top_manifest(ref)
        if not top.is_index:
            return one(top)
        return len(top.raw) + sum(one(client.get_top_manifest(ref.with_digest(child.digest))) for child in top.manifests)

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, 8)), thread_name_prefix="estimate") as pool:
        return sum(pool.map(size, images))


def _archives_reusable(
    previous: Manifest | None, isc_text: str, images: tuple[ImageEntry, ...], output: Path, base: Base | None = None
) -> bool:
    """True when the previous bundle's archives were made from exactly this plan (and, for a delta,
    on the same base: they leave its blobs out) and still hash right."""
    if previous is None or previous.imageset_config != isc_text or reuse_key(previous.images) != reuse_key(images):
        return False
    if (previous.base.manifest_sha256 if previous.base else None) != (base.sha256 if base else None):
        return False
    archived = [f for f in previous.files if f.path.startswith((layout.IMAGES_DIR + "/", layout.CHARTS_DIR + "/"))]
    if not any(f.path.startswith(layout.IMAGES_DIR + "/") for f in archived):
        return False
    sizes: dict[str, int] = {}
    for entry in archived:
        path = output / entry.path
        if not path.is_file() or path.is_symlink() or path.stat().st_size != entry.size:
            return False
        sizes[entry.path] = entry.size
    hashes = _hash_through_cache(output, sizes)
    return all(hashes[e.path].sha256 == e.sha256 for e in archived)


def _hash_through_cache(output: Path, sizes: dict[str, int]) -> dict[str, FileHash]:
    """Hash the files *sizes* names in the bundle at *output* through the resume cache that sealing
    reads, and save what was hashed there: sealing then does not hash them a second time."""
    cache = HashCache.load(default_cache_file(output))
    hashes = hash_payload(output, sizes, cache=cache, progress=False)
    cache.entries.update(hashes)
    cache.save()
    return hashes


def _move_archives(source: Path, images_dir: Path) -> list[str]:
    """Replace the bundle's archives with oc-mirror's fresh ones (rename: same filesystem)."""
    if images_dir.exists():
        shutil.rmtree(images_dir)
    images_dir.mkdir(parents=True)
    moved = []
    for archive in sorted(source.glob("mirror_*.tar")):
        os.replace(archive, images_dir / archive.name)
        moved.append(archive.name)
    if not moved:
        raise MirrorError(
            f"oc-mirror wrote no mirror_*.tar archive in {source}",
            hint="check the oc-mirror log under that folder's mirrorkit-logs/ and run pack again",
        )
    return moved


def copy_charts(working_dir: Path, charts_dir: Path) -> set[str]:
    """Copy the chart archives oc-mirror pulled into the bundle (they also travel inside the mirror
    archive, where only oc-mirror reads them; the bastion installs from ``charts/``)."""
    if charts_dir.exists():
        shutil.rmtree(charts_dir)
    copied = set()
    for chart in chart_archives(working_dir):
        charts_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(chart, charts_dir / chart.name)
        copied.add(f"{layout.CHARTS_DIR}/{chart.name}")
    return copied


def _prune(output: Path, keep: set[str]) -> tuple[str, ...]:
    """Delete payload files this run did not produce; returns what was removed (bundle-relative)."""
    removed = []
    for name in scan(output):
        if name not in keep:
            (output / name).unlink()
            removed.append(name)
    for dirpath, dirnames, filenames in os.walk(output, topdown=False):
        if Path(dirpath) != output and not dirnames and not filenames:
            os.rmdir(dirpath)
    return tuple(removed)


RESUME_HINT = (
    "Run the same pack command again to resume: archives and tarballs that still hash as recorded are "
    "reused, nothing stale is kept, and the bundle is sealed only when everything is in it (do not carry it before)"
)


def pack(opts: PackOptions, say: Callable[[str], None] = lambda _msg: None) -> PackResult:
    """Build, fill and seal the bundle at ``opts.output``; see the module docstring for the steps.
    Ctrl-C leaves as :class:`~mirrorkit.errors.Interrupted` naming the step and how to resume.
    The output folder is locked for the whole run: a second pack or a push there refuses at once."""
    with folder_lock(Path(opts.output), "pack"), Steps("pack", RESUME_HINT, say) as step:
        return _pack(opts, say, step)


def _record_archives(output: Path, work: Path, isc_text: str, payload: Payload, base: BaseRef | None = None) -> None:
    """Remember the archives this run moved into the bundle (hashed now, through the resume cache
    that sealing reads, so nothing is hashed twice) so a run interrupted before sealing can reuse
    them instead of running mirror-to-disk again; a delta's record names its base and the blobs the
    archives leave to it."""
    hashes = _hash_through_cache(output, {name: (output / name).stat().st_size for name in sorted(set(payload.archives))})
    record = Manifest(
        created=utc_now(),
        mirrorkit_version=__version__,
        imageset_config=isc_text,
        images=payload.images,
        files=tuple(FileEntry(h.path, h.size, h.sha256) for h in hashes.values()),
        base=dataclasses.replace(base, blobs=payload.left_blobs) if base is not None else None,
    )
    atomic_write_bytes(work / ARCHIVES_RECORD, record.to_bytes())


def _recorded_archives(work: Path) -> Manifest | None:
    """The archives record of an interrupted run, if any (it is only a hint: reuse re-hashes)."""
    try:
        return Manifest.from_bytes((work / ARCHIVES_RECORD).read_bytes())
    except (OSError, MirrorkitError):
        return None


@dataclass(frozen=True)
class PackRun:
    """What every step after the unsealing works with: where the bundle and oc-mirror's scratch
    folder are, the settled plan, and the oc-mirror options shared by the dry run and the real run."""

    opts: PackOptions
    output: Path
    work: Path
    client: OciClient
    plan: _Plan
    tool: OcMirror
    plan_options: MirrorToDiskOptions
    say: Callable[[str], None]


@dataclass(frozen=True)
class Payload:
    """The bundle-relative files this run put (or kept) in the bundle: pruning keeps exactly these."""

    images: tuple[ImageEntry, ...]
    archives: frozenset[str]
    #: A delta's blobs its archives leave to the base (see :mod:`mirrorkit.deltablobs`).
    left_blobs: tuple[BaseBlob, ...] = ()


@dataclass(frozen=True)
class NpmPayload:
    """The npm files this run wants in the bundle and the manifest entries describing them."""

    keep: frozenset[str] = frozenset()
    entries: tuple[NpmPackage, ...] = ()
    #: A delta's packages its base already carries (not in the bundle; the target must serve them).
    left: tuple[PluginRef, ...] = ()


def _pack(opts: PackOptions, say: Callable[[str], None], step: Steps) -> PackResult:
    """The steps of the module docstring, in order; each ``step(...)`` names what Ctrl-C reports."""
    output, signer = _check_options(opts)
    base = open_base(Path(opts.base), opts.base_key) if opts.base is not None else None  # a bad base fails first
    previous = check_output(output)  # a folder that is not a bundle is refused before any catalog is read
    client = OciClient(authfile=opts.authfile, tls_verify=opts.tls_verify)
    step("settling the ImageSetConfiguration (nothing written yet)")
    plan = settle_plan(opts, client, say)
    tool: OcMirror = find_oc_mirror(opts.oc_mirror)
    work = work_dir_for(output)
    step("unsealing the previous bundle")
    previous = _unseal_keeping_record(output, work, previous)
    run = PackRun(opts, output, work, client, plan, tool, write_config(opts, output, work, plan), say)

    step("planning with oc-mirror (dry run)", f"planning with oc-mirror {tool.version or '(unknown version)'} (dry run)")
    mapping = plan_mapping(run)
    step("resolving image digests and sizes")
    images, warnings = resolve_images(run, mapping)
    split = None
    if base is not None:
        run, split = _as_delta(run, base, images)
        plan, images, warnings = run.plan, split.carried, [*warnings, *split.notes]
    reuse = _archives_reusable(previous, plan.isc_text, images, output, base)
    _check_space(run, images, reuse)

    if reuse:
        assert previous is not None
        payload = _reuse_archives(run, previous)
    elif split is not None and not carries_images(split):
        payload = Payload((), frozenset())  # the base holds every image: no oc-mirror run, plugins only
    else:
        blobs = _base_blobs(run, base, opts.base) if base is not None and opts.base is not None else None
        step("mirroring images to disk (oc-mirror mirror-to-disk)")
        images, working_dir = _mirror_to_disk(run, images, blobs)
        archives = sorted((work / "archive").glob("mirror_*.tar"))
        # a delta's archives are read once, for the blobs they leave to the base and for the pins
        scan = read_archives(archives, {i.digest for i in images}, keep=False) if blobs is not None else None
        left = left_out(scan, blobs) if scan is not None and blobs is not None else ()
        step("checking that the archives hold the pinned images")
        _reconcile(run, archives, images, tag_pins(mapping, images), frozenset(b.digest for b in left), scan)
        step("moving the archives into the bundle")
        payload = _move_into_bundle(run, Payload(images, frozenset(), left), working_dir, split)

    npm = NpmPayload()
    if plan.npm_specs:
        step("pulling npm packages")
        npm = pull_npm(run, base)
    if base is not None:
        refuse_empty(base, split, npm.entries)

    step("sealing the bundle (hashing, manifest, signature, parts)")
    removed, manifest = seal_payload(run, payload, npm, _base_ref(split, npm, payload))
    return PackResult(output, manifest, reuse, plan.added_images, removed, signer, tuple(warnings))


def _base_ref(split: DeltaSplit | None, npm: NpmPayload, payload: Payload) -> BaseRef | None:
    """The delta manifest's ``base``: the images, plugins and blobs this bundle leaves to its base."""
    if split is None:
        return None
    return dataclasses.replace(split.base_ref, npm=npm.left, blobs=payload.left_blobs)


def _base_blobs(run: PackRun, base: Base, given: Path) -> BaseBlobs:
    """The blobs the base put in the target (read from its archives when --base is its folder), said
    to the user: without the base's archives the delta leaves whole images only."""
    found = base_blobs(base.manifest, given if given.is_dir() else None)
    if found.read_archives:
        run.say(f"delta: the base's archives carry {len(found.blobs)} blobs; oc-mirror is told to leave them out")
    else:
        run.say(
            "note: the base's archives are not at hand (--base names a manifest or a bundle without its archives): "
            "the delta leaves whole images to the base, not shared layers"
        )
    return found


def _as_delta(run: PackRun, base: Base, images: tuple[ImageEntry, ...]) -> tuple[PackRun, DeltaSplit]:
    """Leave to *base* what it pins (see :mod:`mirrorkit.deltapack`): oc-mirror and the bundle get
    the reduced ImageSetConfiguration, so the archives and push's disk-to-mirror agree on it."""
    split = split_release(base, images, run.plan.config)
    text = split.config.render()
    atomic_write_text(run.plan_options.config, text)
    atomic_write_text(run.output / layout.ISC, text)
    left = len(images) - len(split.carried)
    run.say(f"delta on base {base.sha256[:12]}: carrying {len(split.carried)} of {len(images)} images, {left} left to the base")
    for note in split.notes:
        run.say(f"note: {note}")
    return dataclasses.replace(run, plan=dataclasses.replace(run.plan, config=split.config, isc_text=text)), split


def _check_options(opts: PackOptions) -> tuple[Path, str | None]:
    """The absolute output path and the signer's fingerprint: a misplaced --cache-dir, a wrong key
    or passphrase fail here, before any work."""
    output = Path(opts.output).absolute()
    if opts.cache_dir is not None:
        layout.check_outside(opts.cache_dir, output, "--cache-dir")
    signer = None
    if opts.sign_key is not None:
        signer = fingerprint(load_private_key(opts.sign_key, opts.passphrase).public_key())
    return output, signer


def _unseal_keeping_record(output: Path, work: Path, previous: Manifest | None) -> Manifest | None:
    """Unseal the bundle, first saving the sealed archives' record in the work folder so a Ctrl-C
    from here on loses nothing; without a sealed bundle, an interrupted run's record stands in.
    Returns what the archives may be reused against."""
    work.mkdir(parents=True, exist_ok=True)
    if previous is None:
        previous = _recorded_archives(work)
    else:
        atomic_write_bytes(work / ARCHIVES_RECORD, previous.to_bytes())
    output.mkdir(parents=True, exist_ok=True)
    unseal(output)
    return previous


def write_config(opts: PackOptions, output: Path, work: Path, plan: _Plan) -> MirrorToDiskOptions:
    """Write the ImageSetConfiguration oc-mirror reads (work folder) and the one the bundle carries;
    returns the options of the dry run (the real run differs only in its archive folder)."""
    isc_path = work / layout.ISC
    atomic_write_text(isc_path, plan.isc_text)
    atomic_write_text(output / layout.ISC, plan.isc_text)
    cache_dir = opts.cache_dir or work / "cache"
    options = MirrorToDiskOptions(
        archive_dir=work / "plan", config=isc_path, authfile=opts.authfile, cache_dir=cache_dir, src_tls_verify=opts.tls_verify
    )
    return opts.ocmirror_knobs.apply(options)


def plan_mapping(run: PackRun) -> tuple[tuple[str, str], ...]:
    """oc-mirror's plan: the (source, destination) pairs it would mirror."""
    planned = dry_run(run.tool, run.plan_options, progress=run.opts.progress)
    # missing.txt lists what the cache lacks (what mirror-to-disk will download), not an error.
    if not planned.result.ok:
        failed = "; ".join(f"{f.image}: {f.reason}" for f in planned.result.failed[:5])
        raise MirrorError(
            "oc-mirror could not plan the mirror",
            failed or planned.result.summary,
            "check the image references and your --authfile, then run pack again",
        )
    return planned.mapping


def resolve_images(run: PackRun, mapping: Sequence[tuple[str, str]]) -> tuple[tuple[ImageEntry, ...], list[str]]:
    """The manifest's image entries (digests resolved) and where oc-mirror's mapping and mirrorkit's
    catalog plan disagree; both are told to the user before anything is copied."""
    plan = run.plan
    images = label_plugins(_image_entries(mapping, run.client, run.opts.jobs, plan), plan.plugins.artifacts, plan.plugins.index)
    kinds = ", ".join(f"{n} {kind}" for kind, n in count_kinds(images).items() if n)
    run.say(f"plan: {len(images)} images ({kinds or 'none'}), {len(plan.npm_specs)} npm packages")
    warnings = _plan_disagreements(plan, mapping, images)
    for warning in warnings:
        run.say(f"warning: {warning}")
    return images, warnings


def _check_space(run: PackRun, images: Sequence[ImageEntry], reuse: bool) -> None:
    """Refuse early when the disk cannot hold the bundle (twice over when it is also split into parts);
    reused archives need no new room, so their registries are not even asked for sizes."""
    opts = run.opts
    needed = 0 if reuse else int(_image_bytes(images, run.client, opts.jobs) * SPACE_MARGIN)
    needed += NPM_ALLOWANCE * len(run.plan.npm_specs)
    check_free_space(run.output, needed * (2 if opts.split_size else 1))


def _reuse_archives(run: PackRun, previous: Manifest) -> Payload:
    """Keep the previous bundle's archives and charts, and its image entries: the rebuilt catalogs'
    digests come from the run that made them."""
    run.say("images unchanged since the last pack: reusing the archives (they still hash as sealed)")
    archives = {f.path for f in previous.files if f.path.startswith((layout.IMAGES_DIR + "/", layout.CHARTS_DIR + "/"))}
    left = previous.base.blobs if previous.base is not None else ()
    return Payload(tuple(sorted(previous.images)), frozenset(archives), left)


def _mirror_to_disk(
    run: PackRun, images: tuple[ImageEntry, ...], base: BaseBlobs | None = None
) -> tuple[tuple[ImageEntry, ...], Path]:
    """Run oc-mirror mirror-to-disk into the work folder; returns the image entries with the rebuilt
    catalogs' digests, and oc-mirror's working-dir (where the charts are). For a delta, oc-mirror's
    history lists the blobs of *base*, so its archive leaves them out (:mod:`mirrorkit.deltablobs`)."""
    (run.work / ARCHIVES_RECORD).unlink(missing_ok=True)
    archive_dir = run.work / "archive"
    for stale in archive_dir.glob("mirror_*.tar"):  # never move an older run's archive into the bundle
        stale.unlink()
    forget_earlier_runs(archive_dir / "working-dir")
    if base is not None and base.blobs:
        write_history(archive_dir / "working-dir", base.digests)
    result = mirror_to_disk(run.tool, dataclasses.replace(run.plan_options, archive_dir=archive_dir), progress=run.opts.progress)
    raise_for_result(result)
    working_dir = archive_dir / "working-dir"
    return rebuilt_catalogs(images, run.plan.config, working_dir), working_dir


def forget_earlier_runs(working_dir: Path) -> None:
    """Remove what an earlier mirror-to-disk in this work folder left that would leak into, or be
    missing from, this run's bundle: the charts it pulled (every chart found there is copied into
    the bundle) and oc-mirror's history (the blobs already archived, which oc-mirror leaves out of
    the next archive: the bundle replaces that earlier archive, so they would be missing). The
    cache and the catalogs stay: they only save downloads."""
    for stale in (working_dir / ".history", working_dir / "helm" / "charts"):
        if stale.is_symlink() or stale.is_file():
            stale.unlink()
        elif stale.is_dir():
            shutil.rmtree(stale)


def _reconcile(
    run: PackRun,
    archives: Sequence[Path],
    images: Sequence[ImageEntry],
    pins: Sequence[TagPin],
    left: frozenset[str],
    scan: ArchiveScan | None,
) -> None:
    """Refuse to seal *archives* that hold other images than pinned (a tag moved at the source between
    the plan and mirror-to-disk) or lack any (see :mod:`mirrorkit.pinning`); the archives stay in the
    work folder, the bundle stays unsealed."""
    warning = reconcile_archives(archives, images, pins, left, scan)
    if warning:
        run.say(f"warning: {warning}")


def _move_into_bundle(run: PackRun, fresh: Payload, working_dir: Path, split: DeltaSplit | None = None) -> Payload:
    """Move the fresh archives in, copy the charts, and record them at once (see _record_archives)."""
    output = run.output
    archive_dir = run.work / "archive"
    archives = {f"{layout.IMAGES_DIR}/{name}" for name in _move_archives(archive_dir, output / layout.IMAGES_DIR)}
    archives |= copy_charts(working_dir, output / layout.CHARTS_DIR)
    payload = dataclasses.replace(fresh, archives=frozenset(archives))
    _record_archives(output, run.work, run.plan.isc_text, payload, split.base_ref if split else None)
    return payload


def pull_npm(run: PackRun, base: Base | None = None) -> NpmPayload:
    """Pull every planned package and rewrite the npm index with this run's packages only; a
    delta keeps only those its *base* does not carry with the same integrity."""
    npm_dir = run.output / layout.NPM_DIR
    opts = run.opts
    pulled = pull_packages(run.plan.npm_specs, npm_dir, settings=run.plan.npm_settings, jobs=opts.jobs, progress=opts.progress)
    if not pulled.ok:
        detail = "; ".join(f"{r.spec}: {r.reason}" for r in pulled.failed)
        raise NpmError(f"{len(pulled.failed)} npm package(s) could not be pulled", detail, "fix the cause and run pack again")
    pulled_entries = [r.entry for r in pulled.results if r.entry is not None]
    packages = tuple(NpmPackage(e.name, e.version, e.integrity, f"{layout.NPM_DIR}/{e.path}") for e in pulled_entries)
    carried, left = split_npm(base, packages) if base is not None else (packages, ())
    paths = {p.file for p in carried}
    wanted = tuple(e for e in pulled_entries if f"{layout.NPM_DIR}/{e.path}" in paths)
    write_index(NpmIndex(npm_dir, wanted))  # only this run's packages: no stale entries
    return NpmPayload(frozenset({f"{layout.NPM_DIR}/{INDEX_NAME}"} | paths), carried, left)


def seal_payload(
    run: PackRun, payload: Payload, npm: NpmPayload, base: BaseRef | None = None
) -> tuple[tuple[str, ...], Manifest]:
    """Remove what this run did not produce, then hash, write the manifest, sign and split; the
    archives record goes last (the manifest is the record now). Returns what was removed."""
    opts, output = run.opts, run.output
    removed = _prune(output, {layout.ISC, layout.SBOM} | payload.archives | npm.keep)  # the SBOM is rewritten by sealing
    for name in removed:
        run.say(f"removed stale file {name}")
    manifest = seal_bundle(
        output,
        profile=run.plan.profile,
        imageset_config=run.plan.isc_text,
        oc_mirror_version=run.tool.version or "",
        npm=sorted(npm.entries),
        images=payload.images,
        sign_key=opts.sign_key,
        passphrase=opts.passphrase,
        split_size=opts.split_size,
        jobs=None,
        progress=opts.progress,
        base=base,
    )
    (run.work / ARCHIVES_RECORD).unlink(missing_ok=True)
    return removed, manifest


__all__ = ["PackOptions", "PackResult", "pack", "work_dir_for"]
