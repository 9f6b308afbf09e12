"""Read a few small files out of an image's layers without unpacking it or holding layers in memory.

The layers are streamed one after another (each digest-verified), inflated by ISA-L when it is
installed (zlib otherwise) and walked by :mod:`mirrorkit.oci.tarwalk`, which skips members by
arithmetic instead of copying them as `tarfile` does (a 4 GiB filler member was read at 40 MB/s);
only regular files under the wanted prefixes are kept, each under a size cap, and the inflated bytes
are counted against :class:`mirrorkit.limits.InflateBudget`, so a compression bomb is refused fast. Layer order and OCI
whiteouts are applied the way a container runtime's overlay would: `.wh.NAME` deletes NAME (and
what is below it) from lower layers, `.wh..wh..opq` empties its directory of lower-layer content,
and any non-file entry (directory, symlink, device) at a path hides a lower file at that path. A hard
link reads as its target (an earlier member of the layer or a file below) when that file was kept;
symlinks are never followed. Entries with absolute paths or `..` components are ignored.
"""

from __future__ import annotations

import gzip
import logging
import posixpath
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, cast

from mirrorkit.errors import RegistryError
from mirrorkit.limits import InflateBudget
from mirrorkit.oci.manifest import Descriptor, Manifest
from mirrorkit.oci.tarwalk import TarEntry, TarWalker

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
#: Uncompressed bytes handed to the tar walker per step.
PIECE = 1024 * 1024


@dataclass(frozen=True)
class FileLimits:
    """Caps that keep a hostile or unexpected image from filling memory."""

    max_file_bytes: int = 8 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024


def normalise_member(name: str) -> str | None:
    """The layer-relative path of a tar entry, or None when it must be ignored (absolute, `..`)."""
    if name.startswith("/"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _under(path: str, directory: str) -> bool:
    return directory == "" or path == directory or path.startswith(directory + "/")


def _wanted(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(_under(path, prefix.strip("/")) for prefix in prefixes)


def read_files(
    client: object,
    manifest: Manifest,
    prefixes: tuple[str, ...],
    limits: FileLimits = FileLimits(),
) -> dict[str, bytes]:
    """The merged view of files under *prefixes* across all layers of *manifest* (top layer wins).

    *client* is an :class:`mirrorkit.oci.client.OciClient` (anything with `open_blob`).
    """
    files: dict[str, bytes] = {}
    for index, layer in enumerate(manifest.layers):
        _apply_layer(files, client, manifest, index, layer, prefixes, limits)
    return files


def _apply_layer(
    files: dict[str, bytes],
    client: object,
    manifest: Manifest,
    index: int,
    layer: Descriptor,
    prefixes: tuple[str, ...],
    limits: FileLimits,
) -> None:
    """Read layer *index* and merge it into *files*, the view of the layers below it.

    The layer is read in full before anything below it changes: a whiteout may come after the files
    it sits beside, and a damaged layer must not leave a half-merged view."""
    what = f"layer {index + 1} ({layer.digest}) of {manifest.ref}"
    if "zstd" in layer.media_type:
        raise _zstd(what)
    if layer.size == 0:
        return
    with client.open_blob(manifest.name, layer) as reader:  # type: ignore[attr-defined]
        head = reader.peek(512)
        if head.startswith(ZSTD_MAGIC):
            raise _zstd(what)
        gzipped = head.startswith(GZIP_MAGIC)
        read = _LayerRead(what, manifest.ref, prefixes, limits, total=sum(len(v) for v in files.values()), lower=files)
        try:
            tar = TarWalker(_inflated(reader, gzipped, InflateBudget(what, layer.size)))
            for member in tar:
                path = _filter_member(member, read)
                if path is not None:
                    _collect_file(tar, member, path, read)
        except (ValueError, EOFError, zlib.error, OSError) as exc:
            raise _not_a_tar(what, gzipped, exc) from None
        except Exception as exc:
            if type(exc).__name__ == "IsalError":  # ISA-L's own error type for damaged data
                raise _not_a_tar(what, gzipped, exc) from None
            raise
        reader.drain()  # the rest of the blob (tar padding) so its digest is checked
    _merge(files, read)


def _inflated(reader: Any, gzipped: bool, budget: InflateBudget) -> Callable[[], bytes]:
    """The next-piece function of the uncompressed layer, each piece counted against *budget*."""
    stream: IO[bytes] = reader
    if gzipped:
        try:
            from isal import igzip
        except ImportError:
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=reader, mode="rb"))
        else:
            stream = cast(IO[bytes], igzip.IGzipFile(fileobj=reader, mode="rb"))

    def next_piece() -> bytes:
        piece = stream.read(PIECE)
        budget.add(len(piece))
        return piece

    return next_piece


def _not_a_tar(what: str, gzipped: bool, exc: BaseException) -> RegistryError:
    kind = "gzip-compressed tar archive" if gzipped else "tar archive"
    return RegistryError(
        f"{what} is not a valid {kind}",
        str(exc) or type(exc).__name__,
        "the image is damaged or not a container image; check the image name",
    )


