"""Sizes in bytes, read and written one way everywhere.

A user who writes ``--split-size 4G`` and ``MIRRORKIT_LIMIT_LAYER_BYTES=4G`` means the same number, and
every message says sizes the same way. So there is one unit table (``K``/``M``/``G``/``T`` and
``KiB``...: powers of 1024; ``KB``/``MB``...: powers of 1000) and one formatter.

A foundation module: it imports nothing from mirrorkit.
"""

from __future__ import annotations

import re

UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kib": 1024,
    "kb": 1000,
    "m": 1024**2,
    "mib": 1024**2,
    "mb": 1000**2,
    "g": 1024**3,
    "gib": 1024**3,
    "gb": 1000**3,
    "t": 1024**4,
    "tib": 1024**4,
    "tb": 1000**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def bytes_from(text: str, *, whole: bool = False) -> int | None:
    """Bytes from ``4GiB``, ``500MiB``, ``1.5G``, ``700MB`` or ``1048576``; None when it does not parse
    (or, with *whole*, when the number has a fraction)."""
    match = _SIZE.match(str(text))
    if not match or match.group(2).lower() not in UNITS or (whole and "." in match.group(1)):
        return None
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def human(size: int) -> str:
    """``1.5 GiB``, ``12.0 MiB``, ``512 bytes``: sizes people read in one glance."""
    for unit, scale in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
