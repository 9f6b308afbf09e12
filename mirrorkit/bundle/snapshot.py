"""Private copies of verified payload files, hashed while they are made: what push hands oc-mirror.

Why: verification reads the bundle once and says "these bytes are the signed ones"; a program that
opens the bundle's files *afterwards* (oc-mirror reading ``images/mirror_*.tar``) may get other bytes
(a file swapped on the USB disk between the check and the use). So push copies each archive into its
own work folder and hashes the bytes *as it writes them*; the copy is used only if it has the size and
sha256 the verified manifest pins. Nobody else writes to the work folder, so what oc-mirror reads there
is what was hashed.

The digest is of the *copy*: each 4 MiB range is copied (in the kernel with copy_file_range where
the file systems allow, else read and written), then read back from the copy (page cache) and hashed
by a second thread while the next range is copied (hashlib and the copy release the GIL), so the cost
is about the slower of the two, not their sum, and memory stays at a few blocks.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.bundle import layout
from mirrorkit.bundle.manifest import FileEntry, Manifest
from mirrorkit.errors import BundleError

CHUNK = 4 * 1024 * 1024
#: blocks in flight between the reader and the hashing thread (bounds memory to about 8 x CHUNK)
_IN_FLIGHT = 8


@dataclass(frozen=True)
class Copied:
    """One file copied while hashed: where the copy is and what it hashed to."""

    name: str
    path: Path
    size: int
    sha256: str


def archive_entries(manifest: Manifest) -> tuple[FileEntry, ...]:
    """The oc-mirror archives the manifest pins (``images/mirror_*.tar``), in manifest order."""
    return tuple(
        f
        for f in manifest.files
        if f.path.startswith(layout.IMAGES_DIR + "/")
        and Path(f.path).name.startswith("mirror_")
        and Path(f.path).name.endswith(".tar")
        and "/" not in f.path.removeprefix(layout.IMAGES_DIR + "/")
    )


def _open_regular(path: Path) -> int:
    """A read descriptor for *path*, refusing links (O_NOFOLLOW) and anything but a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BundleError(f"{path} is not a regular file", hint="copy the bundle again from the connected host")
    return fd


@contextlib.contextmanager
def _private_file(dest: Path) -> Iterator[int]:
    """A descriptor for a new file beside *dest*, renamed to *dest* when the block ends without an
    error and removed otherwise. Not fsynced: the copy is a scratch file push deletes after the load
    (a crash costs a new copy on the re-run, which copies again anyway)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        try:
            yield fd
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _copy_range(src: int, dst: int, offset: int, kernel: list[bool]) -> int:
    """Copy up to CHUNK bytes at *offset* from *src* to *dst*; returns how many (0 at the end).
    In the kernel (copy_file_range: no trip through Python) while the file systems allow it; else
    (*kernel* set to False for the rest of the file) by read and write."""
    if kernel[0]:
        try:
            return os.copy_file_range(src, dst, CHUNK, offset, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                raise
            kernel[0] = False
    block = os.pread(src, CHUNK, offset)
    written = 0
    while written < len(block):
        written += os.pwrite(dst, block[written:], offset + written)
    return len(block)


def _hash_back(dst: int, offset: int, count: int, digest: hashlib._Hash) -> None:
    """Hash bytes *offset*..*offset+count* as they now are in the copy (read back, page cache)."""
    end = offset + count
    while offset < end:
        block = os.pread(dst, end - offset, offset)
        if not block:
            raise BundleError("the private copy shrank while it was being hashed", hint="push again")
        digest.update(block)
        offset += len(block)


def copy_hashed(source: Path, dest: Path, advance: Callable[[int], None] = lambda _n: None) -> tuple[int, str]:
    """Copy *source* to *dest* (a temporary name until complete) and return the (size, sha256) of
    the bytes *in the copy*: each range is copied, then read back from the copy and hashed by a
    second thread while the next range is copied, so the digest describes what the copy holds."""
    digest, size = hashlib.sha256(), 0
    pending: deque[Future[None]] = deque()
    kernel = [True]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy-hash") as pool:
        try:
            src = _open_regular(source)
            try:
                with _private_file(dest) as dst:
                    while count := _copy_range(src, dst, size, kernel):
                        pending.append(pool.submit(_hash_back, dst, size, count, digest))
                        size += count
                        advance(count)
                        while len(pending) > _IN_FLIGHT:
                            pending.popleft().result()
                    while pending:
                        pending.popleft().result()
            finally:
                os.close(src)
        finally:
            for future in pending:
                future.cancel()
    return size, digest.hexdigest()


def snapshot_verified(root: Path, entry: FileEntry, dest: Path, advance: Callable[[int], None] = lambda _n: None) -> Copied:
    """Copy the payload file *entry* of the bundle at *root* to *dest* while hashing it; the copy is
    kept only if it has the manifest's size and sha256, else it is removed and :class:`BundleError`
    says the bundle changed after it was verified."""
    size, sha256 = copy_hashed(root / entry.path, dest, advance)
    if (size, sha256) != (entry.size, entry.sha256):
        dest.unlink(missing_ok=True)
        raise BundleError(
            f"{entry.path} changed after the bundle was verified",
            f"it is now size {size}, sha256 {sha256}; the verified manifest pins size {entry.size}, sha256 {entry.sha256}",
            "nothing was loaded from it; make sure nothing writes to the bundle, copy it again from the connected host "
            "and push again",
        )
    return Copied(entry.path, dest, size, sha256)


def snapshot_archives(
    root: Path, manifest: Manifest, dest_dir: Path, advance: Callable[[int], None] = lambda _n: None
) -> tuple[Copied, ...]:
    """Every oc-mirror archive of the verified manifest copied into *dest_dir* (same file names) while
    hashed; earlier copies there are removed first so oc-mirror sees exactly this bundle's archives."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    remove_archives(dest_dir)
    return tuple(snapshot_verified(root, e, dest_dir / Path(e.path).name, advance) for e in archive_entries(manifest))


def remove_archives(dest_dir: Path) -> None:
    """Drop the archive copies in *dest_dir*: before a snapshot (oc-mirror must see this bundle's
    archives only) and once oc-mirror has unpacked them (they are as large as the bundle)."""
    for copy in dest_dir.glob("mirror_*.tar"):
        copy.unlink(missing_ok=True)


__all__ = ["Copied", "archive_entries", "copy_hashed", "remove_archives", "snapshot_archives", "snapshot_verified"]
