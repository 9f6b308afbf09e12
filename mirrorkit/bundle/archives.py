"""The bundle's other indexes agree with its oc-mirror archives: images and charts (issue 14).

The manifest pins each ``images/mirror_*.tar`` by sha256, but a bundle signed with the real key can
still carry archives that say something else than the manifest's lists (a packing bug, a hand-edited
bundle re-signed by an insider). Two things are cross-checked, reading only tar headers and the few
members that matter (``tarfile`` seeks over everything else; nothing is extracted to disk):

* **charts**: each ``charts/<name>-<version>.tgz`` (what the bastion installs from) must be the very
  bytes of ``working-dir/helm/charts/<name>-<version>.tgz`` in one of the archives (what oc-mirror
  read the chart's images from). The helm images' provenance (chart name and version) should name a
  chart the bundle carries (a warning otherwise: a chart may legitimately be missing from ``charts/``).
* **images**: oc-mirror's archives are its cache registry's storage (a distribution registry on
  disk): first every file under ``docker/registry/v2/repositories/`` (for each cached repository its
  ``_manifests/revisions/sha256/<hex>/link``, ``_manifests/tags/<tag>/current/link`` and ``_layers``
  links, each link file holding ``sha256:<hex>``), then the blobs as
  ``docker/registry/v2/blobs/sha256/<xx>/<hex>/data``, then ``working-dir/`` and ``isc_<time>``,
  split over ``mirror_000001.tar``, ``mirror_000002.tar``... at ``archiveSize``. oc-mirror caches an
  image under its ``targetRepo`` (else its source path; a catalog under ``targetCatalog``). Every
  manifest image must have, in some archive, a revision link under one of those repositories that
  names its digest, and the manifest blob itself, whose bytes hash to that digest: disk to mirror
  pushes from exactly these files, and a bundle must carry them all (oc-mirror leaves out the blobs
  an earlier archive from the same working-dir carried; a bundle replaces its archives, so those
  would be missing). An archive set without registry metadata at all is not oc-mirror's layout: one
  WARNING says images were not cross-checked.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mirrorkit.bundle import layout
from mirrorkit.bundle.limits import MAX_MANIFEST_BYTES
from mirrorkit.bundle.manifest import ImageEntry, Manifest
from mirrorkit.bundle.snapshot import archive_entries
from mirrorkit.digests import CHUNK
from mirrorkit.errors import MirrorkitError
from mirrorkit.oci.reference import ImageReference
from mirrorkit.report.model import CheckItem, Status
from mirrorkit.textutil import clip

_P, _F, _W = Status.PASSED, Status.FAILED, Status.WARNING

REGISTRY_PREFIX = "docker/registry/v2/"
HELM_CHARTS_PREFIX = "working-dir/helm/charts/"
_REVISION = re.compile(r"^docker/registry/v2/repositories/(?P<repo>.+)/_manifests/revisions/sha256/(?P<hex>[0-9a-f]{64})/link$")
_LAYER = re.compile(r"^docker/registry/v2/repositories/(?P<repo>.+)/_layers/sha256/(?P<hex>[0-9a-f]{64})/link$")
_TAG = re.compile(r"^docker/registry/v2/repositories/(?P<repo>.+)/_manifests/tags/(?P<tag>[^/]+)/current/link$")
_BLOB = re.compile(r"^docker/registry/v2/blobs/sha256/(?P<xx>[0-9a-f]{2})/(?P<hex>[0-9a-f]{64})/data$")
_LINK_MAX = 256  # a link file holds "sha256:<hex>"; anything longer is not one


@dataclass
class ArchiveScan:
    """What the archives hold that the manifest's lists can be checked against."""

    registry_layout: bool = False  # some archive has oc-mirror's docker/registry/v2/ metadata
    revisions: dict[str, set[str]] = field(default_factory=dict)  # repository -> {sha256:<hex>} (link names it)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)  # (repository, tag) -> what its current link names
    manifest_blobs: dict[str, str] = field(default_factory=dict)  # wanted sha256:<hex> -> sha256 of its data
    kept: dict[str, bytes] = field(default_factory=dict)  # wanted sha256:<hex> -> its data (scan_archives(keep=True))
    blob_sizes: dict[str, int] = field(default_factory=dict)  # every blob whose data is archived -> its size
    layers: dict[str, str] = field(default_factory=dict)  # sha256:<hex> a ``_layers`` link names -> its first repository
    charts: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)  # file name -> [(archive, size, sha256)]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (archive, why it could not be read)


