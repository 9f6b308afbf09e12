"""pack seals only what it pinned: oc-mirror's fresh archives are reconciled with the plan (issue 22).

pack records every image's digest from the plan (oc-mirror's dry-run mapping, tags resolved at the
source), then runs mirror-to-disk, which copies by tag. A tag that moves at the source in between
gives an archive holding another image than the manifest pins: verify would pass (with a warning
where the archive has no registry metadata) and push would fail only at its very end, after loading
the other image, which no re-run of push can mend. So before sealing, pack reads the archives'
registry layout (:func:`mirrorkit.bundle.archives.scan_archives`: tar headers and the small link
and manifest members only, nothing extracted) and checks, per image:

* pinned by tag: the tag's current link under the repository oc-mirror cached it in (the mapping's
  destination) names the pinned digest; otherwise the tag moved, and both digests are named;
* every image: its digest has a revision link under its repository and its manifest blob is in the
  archive (the same test verify makes), so an archive that lost blobs is never sealed.

Archives without registry metadata (another layout) cannot be reconciled: pack says so once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.bundle.archives import ArchiveScan, image_problems, scan_archives
from mirrorkit.bundle.manifest import ImageEntry
from mirrorkit.errors import CheckFailed, MirrorkitError
from mirrorkit.oci.reference import ImageReference
from mirrorkit.textutil import clip

MOVED_HINT = "the tag moved at the source while pack ran: pin it by digest in the configuration, or run pack again"
MISSING_HINT = "nothing was sealed; check the oc-mirror log in the pack work folder and run pack again"
NOT_CHECKED = (
    "the oc-mirror archives hold no docker/registry/v2/ metadata, so the archived images were not reconciled with the plan"
)


@dataclass(frozen=True)
class TagPin:
    """An image the plan named by tag: where oc-mirror caches it and the digest pack recorded."""

    source: str  # as the manifest names it (``registry/path:tag``)
    repository: str  # the cache repository (the mapping destination's path)
    tag: str  # the cache tag (the destination's: a targetTag renames it)
    digest: str


@dataclass(frozen=True)
class Moved:
    """A pinned tag that names another digest in the archive."""

    pin: TagPin
    archived: str


def tag_pins(mapping: Iterable[tuple[str, str]], images: Sequence[ImageEntry]) -> tuple[TagPin, ...]:
    """The tag-only images of *mapping* (source=destination pairs), each with the digest its entry in
    *images* records. Images named by digest cannot move; entries the mapping does not name by tag
    alone (catalogs: pinned to a digest) are left to the revision-link check."""
    pinned = {image.source: image.digest for image in images}
    pins = []
    for source, destination in mapping:
        try:
            src, dst = ImageReference.parse(source), ImageReference.parse(destination)
        except MirrorkitError:
            continue  # resolving the plan already refused what does not parse
        key = f"{src.name}:{src.tag}"
        if src.digest or not src.tag or not dst.tag or key not in pinned:
            continue
        pins.append(TagPin(key, dst.repository, dst.tag, pinned[key]))
    return tuple(sorted(set(pins), key=lambda p: p.source))


def moved_tags(pins: Iterable[TagPin], scan: ArchiveScan) -> tuple[Moved, ...]:
    """The pins whose tag the archive holds at another digest (an absent tag is the revision check's)."""
    moved = []
    for pin in pins:
        archived = scan.tags.get((pin.repository, pin.tag))
        if archived and archived != pin.digest:
            moved.append(Moved(pin, archived))
    return tuple(moved)


def reconcile_archives(
    archives: Sequence[Path],
    images: Sequence[ImageEntry],
    pins: Sequence[TagPin],
    left: frozenset[str] = frozenset(),
    scan: ArchiveScan | None = None,
) -> str | None:
    """Refuse (:class:`CheckFailed`) archives that do not hold exactly the pinned images; returns a
    warning when they cannot be reconciled (no registry layout), else None. *left*: the blobs a delta
    leaves to its base (:mod:`mirrorkit.deltablobs`), which the archives rightly lack."""
    if scan is None:  # a delta's pack read them already (with the images wanted), for its left-out blobs
        scan = scan_archives(archives, wanted={image.digest for image in images})
    if scan.errors:
        unreadable = "; ".join(f"{name}: {why}" for name, why in scan.errors)
        raise CheckFailed("pack refused to seal: an oc-mirror archive is not a readable tar", unreadable, MISSING_HINT)
    if not scan.registry_layout:
        return NOT_CHECKED
    if moved := moved_tags(pins, scan):
        raise CheckFailed(_moved_what(moved), _moved_why(moved), MOVED_HINT)
    if problems := image_problems(images, scan, left):
        what = f"pack refused to seal: {len(problems)} pinned image(s) are not complete in the oc-mirror archive"
        why = "; ".join(f"{item.subject} {item.expected}: {item.actual}" for item in problems)
        raise CheckFailed(what, clip(why, 300), MISSING_HINT)
    return None


def _moved_what(moved: Sequence[Moved]) -> str:
    """The first moved image with both digests: the error line is cut at 400 characters, so the
    rest are counted, then named in the why part."""
    first = moved[0]
    return f"pack refused to seal: {first.pin.source} is pinned at {first.pin.digest} but oc-mirror archived {first.archived}"


def _moved_why(moved: Sequence[Moved]) -> str | None:
    if len(moved) == 1:
        return None
    return clip(f"{len(moved) - 1} more moved: " + ", ".join(m.pin.source for m in moved[1:]), 60)


__all__ = ["MOVED_HINT", "Moved", "TagPin", "moved_tags", "reconcile_archives", "tag_pins"]
