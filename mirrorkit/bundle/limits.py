"""Size caps for the bundle's own documents, and JSON parsing that hostile input cannot crash.

Why: the manifest and the indexes arrive from a USB disk and are read before anything is trusted.
Without caps a 1 GB manifest is read, parsed and reported on for minutes (500,000 entries took 24 s,
1.2 GB of memory and 500,000 output lines); 200,000 nested ``[`` reached Python's recursion limit
and surfaced as "internal error". With them, such a file is refused in milliseconds, by its size on
disk, before a byte of it is parsed.

The caps (documented in the README's security model) are far above any real bundle: RHDH with the
Orchestrator carries a few hundred images and a few dozen plugins, a manifest of some 200 KB.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from mirrorkit.errors import BundleError
from mirrorkit.textutil import MAX_TEXT, clip

MiB = 1024 * 1024

#: manifest.json (some 60,000 entries; a real one is ~200 KB).
MAX_MANIFEST_BYTES = 8 * MiB
#: Entries per manifest list (files, npm, images) and per index.
MAX_ENTRIES = 50_000
#: npm/index.json and parts/parts.json.
MAX_INDEX_BYTES = 8 * MiB
#: Nesting a mirrorkit document never needs (the manifest is 3 levels deep).
MAX_JSON_DEPTH = 32


def read_capped(path: Path, limit: int, what: str) -> bytes:
    """The bytes of *path* if it is at most *limit* bytes; decided by the open file's size, and the
    read is bounded too (a file that grows while read cannot slip past the cap)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise too_large(what, size, limit)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise too_large(what, len(data), limit)
    return data


def too_large(what: str, size: int, limit: int) -> BundleError:
    return BundleError(
        f"{what} is {size} bytes, more than the {limit // MiB} MiB mirrorkit accepts",
        "no real bundle comes near that size; the file is damaged or hostile",
        "copy the bundle again from the connected host",
    )


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _depth_exceeds(text: str, limit: int) -> bool:
    """True when brackets nest deeper than *limit* (or do not pair up). Runs at C speed whatever the
    input: strings are cut out by a regex, then each pass removes the innermost ``[]``/``{}`` pairs,
    so *limit* passes empty any document nested no deeper (no Python loop over characters, no recursion)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(limit):
        if not brackets:
            return False
        shorter = brackets.replace("[]", "").replace("{}", "")
        if shorter == brackets:
            return True  # brackets that do not pair up: refuse as malformed
        brackets = shorter
    return bool(brackets)


def loads_bounded(data: bytes, what: str, *, limit: int, depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse *data* as JSON no larger than *limit* and nested no deeper than *depth*; every
    failure is a :class:`BundleError` (never RecursionError, never a traceback)."""
    if len(data) > limit:
        raise too_large(what, len(data), limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(
            f"{what} is not valid JSON",
            f"not UTF-8 ({exc.reason} at byte {exc.start})",
            "copy the bundle again from the connected host",
        ) from None
    if _depth_exceeds(text, depth):
        raise BundleError(
            f"{what} is malformed or nested more than {depth} levels deep",
            "no mirrorkit document is; the file is damaged or hostile",
            "copy the bundle again from the connected host",
        )
    try:
        return json.loads(text)
    except RecursionError:  # belt and braces: the scan above should have caught it
        raise BundleError(f"{what} is nested too deeply", hint="copy the bundle again from the connected host") from None
    except json.JSONDecodeError as exc:
        raise BundleError(f"{what} is not valid JSON", clip(str(exc)), "copy the bundle again from the connected host") from None


__all__ = ["MAX_INDEX_BYTES", "MAX_JSON_DEPTH", "MAX_MANIFEST_BYTES", "MAX_TEXT", "clip", "loads_bounded", "read_capped"]