def _member_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def scan_archives(
    paths: Iterable[Path], names: dict[Path, str] | None = None, wanted: Iterable[str] = (), *, keep: bool = False
) -> ArchiveScan:
    """Walk the member headers of each tar in *paths*; read only the links, the blobs of the *wanted*
    digests (the manifests' own, small; with *keep* their bytes are kept too) and the chart members."""
    scan, wanted_set = ArchiveScan(), set(wanted)
    for path in paths:
        shown = (names or {}).get(path, path.name)
        try:
            with tarfile.open(path, "r:") as tar:  # seekable: headers only, member data skipped
                for member in tar:
                    _scan_member(scan, tar, member, shown, wanted_set, keep)
        except (OSError, tarfile.TarError) as exc:
            scan.errors.append((shown, clip(str(exc), 200)))
    return scan


def _scan_member(
    scan: ArchiveScan, tar: tarfile.TarFile, member: tarfile.TarInfo, shown: str, wanted: set[str], keep: bool
) -> None:
    name = _member_name(member.name)
    if name.startswith(REGISTRY_PREFIX):
        scan.registry_layout = True
        if member.isfile():
            _scan_registry_file(scan, tar, member, name, wanted, keep)
    elif name.startswith(HELM_CHARTS_PREFIX) and member.isfile() and "/" not in name[len(HELM_CHARTS_PREFIX) :]:
        scan.charts.setdefault(name[len(HELM_CHARTS_PREFIX) :], []).append((shown, *_hash_member(tar, member)))


def _scan_registry_file(
    scan: ArchiveScan, tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, wanted: set[str], keep: bool
) -> None:
    """A revision or layer link counts when its content names the digest its path says (the registry
    serves the link's digest, not the directory's); a tag's current link is kept as read (what the tag
    served when oc-mirror copied it: pack compares it with the digest it pinned); every blob's size is
    noted, and a wanted blob is hashed (and kept, with *keep*)."""
    if found := _REVISION.match(name):
        digest = "sha256:" + found["hex"]
        if _read_small(tar, member) == digest:
            scan.revisions.setdefault(found["repo"], set()).add(digest)
    elif found := _LAYER.match(name):
        digest = "sha256:" + found["hex"]
        if _read_small(tar, member) == digest:
            scan.layers.setdefault(digest, found["repo"])
    elif found := _TAG.match(name):
        scan.tags[found["repo"], found["tag"]] = _read_small(tar, member)
    elif (found := _BLOB.match(name)) and found["hex"].startswith(found["xx"]):
        digest = "sha256:" + found["hex"]
        scan.blob_sizes[digest] = member.size
        if digest in wanted and keep and member.size <= MAX_MANIFEST_BYTES and (handle := tar.extractfile(member)):
            with handle:
                scan.kept[digest] = handle.read()
            scan.manifest_blobs[digest] = "sha256:" + hashlib.sha256(scan.kept[digest]).hexdigest()
        elif digest in wanted:
            scan.manifest_blobs[digest] = "sha256:" + _hash_member(tar, member)[1]


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    if member.size > _LINK_MAX:
        return ""
    handle = tar.extractfile(member)
    if handle is None:
        return ""
    with handle:
        return handle.read(_LINK_MAX).decode("ascii", errors="replace").strip()


def _hash_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> tuple[int, str]:
    handle = tar.extractfile(member)
    digest, size = hashlib.sha256(), 0
    if handle is not None:
        with handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    return size, digest.hexdigest()


def _repositories(image: ImageEntry) -> set[str]:
    """The cache repositories oc-mirror may have stored *image* under: its source's path, and the
    recorded destination's path (a ``targetRepo``) when there is one."""
    repos = set()
    for ref in (image.source, image.destination):
        if not ref:
            continue
        try:
            repos.add(ImageReference.parse(ref).repository)
        except MirrorkitError:
            repos.add(ref.split("@", 1)[0].rsplit(":", 1)[0].split("/", 1)[-1])
    return repos


def chart_items(manifest: Manifest, scan: ArchiveScan) -> list[CheckItem]:
    """Every ``charts/`` file is, byte for byte, the chart oc-mirror archived; helm images name carried charts."""
    items = []
    charts = {
        f.path.split("/", 1)[1]: f
        for f in manifest.files
        if f.path.startswith(layout.CHARTS_DIR + "/") and f.path.count("/") == 1
    }
    for name, entry in sorted(charts.items()):
        subject, expected = entry.path, f"the same bytes as {HELM_CHARTS_PREFIX}{name} in the oc-mirror archive"
        copies = scan.charts.get(name, [])
        same = [archive for archive, size, sha in copies if size == entry.size and sha == entry.sha256]
        if same:
            items.append(CheckItem("chart", subject, expected, f"identical ({same[0]})", _P))
        elif copies:
            archive, size, sha = copies[0]
            items.append(
                CheckItem(
                    "chart",
                    subject,
                    expected,
                    f"differs: size {size}, sha256 {sha[:16]}… in {archive}",
                    _F,
                    "the chart handed out is not the one oc-mirror mirrored the images of; re-pack the bundle",
                )
            )
        else:
            items.append(
                CheckItem(
                    "chart",
                    subject,
                    expected,
                    "not in any archive",
                    _F,
                    "the chart handed out is not one oc-mirror mirrored; re-pack the bundle",
                )
            )
    if charts:
        for image in manifest.images:
            if image.kind == "helm" and image.package and image.version and f"{image.package}-{image.version}.tgz" not in charts:
                items.append(
                    CheckItem(
                        "chart",
                        image.source,
                        f"{layout.CHARTS_DIR}/{image.package}-{image.version}.tgz carried",
                        "not in the bundle",
                        _W,
                        "the helm image's chart is not handed out with the bundle",
                        group=f"helm {image.package} {image.version}",
                    )
                )
    return items


