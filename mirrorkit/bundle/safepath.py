"""Refuse bundle paths that could escape the bundle or point somewhere else.

A manifest or a part comes from removable media that crossed an air gap: treat every name in it as
hostile. A relative path is accepted only when it is plain POSIX (forward slashes, no ``..``, no
``.`` components, no backslash, no NUL, not absolute, not empty) and, once joined to the bundle, it
does not pass through a symlink. Files found in a bundle must be regular files: no symlinks,
devices, FIFOs or sockets.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from mirrorkit.errors import BundleError


def check_relpath(name: str, *, where: str = "bundle") -> str:
    """Return *name* if it is a safe relative POSIX path, else raise :class:`BundleError` naming it."""

    def refuse(why: str) -> BundleError:
        return BundleError(
            f"unsafe path {name!r} in {where}",
            why,
            "the bundle may have been tampered with; do not use it, get a fresh copy from the packing host",
        )

    if not isinstance(name, str) or not name:
        raise refuse("empty name")
    if "\x00" in name:
        raise refuse("contains a NUL byte")
    if "\\" in name:
        raise refuse("contains a backslash")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise refuse("is an absolute path")
    parts = name.split("/")
    if any(p == ".." for p in parts):
        raise refuse("contains '..'")
    if any(p in ("", ".") for p in parts):
        raise refuse("contains an empty or '.' component")
    if str(PurePosixPath(name)) != name:
        raise refuse("is not in normal form")
    return name


def safe_join(root: Path, name: str, *, where: str = "bundle") -> Path:
    """Join a checked relative *name* to *root*, refusing any component that is a symlink."""
    check_relpath(name, where=where)
    current = Path(root)
    for part in name.split("/"):
        current = current / part
        if current.is_symlink():
            raise BundleError(
                f"unsafe path {name!r} in {where}",
                f"{current} is a symbolic link",
                "bundles never contain links; get a fresh copy from the packing host",
            )
    return current


def check_regular(path: Path, name: str) -> os.stat_result:
    """lstat *path* and refuse anything but a regular file (symlink, device, FIFO, socket, directory)."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a symbolic link"
            if stat.S_ISLNK(st.st_mode)
            else "a directory"
            if stat.S_ISDIR(st.st_mode)
            else "a device, FIFO or socket"
        )
        raise BundleError(
            f"unsafe file {name!r} in bundle",
            f"it is {kind}, not a regular file",
            "bundles only contain regular files; remove it or get a fresh copy from the packing host",
        )
    return st
