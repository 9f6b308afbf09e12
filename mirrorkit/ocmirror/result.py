"""One result object per oc-mirror run: exit bitmask, images copied and failed, cluster resources.

oc-mirror reports failures in three places (its exit code, its log, and ``mirroring_errors_*.txt``)
and older versions exit 0 despite failures, so the result merges all three and :attr:`MirrorResult.ok`
is true only when every one of them is clean.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirrorkit.errors import MirrorError
from mirrorkit.textutil import shorten_middle

# oc-mirror v2 exit status bits.
EXIT_BITS: tuple[tuple[int, str], ...] = (
    (1, "generic"),
    (2, "release"),
    (4, "operator"),
    (8, "additional"),
    (16, "helm"),
)

RESUME_HINT = "Fix the cause and run the same command again; oc-mirror's cache makes the retry incremental"


def failed_categories(exit_code: int) -> tuple[str, ...]:
    """The categories the exit bitmask marks as failed (``("generic",)`` for any unknown non-zero code)."""
    if exit_code == 0:
        return ()
    if exit_code < 0 or exit_code >= 32:
        return ("generic",)
    return tuple(name for bit, name in EXIT_BITS if exit_code & bit)


def describe_exit(exit_code: int) -> str:
    """A human reading of an oc-mirror exit status, e.g. ``exit 12 (operator, additional images failed)``."""
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"killed by {name}"
    if exit_code == 0:
        return "exit 0"
    cats = failed_categories(exit_code)
    images = [c for c in cats if c != "generic"]
    parts = []
    if "generic" in cats:
        parts.append("generic error")
    if images:
        parts.append(f"{', '.join(images)} images failed")
    return f"exit {exit_code} ({'; '.join(parts)})"


@dataclass(frozen=True)
class CopiedImage:
    """An image oc-mirror copied: a log line's event (as printed) and, normalised, a run's result."""

    source: str
    destination: str


@dataclass(frozen=True)
class FailedImage:
    """An image oc-mirror could not mirror, with the reason it gave (kind: release/operator/additional/helm).

    The same type is the parser's event for one failure line (as printed, *kind* empty when the line
    does not say) and a run's result (normalised, one per image, the failure lines merged).
    """

    image: str
    reason: str = ""
    kind: str = ""


@dataclass(frozen=True)
class CategoryCount:
    """One line of oc-mirror's Results block."""

    kind: str
    mirrored: int
    total: int
    ok: bool
    message: str = ""


@dataclass(frozen=True)
class ClusterResource:
    """One Kubernetes object oc-mirror wrote under ``working-dir/cluster-resources/``."""

    path: Path
    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
        }


@dataclass(frozen=True)
class MirrorResult:
    """What one oc-mirror run did. ``ok`` is the single truth; ``summary`` is the one line to print."""

    workflow: str
    exit_code: int
    images_total: int | None
    copied: tuple[CopiedImage, ...]
    failed: tuple[FailedImage, ...]
    categories: tuple[CategoryCount, ...]
    errors: tuple[str, ...]
    log_file: Path
    working_dir: Path
    duration_s: float
    oc_mirror_version: str = "unknown"
    dry_run: bool = False
    cluster_resources: tuple[ClusterResource, ...] = field(default=())
    resource_errors: tuple[str, ...] = field(default=())
    #: False with ``--log-level error``: oc-mirror's logger then prints ERROR lines only, so the
    #: image count, the success lines and the Results block never appear.
    counts_logged: bool = True

    @property
    def failed_categories(self) -> tuple[str, ...]:
        cats = list(failed_categories(self.exit_code))
        for item in self.failed:
            if item.kind and item.kind not in cats:
                cats.append(item.kind)
        return tuple(cats)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.failed and not self.resource_errors and not any(not c.ok for c in self.categories)

    @property
    def killed(self) -> bool:
        return self.exit_code < 0

    @property
    def summary(self) -> str:
        name = {"mirrorToDisk": "mirror to disk", "diskToMirror": "disk to mirror", "mirrorToMirror": "mirror to mirror"}.get(
            self.workflow, self.workflow
        )
        if self.dry_run:
            name += " (dry run)"
        if self.images_total is None and not self.copied and not self.failed and not self.counts_logged:
            counted = "images not counted (--log-level error hides oc-mirror's counts)"
        elif self.images_total is None and not self.copied and not self.failed:
            counted = "no image copied (oc-mirror stopped before it counted them)"
        else:
            total = self.images_total if self.images_total is not None else len(self.copied) + len(self.failed)
            counted = f"{len(self.copied)} / {total} images copied"
        if self.ok:
            return f"oc-mirror {name} succeeded: {counted} in {self.duration_s:.1f}s (log: {self.log_file})"
        from mirrorkit.ocmirror.runner import failure_cause, own_log

        # the cause and the logs come first: a long line is cut at its end
        parts = [f"oc-mirror {name} failed, {describe_exit(self.exit_code)}"]
        if self.failed:
            shown = "; ".join(f"{f.image} ({f.reason})" if f.reason else f.image for f in self.failed[:3])
            more = f" and {len(self.failed) - 3} more" if len(self.failed) > 3 else ""
            parts.append(f"{len(self.failed)} failed: {shorten_middle(shown, 220)}{more}")
        else:
            parts.append(f"cause: {failure_cause(self.errors, self.log_file)}")
        theirs = own_log(self.working_dir)
        parts.append(f"full log: {self.log_file}" + (f" (oc-mirror's own: {theirs})" if theirs else ""))
        parts.append(counted)
        if self.resource_errors:
            parts.append(f"invalid cluster resources: {'; '.join(self.resource_errors)}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``mirrorkit mirror ... --json``)."""
        return {
            "workflow": self.workflow,
            "ok": self.ok,
            "summary": self.summary,
            "exitCode": self.exit_code,
            "failedCategories": list(self.failed_categories),
            "imagesTotal": self.images_total,
            "copied": [{"source": c.source, "destination": c.destination} for c in self.copied],
            "failed": [{"image": f.image, "reason": f.reason, "kind": f.kind} for f in self.failed],
            "results": [
                {"kind": c.kind, "mirrored": c.mirrored, "total": c.total, "ok": c.ok, "message": c.message}
                for c in self.categories
            ],
            "errors": list(self.errors),
            "clusterResources": [r.to_dict() for r in self.cluster_resources],
            "resourceErrors": list(self.resource_errors),
            "logFile": str(self.log_file),
            "workingDir": str(self.working_dir),
            "durationSeconds": round(self.duration_s, 3),
            "ocMirrorVersion": self.oc_mirror_version,
            "dryRun": self.dry_run,
        }


def raise_for_result(result: MirrorResult) -> MirrorResult:
    """Return *result* if it is clean, else raise :class:`MirrorError` (exit 1) with its summary line."""
    if result.ok:
        return result
    raise MirrorError(result.summary, hint=RESUME_HINT)


@dataclass(frozen=True)
class DryRunResult:
    """A dry run's plan: (source, destination) pairs from mapping.txt and the images missing.txt lists."""

    mapping: tuple[tuple[str, str], ...]
    missing: tuple[str, ...]
    result: MirrorResult
    mapping_file: Path | None = None
    missing_file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.result.to_dict(),
            "mapping": [{"source": s, "destination": d} for s, d in self.mapping],
            "missing": list(self.missing),
            "mappingFile": str(self.mapping_file) if self.mapping_file else None,
            "missingFile": str(self.missing_file) if self.missing_file else None,
        }
