"""Drive oc-mirror v2: find it, run its three workflows, read its output, errors and cluster resources.

Public API (used by ``mirrorkit pack`` / ``push`` and ``mirrorkit mirror``)::

    tool = find_oc_mirror(path=None)                      # -> OcMirror(path, version)
    result = mirror_to_disk(tool, MirrorToDiskOptions(...), progress=True)
    result = disk_to_mirror(tool, DiskToMirrorOptions(...))   # result.cluster_resources
    result = mirror_to_mirror(tool, MirrorToMirrorOptions(...))
    plan = dry_run(tool, MirrorToDiskOptions(...))        # -> DryRunResult(mapping, missing, result)
    raise_for_result(result)                              # MirrorError (exit 1) unless result.ok
"""

from mirrorkit.ocmirror.knobs import Knobs
from mirrorkit.ocmirror.options import (
    DiskToMirrorOptions,
    MirrorToDiskOptions,
    MirrorToMirrorOptions,
    RunOptions,
    Target,
    build_args,
    build_env,
)
from mirrorkit.ocmirror.result import (
    CategoryCount,
    ClusterResource,
    CopiedImage,
    DryRunResult,
    FailedImage,
    MirrorResult,
    raise_for_result,
)
from mirrorkit.ocmirror.tool import OcMirror, find_oc_mirror, parse_version
from mirrorkit.ocmirror.workflows import disk_to_mirror, dry_run, mirror_to_disk, mirror_to_mirror, run

__all__ = [
    "CategoryCount",
    "ClusterResource",
    "CopiedImage",
    "DiskToMirrorOptions",
    "DryRunResult",
    "FailedImage",
    "Knobs",
    "MirrorResult",
    "MirrorToDiskOptions",
    "MirrorToMirrorOptions",
    "OcMirror",
    "RunOptions",
    "Target",
    "build_args",
    "build_env",
    "disk_to_mirror",
    "dry_run",
    "find_oc_mirror",
    "mirror_to_disk",
    "mirror_to_mirror",
    "parse_version",
    "raise_for_result",
    "run",
]
