"""A full disk said in one line: which folder, how much room the step needs, and what to do.

Why: a write that hits ENOSPC raises ``OSError: [Errno 28] No space left on device`` with, at best,
a temporary file's name; shown as it is, the user learns neither which disk to clean nor by how much,
and the CLI calls it an internal error. Each writing step of push runs inside :func:`room_for`, which
turns that error into a :class:`~mirrorkit.errors.BundleError` naming the folder, the space the step
needs and the space left.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from collections.abc import Iterator
from pathlib import Path

from mirrorkit.errors import BundleError
from mirrorkit.sizes import human

#: errno values that mean "the disk (or the user's quota) is full"
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def existing_parent(folder: Path) -> Path:
    """*folder*, or its nearest parent that exists (where a file system can be asked for free space)."""
    probe = Path(folder).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def free_bytes(folder: Path) -> int | None:
    """Free bytes on the file system of *folder* (or of its nearest existing parent); None if unknown."""
    try:
        return shutil.disk_usage(existing_parent(folder)).free
    except OSError:
        return None


def is_no_space(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in NO_SPACE


def no_space(folder: Path, need: int, what: str, option: str = "--output") -> BundleError:
    """The one-line error for a full disk under *folder* while doing *what*."""
    free = free_bytes(folder)
    left = f", {human(free)} free now" if free is not None else ""
    return BundleError(
        f"no space left on device in {folder} while {what}",
        f"this step needs about {human(need)}{left}" if need else f"the disk is full{left}",
        f"free that much there or give {option} on a disk with room, then run the same command again (it resumes)",
    )


@contextlib.contextmanager
def room_for(folder: Path, need: int, what: str, option: str = "--output") -> Iterator[None]:
    """Run the block; an ENOSPC/EDQUOT inside it leaves as :func:`no_space` for *folder*."""
    try:
        yield
    except OSError as exc:
        if not is_no_space(exc):
            raise
        raise no_space(folder, need, what, option) from None


__all__ = ["NO_SPACE", "free_bytes", "human", "is_no_space", "no_space", "room_for"]
