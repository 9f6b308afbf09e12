"""Parallel, streaming sha256 of many files with flat memory and one progress bar.

Why threads: hashlib releases the GIL while it hashes a buffer larger than a couple of KiB, and file
reads release it too, so a thread pool sized to the CPU count keeps every core busy on a multi-file
bundle. Each worker reuses one 1 MiB buffer (``readinto``), so memory stays at a few MiB whatever
the bundle size. Files are opened with ``O_NOFOLLOW`` and checked with ``fstat`` so a symlink or a
device swapped in after the directory scan is still refused.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from mirrorkit.bundle.safepath import safe_join
from mirrorkit.errors import BundleError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileHash:
    """A hashed file plus the stat fields that let a later run trust the hash without re-reading."""

    path: str
    size: int
    sha256: str
    mtime_ns: int = 0
    ctime_ns: int = 0
    ino: int = 0
    dev: int = 0


@dataclass(frozen=True)
class HashFailure:
    """A file that could not be hashed (missing, unreadable, not a regular file)."""

    path: str
    error: str


def default_jobs(jobs: int | None = None) -> int:
    return max(1, jobs if jobs else (os.cpu_count() or 1))


def _open_regular(root: Path, name: str) -> tuple[int, os.stat_result]:
    path = safe_join(root, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if path.is_symlink():
            raise BundleError(f"unsafe file {name!r} in bundle", "it is a symbolic link") from None
        raise BundleError(f"cannot read {name!r} in bundle", exc.strerror or str(exc)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise BundleError(f"unsafe file {name!r} in bundle", "it is not a regular file")
    return fd, st


def hash_one(root: Path, name: str, advance: Callable[[int], None] | None = None) -> FileHash:
    """sha256 of one bundle file, streaming in 1 MiB blocks through a reused buffer."""
    fd, st = _open_regular(root, name)
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    try:
        with os.fdopen(fd, "rb", buffering=0) as handle:
            while n := handle.readinto(buf):
                h.update(view[:n])
                size += n
                if advance is not None:
                    advance(n)
    finally:
        view.release()
    return FileHash(name, size, h.hexdigest(), st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def hash_files(
    root: Path,
    names: Iterable[str],
    *,
    sizes: dict[str, int] | None = None,
    jobs: int | None = None,
    progress: bool = True,
    desc: str = "hashing",
) -> dict[str, FileHash | HashFailure]:
    """Hash every name under *root* in parallel; failures are returned, never raised, so one bad
    file does not hide the others (verification wants to report them all)."""
    names = list(names)
    sizes = sizes or {}
    total = sum(sizes.get(n, 0) for n in names)
    lock = threading.Lock()
    bar = tqdm(
        total=total or None,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    )

    def advance(n: int) -> None:
        with lock:
            bar.update(n)

    def work(name: str) -> FileHash | HashFailure:
        try:
            return hash_one(root, name, advance)
        except BundleError as exc:
            return HashFailure(name, str(exc))
        except OSError as exc:
            return HashFailure(name, f"cannot read {name!r}: {exc.strerror or exc}")

    # Biggest first: the pool's tail is then made of small files and the cores stay balanced.
    order = sorted(names, key=lambda n: sizes.get(n, 0), reverse=True)
    try:
        with ThreadPoolExecutor(max_workers=min(default_jobs(jobs), max(1, len(order)))) as pool:
            results = dict(zip(order, pool.map(work, order), strict=False))
    finally:
        bar.close()
    return {name: results[name] for name in names}


def copy_checked(root: Path, name: str, size: int, sha256: str, dest: Path) -> None:
    """Copy bundle file *name* to *dest*, hashing the very bytes written: *dest* appears (atomically)
    only when they are the *size* and *sha256* the manifest pins, so a file swapped after verification
    can never be handed out (no check-then-use)."""
    from mirrorkit.fsutil import atomic_writer

    fd, _st = _open_regular(root, name)
    h = hashlib.sha256()
    copied = 0
    with os.fdopen(fd, "rb") as source, atomic_writer(dest) as out:
        while block := source.read(CHUNK):
            h.update(block)
            out.write(block)
            copied += len(block)
        if (copied, h.hexdigest()) != (size, sha256):
            raise BundleError(
                f"{name} changed after the bundle was verified",
                f"expected size {size} sha256 {sha256}, read size {copied} sha256 {h.hexdigest()}",
                "get a fresh copy of the bundle and run push again",
            )
