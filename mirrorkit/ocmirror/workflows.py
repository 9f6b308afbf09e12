"""The three oc-mirror v2 workflows (and dry runs) as functions returning one :class:`MirrorResult`.

Each run: validate the ImageSetConfiguration is at least readable, build the argument list, stream
oc-mirror's output into ``<folder>/mirrorkit-logs/`` while parsing it, then merge the exit bitmask,
the log's failures and ``mirroring_errors_*.txt`` into the result, and read cluster resources or the
dry-run plan. A failed mirror is a result (``ok`` false), not an exception: the caller decides.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import socket
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from mirrorkit.errors import ConfigError, InputError
from mirrorkit.ocmirror.options import (
    AnyOptions,
    DiskToMirrorOptions,
    MirrorToDiskOptions,
    MirrorToMirrorOptions,
    build_args,
    build_env,
)
from mirrorkit.ocmirror.parser import (
    ErrorMessage,
    Event,
    ImagesToCopy,
    parse_line,
)
from mirrorkit.ocmirror.progress import ImageProgress
from mirrorkit.ocmirror.resources import read_cluster_resources, read_error_files, read_mapping, read_missing
from mirrorkit.ocmirror.result import (
    CategoryCount,
    ClusterResource,
    CopiedImage,
    DryRunResult,
    FailedImage,
    MirrorResult,
)
from mirrorkit.ocmirror.runner import run_streaming
from mirrorkit.ocmirror.tool import OcMirror

LOG_FOLDER = "mirrorkit-logs"
MAX_ERRORS_KEPT = 20
#: oc-mirror's other way to name its cache; set together with --cache-dir it refuses to start
#: ("either OC_MIRROR_CACHE or --cache-dir can be used but not both", cli/executor.go setupEnvironment).
CACHE_ENV = "OC_MIRROR_CACHE"


def _norm(ref: str) -> str:
    return ref[len("docker://") :] if ref.startswith("docker://") else ref


class _Collector:
    """Accumulates parsed events into the parts of a MirrorResult (one per run, not shared)."""

    def __init__(self, on_event: Callable[[Event], None]) -> None:
        self.on_event = on_event
        self.images_total: int | None = None
        self.copied: dict[str, CopiedImage] = {}
        self.failed: dict[str, FailedImage] = {}
        self.categories: list[CategoryCount] = []
        self.errors: list[str] = []

    def add_failure(self, event: FailedImage) -> None:
        key = _norm(event.image)
        known = self.failed.get(key)
        self.failed[key] = FailedImage(
            image=key,
            reason=(known.reason if known and known.reason else event.reason),
            kind=(known.kind if known and known.kind else event.kind),
        )

    def feed(self, line: str) -> None:
        event = parse_line(line)
        if event is None:
            return
        if isinstance(event, ImagesToCopy):
            self.images_total = max(self.images_total or 0, event.count)
        elif isinstance(event, CopiedImage):
            self.copied.setdefault(_norm(event.source), CopiedImage(_norm(event.source), _norm(event.destination)))
        elif isinstance(event, FailedImage):
            self.add_failure(event)
        elif isinstance(event, CategoryCount):
            self.categories.append(event)
        elif isinstance(event, ErrorMessage):
            self.errors.append(event.text)
            del self.errors[:-MAX_ERRORS_KEPT]
        self.on_event(event)


def check_config(path: Path) -> None:
    """Refuse a missing or unreadable ImageSetConfiguration before starting oc-mirror (exit 2)."""
    hint = "pass an ImageSetConfiguration file (kind: ImageSetConfiguration, apiVersion mirror.openshift.io/v2alpha1)"
    if not path.is_file():
        raise ConfigError(f"ImageSetConfiguration {path} does not exist", hint=hint)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"ImageSetConfiguration {path} is not valid YAML", str(exc).splitlines()[0], hint) from None
    if not isinstance(document, dict) or document.get("kind") != "ImageSetConfiguration":
        raise ConfigError(f"{path} is not an ImageSetConfiguration", "its kind is not ImageSetConfiguration", hint)


def _describe(options: AnyOptions) -> str:
    return {
        "mirrorToDisk": "mirror to disk",
        "diskToMirror": "disk to mirror",
        "mirrorToMirror": "mirror to mirror",
    }[options.workflow] + (" (dry run)" if options.dry_run else "")


def free_local_port() -> int:
    """A localhost TCP port nothing listens on now, for oc-mirror's cache registry: its default 55000
    makes a second oc-mirror on the host (another pack, a push) fail before it does anything."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(tool: OcMirror, options: AnyOptions, *, progress: bool = True, log_file: Path | None = None) -> MirrorResult:
    """Run oc-mirror for *options* and return what happened (never raises for mirroring failures)."""
    check_config(options.config)
    if isinstance(options, DiskToMirrorOptions) and not any(options.archive_dir.glob("mirror_*.tar")):
        raise InputError(
            f"no mirror_*.tar archive in {options.archive_dir}",
            hint="run mirror to disk first (mirrorkit mirror to-disk) or point --from at the folder holding the archives",
        )
    options.folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    log_path = log_file or options.folder / LOG_FOLDER / f"oc-mirror-{options.workflow}-{stamp}.log"
    if options.port is None:
        options = dataclasses.replace(options, port=free_local_port())
    argv = [str(tool.path), *build_args(options)]
    started_wall = time.time()
    with ImageProgress(f"oc-mirror {_describe(options)}", enabled=progress) as bar:
        collector = _Collector(bar.update)
        unset = (CACHE_ENV,) if options.cache_dir is not None else ()
        outcome = run_streaming(argv, log_path, collector.feed, env=build_env(options), unset=unset)
    for failure in read_error_files(options.working_dir, newer_than=started_wall):
        collector.add_failure(failure)
    resources: tuple[ClusterResource, ...] = ()
    problems: tuple[str, ...] = ()
    if isinstance(options, (DiskToMirrorOptions, MirrorToMirrorOptions)) and not options.dry_run:
        resources, problems = read_cluster_resources(options.working_dir)
    return MirrorResult(
        workflow=options.workflow,
        exit_code=outcome.exit_code,
        images_total=collector.images_total,
        copied=tuple(collector.copied.values()),
        failed=tuple(collector.failed.values()),
        categories=tuple(collector.categories),
        errors=tuple(collector.errors),
        log_file=outcome.log_file,
        working_dir=options.working_dir,
        duration_s=outcome.duration_s,
        oc_mirror_version=tool.version,
        dry_run=options.dry_run,
        cluster_resources=resources,
        resource_errors=problems,
        counts_logged=options.log_level != "error",
    )


