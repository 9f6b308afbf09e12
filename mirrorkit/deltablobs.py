"""Blob-level deltas (issue 27): a delta's archives leave out the blobs its base put in the target.

Releases share most of their bytes below the image level: a bumped operator shares its base layers
with the old one, and an operator catalog carried in full (oc-mirror selects operators by package, and
the rebuilt catalog must list every package) names bundles whose every blob the base already carried.
Whole-image deltas (:mod:`mirrorkit.deltapack`) cannot leave those out; blobs can.

**Pack, through oc-mirror's own mechanism, checked.** oc-mirror's mirror to disk leaves out of its
archive every blob its history lists (``working-dir/.history/.history-<RFC3339>``, one digest per line:
what earlier archives of that working-dir carried; manifests, configs and layers alike). Pack writes
that history from the base bundle: every blob the base's archives carry (read from their tar headers:
oc-mirror's archives are a distribution registry's storage) and every blob the base itself left to its
own base. After the run, the new archives are scanned: every blob a repository there links (a layer
or config through ``_layers``, a manifest through ``_manifests/revisions``) whose data is missing must
be one the base put in the target, or pack fails naming it. Those are recorded in the delta's manifest
(``base.blobs``: digest, size, the repository that holds it in the target, and its kind).

**Push, mirrorkit's own completion.** Before writing anything, push looks each recorded blob up in the
target (a HEAD); then, beside the verified archive copies, it writes one more chunk,
``mirror_999999.tar``, holding exactly those blobs as registry storage, each streamed from the target
and checked against its digest on the way. oc-mirror's disk to mirror unpacks every
``mirror_NNNNNN.tar`` of its folder into its cache, so it then finds every blob it needs: its own rule
for a folder of chunks, no flag, no patched cache.

Why not oc-mirror's history alone: it leaves the blobs out and expects the bastion's oc-mirror *cache*
to still hold them from the earlier load. Nothing checks that, and push gives every output folder its
own cache; the target registry, which push checks by digest anyway, is where the base's blobs surely are.
"""

from __future__ import annotations

import datetime as _dt
import io
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.bundle.archives import ArchiveScan, scan_archives
from mirrorkit.bundle.manifest import BaseBlob, Manifest
from mirrorkit.bundle.snapshot import archive_entries
from mirrorkit.errors import MirrorError, MirrorkitError, RegistryError
from mirrorkit.fsutil import atomic_write_text
from mirrorkit.oci.client import OciClient
from mirrorkit.oci.manifest import Descriptor, parse_manifest
from mirrorkit.oci.manifest import Manifest as ImageManifest
from mirrorkit.oci.reference import ImageReference
from mirrorkit.textutil import clip

#: The completion chunk push writes beside the archives: a name oc-mirror reads (``mirror_NNNNNN.tar``)
#: that pack's archives never reach (oc-mirror numbers them from 000001).
COMPLETION_CHUNK = "mirror_999999.tar"
HISTORY_DIR = ".history"
REFETCH_HINT = "the target does not hold the base as it was pushed: push the base bundle again, then this delta"
HISTORY_PREFIX = ".history-"

_STORAGE = "docker/registry/v2/"


def read_archives(paths: Sequence[Path], wanted: Iterable[str] = (), *, keep: bool = True) -> ArchiveScan:
    """:func:`~mirrorkit.bundle.archives.scan_archives` over *paths*, the *wanted* manifests hashed
    (and their bytes kept, with *keep*); an archive that cannot be read fails here, naming it."""
    scan = scan_archives(paths, {p: str(p) for p in paths}, wanted, keep=keep)
    if scan.errors:
        name, why = scan.errors[0]
        raise MirrorError(f"cannot read the oc-mirror archive {name}", why, "check the bundle with mirrorkit verify")
    return scan


def missing_blobs(scan: ArchiveScan) -> dict[str, tuple[str, str]]:
    """Every blob a repository in the archives links (a manifest through its revisions, a layer or
    config through ``_layers``) whose data is in none of them: digest -> (repository, kind)."""
    linked = {d: (repo, "manifest") for repo, digests in sorted(scan.revisions.items()) for d in sorted(digests)}
    linked |= {d: (repo, "layer") for d, repo in scan.layers.items() if d not in linked}
    return {d: where for d, where in linked.items() if d not in scan.blob_sizes}


def archived_blobs(paths: Sequence[Path]) -> frozenset[str]:
    """The blobs whose data the archives at *paths* carry."""
    return frozenset(read_archives(paths).blob_sizes)


@dataclass(frozen=True)
class BaseBlobs:
    """Every blob a base put in the target (its archives' own and what it left to its own base), by
    digest, and whether the base's archives could be read at all (a manifest alone gives no blobs)."""

    blobs: dict[str, BaseBlob]
    read_archives: bool

    @property
    def digests(self) -> frozenset[str]:
        return frozenset(self.blobs)