@dataclass
class _LayerRead:
    """One layer as it is read: where it is (for messages), what is wanted and the caps, and what
    the layer does to the layers below it, applied by :func:`_merge` once the layer is read."""

    what: str
    ref: str
    prefixes: tuple[str, ...]
    limits: FileLimits
    #: Bytes kept so far, lower layers included: the total cap is on the merged view.
    total: int
    added: dict[str, bytes] = field(default_factory=dict)
    #: Paths deleted (with everything below them) in lower layers.
    hidden: set[str] = field(default_factory=set)
    #: Directories whose lower-layer content is hidden.
    opaque: set[str] = field(default_factory=set)
    #: Directories of this layer: each replaces a lower *file* of that name (not what is below it).
    replaced: set[str] = field(default_factory=set)
    #: The merged view of the layers below (read only): where a hard link's target may be.
    lower: Mapping[str, bytes] = field(default_factory=dict)


def _filter_member(member: TarEntry, read: _LayerRead) -> str | None:
    """The path of *member* when its content is wanted, else None. Whiteouts, directories, links
    and devices carry no content but change what lower layers show: they are recorded in *read*."""
    path = normalise_member(member.name)
    if path is None:
        log.debug("%s: ignoring unsafe entry %r", read.what, member.name)
        return None
    if _record_whiteout(path, read):
        return None
    if member.isdir():
        read.replaced.add(path)
        return None
    if member.islnk() and _hard_link(path, member.linkname, read):
        return None
    if not member.isreg():  # symlinks, devices: never followed, but they hide lower content
        read.hidden.add(path)
        read.added.pop(path, None)
        return None
    if not _wanted(path, read.prefixes):
        return None
    return path


def _hard_link(path: str, linkname: str, read: _LayerRead) -> bool:
    """Read a wanted hard link as its target's content when that was kept (earlier in this layer,
    or below and not deleted by this layer); False when it was not, so the link only hides."""
    if not _wanted(path, read.prefixes):
        return False
    target = normalise_member(linkname) or ""
    content = read.added.get(target)
    if content is None and target not in read.hidden and not any(_under(target, h) for h in read.hidden):
        content = read.lower.get(target)
    if content is None:
        log.debug("%s: hard link %s to %r, a file mirrorkit did not keep; ignored", read.what, path, linkname)
        return False
    read.added[path] = content
    read.total += len(content)
    _check_total(read)
    return True


def _record_whiteout(path: str, read: _LayerRead) -> bool:
    """True when *path* is a whiteout: ``.wh..wh..opq`` empties its directory of lower content,
    ``.wh.NAME`` deletes NAME and what is below it."""
    directory, base = posixpath.split(path)
    if base == OPAQUE:
        read.opaque.add(directory)
        return True
    if base.startswith(WHITEOUT):
        read.hidden.add(posixpath.join(directory, base[len(WHITEOUT) :]))
        return True
    return False


def _collect_file(tar: TarWalker, member: TarEntry, path: str, read: _LayerRead) -> None:
    """Keep the content of a wanted regular file, refusing one too big or one too many (the caps
    are checked before and while reading, so a hostile image never fills memory)."""
    limits = read.limits
    if member.size > limits.max_file_bytes:
        raise RegistryError(
            f"file {path} in {read.what} is {member.size} bytes",
            f"more than the {limits.max_file_bytes} bytes mirrorkit reads from a bundle file",
            "this does not look like an operator bundle; check the image name",
        )
    read.added[path] = tar.open(member).read()
    read.total += len(read.added[path])
    _check_total(read)


def _check_total(read: _LayerRead) -> None:
    limits = read.limits
    if read.total > limits.max_total_bytes:
        raise RegistryError(
            f"the files under {', '.join(read.prefixes)} in {read.ref} exceed {limits.max_total_bytes} bytes",
            "operator bundles are small",
            "check the image name",
        )


def _merge(files: dict[str, bytes], read: _LayerRead) -> None:
    """Apply a fully read layer to the view below it: its directories replace lower files, its
    whiteouts delete, then its files win."""
    for path in read.replaced:
        files.pop(path, None)
    for directory in read.opaque:
        for path in [p for p in files if _under(p, directory) and p != directory]:
            del files[path]
    for path in read.hidden:
        for lower in [p for p in files if _under(p, path)]:
            del files[lower]
    files.update(read.added)


def _zstd(what: str) -> RegistryError:
    return RegistryError(
        f"{what} is zstd-compressed",
        "mirrorkit reads gzip and uncompressed layers only (Python has no zstd decoder before 3.14)",
        "use a gzip-compressed build of the image, or inspect it with podman as the RHDH docs describe",
    )


def merged_paths(files: Mapping[str, bytes], prefix: str) -> list[str]:
    """Sorted paths of *files* under *prefix*."""
    return sorted(p for p in files if _under(p, prefix.strip("/")))