def mirror_to_disk(tool: OcMirror, options: MirrorToDiskOptions, progress: bool = True) -> MirrorResult:
    """Images from their registries into ``mirror_*.tar`` archives (no cluster resources yet)."""
    return run(tool, options, progress=progress)


def disk_to_mirror(tool: OcMirror, options: DiskToMirrorOptions, progress: bool = True) -> MirrorResult:
    """Archives into the target registry; ``result.cluster_resources`` holds the IDMS/ITMS/... to apply."""
    return run(tool, options, progress=progress)


def mirror_to_mirror(tool: OcMirror, options: MirrorToMirrorOptions, progress: bool = True) -> MirrorResult:
    """Images straight into the target registry (connected bastion), with cluster resources."""
    return run(tool, options, progress=progress)


def dry_run(tool: OcMirror, options: AnyOptions, progress: bool = True) -> DryRunResult:
    """Plan without copying: the (source, destination) pairs of mapping.txt and what missing.txt lists.

    oc-mirror plans all three workflows (disk to mirror reads the archives and plans from its cache).
    Mirror to disk deletes the folder's ``mirror_*.tar`` even in a dry run (RemovePastArchives runs
    before the workflow starts), so a folder that holds archives is refused here.
    """
    if isinstance(options, MirrorToDiskOptions):
        _refuse_archives_in_plan_folder(options.archive_dir)
    options = dataclasses.replace(options, dry_run=True)
    result = run(tool, options, progress=progress)
    folder = options.working_dir / "dry-run"
    mapping_file, missing_file = folder / "mapping.txt", folder / "missing.txt"
    return DryRunResult(
        mapping=read_mapping(mapping_file),
        missing=read_missing(missing_file),
        result=result,
        mapping_file=mapping_file if mapping_file.is_file() else None,
        missing_file=missing_file if missing_file.is_file() else None,
    )


def _refuse_archives_in_plan_folder(folder: Path) -> None:
    """An InputError when *folder* holds ``mirror_*.tar``: oc-mirror's dry run would delete them."""
    archives = sorted(p.name for p in folder.glob("mirror_*.tar")) if folder.is_dir() else []
    if archives:
        raise InputError(
            f"{folder} holds {len(archives)} oc-mirror archive(s) ({archives[0]}...)",
            "oc-mirror deletes mirror_*.tar in the folder it is given, even for a dry run",
            "plan into an empty folder, or move the archives away first",
        )