def base_blobs(base_manifest: Manifest, base_dir: Path | None) -> BaseBlobs:
    """The blobs of :class:`BaseBlobs` for the base bundle at *base_dir* (None: a manifest was given).

    Only the blobs of the images the base *loaded* count: its archives also hold what oc-mirror cached
    and never pushed (the source catalog a rebuilt one was made from). Each image's manifest is read
    from the archives and walked (an index to its platforms, each to its config and layers); each blob
    is placed in the repository the image was loaded into."""
    inherited = {b.digest: b for b in (base_manifest.base.blobs if base_manifest.base else ())}
    paths = [base_dir / e.path for e in archive_entries(base_manifest)] if base_dir is not None else []
    if not paths or not all(p.is_file() for p in paths):
        return BaseBlobs(inherited, read_archives=False)
    loaded = {i.digest: i for i in base_manifest.images}
    scan = read_archives(paths, loaded)
    children = {c.digest for d in loaded if (m := _parsed(scan.kept, d)) is not None for c in m.manifests}
    if children - set(scan.kept):  # an index's platform manifests: read in a second walk
        scan.kept |= read_archives(paths, children - set(scan.kept)).kept
    repositories: dict[str, set[str]] = {}
    for repo, digests in scan.revisions.items():
        for digest in digests:
            repositories.setdefault(digest, set()).add(repo)
    own: dict[str, BaseBlob] = {}
    for digest, image in sorted(loaded.items()):
        repos = repositories.get(digest, set())
        if not repos:
            continue
        preferred = _repository(image.destination or image.source)
        repo = preferred if preferred in repos else sorted(repos)[0]
        for blob, kind in _image_blobs(scan.kept, digest):
            if blob in scan.blob_sizes:
                own.setdefault(blob, BaseBlob(blob, scan.blob_sizes[blob], repo, kind))
    return BaseBlobs(inherited | own, read_archives=True)


def _repository(reference: str) -> str:
    try:
        return ImageReference.parse(reference).repository
    except MirrorkitError:
        return ""


def _parsed(kept: dict[str, bytes], digest: str) -> ImageManifest | None:
    """The archived manifest *digest* (read with mirrorkit's OCI parser), or None when not read or not one."""
    raw = kept.get(digest)
    if raw is None:
        return None
    try:
        return parse_manifest("archive", raw, digest, None)
    except RegistryError:
        return None


def _image_blobs(kept: dict[str, bytes], digest: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(blob, kind) of the image *digest* as the archived manifests describe it (oc-mirror's set)."""
    yield digest, "manifest"
    manifest = _parsed(kept, digest) if depth <= 1 else None
    if manifest is None:
        return
    for child in manifest.manifests:
        yield from _image_blobs(kept, child.digest, depth + 1)
    for entry in (manifest.config, *manifest.layers):
        if entry is not None:
            yield entry.digest, "layer"


def write_history(working_dir: Path, digests: Iterable[str], now: _dt.datetime | None = None) -> Path:
    """oc-mirror's history file listing *digests* (the blobs it is to leave out of the next archive)."""
    when = (now or _dt.datetime.now(_dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = working_dir / HISTORY_DIR / f"{HISTORY_PREFIX}{when}"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(f"{d}\n" for d in sorted(digests)))
    return path


def left_out(scan: ArchiveScan, base: BaseBlobs) -> tuple[BaseBlob, ...]:
    """The blobs the new archives (read into *scan* by :func:`read_archives`) link but do not carry,
    each one the base put in the target; a missing blob the base does not account for fails (the
    archives could not be loaded)."""
    missing = missing_blobs(scan)
    unknown = sorted(d for d in missing if d not in base.blobs)
    if unknown:
        repo, kind = missing[unknown[0]]
        raise MirrorError(
            f"oc-mirror's archive lacks {len(unknown)} blob(s) the base bundle does not carry, e.g. the {kind} "
            f"{unknown[0]} of {repo}",
            "oc-mirror left them out by its history, but the base's archives do not hold them",
            "pack again; if it persists, pack without --base (a full bundle)",
        )
    return tuple(sorted(base.blobs[d] for d in missing))


# -- push: the completion chunk ------------------------------------------------------------------


def _storage_name(digest: str) -> str:
    hex_ = digest.split(":", 1)[1]
    return f"{_STORAGE}blobs/sha256/{hex_[:2]}/{hex_}/data"


def write_completion(folder: Path, blobs: Sequence[BaseBlob], client: OciClient, root: str) -> Path | None:
    """Write :data:`COMPLETION_CHUNK` into *folder*: every blob of *blobs* fetched from the target
    (*root* is ``host[:port][/prefix]``), each checked against its digest while written. The chunk is
    written under a temporary name and renamed last, so oc-mirror never reads a partial one."""
    if not blobs:
        return None
    final = folder / COMPLETION_CHUNK
    partial = folder / f".{COMPLETION_CHUNK}.partial"
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for blob in blobs:
                try:
                    _add_blob(tar, blob, client, f"{root}/{blob.repository}")
                except MirrorkitError as exc:
                    raise RegistryError(
                        f"the target's copy of {blob.digest} (a blob this delta leaves to its base) is unusable",
                        clip(f"{root}/{blob.repository}: {exc.what}", 160),
                        REFETCH_HINT,
                    ) from None
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    return final


def _add_blob(tar: tarfile.TarFile, blob: BaseBlob, client: OciClient, ref: str) -> None:
    """*blob* from the target repository *ref* into *tar* as registry storage, checked on the way: a
    layer streams through the client's verified reader (size and digest; ``drain`` runs the check
    once tar has read its bytes), a manifest comes back from the client verified by its digest."""
    info = tarfile.TarInfo(_storage_name(blob.digest))
    info.size, info.mode = blob.size, 0o644
    if blob.kind == "manifest":
        raw = client.get_top_manifest(f"{ref}@{blob.digest}").raw
        if len(raw) != blob.size:
            raise RegistryError(f"it served {len(raw)} bytes", f"the delta's manifest pins it as {blob.size} bytes", REFETCH_HINT)
        tar.addfile(info, io.BytesIO(raw))
        return
    with client.open_blob(ref, Descriptor("application/octet-stream", blob.digest, blob.size)) as reader:
        tar.addfile(info, reader)
        reader.drain()


__all__ = [
    "COMPLETION_CHUNK",
    "BaseBlobs",
    "archived_blobs",
    "base_blobs",
    "left_out",
    "missing_blobs",
    "read_archives",
    "write_completion",
    "write_history",
]