def image_items(manifest: Manifest, scan: ArchiveScan) -> list[CheckItem]:
    """Every manifest image has a revision link under its repository (oc-mirror's layout only)."""
    if not manifest.images:
        return []
    if not scan.registry_layout:
        unreadable = "; ".join(f"{archive} is not a readable tar ({why})" for archive, why in scan.errors)
        return [
            CheckItem(
                "archive",
                "images vs oc-mirror archive",
                "oc-mirror's archive layout (docker/registry/v2/)",
                "unreadable" if scan.errors else "another layout",
                _W,
                (f"{unreadable}; " if unreadable else "")
                + f"the archives hold no {REGISTRY_PREFIX} metadata, so the {len(manifest.images)} images were not "
                "cross-checked against them (the target check finds each image by digest after push)",
            )
        ]
    left = frozenset(b.digest for b in manifest.base.blobs) if manifest.base else frozenset()
    items = image_problems(manifest.images, scan, left)
    if not items:
        items.append(
            CheckItem(
                "archive",
                "images vs oc-mirror archive",
                f"{len(manifest.images)} images in the archives",
                f"{len(manifest.images)} found",
                _P,
            )
        )
    return items


def image_problems(images: Iterable[ImageEntry], scan: ArchiveScan, left: frozenset[str] = frozenset()) -> list[CheckItem]:
    """One failed item per image the scanned archives cannot give disk to mirror (verify, and pack
    before it seals). *left*: blobs a delta leaves to its base (push fetches them from the target)."""
    return [item for image in images if (item := _image_problem(image, scan, left)) is not None]


def _image_problem(image: ImageEntry, scan: ArchiveScan, left: frozenset[str] = frozenset()) -> CheckItem | None:
    """Why the archives cannot give disk to mirror *image* (None when they can); a manifest blob a
    delta leaves to its base (*left*) is not the archive's to carry."""
    repos = sorted(_repositories(image))
    hex_ = image.digest.split(":", 1)[-1]
    expected = f"{image.digest} in an archive"
    if not any(image.digest in scan.revisions.get(repo, ()) for repo in repos):
        why = (
            f"no {REGISTRY_PREFIX}repositories/{'|'.join(repos)}/_manifests/revisions/sha256/{hex_[:12]}…/link "
            f"naming it in any archive; re-pack the bundle"
        )
        return CheckItem("archive", image.source, expected, "absent", _F, why)
    actual = scan.manifest_blobs.get(image.digest)
    if actual is None and image.digest in left:
        return None
    if actual is None:
        why = (
            f"its manifest {REGISTRY_PREFIX}blobs/sha256/{hex_[:2]}/{hex_[:12]}…/data is in no archive (oc-mirror "
            "leaves out blobs an earlier archive of the same working-dir carried); re-pack the bundle"
        )
        return CheckItem("archive", image.source, expected, "manifest blob absent", _F, why)
    if actual != image.digest:
        why = "the archived manifest is not the image the manifest names; re-pack the bundle"
        return CheckItem("archive", image.source, expected, f"manifest blob hashes to {actual}", _F, why)
    return None


def archive_consistency_items(root: Path, manifest: Manifest, present: set[str]) -> list[CheckItem]:
    """The checks of this module for the bundle tree at *root* (archives that are *present* only:
    a bundle carried as parts is checked once reassembled). An archive that is not a tar at all is
    left to oc-mirror (its bytes are pinned by the signed manifest): its images are not cross-checked."""
    pinned = sorted(e.path for e in archive_entries(manifest))
    archives = [p for p in pinned if p in present]
    if not archives or len(archives) < len(pinned):
        return []  # no archive here (parts only) or some missing: the file checks already failed
    paths = {root / p: p for p in archives}
    scan = scan_archives(paths, paths, wanted={image.digest for image in manifest.images})
    return chart_items(manifest, scan) + image_items(manifest, scan)


__all__ = ["ArchiveScan", "archive_consistency_items", "chart_items", "image_items", "image_problems", "scan_archives"]
