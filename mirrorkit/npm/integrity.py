"""Subresource Integrity as npm uses it: `sha512-<base64>` (plus the legacy SHA-1 `shasum` in hex).

A registry's `dist.integrity` may list several hashes separated by spaces; the bytes match when the
strongest algorithm present matches one of its values (SRI's rule). `dist.shasum` is checked too
when present, because Verdaccio and old packages rely on it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.digests import CHUNK, MultiHasher, sri_sha512

_STRENGTH = ("sha512", "sha384", "sha256", "sha1")


@dataclass(frozen=True)
class Digests:
    """What we computed over some bytes."""

    integrity: str  # sha512-<base64>
    shasum: str  # sha1 hex
    size: int

    @classmethod
    def from_hasher(cls, hasher: MultiHasher) -> Digests:
        return cls(sri_sha512(hasher.digest("sha512")), hasher.hexdigest("sha1"), hasher.size)


def new_hasher() -> MultiHasher:
    return MultiHasher("sha512", "sha1")


def hash_file(path: Path) -> Digests:
    """sha512 SRI + sha1 hex + size of a file, in one streaming pass."""
    hasher = new_hasher()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            hasher.update(block)
    return Digests.from_hasher(hasher)


def parse_sri(text: str) -> dict[str, set[str]]:
    """`"sha512-AAA sha1-BBB?opt"` -> {"sha512": {"AAA"}, "sha1": {"BBB"}} (unknown algorithms ignored)."""
    found: dict[str, set[str]] = {}
    for item in text.split():
        algo, sep, value = item.partition("-")
        if sep and algo in _STRENGTH and value:
            found.setdefault(algo, set()).add(value.split("?", 1)[0])
    return found


def sha512_of(integrity: str) -> str | None:
    """The `sha512-...` member of an SRI string, or None when it has none."""
    values = parse_sri(integrity).get("sha512")
    return f"sha512-{sorted(values)[0]}" if values else None


def mismatches(ours: Digests, dist: Mapping[str, object]) -> list[str]:
    """Compare our digests with a registry's `dist`; return human-readable differences (empty = match).

    Raises ValueError when `dist` carries nothing to compare against.
    """
    problems: list[str] = []
    integrity = dist.get("integrity")
    shasum = dist.get("shasum")
    checked = False
    if isinstance(integrity, str) and integrity.strip():
        sri = parse_sri(integrity)
        algo = next((a for a in _STRENGTH if a in sri), None)
        if algo == "sha512":
            checked = True
            if ours.integrity.partition("-")[2] not in sri["sha512"]:
                problems.append(f"integrity: registry says {integrity}, downloaded bytes are {ours.integrity}")
        elif algo == "sha1":
            checked = True
            ours_sha1 = base64.b64encode(bytes.fromhex(ours.shasum)).decode()
            if ours_sha1 not in sri["sha1"]:
                problems.append(f"integrity: registry says {integrity}, downloaded bytes are sha1-{ours_sha1}")
    if isinstance(shasum, str) and shasum.strip():
        checked = True
        if shasum.strip().lower() != ours.shasum:
            problems.append(f"shasum: registry says {shasum}, downloaded bytes are {ours.shasum}")
    if not checked:
        raise ValueError("the registry lists neither a sha512/sha1 integrity nor a shasum for it")
    return problems
