"""Read a few small files out of an image's layers without unpacking it or holding layers in memory.

The layers are streamed one after another (each digest-verified) through `tarfile` in stream mode;
only regular files under the wanted prefixes are kept, each under a size cap. Layer order and OCI
whiteouts are applied the way a container runtime's overlay would: `.wh.NAME` deletes NAME (and
what is below it) from lower layers, `.wh..wh..opq` empties its directory of lower-layer content,
and any non-file entry (directory, link, device) at a path hides a lower file at that path. Entries
with absolute paths or `..` components are ignored, and links are never followed.
"""

from __future__ import annotations

import logging
import posixpath
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from mirrorkit.errors import RegistryError
from mirrorkit.oci.manifest import Descriptor, Manifest

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


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
    what = f"layer {index + 1} ({layer.digest}) of {manifest.ref}"
    if "zstd" in layer.media_type:
        raise _zstd(what)
    if layer.size == 0:
        return
    added: dict[str, bytes] = {}
    hidden: set[str] = set()  # paths deleted (with everything below them) in lower layers
    opaque: set[str] = set()  # directories whose lower-layer content is hidden
    with client.open_blob(manifest.name, layer) as reader:  # type: ignore[attr-defined]
        head = reader.peek(512)
        if head.startswith(ZSTD_MAGIC):
            raise _zstd(what)
        mode = "r|gz" if head.startswith(GZIP_MAGIC) else "r|"
        total = sum(len(v) for v in files.values())
        try:
            with tarfile.open(fileobj=reader, mode=mode) as tar:
                for member in tar:
                    path = normalise_member(member.name)
                    if path is None:
                        log.debug("%s: ignoring unsafe entry %r", what, member.name)
                        continue
                    directory, base = posixpath.split(path)
                    if base == OPAQUE:
                        opaque.add(directory)
                        continue
                    if base.startswith(WHITEOUT):
                        hidden.add(posixpath.join(directory, base[len(WHITEOUT) :]))
                        continue
                    if member.isdir():
                        files.pop(path, None)  # a directory replaces a lower *file* of that name
                        continue
                    if not member.isreg():  # links, devices: never followed, but they hide lower content
                        hidden.add(path)
                        added.pop(path, None)
                        continue
                    if not _wanted(path, prefixes):
                        continue
                    if member.size > limits.max_file_bytes:
                        raise RegistryError(
                            f"file {path} in {what} is {member.size} bytes",
                            f"more than the {limits.max_file_bytes} bytes mirrorkit reads from a bundle file",
                            "this does not look like an operator bundle; check the image name",
                        )
                    extracted = tar.extractfile(member)
                    added[path] = extracted.read() if extracted is not None else b""
                    total += len(added[path])
                    if total > limits.max_total_bytes:
                        raise RegistryError(
                            f"the files under {', '.join(prefixes)} in {manifest.ref} exceed {limits.max_total_bytes} bytes",
                            "operator bundles are small",
                            "check the image name",
                        )
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            kind = "gzip-compressed tar archive" if mode == "r|gz" else "tar archive"
            raise RegistryError(
                f"{what} is not a valid {kind}",
                str(exc) or type(exc).__name__,
                "the image is damaged or not a container image; check the image name",
            ) from None
        reader.drain()  # the rest of the blob (tar padding) so its digest is checked
    for directory in opaque:
        for path in [p for p in files if _under(p, directory) and p != directory]:
            del files[path]
    for path in hidden:
        for lower in [p for p in files if _under(p, path)]:
            del files[lower]
    files.update(added)


def _zstd(what: str) -> RegistryError:
    return RegistryError(
        f"{what} is zstd-compressed",
        "mirrorkit reads gzip and uncompressed layers only (Python has no zstd decoder before 3.14)",
        "use a gzip-compressed build of the image, or inspect it with podman as the RHDH docs describe",
    )


def merged_paths(files: Mapping[str, bytes], prefix: str) -> list[str]:
    """Sorted paths of *files* under *prefix*."""
    return sorted(p for p in files if _under(p, prefix.strip("/")))
