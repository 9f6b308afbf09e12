"""One mirrorkit at a time on a folder: an advisory ``flock`` held for the whole command (issue 22).

Two packs into one output folder interleave their archives, charts and seal, and the result can
verify while it mixes both runs; a push reading a bundle that a pack is rewriting loads whatever is
there at that moment. So pack takes the folder's lock exclusively for its whole run, and a second
pack (or a push) on the same folder refuses at once, naming the holder's pid, instead of waiting.

The lock is ``flock(2)`` on a small file *beside* the folder (``.NAME.mirrorkit-lock``: never inside a
bundle, whose files are all pinned, and present before the folder itself exists). The kernel drops
the lock when the holder exits, however it exits (kill -9 included), so a lock is never stale; the
file stays (deleting it would let a later locker and a waiting one hold two different files). The
holder writes its pid and command into it only to be named in the refusal.

A reader that may share the folder with other readers (two pushes of one bundle) takes it
``shared``: it excludes a pack, not another reader. A shared lock on a folder whose parent cannot
be written (a bundle on read-only media) is skipped: nothing can rewrite such a bundle either.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mirrorkit.errors import BundleError

LOCK_SUFFIX = ".mirrorkit-lock"
_HOLDER_MAX = 200  # "pid command" fits in far less
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


class FolderBusy(BundleError):
    """Another mirrorkit process holds the folder's lock (exit 1: retry once it has finished)."""


def lock_path(folder: Path) -> Path:
    """The lock file of *folder*: a hidden sibling, on the same filesystem."""
    folder = Path(folder).absolute()
    return folder.parent / f".{folder.name}{LOCK_SUFFIX}"


@contextmanager
def folder_lock(folder: Path, command: str, *, shared: bool = False) -> Iterator[Path]:
    """Hold *folder*'s lock for the ``with`` body; refuse at once (:class:`FolderBusy`) when another
    process holds it (exclusively, or at all when *shared* is False). *command* ("pack", "push") is
    what the refusal a second process gets names. Yields the lock file's path."""
    path = lock_path(folder)
    fd = _open(path, shared)
    if fd is None:
        yield path
        return
    acquired = False
    try:
        _acquire(fd, path, folder, command, shared)
        acquired = True
        _write_holder(fd, command)
        yield path
    finally:
        if acquired and not shared:
            _clear(fd)
        os.close(fd)  # closing the last descriptor releases the flock (O_CLOEXEC: no child keeps it)


def _open(path: Path, shared: bool) -> int | None:
    """The lock file's descriptor (created, with its folder's parent, as needed); None for a shared
    lock that cannot be created because the media is read-only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if shared and exc.errno in _READ_ONLY:
            return None
        raise BundleError(
            f"cannot create the lock file {path}", exc.strerror or str(exc), "check that its folder is writable"
        ) from exc


def _acquire(fd: int, path: Path, folder: Path, command: str, shared: bool) -> None:
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(path)
        raise FolderBusy(
            f"{folder} is in use by {holder}",
            f"{command} refused to start there (lock {path.name})",
            "wait for that process to finish, or stop it, then run the command again",
        ) from None


def _write_holder(fd: int, command: str) -> None:
    """Write ``<pid> <command>`` for whoever is refused next (a courtesy: the flock is the lock; of
    several shared holders the latest is named)."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {command}\n".encode(), 0)


def _clear(fd: int) -> None:
    """Name no one once released (only an exclusive holder: a shared one may not be the last)."""
    with contextlib.suppress(OSError):  # the flock is released anyway
        os.ftruncate(fd, 0)


def _read_holder(path: Path) -> str:
    """'mirrorkit pack (pid 123)' from the lock file; the pid may be unknown for a moment (written
    just after the lock is taken), or gone (the latest of several shared holders has left)."""
    try:
        with open(path, "rb") as handle:
            text = handle.read(_HOLDER_MAX).decode("ascii", errors="replace").split()
    except OSError:
        text = []
    if len(text) >= 2 and text[0].isdigit() and _alive(int(text[0])):
        return f"mirrorkit {text[1]} (pid {text[0]})"
    return "another mirrorkit process (pid not recorded)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


__all__ = ["LOCK_SUFFIX", "FolderBusy", "folder_lock", "lock_path"]
